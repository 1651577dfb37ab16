"""``qpolicy train GAME``: learn strategies for a nonlocal game from its referee (REINFORCE + entropy).

Trains ``--seeds`` runs as one batch with the paper's hyperparameters unless told otherwise,
shows a progress line, writes everything (best policies, history, resumable state) atomically to
``--out`` every ``--checkpoint-every`` steps, and ends with a summary against the classical value.
``--resume`` continues an interrupted or finished run in ``--out`` up to ``--steps``, with the
hyperparameters stored in it (an option given explicitly must agree with them).  An existing
``--out`` is never overwritten without ``--overwrite``.  Everything that can be checked before
training (game file, output path) is checked first.

    qpolicy train chsh --seeds 10 --steps 1000 --out chsh.npz
    qpolicy train tetra --dim 3 --state fixed --anneal 5000 --out tetra.npz
    qpolicy train rendezvous --edges "0-1,1-2,2-0" --steps 500 --out triangle.npz
    qpolicy train chsh --steps 2000 --out chsh.npz --resume
"""
import dataclasses
import json
import os
import sys
import tempfile

import numpy as np

from qpolicy.learn import reinforce
from qpolicy.learn.checkpoint import load_checkpoint
from qpolicy.learn.parameterizations import POLICIES, STATES

#: command-line option -> Hyperparameters field (options left out take the field's default, or
#: with --resume the value stored in the checkpoint)
OPTIONS = {"policy": "policy", "seeds": "seeds", "steps": "steps", "batch": "batch", "lr": "lr",
           "entropy": "entropy", "anneal": "anneal_steps", "final_lr_fraction": "final_lr_fraction",
           "baseline": "baseline", "dim": "dim", "state": "state",
           "shared_values": "shared_values", "seed": "seed"}


def add_arguments(parser):
    defaults = reinforce.Hyperparameters()
    parser.add_argument("game", help="a built-in game (chsh, ghz, tetra, cube), rendezvous with "
                                     "--edges, or a game saved with NonlocalGame.save (.npz)")
    parser.add_argument("--edges", default=None, help='rendezvous graph, e.g. "0-1,1-2,2-0"')
    parser.add_argument("--class", dest="policy", choices=sorted(POLICIES), default=None,
                        help=f"policy class (default: {defaults.policy})")
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"independent runs trained as one batch (default: {defaults.seeds})")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"Adam steps (default: {defaults.steps})")
    parser.add_argument("--batch", type=int, default=None,
                        help=f"referee rounds per step (default: {defaults.batch})")
    parser.add_argument("--lr", type=float, default=None,
                        help=f"Adam learning rate (default: {defaults.lr})")
    parser.add_argument("--entropy", type=float, default=None,
                        help=f"entropy coefficient α; 0 turns it off (default: {defaults.entropy})")
    parser.add_argument("--anneal", type=int, default=None, metavar="STEPS",
                        help="cosine-anneal α to 0 and lr to lr·FRACTION over STEPS (default: "
                             "constant α and lr, as in the paper)")
    parser.add_argument("--final-lr-fraction", type=float, default=None, metavar="FRACTION",
                        help=f"see --anneal (default: {defaults.final_lr_fraction})")
    parser.add_argument("--baseline", action="store_true", default=None,
                        help="subtract a leave-one-out batch-mean baseline (not in the paper)")
    parser.add_argument("--dim", type=int, default=None,
                        help="local dimension of entangled policies (default: largest answer count)")
    parser.add_argument("--state", choices=STATES, default=None,
                        help=f"entangled: learn ρ = BᴴB/tr or fix it maximally entangled "
                             f"(default: {defaults.state})")
    parser.add_argument("--shared-values", type=int, default=None,
                        help=f"shared class: number of shared random values "
                             f"(default: {defaults.shared_values})")
    parser.add_argument("--seed", type=int, default=None,
                        help=f"master random seed (default: {defaults.seed})")
    parser.add_argument("--out", default=None, metavar="FILE.npz",
                        help="where to save the learned policies (default: GAME-CLASS.npz)")
    parser.add_argument("--checkpoint-every", type=int, default=250, metavar="STEPS",
                        help="save the resumable state every STEPS steps (default: %(default)s)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run stored in --out up to --steps, with its settings")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out with a new run")
    parser.add_argument("--quiet", action="store_true", help="no progress line")


def check_output(out, resume, overwrite):
    """Refuse, before any work, an ``--out`` that cannot be written or would silently replace a
    finished run."""
    if not out.endswith(".npz"):
        raise ValueError(f"--out must end with .npz, got {out!r}")
    if os.path.isdir(out):
        raise ValueError(f"--out {out!r} is a directory")
    folder = os.path.dirname(os.path.abspath(out))
    try:                     # create the folder now and write a probe: fails as the save would
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"--out {out!r} cannot be written: a part of its folder is a file") from None
    except OSError as exc:
        raise ValueError(f"--out {out!r} cannot be written: {exc.strerror or exc}") from None
    if os.path.exists(out):
        if not os.access(out, os.R_OK | os.W_OK):
            raise ValueError(f"--out {out!r} exists and cannot be read and written")
        if not resume and not overwrite:
            raise ValueError(f"--out {out!r} already exists: continue it with --resume or "
                             f"replace it with --overwrite")
    elif resume:
        raise FileNotFoundError(f"no checkpoint at {out!r} to resume (--resume)")


def hyperparameters(args, out):
    """The run's hyperparameters: the options given, the rest from the checkpoint (--resume) or
    the defaults."""
    given = {field: getattr(args, option) for option, field in OPTIONS.items()
             if getattr(args, option) is not None}
    if not args.resume:
        return given
    checkpoint = load_checkpoint(out)
    if "hyperparameters" not in checkpoint:
        raise ValueError(f"{out!r} is not a checkpoint of qpolicy train (no hyperparameters)")
    return {**json.loads(checkpoint["hyperparameters"]), **given}


def run(args):
    from qpolicy.bounds import classical_value
    from qpolicy.bounds.command import load_game
    try:
        if args.edges is not None and args.game != "rendezvous":
            raise ValueError("--edges describes a rendezvous graph: use it with the game rendezvous")
        game = load_game(args.game, args.edges)
        policy = args.policy or reinforce.Hyperparameters().policy
        out = args.out or f"{game.name}-{policy}.npz"
        check_output(out, args.resume, args.overwrite)
        settings = hyperparameters(args, out)
        known = {f.name for f in dataclasses.fields(reinforce.Hyperparameters)}
        result = reinforce.train(
            game, checkpoint=out, checkpoint_every=args.checkpoint_every, resume=args.resume,
            progress=not args.quiet, **{k: v for k, v in settings.items() if k in known})
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"qpolicy train: error: {exc}", file=sys.stderr)
        return 2
    hp = result.hyperparameters
    classical = classical_value(game).value
    best = result.best_values
    beyond = int(np.sum(best > classical + 1e-9))
    print(f"{game.name}, {hp.policy} policies, {hp.seeds} runs x {hp.steps} steps "
          f"({result.seconds:.1f} s this session)")
    print(f"  best-iterate win probability: worst {best.min():.6f}  median {np.median(best):.6f}  "
          f"best {best.max():.6f}")
    print(f"  classical value {classical:.6f}; {beyond} of {len(best)} runs beyond it")
    print(f"  saved to {out} (load with qpolicy.learn.reinforce.load_run)")
    return 0

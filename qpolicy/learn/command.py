"""``qpolicy train GAME``: learn strategies for a nonlocal game from its referee (REINFORCE + entropy).

Trains ``--seeds`` runs as one batch with the paper's hyperparameters unless told otherwise,
shows a progress line, writes everything (best policies, history, resumable state) atomically to
``--out`` every ``--checkpoint-every`` steps, and ends with a summary against the classical value.
``--resume`` continues an interrupted or finished run in ``--out`` up to ``--steps``.

    qpolicy train chsh --seeds 10 --steps 1000 --out chsh.npz
    qpolicy train tetra --dim 3 --state fixed --anneal 5000 --out tetra.npz
    qpolicy train chsh --steps 2000 --out chsh.npz --resume
"""
import os
import sys

import numpy as np

from qpolicy import games
from qpolicy.learn import reinforce
from qpolicy.learn.parameterizations import POLICIES, STATES

BUILTIN_GAMES = {"chsh": games.chsh, "ghz": games.ghz, "tetra": games.tetra, "cube": games.cube}


def add_arguments(parser):
    defaults = reinforce.Hyperparameters()
    parser.add_argument("game", help=f"a built-in game ({', '.join(BUILTIN_GAMES)}) or a game "
                                     "saved with NonlocalGame.save (.npz)")
    parser.add_argument("--class", dest="policy", choices=sorted(POLICIES), default=defaults.policy,
                        help="policy class (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=defaults.seeds,
                        help="independent runs trained as one batch (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=defaults.steps,
                        help="Adam steps (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=defaults.batch,
                        help="referee rounds per step (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=defaults.lr,
                        help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--entropy", type=float, default=defaults.entropy,
                        help="entropy coefficient α; 0 turns it off (default: %(default)s)")
    parser.add_argument("--anneal", type=int, default=None, metavar="STEPS",
                        help="cosine-anneal α to 0 and lr to lr·FRACTION over STEPS (default: "
                             "constant α and lr, as in the paper)")
    parser.add_argument("--final-lr-fraction", type=float, default=defaults.final_lr_fraction,
                        metavar="FRACTION", help="see --anneal (default: %(default)s)")
    parser.add_argument("--baseline", action="store_true",
                        help="subtract a leave-one-out batch-mean baseline (not in the paper)")
    parser.add_argument("--dim", type=int, default=None,
                        help="local dimension of entangled policies (default: largest answer count)")
    parser.add_argument("--state", choices=STATES, default=defaults.state,
                        help="entangled: learn ρ = BᴴB/tr or fix it maximally entangled "
                             "(default: %(default)s)")
    parser.add_argument("--shared-values", type=int, default=defaults.shared_values,
                        help="shared class: number of shared random values (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help="master random seed (default: %(default)s)")
    parser.add_argument("--out", default=None, metavar="FILE.npz",
                        help="where to save the learned policies (default: GAME-CLASS.npz)")
    parser.add_argument("--checkpoint-every", type=int, default=250, metavar="STEPS",
                        help="save the resumable state every STEPS steps (default: %(default)s)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run stored in --out up to --steps")
    parser.add_argument("--quiet", action="store_true", help="no progress line")


def load_game(name):
    """A built-in game by name, or a game saved with ``NonlocalGame.save``."""
    if name in BUILTIN_GAMES:
        return BUILTIN_GAMES[name]()
    if os.path.isfile(name):
        return games.NonlocalGame.load(name)
    raise ValueError(f"game must be one of {sorted(BUILTIN_GAMES)} or a saved game file, "
                     f"got {name!r}")


def run(args):
    from qpolicy.bounds import classical_value
    try:
        game = load_game(args.game)
        out = args.out or f"{game.name}-{args.policy}.npz"
        result = reinforce.train(
            game, policy=args.policy, seeds=args.seeds, steps=args.steps, batch=args.batch,
            lr=args.lr, entropy=args.entropy, anneal_steps=args.anneal,
            final_lr_fraction=args.final_lr_fraction, baseline=args.baseline, dim=args.dim,
            state=args.state, shared_values=args.shared_values, seed=args.seed, checkpoint=out,
            checkpoint_every=args.checkpoint_every, resume=args.resume, progress=not args.quiet)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"qpolicy train: error: {exc}", file=sys.stderr)
        return 2
    classical = classical_value(game).value
    best = result.best_values
    beyond = int(np.sum(best > classical + 1e-9))
    print(f"{game.name}, {args.policy} policies, {args.seeds} runs x {args.steps} steps "
          f"({result.seconds:.1f} s this session)")
    print(f"  best-iterate win probability: worst {best.min():.6f}  median {np.median(best):.6f}  "
          f"best {best.max():.6f}")
    print(f"  classical value {classical:.6f}; {beyond} of {len(best)} runs beyond it")
    print(f"  saved to {out} (load with qpolicy.learn.reinforce.load_run)")
    return 0

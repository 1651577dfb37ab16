"""``qpolicy bounds``: print classical, see-saw, NPA and non-signaling values of a game.

Examples::

    qpolicy bounds chsh --lp-check
    qpolicy bounds tetra --level 1 1+AB --seesaw-dim 3 --restarts 10 --seed 0
    qpolicy bounds rendezvous --edges "0-1,1-2,2-3,3-0"
    qpolicy bounds my_game.npz            # a game written by NonlocalGame.save

Each row is computed independently; a row that fails (solver failure, game too large) prints
its error and the command exits with status 1.  NPA and see-saw rows need
``qpolicy.bounds.npa`` / ``qpolicy.bounds.seesaw``; without them the rows say so.
"""
import importlib
import os

from qpolicy import games
from qpolicy.bounds.classical import classical_value
from qpolicy.bounds.nonsignaling import nonsignaling_value
from qpolicy.bounds.results import DEFAULT_SOLVER, SolverError

BUILT_IN = {"chsh": games.chsh, "ghz": games.ghz, "tetra": games.tetra, "cube": games.cube}


def add_arguments(parser):
    parser.add_argument("game", help="chsh | ghz | tetra | cube | rendezvous (with --edges) | "
                                     "a FILE.npz written by NonlocalGame.save")
    parser.add_argument("--edges", help='rendezvous graph, e.g. "0-1,1-2,2-0"')
    parser.add_argument("--level", nargs="+", default=["1"], metavar="LEVEL",
                        help='NPA levels: 1, 1+AB, 2 (default: 1)')
    parser.add_argument("--seesaw-dim", type=int, default=None, metavar="D",
                        help="run the see-saw lower bound with local dimension D")
    parser.add_argument("--restarts", type=int, default=10, help="see-saw restarts (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="see-saw seed (default 0)")
    parser.add_argument("--lp-check", action="store_true",
                        help="also compute the classical value by the local-polytope LP (a "
                             "cross-check of the enumeration; ~10-30 s on the Cube)")
    parser.add_argument("--solver", default=None,
                        help=f"cvxpy solver for every LP and SDP row (default: each function's "
                             f"own; {DEFAULT_SOLVER} for the LPs)")


def load_game(name, edges=None):
    """The game named on the command line (built-in, rendezvous with ``edges``, or a .npz file)."""
    if name in BUILT_IN:
        if edges is not None:
            raise ValueError(f"--edges is only for the rendezvous game, not {name!r}")
        return BUILT_IN[name]()
    if name == "rendezvous":
        if edges is None:
            raise ValueError('the rendezvous game needs --edges, e.g. --edges "0-1,1-2,2-0"')
        return games.rendezvous(parse_edges(edges))
    if name.endswith(".npz") or os.path.exists(name):
        return games.NonlocalGame.load(name)
    raise ValueError(f"unknown game {name!r}: use chsh, ghz, tetra, cube, rendezvous or a .npz file")


def parse_edges(text):
    """``"0-1,1-2"`` -> ``[(0, 1), (1, 2)]`` (the graph itself is validated by rendezvous)."""
    edges = []
    for item in text.split(","):
        parts = item.strip().split("-")
        if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
            raise ValueError(f"--edges must look like '0-1,1-2', got the item {item.strip()!r}")
        edges.append((int(parts[0]), int(parts[1])))
    return edges


def _level(text):
    return int(text) if text.isdigit() else text


def _optional(module, name):
    """``module.name`` if that module is installed, else None."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        return None


def _rows(game, args):
    """(label, thunk) pairs; each thunk returns a Bound or raises."""
    solver = args.solver
    rows = [("classical (enumeration)", lambda: classical_value(game))]
    if args.lp_check:
        rows.append(("classical (LP)", lambda: classical_value(game, method="lp", solver=solver)))
    seesaw = _optional("qpolicy.bounds.seesaw", "seesaw_lower_bound")
    if args.seesaw_dim is not None:
        rows.append((f"see-saw (d={args.seesaw_dim}, {args.restarts} restarts)",
                     None if seesaw is None else
                     lambda: seesaw(game, dim=args.seesaw_dim, restarts=args.restarts,
                                    seed=args.seed)))
    npa = _optional("qpolicy.bounds.npa", "npa_upper_bound")
    for level in args.level:
        rows.append((f"NPA level {level}", None if npa is None else
                     lambda level=level: npa(game, level=_level(level), solver=solver)))
    rows.append(("non-signaling", lambda: nonsignaling_value(game, solver=solver)))
    return rows


def run(args):
    try:
        game = load_game(args.game, args.edges)
    except (ValueError, TypeError, OSError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"{game.name}: {game.n_players} players, questions {game.n_questions}, "
          f"answers {game.n_answers}")
    header = f"{'bound':<36} {'value':>12}  {'solver':<10} {'status':<10} {'seconds':>8}"
    print(header)
    print("-" * len(header), flush=True)
    failed, results = False, {}     # rows appear as they finish (flush): NPA rows can take a while
    for label, compute in _rows(game, args):
        if compute is None:
            print(f"{label:<36} {'n/a':>12}  (module not available)")
            continue
        try:
            bound = compute()
        except (SolverError, ValueError) as exc:
            failed = True
            print(f"{label:<36} {'failed':>12}  {exc}", flush=True)
            continue
        results[label] = bound
        print(f"{label:<36} {bound.value:>12.8f}  {_solver_label(bound):<10} "
              f"{bound.status or '':<10} {bound.seconds:>8.3f}", flush=True)
    print(_summary(results))
    return 1 if failed else 0


#: What the solver column says for bounds computed without a cvxpy solver (``solver`` None).
NO_SOLVER_LABELS = {"classical": "enumeration", "seesaw": "see-saw"}


def _solver_label(bound):
    """The cvxpy solver behind a row, or how a solver-free row was computed."""
    return bound.solver or NO_SOLVER_LABELS.get(bound.kind, "none")


def _summary(results):
    """One line bracketing the quantum value by the best lower and upper bounds computed."""
    # exact enumeration and see-saw (a Born-rule strategy) are achievable values; the
    # classical LP row (--lp-check) is a cross-check, not a certificate
    lower = [(b.value, label) for label, b in results.items()
             if label.startswith(("classical (enumeration)", "see-saw"))]
    upper = [(b.value, label) for label, b in results.items()
             if label.startswith(("NPA", "non-signaling"))]
    if not lower or not upper:
        return "summary: not enough bounds computed to bracket the quantum value"
    (low, low_label), (high, high_label) = max(lower), min(upper)
    line = (f"summary: {low:.8f} ({low_label}) <= quantum value <= {high:.8f} ({high_label}), "
            f"gap {high - low:.2g}")
    if "classical (enumeration)" in results:
        classical = results["classical (enumeration)"].value
        line += (f"; quantum advantage over classical between {low - classical:.6g} and "
                 f"{high - classical:.6g}")
    return line

"""``qpolicy bounds``: print classical, see-saw, NPA and non-signaling bounds of a game.

Examples::

    qpolicy bounds chsh --lp-check
    qpolicy bounds tetra --level 1 1+AB --seesaw-dim 3 --restarts 10 --seed 0
    qpolicy bounds rendezvous --edges "0-1,1-2,2-3,3-0"
    qpolicy bounds my_game.npz            # a game written by NonlocalGame.save
    qpolicy bounds chsh --json            # one JSON object (schema below)
    qpolicy bounds chsh --visibility 0.9  # also the value with a white-noised entangled state

**What is printed is what is proved.**  Each row shows one number and says what it proves
(``proves`` column / key):

* ``lower`` — a lower bound on the quantum value: the classical value (the best deterministic
  strategy's value, re-evaluated) and the see-saw (an explicit state and POVMs, re-evaluated),
  printed rounded *down*;
* ``upper`` — an upper bound on the quantum value: NPA (``details["dual_bound"]``, from the
  solver's dual matrix, not its primal value) and non-signaling (the LP dual, outward-rounded),
  printed rounded *up*;
* ``classical upper`` — the local-polytope LP (``--lp-check``): a proved upper bound on the
  classical value, a cross-check of the enumeration;
* ``resource lower`` / ``resource upper`` (``--visibility V`` and/or ``--efficiency E``) — the
  value with a realistic resource (:func:`qpolicy.resources.resource_value`): the default
  entangled state (maximally entangled pair / GHZ state of the see-saw dimension, ``--seesaw-dim``
  or the largest answer count) under white noise of visibility V, detectors of efficiency E (a
  no-click answered 0): the see-saw value of an explicit state and POVMs (lower), and the proved
  bound classical + P(≥2 clicks)·w·(NPA − classical) with NPA at the first ``--level`` (upper).
  These bound the *resource's* value, not the quantum value, so they stay out of the summary's
  quantum bracket and get a summary line of their own.

The solver's own (primal) number is shown as ``solver value`` (text) / ``raw_value`` (JSON), a
detail.  The summary brackets the quantum value by the best proved lower and upper bounds; if
they ever contradicted each other it says so instead of printing an impossible interval.

Each row is computed independently; a row that fails (solver failure, game too large) prints
its error and the command exits with status 1.  Unreadable game files exit with status 2 and a
one-line error.  Solver banners and inaccuracy warnings are not printed (statuses are).

**JSON** (``--json``): one object with the keys of :data:`JSON_SCHEMA` —
``game`` {``name``, ``n_players``, ``n_questions``, ``n_answers``}; ``rows``: a list of
{``label``, ``kind``, ``proves``, ``value``, ``raw_value``, ``solver``, ``status``,
``seconds``, ``error``} (``value`` the proved number, exact float, not rounded for printing;
``raw_value`` the solver's primal or None; ``error`` None or the failure message, then
``value`` None); ``summary`` {``lower``, ``lower_from``, ``upper``, ``upper_from``, ``gap``,
``classical``, ``consistent``, ``resource_lower``, ``resource_upper``} (None where not
computed); ``exit_code``.
"""
import decimal
import importlib
import json
import os
import warnings

from qpolicy import games
from qpolicy.bounds.classical import classical_value
from qpolicy.bounds.nonsignaling import nonsignaling_value
from qpolicy.bounds.lp import silenced
from qpolicy.bounds.results import SolverError

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
                        help="cvxpy solver for every LP and SDP row (default: each function's "
                             "own choice with fallback; HiGHS first for the LPs)")
    parser.add_argument("--visibility", type=float, default=None, metavar="V",
                        help="also bound the value with the default entangled state under white "
                             "noise of visibility V in [0, 1] (see-saw lower, proved upper)")
    parser.add_argument("--efficiency", type=float, default=None, metavar="E",
                        help="detection efficiency in (0, 1] of that resource (a no-click "
                             "answered 0; default 1)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (keys documented in "
                             "qpolicy.bounds.command.JSON_SCHEMA) instead of the table")


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
        return _load_file(name)
    raise ValueError(f"unknown game {name!r}: use chsh, ghz, tetra, cube, rendezvous or a .npz file")


def _load_file(path):
    """A saved game, or a ValueError naming the file and what is wrong with it."""
    if not os.path.isfile(path):
        raise ValueError(f"game file {path!r} does not exist")
    if os.path.getsize(path) == 0:
        raise ValueError(f"game file {path!r} is empty")
    try:
        return games.NonlocalGame.load(path)
    except ValueError as exc:
        if "pickle" not in str(exc):      # numpy's advice to unpickle is not for a game file
            raise ValueError(f"game file {path!r} is not a valid saved game: {exc}") from None
        reason = "not an .npz archive"
    except Exception as exc:       # zipfile.BadZipFile, EOFError, OSError, AttributeError, ...
        reason = f"{type(exc).__name__}: {exc}"
    raise ValueError(f"game file {path!r} is not a game saved by NonlocalGame.save (an .npz "
                     f"archive with 'predicate' and 'question_dist'; {reason})")


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


#: The documented ``--json`` object: key -> type(s) (nested dicts describe nested objects,
#: a one-element list a list of such objects).  Stable: keys are only ever added.
JSON_SCHEMA = {
    "game": {"name": str, "n_players": int, "n_questions": list, "n_answers": list},
    "rows": [{"label": str, "kind": str, "proves": str, "value": (float, type(None)),
              "raw_value": (float, type(None)), "solver": (str, type(None)),
              "status": (str, type(None)), "seconds": (float, type(None)),
              "error": (str, type(None))}],
    "summary": {"lower": (float, type(None)), "lower_from": (str, type(None)),
                "upper": (float, type(None)), "upper_from": (str, type(None)),
                "gap": (float, type(None)), "classical": (float, type(None)),
                "consistent": (bool, type(None)), "resource_lower": (float, type(None)),
                "resource_upper": (float, type(None))},
    "exit_code": int,
}


def _rows(game, args):
    """(label, kind, proves, thunk) rows; each thunk returns a Bound or raises."""
    solver = args.solver
    rows = [("classical (enumeration)", "classical", "lower", lambda: classical_value(game))]
    if args.lp_check:
        rows.append(("classical (LP)", "classical", "classical upper",
                     lambda: classical_value(game, method="lp", solver=solver)))
    seesaw = _optional("qpolicy.bounds.seesaw", "seesaw_lower_bound")
    if args.seesaw_dim is not None:
        rows.append((f"see-saw (d={args.seesaw_dim}, {args.restarts} restarts)", "seesaw",
                     "lower", None if seesaw is None else
                     lambda: seesaw(game, dim=args.seesaw_dim, restarts=args.restarts,
                                    seed=args.seed)))
    npa = _optional("qpolicy.bounds.npa", "npa_upper_bound")
    for level in args.level:
        rows.append((f"NPA level {level}", "npa", "upper", None if npa is None else
                     lambda level=level: npa(game, level=_level(level), solver=solver)))
    rows.append(("non-signaling", "nonsignaling", "upper",
                 lambda: nonsignaling_value(game, solver=solver)))
    if args.visibility is not None or args.efficiency is not None:
        rows += _resource_rows(game, args)
    return rows


def check_resource_args(args):
    """``--visibility`` in [0, 1] and ``--efficiency`` in (0, 1], or a ValueError naming them."""
    v, eta = args.visibility, args.efficiency
    if v is not None and not 0.0 <= v <= 1.0:          # also refuses nan
        raise ValueError(f"--visibility must lie in [0, 1], got {v}")
    if eta is not None and not 0.0 < eta <= 1.0:
        raise ValueError(f"--efficiency must lie in (0, 1], got {eta}")


def _resource_rows(game, args):
    """The two rows of ``--visibility`` / ``--efficiency``: one resource_value run, two bounds."""
    from qpolicy.bounds.results import Bound
    v = 1.0 if args.visibility is None else args.visibility
    eta = 1.0 if args.efficiency is None else args.efficiency
    level = _level(args.level[0])
    cache = {}

    def result():
        if "value" not in cache:
            from qpolicy.resources import resource_value, white_noise
            from qpolicy.quantum import default_entangled_state
            dim = args.seesaw_dim or max(game.n_answers)
            state = white_noise(default_entangled_state(game.n_players, dim), v)
            cache["value"] = resource_value(game, state=state, efficiency=eta,
                                            restarts=args.restarts, seed=args.seed,
                                            npa_level=level)
        return cache["value"]

    def bound(which):
        r = result()
        if which == "lower":
            return Bound(value=r.value, kind="resource", solver="see-saw", status="explicit",
                         strategy=r.strategy, seconds=r.details["seconds"], details=r.details,
                         lower=r.value)
        if r.upper is None:
            raise ValueError("no relaxation bounds this resource")
        return Bound(value=r.upper, kind="resource", solver="NPA dual", status="proved",
                     details=r.details, upper=r.upper)

    what = f"v={v:g} eta={eta:g}"
    return [(f"resource {what} see-saw", "resource", "resource lower", lambda: bound("lower")),
            (f"resource {what} NPA {level}", "resource", "resource upper",
             lambda: bound("upper"))]


def proved_value(bound, proves):
    """``(value, raw)``: the number a row proves, and the solver's own number (or None).

    Lower rows: the classical value's proved lower bound / the see-saw's certified value;
    upper rows: NPA's ``details["dual_bound"]``, the LPs' ``value`` (proved by their duals).
    """
    details = bound.details or {}
    if bound.kind == "npa":
        return float(details["dual_bound"]), float(details.get("primal_value", bound.value))
    if bound.kind == "classical" and proves == "lower":
        return float(details.get("lower_bound", bound.value)), None
    if bound.kind in ("classical", "nonsignaling"):
        return float(bound.value), details.get("primal_value")
    return float(bound.value), None


def _rounded(value, proves):
    """``value`` to 8 decimals, rounded outward: down for lower bounds, up for upper ones."""
    mode = decimal.ROUND_FLOOR if proves.endswith("lower") else decimal.ROUND_CEILING
    return str(decimal.Decimal(value).quantize(decimal.Decimal("1e-8"), rounding=mode))


def compute(game, args):
    """Every row's result as the JSON-ready dicts of :data:`JSON_SCHEMA` (plus the bounds)."""
    results = []
    for label, kind, proves, thunk in _rows(game, args):
        row = {"label": label, "kind": kind, "proves": proves, "value": None, "raw_value": None,
               "solver": None, "status": None, "seconds": None, "error": None}
        if thunk is None:
            row["error"] = "module not available"
            results.append(row)
            continue
        try:
            with silenced(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                bound = thunk()
        except (SolverError, ValueError) as exc:
            row["error"] = str(exc)
            results.append(row)
            yield row
            continue
        value, raw = proved_value(bound, proves)
        row.update(value=value, raw_value=None if raw is None else float(raw),
                   solver=_solver_label(bound), status=bound.status,
                   seconds=float(bound.seconds))
        results.append(row)
        yield row


def summarize(rows):
    """The summary object: best proved lower and upper bounds on the quantum value."""
    done = [row for row in rows if row["error"] is None and row["value"] is not None]
    lower = [(row["value"], row["label"]) for row in done if row["proves"] == "lower"]
    upper = [(row["value"], row["label"]) for row in done if row["proves"] == "upper"]
    classical = next((row["value"] for row in done if row["label"] == "classical (enumeration)"),
                     None)
    summary = {"lower": None, "lower_from": None, "upper": None, "upper_from": None,
               "gap": None, "classical": classical, "consistent": None,
               "resource_lower": None, "resource_upper": None}
    if lower:
        summary["lower"], summary["lower_from"] = max(lower)
    if upper:
        summary["upper"], summary["upper_from"] = min(upper)
    if lower and upper:
        summary["consistent"] = summary["lower"] <= summary["upper"]
        summary["gap"] = summary["upper"] - summary["lower"]
    for row in done:
        if row["proves"] in ("resource lower", "resource upper"):
            summary[row["proves"].replace(" ", "_")] = row["value"]
    return summary


def run(args):
    try:
        check_resource_args(args)
        game = load_game(args.game, args.edges)
    except (ValueError, TypeError, OSError) as exc:
        if args.json:
            print(json.dumps({"error": str(exc), "exit_code": 2}))
        else:
            print(f"error: {exc}")
        return 2
    if args.json:
        rows = list(compute(game, args))
        code = 1 if any(row["error"] not in (None, "module not available") for row in rows) \
            else 0
        print(json.dumps({"game": {"name": game.name, "n_players": game.n_players,
                                   "n_questions": list(game.n_questions),
                                   "n_answers": list(game.n_answers)},
                          "rows": rows, "summary": summarize(rows), "exit_code": code}))
        return code
    print(f"{game.name}: {game.n_players} players, questions {game.n_questions}, "
          f"answers {game.n_answers}")
    header = (f"{'bound':<36} {'value':>12}  {'solver':<10} {'status':<10} {'seconds':>8}  "
              f"proves")
    print(header)
    print("-" * len(header), flush=True)
    rows, failed = [], False          # rows appear as they finish: NPA rows can take a while
    for row in compute(game, args):
        rows.append(row)
        label = row["label"]
        if row["error"] == "module not available":
            print(f"{label:<36} {'n/a':>12}  (module not available)", flush=True)
        elif row["error"] is not None:
            failed = True
            print(f"{label:<36} {'failed':>12}  {row['error']}", flush=True)
        else:
            note = PROVES_TEXT[row["proves"]]
            if row["raw_value"] is not None:
                note += f"; solver value {row['raw_value']:.10g}"
            print(f"{label:<36} {_rounded(row['value'], row['proves']):>12}  "
                  f"{row['solver']:<10} {row['status'] or '':<10} {row['seconds']:>8.3f}  "
                  f"{note}", flush=True)
    summary = summarize(rows)
    print(_summary_line(summary))
    if summary["resource_lower"] is not None:
        upper = summary["resource_upper"]
        print(f"resource: {_rounded(summary['resource_lower'], 'lower')} (explicit strategy) <= "
              f"value with the resource <= "
              f"{'?' if upper is None else _rounded(upper, 'upper') + ' (proved)'}; classical "
              f"{summary['classical']}")
    return 1 if failed else 0


#: What each row's number proves, as printed.
PROVES_TEXT = {"lower": "quantum value >= (explicit strategy)",
               "upper": "quantum value <= (dual certificate)",
               "classical upper": "classical value <= (LP dual)",
               "resource lower": "value with the resource >= (explicit strategy)",
               "resource upper": "value with the resource <= (NPA dual, noise weight)"}

#: What the solver column says for bounds computed without a cvxpy solver (``solver`` None).
NO_SOLVER_LABELS = {"classical": "enumeration", "seesaw": "see-saw"}


def _solver_label(bound):
    """The cvxpy solver behind a row, or how a solver-free row was computed."""
    return bound.solver or NO_SOLVER_LABELS.get(bound.kind, "none")


def _summary_line(summary):
    """One line bracketing the quantum value by the best proved lower and upper bounds."""
    if summary["lower"] is None or summary["upper"] is None:
        return "summary: not enough bounds computed to bracket the quantum value"
    low, high = summary["lower"], summary["upper"]
    if not summary["consistent"]:
        return (f"summary: CONTRADICTION: the proved lower bound {low!r} "
                f"({summary['lower_from']}) exceeds the proved upper bound {high!r} "
                f"({summary['upper_from']}); please report this as a bug")
    line = (f"summary: {_rounded(low, 'lower')} ({summary['lower_from']}) <= quantum value <= "
            f"{_rounded(high, 'upper')} ({summary['upper_from']}), "
            f"gap {high - low:.2g}")
    if summary["classical"] is not None:
        classical = summary["classical"]
        line += (f"; quantum advantage over classical between {low - classical:.6g} and "
                 f"{high - classical:.6g}")
    return line

"""``qpolicy resources``: what a realistic quantum resource is worth in a game, and its thresholds.

Examples::

    qpolicy resources chsh
    qpolicy resources chsh --free-state --json
    qpolicy resources tetra --dim 3
    qpolicy resources mermin5 --dim 2
    qpolicy resources magic_square --dim 4 --measurements projective

Rows: the classical value; the see-saw value with the default entangled state (maximally
entangled pair / GHZ state of ``--dim``) and the proved upper bound; the critical visibility of
that state under white noise; the critical detection efficiency (a no-click answered
``--no-click``) with that state, and with ``--free-state`` also over all states of ``--dim``;
the efficiency at or below which nothing beats the classical value (proved: the non-signalling
LP of the lossy game, any state and measurements); the white-noise threshold of the see-saw
strategy's table (one LP; a Cube table takes ~2 min).
Game thresholds are brackets from explicit strategies (upper end) and see-saw misses (lower
end); see :mod:`qpolicy.resources`.
"""
import json
import re
import sys

from qpolicy import games
from qpolicy._io import solver_output_to_stderr

EXTRA_GAMES = {"magic_square": games.magic_square}


def add_arguments(parser):
    parser.add_argument("game", help="chsh | ghz | tetra | cube | magic_square | merminN (N ≥ 2) "
                                     "| rendezvous (with --edges) | a FILE.npz")
    parser.add_argument("--edges", help='rendezvous graph, e.g. "0-1,1-2,2-0"')
    parser.add_argument("--dim", type=int, default=None,
                        help="local dimension (default: the largest answer count)")
    parser.add_argument("--measurements", default="povm",
                        choices=["povm", "projective", "real", "real_projective"],
                        help="measurement family of every player (default povm)")
    parser.add_argument("--no-click", type=int, default=0, dest="no_click",
                        help="answer given when a detector does not click (default 0)")
    parser.add_argument("--free-state", action="store_true",
                        help="also the critical efficiency over all states (slower)")
    parser.add_argument("--npa-level", default="1", dest="npa_level",
                        help='NPA level of the proved upper bound: 1, 1+AB, 2 (default 1)')
    parser.add_argument("--tol", type=float, default=1e-6, help="bracket width (default 1e-6)")
    parser.add_argument("--restarts", type=int, default=3, help="see-saw restarts (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="see-saw seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def load(name, edges=None):
    """Built-in games of ``qpolicy bounds`` plus the magic square and ``mermin<N>``."""
    if name in EXTRA_GAMES:
        return EXTRA_GAMES[name]()
    match = re.fullmatch(r"mermin(\d+)", name)
    if match:
        return games.mermin(int(match.group(1)))
    from qpolicy.bounds.command import load_game
    return load_game(name, edges)


def thresholds(game, dim=None, measurements="povm", no_click=0, free_state=False, tol=1e-6,
               restarts=3, seed=0, npa_level=1):
    """The rows of the table, as a dict of plain numbers."""
    from qpolicy.quantum import born
    from qpolicy.resources import (critical_efficiency, critical_visibility,
                                   nonlocality_threshold, nonsignaling_efficiency,
                                   resource_value)
    common = dict(dim=dim, measurements=measurements, restarts=restarts, seed=seed)
    value = resource_value(game, no_click=no_click, npa_level=npa_level, **common)
    out = {"game": game.name, "dims": list(value.details["dims"]), "measurements": measurements,
           "classical": value.classical, "quantum_lower": value.value,
           "quantum_upper": value.upper}

    def bracket(th):
        return {"value": th.value, "lower": th.lower, "upper": th.upper,
                "status": th.details.get("status", "bracketed"),
                "seconds": th.details.get("seconds")}

    out["critical_visibility"] = bracket(critical_visibility(game, tol=tol, **common))
    out["critical_efficiency"] = bracket(critical_efficiency(game, no_click=no_click, tol=tol,
                                                             **common))
    proved = nonsignaling_efficiency(game, no_click=no_click, tol=max(tol, 1e-6))
    out["efficiency_proved_lower"] = {"value": proved.value, "upper": proved.upper,
                                      "status": proved.details.get("status", "bracketed")}
    if free_state:
        out["critical_efficiency_free_state"] = bracket(critical_efficiency(
            game, state="free", no_click=no_click, tol=tol, **common))
    if value.beats_classical:
        table = born(value.strategy["state"], value.strategy["effective_povms"], atol=1e-7)
        try:
            th = nonlocality_threshold(table)
            out["table_threshold"] = {
                "value": th.value, "certified_nonlocal_above":
                    th.details["certified_nonlocal_above"], "method": th.details["lp_method"]}
        except ValueError as exc:                        # too large for the compact LP
            out["table_threshold"] = {"error": str(exc)}
    return out


def _fmt(x):
    return "nan" if x != x else f"{x:.6f}"


def run(args):
    try:
        game = load(args.game, args.edges)
        with solver_output_to_stderr():
            rows = thresholds(game, dim=args.dim, measurements=args.measurements,
                              no_click=args.no_click, free_state=args.free_state, tol=args.tol,
                              restarts=args.restarts, seed=args.seed,
                              npa_level=int(args.npa_level) if args.npa_level.isdigit()
                              else args.npa_level)
    except (ValueError, TypeError) as exc:
        print(f"qpolicy resources: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    upper = "none" if rows["quantum_upper"] is None else _fmt(rows["quantum_upper"])
    print(f"{rows['game']}: local dimensions {rows['dims']}, measurements {rows['measurements']}")
    print(f"  classical value                 {_fmt(rows['classical'])}")
    print(f"  quantum, default state          {_fmt(rows['quantum_lower'])}  (see-saw; proved "
          f"upper bound {upper})")
    names = [("critical_visibility", "critical visibility"),
             ("critical_efficiency", "critical efficiency"),
             ("critical_efficiency_free_state", "critical efficiency, any state")]
    for key, label in names:
        if key in rows:
            r = rows[key]
            if r["status"] == "no advantage":
                print(f"  {label:<31} no advantage even at 1")
            else:
                print(f"  {label:<31} {_fmt(r['value'])}  (bracket [{_fmt(r['lower'])}, "
                      f"{_fmt(r['upper'])}]: an explicit strategy wins above the upper end)")
    proved = rows["efficiency_proved_lower"]
    if proved["status"] != "no advantage":
        print(f"  {'efficiency, proved no advantage':<31} at or below {_fmt(proved['value'])}  "
              f"(any state and measurements: non-signalling LP of the lossy game)")
    table = rows.get("table_threshold")
    if table is not None:
        if "error" in table:
            print(f"  table white-noise threshold     not computed: {table['error']}")
        else:
            print(f"  table white-noise threshold     {_fmt(table['value'])}  (LP; non-local "
                  f"certified above {_fmt(table['certified_nonlocal_above'])})")
    return 0

"""Quantum bounds of the paper's games: qpolicy against toqito and ncpol2sdpa, in one run.

Every (game, method, tool) cell runs in its own subprocess with a wall-time limit and an
address-space limit, so a peer that explodes (toqito needs > 9 GB on large cases) or takes
minutes (ncpol2sdpa builds the Cube's relaxation in sympy) cannot stop the run or the machine.
Peak memory is the worker's ``ru_maxrss`` (imports included, for every tool alike).

Printed per cell: value, wall time (build + solve, imports excluded), peak memory, time ratio peer / qpolicy and
|value − qpolicy's value|.  Peers get the same solver and tolerances as qpolicy where they
accept them (ncpol2sdpa through cvxpy: the solver qpolicy's default ended with on that row);
toqito uses its own defaults (cvxpy's default solver).

    python benchmarks/bench_bounds.py                        # all games, all tools
    python benchmarks/bench_bounds.py --skip-slow-peers      # no peer run on the Cube
    python benchmarks/bench_bounds.py --peer-python /path/to/venv/bin/python

    python benchmarks/bench_bounds.py --functionals --peer-python /path/to/venv/bin/python

``--functionals`` runs the Bell-functional table instead (issue 11): I3322 (NPA levels 2, 3),
CGLMP d = 3, Braunstein–Caves (chained Bell, 3 settings), the magic square and Mermin n = 4, 5,
each as a :mod:`qpolicy.bounds.functionals` functional; values are in the functional's own units
(qpolicy: the proved NPA dual bound; toqito: ``bell_inequality_max`` on the Collins–Gisin array;
ncpol2sdpa: its SDP on the functional's game, mapped back).

Peers: ``pip install toqito ncpol2sdpa`` (the ``bench`` extra); a missing peer is reported as
"not installed" and skipped.  Measured numbers and the exact command: ``benchmarks/RESULTS.md``.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

GAMES = ("chsh", "ghz", "tetra", "cube")
#: (method, level) cells; "seesaw" is a lower bound (local dimension per game below).
CELLS = (("npa", "1"), ("npa", "1+AB"), ("seesaw", None))
SEESAW_DIM = {"chsh": 2, "ghz": 2, "tetra": 3, "cube": 3}
TOOLS = ("qpolicy", "toqito", "ncpol2sdpa")
SLOW_PEER_GAMES = ("cube",)
#: Solvers ncpol2sdpa is given when qpolicy's row used them (same tolerances as qpolicy's).
SOLVERS = ("CLARABEL", "SCS", "CVXOPT")
#: Bell functionals (issue 11): (name, NPA level) cells, and the literature value of each.
FUNCTIONAL_CELLS = (("i3322", "2"), ("i3322", "3"), ("cglmp3", "1+AB"), ("chained3", "1"),
                    ("magic_square", "1"), ("mermin4", "1"), ("mermin5", "1"))
LITERATURE = {"i3322": "0.2508753845 (quantum)", "cglmp3": "1 + sqrt(11/3) = 2.914854",
              "chained3": "6 cos(pi/6) = 5.196152", "magic_square": "1",
              "mermin4": "8 (= 2^(n-1))", "mermin5": "16 (= 2^(n-1))"}


def functional(name):
    """The benchmark's Bell functionals (:mod:`qpolicy.bounds.functionals`)."""
    import itertools
    import numpy as np
    from qpolicy.bounds import functionals as bf
    if name == "i3322":         # Collins & Gisin 2004, CG notation: local 0
        return bf.from_collins_gisin(np.array([[0, -2, -1, 0], [-1, 1, 1, 1], [0, 1, 1, -1],
                                               [0, 1, -1, 0]]), 2)
    if name == "cglmp3":        # Collins, Gisin, Linden, Massar, Popescu 2002: local 2
        return bf.cglmp3()
    if name == "chained3":      # Braunstein & Caves 1990, 3 settings: local 4
        F = np.zeros((4, 4))
        for k in range(3):
            F[1 + k, 1 + k] = 1
            if k < 2:
                F[2 + k, 1 + k] = 1
        F[1, 3] = -1
        return bf.from_correlators(F)
    if name == "magic_square":  # Mermin–Peres, rows vs columns, all 8 three-bit answers
        from qpolicy import games
        V = np.zeros((8, 8, 3, 3))
        for a, b, r, c in itertools.product(range(8), range(8), range(3), range(3)):
            row, col = [(a >> i) & 1 for i in range(3)], [(b >> i) & 1 for i in range(3)]
            V[a, b, r, c] = sum(row) % 2 == 0 and sum(col) % 2 == 1 and row[c] == col[r]
        return bf.from_game(games.NonlocalGame(V, np.full((3, 3), 1 / 9)))
    if name.startswith("mermin"):   # Mermin 1990: Re prod_k (A_0 + i A_1), settings X, Y
        n = int(name[len("mermin"):])
        F = np.zeros((3,) * n)
        for settings in itertools.product(range(2), repeat=n):
            F[tuple(1 + np.array(settings))] = np.cos(np.pi / 2 * sum(settings))
        return bf.from_correlators(F)
    raise ValueError(name)


def run_functional_qpolicy(name, level):
    from qpolicy.bounds.functionals import functional_bound
    bound = functional_bound(functional(name), "npa", level=level)
    size = bound.details["game_bound"].details["size"]
    return bound.value, f"{bound.solver}, N={size}, proved dual bound"


def run_functional_toqito(name, level):
    from toqito.state_opt.bell_inequality_max import bell_inequality_max
    f = functional(name)
    if f.game.n_players != 2:
        raise NotImplementedError("toqito's bell_inequality_max is bipartite")
    (oa, ob), (ma, mb) = f.game.n_answers, f.game.n_questions
    value = bell_inequality_max(f.to_collins_gisin(), [oa, ob, ma, mb], "cg", "quantum",
                                k=int(level) if level.isdigit() else level.lower())
    return value, "SCS (toqito's choice)"


def run_functional_ncpol2sdpa(name, level):
    if not (level.isdigit() or level == "1+AB"):
        raise NotImplementedError(f"level {level}")
    f = functional(name)
    if f.game.n_players != 2:
        raise NotImplementedError("benchmark covers ncpol2sdpa on two-player games")
    value, note = _ncpol2sdpa_npa(f.game, level)
    return f.scale * value + f.offset, note


# -- workers: one cell each, run in a subprocess ---------------------------------------------------

def _game(name):
    from qpolicy import games
    return getattr(games, name)()


def run_qpolicy(game_name, method, level):
    from qpolicy.bounds import npa_upper_bound, seesaw_lower_bound
    game = _game(game_name)
    if method == "npa":
        bound = npa_upper_bound(game, level=level)
        return bound.value, f"{bound.solver}, N={bound.details['size']}"
    bound = seesaw_lower_bound(game, SEESAW_DIM[game_name], restarts=10, seed=0)
    return bound.value, f"{bound.details['n_reached_best']}/10 restarts reached best"


def run_toqito(game_name, method, level):
    from toqito.nonlocal_games.nonlocal_game import NonlocalGame
    game = _game(game_name)
    if game.n_players != 2:
        raise NotImplementedError("toqito supports two-player games only")
    prob_mat, pred_mat = game.to_toqito()
    peer = NonlocalGame(prob_mat, pred_mat, reps=1)
    if method == "npa":
        return peer.commuting_measurement_value_upper_bound(k=level.lower()), "cvxpy default"
    return peer.quantum_value_lower_bound(dim=SEESAW_DIM[game_name]), "1 run, toqito defaults"


def run_ncpol2sdpa(game_name, method, level):
    if method != "npa":
        raise NotImplementedError("ncpol2sdpa has no see-saw")
    game = _game(game_name)
    if game.n_players != 2:
        raise NotImplementedError("benchmark covers ncpol2sdpa on two-player games")
    return _ncpol2sdpa_npa(game, level)


def _ncpol2sdpa_npa(game, level):
    from ncpol2sdpa import (SdpRelaxation, flatten, generate_measurements,
                            projective_measurement_constraints)
    from qpolicy.bounds.npa import CLARABEL_MAX_SIZE, CVXOPT_DEFAULTS, SCS_DEFAULTS
    (m_a, m_b), (q_a, q_b) = game.n_answers, game.n_questions
    A = generate_measurements([m_a] * q_a, "A")
    B = generate_measurements([m_b] * q_b, "B")

    def projector(ops, x, a, m):              # Collins-Gisin: the last answer is 1 - sum
        return ops[x][a] if a < m - 1 else 1 - sum(ops[x])

    weights = game.weights
    objective = 0
    for x in range(q_a):
        for y in range(q_b):
            for a in range(m_a):
                for b in range(m_b):
                    if weights[a, b, x, y]:
                        objective += float(weights[a, b, x, y]) * projector(A, x, a, m_a) \
                            * projector(B, y, b, m_b)
    extra = [a * b for a in flatten(A) for b in flatten(B)] if level == "1+AB" else []
    sdp = SdpRelaxation(flatten([A, B]), verbose=0)
    sdp.get_relaxation(int(level) if level.isdigit() else 1, objective=-objective,
                       substitutions=projective_measurement_constraints(A, B),
                       extramonomials=extra)
    size = len(sdp.monomial_sets[0]) if getattr(sdp, "monomial_sets", None) else \
        1 + len(flatten(A)) + len(flatten(B)) + len(extra)
    # the solver qpolicy's default ended with on this row (run_cell passes it), same tolerances
    solver = os.environ.get("QPOLICY_BENCH_SOLVER") or (
        "CLARABEL" if size <= CLARABEL_MAX_SIZE else "SCS")
    params = {"solver": solver, **{"SCS": SCS_DEFAULTS, "CVXOPT": CVXOPT_DEFAULTS}.get(solver, {})}
    try:
        sdp.solve(solver="cvxpy", solverparameters=dict(params))   # ncpol2sdpa pops "solver"
    except Exception:       # as qpolicy does: CVXOPT once more at its own looser tolerances
        if solver != "CVXOPT":
            raise
        params = {"solver": "CVXOPT"}
        sdp.solve(solver="cvxpy", solverparameters=dict(params))
    note = "CVXOPT defaults" if params == {"solver": "CVXOPT"} else params["solver"]
    return -sdp.primal, f"{note}, N={size}, {sdp.status}"


#: Imported before the clock starts (cvxpy alone takes seconds to import on a busy machine).
IMPORTS = {"qpolicy": ["qpolicy.bounds"], "toqito": ["toqito.nonlocal_games.nonlocal_game",
                                                     "toqito.state_opt.bell_inequality_max"],
           "ncpol2sdpa": ["ncpol2sdpa", "qpolicy.bounds"]}


def worker(tool, game_name, method, level, memory_gb):
    if memory_gb:
        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        for module in IMPORTS[tool] + ["cvxpy", "qpolicy.games"]:
            __import__(module)
    except ModuleNotFoundError as exc:
        print(json.dumps({"skip": f"not installed ({exc.name})", "seconds": 0.0}))
        return
    start = time.perf_counter()
    try:
        if method == "functional":
            value, note = globals()[f"run_functional_{tool}"](game_name, level)
        else:
            value, note = globals()[f"run_{tool}"](game_name, method, level)
        result = {"value": float(value), "note": note}
    except NotImplementedError as exc:
        result = {"skip": str(exc)}
    except MemoryError:
        result = {"error": f"out of memory (limit {memory_gb} GB)"}
    except ModuleNotFoundError as exc:
        result = {"skip": f"not installed ({exc.name})"}
    result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


# -- driver ----------------------------------------------------------------------------------------

def run_cell(python, tool, game_name, method, level, timeout, memory_gb, solver=None):
    command = [python, os.path.abspath(__file__), "--worker", tool, game_name, method,
               str(level), str(memory_gb)]
    env = dict(os.environ, **({"QPOLICY_BENCH_SOLVER": solver} if solver else {}))
    start = time.perf_counter()
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s", "seconds": time.perf_counter() - start}
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": tail[:80], "seconds": time.perf_counter() - start}
    return json.loads(lines[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="+", default=list(GAMES), choices=GAMES)
    parser.add_argument("--functionals", nargs="*", default=None, metavar="NAME",
                        help="run the Bell-functional table (FUNCTIONAL_CELLS) instead; "
                             "names (e.g. i3322 mermin5) restrict it")
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--skip-slow-peers", action="store_true",
                        help="run no peer on " + ", ".join(SLOW_PEER_GAMES))
    parser.add_argument("--peer-python", default=sys.executable,
                        help="Python interpreter with the peers installed (default: this one)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per cell")
    parser.add_argument("--memory-gb", type=float, default=6.0,
                        help="address-space limit per cell (protects a shared machine)")
    args = parser.parse_args(argv)

    rows = []
    header = (f"{'game':6} {'method':7} {'level':5} {'tool':11} {'value':>13} {'time s':>8} "
              f"{'peak MB':>8} {'t/t_qp':>7} {'|dv|':>8}  note")
    print(header, flush=True)
    if args.functionals is not None:
        cells = [(name, "functional", level) for name, level in FUNCTIONAL_CELLS
                 if not args.functionals or name in args.functionals]
    else:
        cells = [(g, m, lv) for g in args.games for m, lv in CELLS]
    for game_name, method, level in cells:
        reference = None
        for tool in args.tools:
            if tool != "qpolicy" and args.skip_slow_peers and game_name in SLOW_PEER_GAMES:
                result = {"skip": "--skip-slow-peers"}
            else:
                python = sys.executable if tool == "qpolicy" else args.peer_python
                used = reference["note"].split(",")[0] if reference else None
                result = run_cell(python, tool, game_name, method, level, args.timeout,
                                  args.memory_gb, used if used in SOLVERS else None)
            if tool == "qpolicy" and "value" in result:
                reference = result
            rows.append((game_name, method, level, tool, result))
            print(_format(game_name, method, level, tool, result, reference), flush=True)
    return 0


def _format(game_name, method, level, tool, result, reference):
    start = f"{game_name:6} {'npa' if method == 'functional' else method:7} {level or '-':5} " \
        f"{tool:11} "
    if "value" not in result:
        reason = result.get("skip") or result.get("error")
        return start + f"{'—':>13} {result.get('seconds', 0):8.2f} {'':8} {'':7} {'':8}  {reason}"
    ratio = diff = ""
    if reference is not None and tool != "qpolicy":
        ratio = f"{result['seconds'] / reference['seconds']:7.1f}"
        diff = f"{abs(result['value'] - reference['value']):8.1e}"
    return start + (f"{result['value']:13.9f} {result['seconds']:8.2f} "
                    f"{result['peak_mb']:8.0f} {ratio:>7} {diff:>8}  {result['note']}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _, _, tool, game_name, method, level, memory_gb = sys.argv
        worker(tool, game_name, method, None if level == "None" else level, float(memory_gb))
    else:
        sys.exit(main())

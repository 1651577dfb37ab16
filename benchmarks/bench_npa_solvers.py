"""Which SDP solver for which NPA problem: Clarabel, CVXOPT and SCS on the same SDPs, side by side.

Sets the thresholds of ``qpolicy.bounds.npa._attempts`` (``CVXOPT_MIN_SIZE``,
``CLARABEL_MAX_SIZE``).  Every (case, solver) cell runs in its own subprocess with a wall-time
and an address-space limit; printed per cell: moment-matrix size N, number of moment variables
m, the certified value (``Bound.value``, or the membership interval on t*), status, wall time of
build + solve + certificate and the worker's peak memory.  ``default`` is ``solver=None``.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD nice -n 10 python benchmarks/bench_npa_solvers.py \
        [--cases i3322-3 tetra-1+AB] [--solvers CVXOPT CLARABEL] [--timeout 300]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time


SOLVERS = ("CLARABEL", "CVXOPT", "SCS", "default")


def _game(name):
    from qpolicy import games
    from bench_npa_levels import cglmp3, i3322      # one definition (this folder is on sys.path)
    if name == "i3322":
        return i3322()
    if name == "cglmp3":
        return cglmp3()
    if name.startswith("mermin"):
        return games.mermin(int(name[len("mermin"):]))
    return getattr(games, name)()


def _seesaw_table(name, dim):
    from qpolicy import born
    from qpolicy.bounds import seesaw_lower_bound
    strategy = seesaw_lower_bound(_game(name), dim, restarts=1, seed=0).strategy
    return born(strategy["state"], strategy["povms"])


#: name -> (kind, game, level, see-saw dimension for membership tables)
CASES = {
    "chsh-1": ("bound", "chsh", 1, None), "chsh-2": ("bound", "chsh", 2, None),
    "chsh-3": ("bound", "chsh", 3, None), "chsh-5": ("bound", "chsh", 5, None),
    "cglmp3-1+AB": ("bound", "cglmp3", "1+AB", None), "cglmp3-2": ("bound", "cglmp3", 2, None),
    "i3322-1+AB": ("bound", "i3322", "1+AB", None), "i3322-2": ("bound", "i3322", 2, None),
    "i3322-1+AB+AAB": ("bound", "i3322", "1+AB+AAB", None),
    "i3322-1+AB+AAB+ABB": ("bound", "i3322", "1+AB+AAB+ABB", None),
    "i3322-3": ("bound", "i3322", 3, None),
    "mermin3-1": ("bound", "mermin3", 1, None), "mermin3-1+AB": ("bound", "mermin3", "1+AB", None),
    "mermin4-1": ("bound", "mermin4", 1, None), "mermin4-1+AB": ("bound", "mermin4", "1+AB", None),
    "mermin5-1": ("bound", "mermin5", 1, None),
    "magic_square-1": ("bound", "magic_square", 1, None),
    "tetra-1+AB": ("bound", "tetra", "1+AB", None), "cube-1+AB": ("bound", "cube", "1+AB", None),
    "member-chsh-2": ("member", "chsh", 2, 2), "member-tetra-1": ("member", "tetra", 1, 3),
    "member-tetra-1+AB": ("member", "tetra", "1+AB", 3),
    "member-i3322-1+AB+AAB": ("member", "i3322", "1+AB+AAB", 2),
}


def worker(case, solver, memory_gb):
    limit = int(memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from qpolicy.bounds.npa import npa_membership, npa_upper_bound
    kind, game_name, level, dim = CASES[case]
    table = _seesaw_table(game_name, dim) if kind == "member" else None
    start = time.perf_counter()
    chosen = None if solver == "default" else solver
    try:
        if kind == "bound":
            bound = npa_upper_bound(_game(game_name), level=level, solver=chosen)
            size = bound.details["size"]
            result = {"value": f"{bound.value:.10f}", "status": bound.status,
                      "used": bound.solver, "size": size,
                      "m": bound.details["n_variables"]}
        else:
            answer = npa_membership(table, level=level, solver=chosen)
            result = {"value": f"{answer.status} [{answer.lower:.1e}, {answer.upper:.1e}]",
                      "status": answer.solver_status, "used": answer.solver,
                      "size": answer.details["size"], "m": "-"}
    except (ValueError, MemoryError) as exc:
        result = {"error": str(exc)[:70]}
    except Exception as exc:          # a solver failure is a result of the benchmark
        result = {"error": f"{type(exc).__name__}: {str(exc)[:60]}"}
    result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=SOLVERS)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per cell")
    parser.add_argument("--memory-gb", type=float, default=5.0, help="address-space limit")
    args = parser.parse_args(argv)
    print("| case | solver | N | m | certified | status | used | wall (s) | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        for solver in args.solvers:
            command = [sys.executable, os.path.abspath(__file__), "--worker", case, solver,
                       str(args.memory_gb)]
            start = time.perf_counter()
            try:
                out = subprocess.run(command, capture_output=True, text=True,
                                     timeout=args.timeout)
                lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
                result = json.loads(lines[-1]) if lines else {
                    "error": (out.stderr.strip().splitlines() or ["no output"])[-1][:70]}
            except subprocess.TimeoutExpired:
                result = {"error": f"timeout after {args.timeout:.0f} s"}
            result.setdefault("seconds", time.perf_counter() - start)
            if "error" in result:
                print(f"| {case} | {solver} | | | — | {result['error']} | | "
                      f"{result['seconds']:.1f} | |", flush=True)
            else:
                print(f"| {case} | {solver} | {result['size']} | {result['m']} | "
                      f"{result['value']} | {result['status']} | {result['used']} | "
                      f"{result['seconds']:.2f} | {result['peak_mb']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(main())

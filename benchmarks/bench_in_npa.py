"""Time ``npa_membership(p, level="1+AB")`` on Cube-size tables (3×3×8×8: a joint 289-monomial
SDP); each answer is printed with its rigorous interval on t*.

Tables: a see-saw strategy's Born table (quantum, on the boundary of the set) and the
non-signaling optimum of the Cube (value 3/8 > NPA 209/648, so outside).  The default chain
(``npa_membership``): SCS at atol, the solver's point polished by alternating projections if
that leaves the answer undecided, then (CVXOPT does not fit: 26 GB) SCS warm-started at atol/100.
``--old`` also times the previous tolerance (SCS at eps 1e-8; the certificates are cheap either
way) on the quantum table.

    PYTHONPATH=$PWD python benchmarks/bench_in_npa.py [--old]
"""
import argparse
import time

from qpolicy import born, games
from qpolicy.bounds import nonsignaling_value, seesaw_lower_bound
from qpolicy.bounds.npa import SCS_DEFAULTS, npa_membership


def timed(label, function):
    start = time.perf_counter()
    answer = function()
    seconds = time.perf_counter() - start
    print(f"{label:<52} {answer.status:<11} [{answer.lower:.2e}, {answer.upper:.2e}] "
          f"{answer.solver} {seconds:8.1f} s", flush=True)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", action="store_true", help="also time SCS at eps 1e-8")
    args = parser.parse_args()
    strategy = seesaw_lower_bound(games.cube(), 3, restarts=1, seed=0).strategy
    quantum = born(strategy["state"], strategy["povms"])
    outside = nonsignaling_value(games.cube()).strategy
    new = timed("see-saw table, 1+AB (default solver chain)",
                lambda: npa_membership(quantum, level="1+AB"))
    timed("NS-optimal table, 1+AB", lambda: npa_membership(outside, level="1+AB"))
    if args.old:
        old = timed("see-saw table, SCS at eps 1e-8 (previous tolerance)",
                    lambda: npa_membership(quantum, level="1+AB", solver="SCS",
                                           eps_abs=SCS_DEFAULTS["eps_abs"],
                                           eps_rel=SCS_DEFAULTS["eps_rel"]))
        print(f"speed-up on the quantum table: {old / new:.1f}x")


if __name__ == "__main__":
    main()

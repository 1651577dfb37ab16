"""NPA levels on I3322 and CGLMP d = 3: certified value, size, solver and time per level.

Every value printed is the certified upper bound (``Bound.value``: the solver's dual, refined
and rounded outward); ``primal`` is the solver's own number; ``above lit.`` is the certified
value minus the literature value (I3322: the quantum supremum 0.2508753845, Pál & Vértesi 2010;
CGLMP: 2.914854, the quantum maximum, which NPA reaches at "1+AB").  Also the payoff-scale
check: CHSH ×a + b for a from 1e-12 to 1e12.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD nice -n 10 python benchmarks/bench_npa_levels.py \
        [--level3-eps 1e-6]

``--level3-eps EPS`` adds I3322 at level 3 (88 monomials) solved by SCS at tolerance EPS (the
default solver settings, 1e-8 and up to 200 000 iterations, take minutes of CPU).  Times: wall
and CPU (``time.process_time``) — on a shared machine the CPU time is the comparable one.
"""
import argparse
import time

import numpy as np

from qpolicy import games
from qpolicy.bounds.functionals import cglmp3_coefficients
from qpolicy.bounds.npa import npa_upper_bound

I3322_QUANTUM = 0.2508753845
CGLMP3_QUANTUM = 2.914854


def i3322():
    """I3322 (Collins–Gisin form, classical 0), uniform questions, payoff 9·coefficient."""
    F = np.zeros((2, 2, 3, 3))
    F[0, 0] = [[1, 1, 1], [1, 1, -1], [1, -1, 0]]
    F[0, :, 0, 0] -= 1
    F[:, 0, 0, 0] -= 2
    F[:, 0, 0, 1] -= 1
    return games.NonlocalGame(9 * F, np.full((3, 3), 1 / 9), name="I3322")


def cglmp3():
    """CGLMP d = 3 as a game whose value is I_3: local 2, quantum 2.914854."""
    return games.NonlocalGame(4 * cglmp3_coefficients(), np.full((2, 2), 1 / 4), name="CGLMP3")


def row(name, game, level, literature, **options):
    start, cpu = time.perf_counter(), time.process_time()
    bound = npa_upper_bound(game, level=level, **options)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"| {name} | {level} | {bound.details['size']} | {bound.solver} | {bound.value:.10f} | "
          f"{bound.details['primal_value']:.10f} | {bound.value - literature:+.2e} | "
          f"{seconds:.1f} | {cpu:.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level3-eps", type=float, default=None,
                        help="also I3322 at level 3, SCS at this tolerance")
    parser.add_argument("--only-level3", action="store_true", help="skip the other rows")
    args = parser.parse_args()
    print("| game | level | monomials | solver | certified value | primal | above lit. | "
          "wall (s) | CPU (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    if args.level3_eps is not None:
        row("I3322", i3322(), 3, I3322_QUANTUM, solver="SCS", eps_abs=args.level3_eps,
            eps_rel=args.level3_eps)
    if args.only_level3:
        return
    for level in (1, "1+AB", 2, "1+AB+AAB", "1+AB+AAB+ABB"):
        row("I3322", i3322(), level, I3322_QUANTUM)
    for level in (1, "1+AB", 2):
        row("CGLMP d=3", cglmp3(), level, CGLMP3_QUANTUM)
    print("\nCHSH payoff a·V + b (level 1): certified value vs a·cos²(π/8) + b")
    tsirelson = np.cos(np.pi / 8) ** 2
    for a in (1e-12, 1e-9, 1e-6, 1.0, 1e6, 1e12):
        for b in (0.0, -3 * a):
            game = games.NonlocalGame(a * games.chsh().predicate + b, games.chsh().question_dist)
            value = npa_upper_bound(game, level=1).value
            print(f"  a = {a:7.0e}  b = {b:+9.1e}   (value - b)/a = {(value - b) / a:.12f}   "
                  f"excess over the quantum value {(value - (a * tsirelson + b)) / a:+.1e}·a")


if __name__ == "__main__":
    main()

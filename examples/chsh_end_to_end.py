"""CHSH end to end
===============

The CHSH game end to end: bounds → learn an entangled strategy from the referee → verify it.

Alice and Bob each get a random bit x, y and answer bits a, b without talking; they win when
a XOR b = x AND y.  With shared randomness they win at most 3/4; sharing a Bell pair they can win
cos²(π/8) ≈ 0.854 (Tsirelson); only a post-quantum "PR box" would win always.  This script

1. computes the three values with qpolicy.bounds (exact enumeration, NPA SDP, non-signaling LP);
2. learns an entangled strategy with REINFORCE, seeing nothing but the referee's scores
   (a small run: 2 seeds x 120 steps, a few seconds);
3. checks the learned policy table with qpolicy.verify: a Bell inequality (found by an LP) that
   every shared-randomness strategy satisfies and the learned one violates, and the learned
   state and measurements reproduce the table by the Born rule (class Q, proven).

Run:  python examples/chsh_end_to_end.py [--steps 120] [--seed 0]
"""
import argparse

import numpy as np

from qpolicy import games
from qpolicy.bounds import classical_value, nonsignaling_value, npa_upper_bound
from qpolicy.learn import reinforce
from qpolicy.verify import learned_strategy, verify


def main(argv=None):
    parser = argparse.ArgumentParser(description="CHSH end to end")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    game = games.chsh()
    print("1. The CHSH game and its bounds")
    classical = classical_value(game)                # enumerates all 16 deterministic strategies
    print(f"   classical value (shared randomness)  {classical.value:.6f}   (3/4)")
    print(f"   NPA level 1 (quantum upper bound)    {npa_upper_bound(game, level=1).value:.6f}"
          f"   (cos²(π/8) = {np.cos(np.pi / 8) ** 2:.6f})")
    print(f"   non-signaling value                  {nonsignaling_value(game).value:.6f}   "
          f"(the PR box)")

    print(f"\n2. REINFORCE from the referee: 2 seeds x {args.steps} steps, batch 256, "
          f"entropy 0.2, Bell-pair policy class")
    run = reinforce.train(game, policy="entangled", seeds=2, steps=args.steps, batch=256,
                          seed=args.seed, progress=False)
    best = int(np.argmax(run.best_values))
    print(f"   learned win probability (exact, best iterate)  {run.best_values[best]:.6f}  "
          f"(seed {best}, step {run.best_steps[best]})")

    print("\n3. Verify the learned policy table p[a, b, x, y], with the learned state and "
          "measurements\n   as the explicit quantum strategy behind it")
    report = verify(run.best_tables[best], game=game,
                    strategy=learned_strategy(run, game, best))
    print("   " + str(report).replace("\n", "\n   "))
    if report.certificate is not None:
        B = report.certificate
        print(f"\n   Bell certificate: local bound {B.local_bound:.6f}, learned {B.value:.6f}, "
              f"violation {B.violation:.6f}")
        print("   B[a, b, x, y] (rows a,b; columns x,y):")
        print("   " + np.array2string(B.coefficients.reshape(4, 4), precision=2,
                                      suppress_small=True).replace("\n", "\n   "))


if __name__ == "__main__":
    main()

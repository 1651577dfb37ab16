"""Rendezvous on a graph
=====================

Rendezvous on a graph: two agents on random vertices each take one step; can entanglement help
them meet?

Each agent starts on a uniformly random vertex of a graph (independently), sees only its own
vertex, and moves along one of its edges (answer k = "go to my k-th neighbour").  They win if
they end on the same vertex.  On the tetrahedron K4 (Viola & Mironowicz 2024):

* shared randomness wins with probability 5/8 — computed two independent ways: by enumerating
  every deterministic strategy, and by a linear program over the local polytope;
* no quantum strategy beats the NPA bound at level "1+AB" (≈ 0.64506), a semidefinite program;
* a see-saw search finds a maximally entangled qutrit pair strategy reaching it: the quantum
  value is pinned down between two certified numbers;
* non-signaling boxes could reach 3/4.

Run:  python examples/rendezvous_on_a_graph.py ["0-1,0-2,0-3,1-2,1-3,2-3"]
"""
import sys

import numpy as np

from qpolicy import games
from qpolicy.bounds import (classical_value, nonsignaling_value, npa_upper_bound,
                            seesaw_lower_bound)
from qpolicy.bounds.command import parse_edges

K4 = "0-1,0-2,0-3,1-2,1-3,2-3"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    edges = parse_edges(argv[0] if argv else K4)
    game = games.rendezvous(edges, name="rendezvous")
    print(f"graph with edges {edges}")
    print(f"table shape p[a_1, a_2, v_1, v_2] = {game.shape}  (answers = neighbour index, "
          f"questions = start vertex)")

    enumerated = classical_value(game)                       # exact, all deterministic pairs
    lp = classical_value(game, method="lp")                  # LP over the local polytope
    moves = [_destinations(edges, f) for f in enumerated.strategy]
    print("\nshared randomness (classical value)")
    print(f"   by enumeration   {enumerated.value:.6f}   an optimal strategy (start -> end "
          f"vertex): agent 1 {moves[0]}, agent 2 {moves[1]}")
    print(f"   by LP            {lp.value:.6f}   ({lp.solver}, {lp.status}); "
          f"difference {abs(lp.value - enumerated.value):.1e}")

    print("\nquantum")
    for level in (1, "1+AB"):
        npa = npa_upper_bound(game, level=level)             # the last one, "1+AB", is kept
        print(f"   NPA upper bound, level {str(level):<5} {npa.value:.6f}   "
              f"(moment matrix size {npa.details['size']}, {npa.seconds:.1f} s)")
    seesaw = seesaw_lower_bound(game, dim=3, restarts=3, seed=0)
    rho = seesaw.strategy["state"]
    print(f"   see-saw lower bound, qutrit pair  {seesaw.value:.6f}   "
          f"({seesaw.details['n_reached_best']} of 3 random starts reached it)")
    spectrum = _schmidt(rho)
    kind = "maximally entangled" if np.allclose(spectrum, 1 / 3, atol=1e-3) else "not maximal"
    print(f"   the state's Schmidt spectrum: {np.round(spectrum, 4)}  ({kind})")
    print(f"   quantum value in [{seesaw.value:.6f}, {npa.value:.6f}]: the bounds agree to "
          f"{abs(npa.value - seesaw.value):.0e} (the SDP solver's accuracy)")
    print(f"\nnon-signaling value {nonsignaling_value(game).value:.6f}")
    print(f"quantum advantage over shared randomness: {seesaw.value - enumerated.value:.6f} "
          f"(at least)")


def _destinations(edges, strategy):
    """{start vertex: end vertex} of a deterministic strategy (answer k = k-th neighbour)."""
    neighbours = {}
    for u, v in edges:
        neighbours.setdefault(u, []).append(v)
        neighbours.setdefault(v, []).append(u)
    return {v: sorted(neighbours[v])[int(k)] for v, k in enumerate(strategy)}


def _schmidt(rho, d=3):
    """Schmidt coefficients² of a pure two-qutrit state from its density matrix."""
    w, v = np.linalg.eigh(rho)
    psi = v[:, -1].reshape(d, d)
    return np.sort(np.linalg.svd(psi, compute_uv=False) ** 2)[::-1]


if __name__ == "__main__":
    main()

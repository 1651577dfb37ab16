"""A tour of QuantumSoftmax
========================

A tour of QuantumSoftmax: from random logits to a POVM, to a Bell-state policy, to its
non-signaling check (paper §2–§4.1, Alg. 1, eq. 5–6).

Run:  python examples/quantum_softmax_tour.py [--seed 0]
"""
import argparse
import itertools

import numpy as np

import qpolicy as qp
from qpolicy.policies import EntangledPolicy, nonsignaling_violation


def show(title, value):
    print(f"{title:<58} {value}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="A tour of QuantumSoftmax")
    parser.add_argument("--seed", type=int, default=0)
    rng = np.random.default_rng(parser.parse_args(argv).seed)
    np.set_printoptions(precision=3, suppress=True)

    print("1. Logits → POVM.  Three complex 2×2 logit matrices Z_j (one per outcome):")
    Z = rng.normal(size=(3, 2, 2)) + 1j * rng.normal(size=(3, 2, 2))
    P = qp.quantum_softmax(Z)
    print(P)
    show("   smallest eigenvalue of any P_j (≥ 0: positive)", f"{np.linalg.eigvalsh(P).min():.3f}")
    show("   max |Σ_j P_j − I| (0: outcomes exhaust all cases)",
         f"{np.abs(P.sum(axis=0) - np.eye(2)).max():.1e}")
    show("   is_povm", qp.is_povm(P))

    print("\n2. With d = 1 the logits are numbers and QuantumSoftmax is the ordinary softmax:")
    z = np.array([1.0, 2.0, 3.0])
    show("   QuantumSoftmax", qp.quantum_softmax(z[:, None, None])[:, 0, 0])
    show("   softmax", np.exp(z) / np.exp(z).sum())

    print("\n3. A shared Bell state (eq. 1) and one POVM per question for each player give the")
    print("   joint policy p(a, b | x, y) = tr(ρ M_A(a|x) ⊗ M_B(b|y))  (eq. 6):")
    alice = qp.quantum_softmax(rng.normal(size=(2, 2, 2, 2)) + 1j * rng.normal(size=(2, 2, 2, 2)))
    bob = qp.quantum_softmax(rng.normal(size=(2, 2, 2, 2)) + 1j * rng.normal(size=(2, 2, 2, 2)))
    policy = EntangledPolicy(qp.bell_state(), [alice, bob])        # povms: [question, answer, d, d]
    p = policy.table()                                             # p[a, b, x, y]
    for x, y in itertools.product(range(2), repeat=2):
        print(f"   x={x} y={y}:  p(a,b) = {p[:, :, x, y].ravel()}  (a,b = 00 01 10 11)")
    answers = policy.sample(np.array([[0, 1]] * 8), rng=rng)
    print(f"   eight samples for questions (0, 1): {answers.tolist()}")

    print("\n4. No communication: Alice's answer statistics do not depend on Bob's question:")
    for x in range(2):
        print(f"   x={x}:  p(a | x, y=0) = {p[:, :, x, 0].sum(axis=1)}   "
              f"p(a | x, y=1) = {p[:, :, x, 1].sum(axis=1)}")
    show("   largest violation of eq. (5) over all bipartitions", f"{nonsignaling_violation(p):.1e}")

    print("\n5. Yet the answers are correlated beyond shared randomness.  Logits t·(2Π − I) for")
    print("   the textbook CHSH projectors Π give POVMs → Π as t grows; the CHSH win probability")
    print("   (a ⊕ b = x ∧ y) passes the classical 0.75 towards cos²(π/8) ≈ 0.8536:")

    def projectors(angle):
        v = np.array([np.cos(angle), np.sin(angle)])
        w = np.array([-np.sin(angle), np.cos(angle)])
        return np.stack([np.outer(v, v), np.outer(w, w)])

    def chsh(p):
        return sum(p[a, b, x, y] / 4 for a, b, x, y in itertools.product(range(2), repeat=4)
                   if (a ^ b) == (x & y))

    ideal_a = np.stack([projectors(0), projectors(np.pi / 4)])
    ideal_b = np.stack([projectors(np.pi / 8), projectors(-np.pi / 8)])
    for t in (0.5, 2.0, 8.0, 32.0):
        logits = [t * (2 * ideal - np.eye(2)) for ideal in (ideal_a, ideal_b)]
        table = qp.born(qp.bell_state(), [qp.quantum_softmax(L) for L in logits])
        print(f"   t = {t:5.1f}:  win probability {chsh(table):.4f}")


if __name__ == "__main__":
    main()

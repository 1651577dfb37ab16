"""Coordinator and advice (eq. 7)
==============================

The coordinator–advice form of an entangled policy (paper eq. (7), Prop. 5 and 6, App. G).

A *quantum coordinator* measures the shared state and hands each agent a piece of advice x_i;
each agent's actor then picks its action from its advice and its own observation:

    π(a|o) = Σ_x tr(ρ ⊗_i M̃_i(x_i|o_i)) Π_i π_i(a_i | x_i, o_i).

Prop. 5: this is exactly the class of entangled policies.

  * advice → POVMs: the agents could have measured M_i(a|o) = Σ_x π_i(a|x, o) M̃_i(x|o) instead;
  * POVMs → advice: take the POVMs as advice and actors that copy it, π_i(a|x, o) = δ_ax.

Prop. 6: the advice needs as many outcomes as the POVM it replaces.  A 3-outcome qubit POVM
(the "trine" of prop6_povm(3, 2)) is not a post-processing of any 2-outcome POVM {E, 1 - E}:
every post-processing Σ_b P_ab M̃(b) = P_a0 E + P_a1 (1 - E) commutes with E, hence all its
elements commute with each other — the trine's elements do not.

Run:  python examples/coordinator_advice.py [--seed 0]
"""
import argparse

import numpy as np

import qpolicy as qp
from qpolicy.policies import (CoordinatorAdvicePolicy, EntangledPolicy, coordinator_advice_form,
                              effective_povms, prop6_povm)

N_QUESTIONS, N_ADVICE, N_ANSWERS, DIM = 2, 3, 2, 2


def random_povms(rng, n_outcomes, n_questions=N_QUESTIONS, d=DIM):
    """A random POVM family (n_questions, n_outcomes, d, d) via the QuantumSoftmax."""
    shape = (n_questions, n_outcomes, d, d)
    return qp.quantum_softmax(rng.normal(size=shape) + 1j * rng.normal(size=shape))


def random_actor(rng):
    """π(a | x, o) as an array [x, a, o], summing to 1 over a."""
    logits = rng.normal(size=(N_ADVICE, N_ANSWERS, N_QUESTIONS))
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def projective(observables):
    """Projectors (1 ± O)/2 of ±1 observables, one per question: (n_questions, 2, 2, 2)."""
    return np.array([[(np.eye(2) + O) / 2, (np.eye(2) - O) / 2] for O in observables],
                    dtype=complex)


def largest_commutator(M):
    return max(np.abs(A @ B - B @ A).max() for A in M for B in M)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Coordinator and advice (eq. 7)")
    parser.add_argument("--seed", type=int, default=0)
    rng = np.random.default_rng(parser.parse_args(argv).seed)
    B = rng.normal(size=(DIM ** 2, DIM ** 2)) + 1j * rng.normal(size=(DIM ** 2, DIM ** 2))
    rho = qp.density_matrix(B)                                    # a random two-qubit state

    print(f"1. Prop. 5, advice -> POVMs: random state, {N_ADVICE}-outcome advice POVMs, "
          f"random actors")
    advice = [random_povms(rng, N_ADVICE) for _ in range(2)]
    actors = [random_actor(rng) for _ in range(2)]
    coordinated = CoordinatorAdvicePolicy(rho, advice, actors)
    direct = EntangledPolicy(rho, effective_povms(advice, actors))
    print(f"   effective POVMs are POVMs: {all(qp.is_povm(M) for M in direct.povms)}")
    print(f"   max |π_coordinator - π_entangled| = "
          f"{np.abs(coordinated.table() - direct.table()).max():.1e}")
    questions = np.array([[1, 0]] * 20000)
    answers = coordinated.sample(questions, rng)               # as deployed: advice, then actors
    freq = np.zeros((N_ANSWERS, N_ANSWERS))
    np.add.at(freq, (answers[:, 0], answers[:, 1]), 1 / len(answers))
    target = coordinated.table()[:, :, 1, 0]
    standard_error = np.sqrt(np.max(target * (1 - target)) / len(answers))
    print(f"   20000 sampled rounds at questions (1, 0): max |frequency - π| = "
          f"{np.abs(freq - target).max():.4f}  (4 standard errors: {4 * standard_error:.4f})")

    print("\n2. Prop. 5, POVMs -> advice: the CHSH-optimal Bell-pair policy, actors copy the "
          "advice")
    Z, X = np.diag([1.0, -1.0]), np.array([[0.0, 1.0], [1.0, 0.0]])
    bob = [(Z + X) / np.sqrt(2), (Z - X) / np.sqrt(2)]
    tsirelson = EntangledPolicy(qp.bell_state(), [projective([Z, X]), projective(bob)])
    advised = coordinator_advice_form(tsirelson)
    print(f"   actor of agent 1, π_1(a | x, o=0) =\n{advised.actors[0][:, :, 0]}")
    print(f"   max |π_coordinator - π_entangled| = "
          f"{np.abs(advised.table() - tsirelson.table()).max():.1e}")

    print("\n3. Prop. 6: the advice needs enough outcomes")
    trine = prop6_povm(3, 2)
    ranks = [int(np.linalg.matrix_rank(M)) for M in trine]
    print(f"   trine = prop6_povm(3, 2): a POVM {qp.is_povm(trine)}, element ranks {ranks}, "
          f"largest commutator ||[M(a), M(b)]|| = {largest_commutator(trine):.3f}")
    worst = 0.0
    for _ in range(200):                                          # any 2-outcome advice + actor
        E = random_povms(rng, 2, n_questions=1)[0]
        P = rng.dirichlet(np.ones(3), size=2).T                   # P[a, b]: actor's 3 answers
        worst = max(worst, largest_commutator(np.einsum("ab,bij->aij", P, E)))
    print(f"   200 random 2-outcome advice POVMs + actors: largest commutator {worst:.1e}")
    print("   -> no 2-outcome advice reproduces the trine; 3-outcome advice does (Prop. 5's "
          "copying actors):")
    copy = np.einsum("ab,bij->aij", np.eye(3), trine)
    print(f"      max |copied advice - trine| = {np.abs(copy - trine).max():.1e}")


if __name__ == "__main__":
    main()

r"""The NPA hierarchy: semidefinite upper bounds on the quantum value of an n-player game.

If the players share a state :math:`|\psi\rangle` and measure projectively (no loss of
generality, by Naimark dilation), every matrix of moments

.. math::  \Gamma[u, v] = \langle\psi| u^\dagger v |\psi\rangle,

indexed by a set of *monomials* (products of measurement projectors), is positive semidefinite,
has :math:`\Gamma[\mathbb 1, \mathbb 1] = 1`, and has equal entries wherever :math:`u^\dagger v`
reduces to the same word under the operator relations.  Maximizing the game's value — a linear
function of the entries — over all such matrices is a semidefinite program whose optimum is an
upper bound on the quantum value (Navascués, Pironio, Acín 2007; the n-party construction is
NPA 2008).

**Operators (Collins–Gisin form).**  Party k, question x, answer a < m−1 has a projector
:math:`E^k_{a|x}`; the last answer's projector is :math:`\mathbb 1 - \sum_a E^k_{a|x}`, so
normalization and non-signaling hold by construction.  Relations used to reduce words:
operators of different parties commute (a word is sorted by party, keeping each party's order),
:math:`E_{a|x} E_{a'|x} = \delta_{aa'} E_{a|x}` (same party, same question).  The reduced form is
a normal form, so two words are identified iff they reduce to the same word.

**Adjoints and a real matrix.**  An entry is also identified with its adjoint
(:math:`\Gamma[u,v] = \Gamma[v,u]` stands for :math:`w = w^\dagger` up to conjugation), which
makes Γ real symmetric.  This loses nothing for a real payoff: if Γ is a feasible complex
Hermitian moment matrix, so is its complex conjugate (the relations are real), and their average
:math:`\operatorname{Re}\Gamma` is feasible, real, and has the same (real) objective.
``tests/test_npa.py`` checks this on the moment matrices of random complex strategies.
Implementations that skip the adjoint identification compute valid but looser bounds.

**Levels** (the monomial sets, :func:`parse_level`):

* ``1`` — :math:`\{\mathbb 1\} \cup \{E^k_{a|x}\}`: the textbook Collins–Gisin level 1.
* an integer ``k ≥ 2`` — all reduced words of length ≤ k.
* ``"1+AB"`` — all products of at most one operator per party (``1 + A + B + AB`` for two
  players, ``1 + A + B + C + AB + AC + BC + ABC`` for three): the *local level 1* that the
  published rendezvous bounds use.
* ``"k+T1+T2..."`` (or a list ``[k, "T1", ...]``) — level k plus letter terms read literally as
  in toqito and ncpol2sdpa: ``A`` is player 0, ``B`` player 1, ...; ``"AAB"`` adds every product
  of two of A's projectors and one of B's, ``"ABC"`` every product of one projector of each of
  A, B, C.  (Only the exact text ``"1+AB"`` has the all-players meaning above; with two
  players it coincides with the literal one.)  ``extra_words=`` adds explicit monomials.

The monomial sets are closed under *parents* (dropping a word's first projector of one party;
added where a term or an extra word lacks them), which bounds every diagonal entry of Γ by 1 —
what the certificates rely on.  The number of monomials is counted before any word is built
(:func:`predicted_size`); above :data:`MAX_MOMENT_SIZE` the request is refused.

A level whose matrix cannot express the game's n-body probabilities (level 1 with 3+ players,
level 2 with 5+) gets the *extra monomials* needed: products of ≤ 1 operator per party within
the first ⌊n/2⌋ players, and within the others (for two players these are already in level 1;
for three, level 1 becomes ``{1, A, B, C, BC}``).  ``details["extra_monomials"]`` says how many
were added.  With them, the monomial set of level 1 is contained in those of ``"1+AB"`` and of
level 2, so NPA(2) ≤ NPA(1) and NPA(1+AB) ≤ NPA(1) always; NPA(2) ≤ NPA(1+AB) holds for two
players (for three, level 2 lacks ``ABC`` as a monomial and the two are not nested).

**Positivity rows** (``positivity=True``, the default): the constraints
:math:`p(a|o) \ge 0` for every answer tuple, *including the dropped last answers*.  The
level-1 Collins–Gisin matrix does not imply them for more than two answers, so adding them
tightens level 1 for free.  When every product of ≤ 1 operator per party is a monomial (from
``"1+AB"`` on, and level 2 for two players) they follow from Γ ⪰ 0 and are not added: redundant
rows only hurt the solver (measured: Clarabel ends "optimal_inaccurate" on GHZ at 1+AB with
them).  The result names the choice in ``details["positivity"]`` and whether rows were added in
``details["positivity_rows"]``; ``positivity=False`` gives the textbook matrix.

**How it is built.**  Index maps are computed with NumPy from per-party multiplication tables,
and cvxpy receives one PSD constraint :math:`\Gamma = \operatorname{reshape}(A y) \succeq 0` with
a sparse 0/1 selector ``A`` (one variable per class of identified entries) and, optionally, one
vectorized positivity constraint.  Default solvers (:func:`_attempts`, measured by
``benchmarks/bench_npa_solvers.py``): Clarabel (interior point) up to
:data:`CLARABEL_MAX_SIZE` monomials, falling back to its other factorization, CVXOPT and SCS;
above, a short SCS run (first order, at 1e-8) kept only if it converges, then CVXOPT (interior
point; per iteration ~m²N² work for m moment variables instead of Clarabel's dense N(N+1)/2
block) while its memory estimate fits, then SCS in full.  ``solver=`` overrides.

**Certified values and blocks.**  The payoff is normalized (constant per question tuple taken
out, largest coefficient 1) before solving and mapped back, so the value is affine-invariant in
the payoff.  The reported ``value`` of every bound is a rigorous upper bound recomputed from the
solver's dual matrix (:func:`dual_bound`), after a Gauss–Newton refinement of that matrix which
keeps it PSD (:func:`refined_dual_bound`), rounded outward; the solver's own number is
``details["primal_value"]``.  So a first-order solve, or an inaccurate one, is still a certified
claim — only its tightness depends on the solver.  Games that split into independent blocks of
questions (the Cube: even and odd start vertices) are bounded block by block
(:func:`question_blocks`; ``decompose=False`` for the joint SDP).  Membership of a table
(:func:`npa_membership`) is answered "member", "non_member" or "undecided" with a rigorous
interval on the smallest PSD shift.

Example
-------
>>> from qpolicy import games
>>> from qpolicy.bounds.npa import npa_upper_bound
>>> round(npa_upper_bound(games.chsh(), level=1).value, 6)       # cos²(π/8)
0.853553

References: M. Navascués, S. Pironio, A. Acín, PRL 98, 010401 (2007); New J. Phys. 10, 073013
(2008).  D. Collins, N. Gisin, J. Phys. A 37, 1775 (2004).
"""
import itertools
import math
import time
import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from qpolicy.bounds.results import (MEMBER, NON_MEMBER, UNDECIDED, Bound, Membership, SolverError,
                                    UndecidedError, round_up)
from qpolicy.games import check_table
from qpolicy.validation import as_array, check_positive

__all__ = ["npa_upper_bound", "in_npa", "npa_relaxation", "NPARelaxation", "question_blocks",
           "dual_bound", "refined_dual_bound", "npa_membership", "IN_NPA_ATOL", "NPALevel", "parse_level", "predicted_size",
           "MAX_MOMENT_SIZE", "verify_certificate"]

#: With ``solver=None``, moment matrices larger than this go to SCS and CVXOPT instead of
#: Clarabel (:func:`_attempts`).  Clarabel's interior point factorizes a dense block of size
#: N(N+1)/2 per iteration: measured on this 2-core machine (idle), N = 81 (Tetra at "1+AB")
#: took 12 s and 0.7 GB (~50 s under load), N = 88 (I3322 level 3) > 200 s, and N = 289 (Cube
#: at "1+AB") would need a 42 000² dense block (>10 GB).  Up to N = 61 every solver measured
#: (Clarabel, CVXOPT, SCS) takes ≤ 3.6 s.
CLARABEL_MAX_SIZE = 60

#: SCS tolerances used unless the caller passes ``eps_abs``/``eps_rel`` (SCS's default 1e-4
#: leaves values off by ~1e-5).
SCS_DEFAULTS = {"eps_abs": 1e-8, "eps_rel": 1e-8, "max_iters": 200_000}

#: When Clarabel (default factorization: faer) ends "optimal_inaccurate", the SDP is solved once
#: more with these options.  Measured on 12 random 3-player games at "1+AB": faer ended
#: inaccurate on 2, QDLDL solved all 12 (within 3e-8 of SCS at 1e-8) but is ~4x slower.
CLARABEL_RETRY = {"direct_solve_method": "qdldl"}

#: An "optimal_inaccurate" solve is accepted when its rigorous bounds lie within this of each
#: other (payoff normalized to largest coefficient 1; see :func:`_solve_certified`).
INACCURATE_GAP = 1e-6

#: The dual refinement (:func:`refined_dual_bound`): Gauss–Newton steps, LSQR iterations per
#: step, and the relative size below which eigenvalues of the solver's dual are dropped.
REFINE_STEPS = 6
REFINE_LSQR_ITERATIONS = 3000
REFINE_RANK_TOL = 1e-12
#: The refinement stops once a step gains less than this (objective normalized to largest
#: coefficient 1).  Measured on I3322 level 3: CVXOPT's dual gains 3.5e-9 in the first step and
#: nothing after (5 more steps were 2.5 s for < 1e-12); SCS's at 1e-6 gains 3e-5, 6e-6, 2e-7, 2e-9.
REFINE_MIN_GAIN = 1e-11

#: ``in_npa`` accepts a table when the smallest shift ``t`` with ``Γ + t·I ⪰ 0`` is at most this.
IN_NPA_ATOL = 1e-6

#: An undecided membership answer first polishes the solver's point by at most this many
#: alternating projections (:func:`_polished_membership_point`, one N×N eigendecomposition
#: each).  Measured on the Cube's see-saw table at "1+AB" (289 monomials): SCS at 1e-6 leaves
#: -λ_min = 4.7e-6 (undecided); 240 projections (1.8 s) bring it to 9.9e-7, a certified member,
#: instead of a second SCS solve at 1e-8 (~140 s).
MEMBERSHIP_POLISH_STEPS = 400

#: Largest moment matrix (monomials) any NPA SDP is attempted for.  The largest SDP measured to
#: finish here is the Cube's joint 289-monomial membership SDP (SCS, 72–121 s on 2 shared
#: cores); SCS's cost per iteration grows as N³ (an N×N eigendecomposition), so CHSH at level
#: 12 (313 monomials) or 20 (841) would take far longer for nothing (CHSH is tight at level 1).
#: Larger requests raise ``ValueError`` from a combinatorial count (:func:`predicted_size`)
#: before any word is enumerated.
MAX_MOMENT_SIZE = 300

#: Interior-point solvers (Clarabel, ...) factorize a dense block of the PSD cone's dimension
#: N(N+1)/2 per iteration: about 8·(N(N+1)/2)² bytes.  Above this estimate they are refused with a
#: ``ValueError`` instead of being OOM-killed (measured: Clarabel on the Cube's joint 289-monomial
#: membership SDP grew to 23 GB, the estimate is 14 GB; N = 81 needs 0.8 GB).
INTERIOR_POINT_MAX_BYTES = 4e9
INTERIOR_POINT_SOLVERS = ("CLARABEL", "CVXOPT", "MOSEK", "SDPA", "COPT")

#: CVXOPT's tolerances unless the caller passes them.  Its defaults (abstol 1e-7, reltol 1e-6,
#: feastol 1e-7) leave the certificate 1.6e-7 above the optimum on I3322 level 2; at 1e-9 it
#: is 7e-10, in the same number of iterations (measured: 0.06 s level 2, 3.9 s level 3).
CVXOPT_DEFAULTS = {"abstol": 1e-9, "reltol": 1e-9, "feastol": 1e-9}

#: With ``solver=None``, CVXOPT is tried only while N²·m² (N monomials, m moment variables:
#: the Schur complement's cost per iteration, up to a constant) is at most this.  Measured:
#: I3322 level 3 (N²m² = 5.8e9) 3.7 s of CVXOPT, Tetra at "1+AB" (1.8e10) 9 s, so this bound
#: (~17× Tetra) keeps a CVXOPT attempt to a few minutes; beyond it SCS alone is tried.
CVXOPT_MAX_WORK = 3e11

#: With ``solver=None``, above :data:`CLARABEL_MAX_SIZE` SCS first runs at most this many
#: iterations and is kept only if it converges (:func:`_attempts`).  Measured at 1e-8: Tetra at
#: "1+AB" (81 monomials) converges in 850 iterations, Mermin n = 4 at "1+AB" (81) in 650, CHSH
#: at level 5 (61) in 175; I3322 at level 3 (88) does not in 200 000, at 1–2 ms per iteration.
SCS_PROBE_ITERATIONS = 2000


# --------------------------------------------------------------------------------------------
# Words: a word is a tuple with one sub-word per party; a sub-word is a tuple of local operator
# indices 1..L_k-1 (index 0 is reserved for the identity in correlator tensors).
# --------------------------------------------------------------------------------------------

def _reduce_party_word(ops, question_of):
    """Normal form of one party's product of projectors, or None if it is zero.

    Adjacent equal projectors merge (P² = P); adjacent projectors of the same question and
    different answers annihilate (orthogonality).  One left-to-right pass suffices: merging never
    creates a new adjacent pair.
    """
    out = []
    for op in ops:
        if out and question_of[out[-1]] == question_of[op]:
            if out[-1] != op:
                return None
            continue
        out.append(op)
    return tuple(out)


@dataclass(frozen=True)
class NPALevel:
    """A parsed NPA level: words of total length ≤ ``base``, plus the ``terms``.

    ``terms``: letter strings such as ``"AB"`` or ``"AAB"`` (letter ``A`` is player 0, ``B``
    player 1, ...); a term stands for the products with, for each player, a reduced word of
    length 1 to (number of its letters) — ``"AAB"``: a product of two of A's projectors times
    one of B's, as toqito and ncpol2sdpa read it.  ``local``: the level ``"1+AB"``, which means
    *every* product of at most one projector per player, for any number of players (with two
    players, the same as the literal reading).  ``name``: the canonical text.
    """
    name: str
    base: int
    terms: tuple = ()
    local: bool = False


def parse_level(level):
    """An :class:`NPALevel` from ``1``, ``2``, ... , ``"1+AB"``, ``"1+AB+AAB"``, ``"2+ABB"``,
    or a list of such parts (``[1, "AB", "AAB"]``).  Raises ``ValueError`` naming ``level``."""
    if isinstance(level, NPALevel):
        return level
    if isinstance(level, (list, tuple)):
        if not level or not all(isinstance(part, (str, int, np.integer))
                                and not isinstance(part, bool) for part in level):
            raise ValueError(f"level as a list must hold a base level and letter terms, e.g. "
                             f"[1, 'AB', 'AAB'], got {level!r}")
        level = "+".join(str(part) for part in level)
    if isinstance(level, (int, np.integer)) and not isinstance(level, bool):
        if level >= 1:
            return NPALevel(name=str(int(level)), base=int(level))
    elif isinstance(level, str):
        parts = level.strip().upper().replace(" ", "").split("+")
        if parts[0].isdigit() and int(parts[0]) >= 1 and all(
                part and part.isalpha() and part.isascii() for part in parts[1:]):
            terms = tuple(dict.fromkeys("".join(sorted(part)) for part in parts[1:]))
            name = "+".join([str(int(parts[0]))] + list(terms))
            return NPALevel(name=name, base=int(parts[0]), terms=terms, local=name == "1+AB")
    raise ValueError(f"level must be a positive integer or a string such as '1+AB' or "
                     f"'1+AB+AAB' (a base level, then products named by player letters), "
                     f"got {level!r}")


def _words_per_length(n_answers, n_questions):
    """Number of nonzero reduced words of length ℓ of one party (exact integers): 1 for ℓ = 0,
    ``q(m−1)·((q−1)(m−1))^(ℓ−1)`` after (consecutive projectors of one question multiply to
    one of them or to zero, so a reduced word changes question at every step)."""
    r, s = n_questions * (n_answers - 1), (n_questions - 1) * (n_answers - 1)
    return lambda length: 1 if length == 0 else r * s ** (length - 1)


def _length_sets(npa_level, n):
    """The monomial set as a list of *shapes*: each shape is a list (one per player) of the
    allowed lengths of that player's sub-word; the set is the union over shapes of all words
    whose sub-word lengths lie in them, intersected with total length ≤ ``base`` for the first
    shape only (flagged by the returned ``limit``)."""
    shapes = [("base", [range(npa_level.base + 1)] * n, npa_level.base)]
    if npa_level.local:
        shapes.append(("local", [range(2)] * n, None))
    for term in npa_level.terms:
        counts = [term.count(chr(ord("A") + k)) for k in range(n)]
        if sum(counts) != len(term):
            raise ValueError(f"level {npa_level.name!r}: term {term!r} names a player beyond "
                             f"the {n} players (letters A..{chr(ord('A') + n - 1)})")
        shapes.append((term, [range(1, c + 1) if c else range(1) for c in counts], None))
    half = n // 2
    shapes.append(("cover", [range(2) if k < half else range(1) for k in range(n)], None))
    shapes.append(("cover", [range(1) if k < half else range(2) for k in range(n)], None))
    return shapes


def _shape_size(counters, lengths, limit):
    """Number of words of one shape (exact integer), by a truncated polynomial product."""
    poly = {0: 1}
    for count, allowed in zip(counters, lengths):
        new = {}
        for total, ways in poly.items():
            for length in allowed:
                if limit is not None and total + length > limit:
                    break
                c = count(length)
                if c:
                    new[total + length] = new.get(total + length, 0) + ways * c
        poly = new
    return sum(poly.values())


def predicted_size(n_answers, n_questions, level=1, extra_words=()):
    """Number of monomials of the NPA moment matrix, from counting alone (nothing is built).

    The monomial set is a union of parts (the words of length ≤ base, each letter term, the
    products that express n-body terms, ``extra_words``); each part is counted exactly from
    the per-party counts of reduced words, parts contained in another are dropped, and
    ``(lower, upper)`` = (largest part, sum of parts) bracket the union — equal when one part
    contains the others (integer levels and ``"1+AB"`` for two players).  Used to refuse
    problems above :data:`MAX_MOMENT_SIZE` in microseconds instead of enumerating words.
    """
    n_answers, n_questions = _check_sizes(n_answers, "n_answers"), _check_sizes(n_questions,
                                                                                 "n_questions")
    npa_level = parse_level(level)
    counters = [_words_per_length(m, q) for m, q in zip(n_answers, n_questions)]
    shapes = _length_sets(npa_level, len(n_answers))

    def inside(small, big):           # every word of shape `small` is one of shape `big`
        (_, lengths_s, _), (_, lengths_b, limit_b) = small, big
        return (all(set(s) <= set(b) for s, b in zip(lengths_s, lengths_b))
                and (limit_b is None or sum(max(s) for s in lengths_s) <= limit_b))

    kept = [s for i, s in enumerate(shapes)
            if not any(inside(s, t) and (not inside(t, s) or j < i)
                       for j, t in enumerate(shapes) if j != i)]
    sizes = [_shape_size(counters, lengths, limit) for _, lengths, limit in kept]
    return max(sizes), sum(sizes) + len(extra_words)



@dataclass(frozen=True)
class NPARelaxation:
    """Index maps of an NPA moment matrix (game-independent; depends on alphabet sizes and level).

    Attributes
    ----------
    level : ``"1"``, ``"1+AB"``, ``"2"``, ...
    monomials : list of words; a word is a tuple of ``(party, question, answer)`` projectors in
        product order (the empty tuple is the identity).
    entry_variable : int array ``(N, N)``; the variable (class of identified entries) of
        ``Γ[i, j]``, or ``-1`` where the product is zero.
    identity_variable : the variable of the identity word (fixed to 1).
    n_variables : number of variables.
    correlator_map : sparse ``(n_table, n_correlators)``: ``correlator_map @ c`` is the table of
        the flattened correlator tensor ``c`` (injective; its range is the non-signaling tables).
    table_map : sparse ``(n_table, n_variables)``: ``table_map @ y`` is the probability table
        ``p[a_1..a_n, o_1..o_n]``, flattened in C order.
    correlator_variable : int array of shape ``(L_1, ..., L_n)``: variable of the correlator
        ``<op_1 ... op_n>`` with local operator lists ``[1, E_{0|0}, E_{1|0}, ..., E_{m-2|q-1}]``.
    extra_monomials : how many monomials were added to express the game's n-body terms.
    positivity_implied : whether ``p(a|o) ≥ 0`` already follows from ``Γ ⪰ 0`` (true when every
        product of ≤ 1 operator per party is a monomial, e.g. from ``"1+AB"`` on).
    """
    level: str
    monomials: list
    entry_variable: np.ndarray
    identity_variable: int
    n_variables: int
    correlator_map: sp.csr_matrix
    table_map: sp.csr_matrix
    correlator_variable: np.ndarray
    extra_monomials: int
    positivity_implied: bool
    n_answers: tuple
    n_questions: tuple


def _local_operators(n_answers, n_questions):
    """Per party: list of (question, answer) of its Collins–Gisin projectors, in local order 1.."""
    return [[(x, a) for x in range(q) for a in range(m - 1)]
            for m, q in zip(n_answers, n_questions)]


def _check_extra_words(extra_words, n_answers, n_questions):
    """Validate user-given extra monomials: each a sequence of ``(player, question, answer)``
    Collins–Gisin projectors (answer < n_answers − 1).  Returns them as tuples of per-party
    local-operator sub-words, reduced (``ValueError`` if a word is zero)."""
    if extra_words is None:
        return []
    if isinstance(extra_words, (str, bytes)) or not hasattr(extra_words, "__iter__"):
        raise TypeError(f"extra_words must be a list of words (sequences of (player, question, "
                        f"answer) triples), got {type(extra_words).__name__}")
    n = len(n_answers)
    question_of = [[None] + [x for x in range(q) for _ in range(m - 1)]
                   for m, q in zip(n_answers, n_questions)]
    words = []
    for word in extra_words:
        try:
            triples = [tuple(int(v) for v in op) for op in word]
        except (TypeError, ValueError):
            raise TypeError(f"extra_words: each word must be a sequence of (player, question, "
                            f"answer) integer triples, got {word!r}") from None
        parts = [[] for _ in range(n)]
        for op in triples:
            if len(op) != 3:
                raise ValueError(f"extra_words: {op!r} is not a (player, question, answer) triple")
            k, x, a = op
            if not (0 <= k < n and 0 <= x < n_questions[k] and 0 <= a < n_answers[k] - 1):
                raise ValueError(f"extra_words: projector {op!r} is out of range (players < {n}, "
                                 f"questions < n_questions, answers < n_answers - 1: the last "
                                 f"answer's projector is 1 minus the others)")
            parts[k].append(1 + x * (n_answers[k] - 1) + a)
        reduced = [_reduce_party_word(p, question_of[k]) for k, p in enumerate(parts)]
        if any(r is None for r in reduced):
            raise ValueError(f"extra_words: the word {word!r} is zero (orthogonal projectors)")
        words.append(tuple(reduced))
    return words


def _monomial_set(local_ops, npa_level, extra_words=()):
    """Canonical monomials (tuples of per-party sub-words) of a level, plus the extra monomials
    that let the moment matrix express every correlator.

    Words are generated per party (reduced words by length, extending only by a projector of
    another question) and combined per length vector, so the work is proportional to the
    number of monomials — :func:`predicted_size` has refused oversized requests before this.
    Returns (monomials, n_extra, positivity_implied); the last is True when every product of
    ≤ 1 operator per party is a monomial: then each ``p(a|o) = v^T Γ v`` for the vector v that
    writes the product of the answers' projectors in monomials, so ``p ≥ 0`` follows from PSD.
    """
    n = len(local_ops)
    question_of = [[None] + [x for x, _ in ops] for ops in local_ops]
    shapes = _length_sets(npa_level, n)
    by_length = []
    for k in range(n):
        top = max(max(lengths[k]) for _, lengths, _ in shapes)
        words = [[()]]
        for _ in range(top):
            words.append([w + (i,) for w in words[-1] for i in range(1, len(local_ops[k]) + 1)
                          if not w or question_of[k][w[-1]] != question_of[k][i]])
        by_length.append(words)

    def shape_words(lengths, limit):
        vectors = [()]
        for allowed in lengths:
            vectors = [v + (length,) for v in vectors for length in allowed
                       if limit is None or sum(v) + length <= limit]
        for vector in sorted(vectors, key=sum):
            yield from itertools.product(*(by_length[k][length]
                                           for k, length in enumerate(vector)))

    chosen = {}
    for kind, lengths, limit in shapes:
        if kind != "cover":
            chosen.update(dict.fromkeys(shape_words(lengths, limit)))
    chosen.update(dict.fromkeys(extra_words))
    # Close under parents: each word u ≠ 1 gets some v with u = P·v (P its first projector of
    # one player), so Γ[u,u] ≤ Γ[v,v] ≤ ... ≤ 1 (the 2×2 minor on rows v, u) — the certificates
    # (dual_bound, the membership bounds) rely on every diagonal entry being at most 1.
    queue = list(chosen)
    while queue:
        word = queue.pop()
        options = [word[:k] + (part[1:],) + word[k + 1:] for k, part in enumerate(word) if part]
        if options and not any(parent in chosen for parent in options):
            chosen[options[0]] = None
            queue.append(options[0])
    n_before = len(chosen)
    for kind, lengths, limit in shapes:
        if kind == "cover":
            chosen.update(dict.fromkeys(shape_words(lengths, limit)))
    n_local = math.prod(len(ops) + 1 for ops in local_ops)
    positivity_implied = n_local <= len(chosen) and all(
        w in chosen for w in itertools.product(*([()] + [(i,) for i in range(1, len(ops) + 1)]
                                                 for ops in local_ops)))
    return list(chosen), len(chosen) - n_before, positivity_implied


def _party_products(subwords, question_of):
    """Multiplication table of one party: ``R[i, j]`` = id of the normal form of
    ``reverse(subwords[i]) · subwords[j]`` (or -1 if zero), the list of reduced words (id 0 is
    the empty word) and ``adjoint[id]`` = id of the reversed word."""
    ids = {(): 0}
    table = np.empty((len(subwords), len(subwords)), dtype=np.int64)
    for i, u in enumerate(subwords):
        for j, v in enumerate(subwords):
            word = _reduce_party_word(u[::-1] + v, question_of)
            table[i, j] = -1 if word is None else ids.setdefault(word, len(ids))
    words = list(ids)
    for word in words:
        ids.setdefault(word[::-1], len(ids))      # adjoints of products are products: no-op
    adjoint = np.array([ids[w[::-1]] for w in words], dtype=np.int64)
    return table, adjoint


def _table_map(n_answers, n_questions, correlator_variable, n_variables):
    """Sparse map from variables to the flattened table ``p[a..., o...]``.

    Per party, ``W_k[(a, o), i]`` writes the projector of answer a to question o in the local
    operator list [1, E_{0|0}, ...]: ``E_{a|o}`` for a < m−1, ``1 − Σ_a' E_{a'|o}`` for the last.
    The Kronecker product of the W_k maps correlators to probabilities (rows ordered
    (a_1, o_1, a_2, o_2, ...), reordered to answers-then-questions).
    """
    local = []
    for m, q in zip(n_answers, n_questions):
        L = 1 + q * (m - 1)
        W = np.zeros((m, q, L))
        for o in range(q):
            block = 1 + o * (m - 1) + np.arange(m - 1)
            W[np.arange(m - 1), o, block] = 1.0
            W[m - 1, o, 0] = 1.0
            W[m - 1, o, block] = -1.0
        local.append(sp.csr_matrix(W.reshape(m * q, L)))
    K = local[0]
    for W in local[1:]:
        K = sp.kron(K, W, format="csr")
    n = len(n_answers)
    interleaved = [s for pair in zip(n_answers, n_questions) for s in pair]
    order = np.arange(K.shape[0]).reshape(interleaved).transpose(
        [2 * k for k in range(n)] + [2 * k + 1 for k in range(n)]).ravel()
    K = K[order]
    select = sp.csr_matrix((np.ones(correlator_variable.size), (
        np.arange(correlator_variable.size), correlator_variable.ravel())),
        shape=(correlator_variable.size, n_variables))
    return K, (K @ select).tocsr()


def npa_relaxation(n_answers, n_questions, level=1, extra_words=None):
    """Build the index maps of the NPA moment matrix for the given alphabet sizes and level.

    ``n_answers``, ``n_questions``: one entry per player; ``level``: see :func:`parse_level`;
    ``extra_words``: additional monomials, each a sequence of ``(player, question, answer)``
    Collins–Gisin projectors (answer < n_answers − 1), e.g. ``[[(0, 0, 0), (0, 1, 0), (1, 2,
    0)]]`` for :math:`E^A_{0|0}E^A_{0|1}E^B_{0|2}`.  Returns an :class:`NPARelaxation`.  The
    maps depend only on the sizes, so they can be reused across games.

    The number of monomials is predicted by counting (:func:`predicted_size`) before any word
    is enumerated: above :data:`MAX_MOMENT_SIZE` a ``ValueError`` stating the size is raised
    in well under a second (CHSH at level 20, 300 questions at level 3, 20 players).
    """
    n_answers, n_questions = _check_sizes(n_answers, "n_answers"), _check_sizes(n_questions,
                                                                                 "n_questions")
    if len(n_answers) != len(n_questions):
        raise ValueError(f"n_answers and n_questions must have one entry per player, got "
                         f"{len(n_answers)} and {len(n_questions)}")
    npa_level = parse_level(level)
    words = _check_extra_words(extra_words, n_answers, n_questions)
    smallest, largest = predicted_size(n_answers, n_questions, npa_level)
    _check_size(smallest, npa_level, at_least=smallest != largest)
    level = npa_level.name
    n = len(n_answers)
    local_ops = _local_operators(n_answers, n_questions)
    question_of = [[None] + [x for x, _ in ops] for ops in local_ops]
    monomials, n_extra, positivity_implied = _monomial_set(local_ops, npa_level, words)
    N = len(monomials)
    _check_size(N, npa_level)

    # Per party: distinct sub-words, their products and adjoints (small Python tables) ...
    components, codes_shape, adjoints = [], [], []
    for k in range(n):
        subwords = list(dict.fromkeys(w[k] for w in monomials))
        index = {s: i for i, s in enumerate(subwords)}
        table, adjoint = _party_products(subwords, question_of[k])
        u = np.array([index[w[k]] for w in monomials])
        components.append(table[u[:, None], u[None, :]])          # (N, N) reduced-word ids
        codes_shape.append(len(adjoint))
        adjoints.append(adjoint)
    if math.prod(codes_shape) >= 2 ** 62:
        raise ValueError(f"level {level!r} is too large for {n} players (word codes overflow)")
    # ... then every entry's word and its adjoint as one integer code each, with NumPy.
    zero = np.any([c < 0 for c in components], axis=0)
    safe = [np.where(zero, 0, c) for c in components]
    code = np.ravel_multi_index(safe, codes_shape)
    adjoint_code = np.ravel_multi_index([a[c] for a, c in zip(adjoints, safe)], codes_shape)
    key = np.where(zero, -1, np.minimum(code, adjoint_code))
    keys, inverse = np.unique(key[~zero], return_inverse=True)
    entry_variable = np.full((N, N), -1, dtype=np.int64)
    entry_variable[~zero] = inverse
    identity_variable = int(np.searchsorted(keys, 0))

    # Correlators <op_1 ... op_n>: the single-operator sub-word (i,) has id i in each party's
    # table (the identity row of the table lists the sub-words in monomial order).
    single_ids = []
    for k in range(n):
        subwords = list(dict.fromkeys(w[k] for w in monomials))
        table, _ = _party_products(subwords, question_of[k])
        row = table[subwords.index(())]
        single_ids.append(np.array([row[subwords.index(s)] for s in
                                    [()] + [(i,) for i in range(1, len(local_ops[k]) + 1)]]))
    grids = np.meshgrid(*single_ids, indexing="ij")
    corr_codes = np.ravel_multi_index(grids, codes_shape)
    position = np.searchsorted(keys, corr_codes)
    if np.any(position >= len(keys)) or np.any(keys[np.minimum(position, len(keys) - 1)]
                                                != corr_codes):
        raise AssertionError("internal error: a correlator is missing from the moment matrix")
    n_variables = len(keys)
    labelled = [tuple((k, *local_ops[k][i - 1]) for k in range(n) for i in w[k])
                for w in monomials]
    correlator_map, table_map = _table_map(n_answers, n_questions, position, n_variables)
    return NPARelaxation(
        level=str(level), monomials=labelled, entry_variable=entry_variable,
        identity_variable=identity_variable, n_variables=n_variables,
        correlator_map=correlator_map, table_map=table_map,
        correlator_variable=position, extra_monomials=n_extra,
        positivity_implied=positivity_implied,
        n_answers=n_answers, n_questions=n_questions)


def _check_sizes(sizes, name):
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of positive integers") from None
    if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                        for s in sizes):
        raise ValueError(f"{name} must be a non-empty sequence of positive integers, got {sizes}")
    return tuple(int(s) for s in sizes)


# --------------------------------------------------------------------------------------------
# The SDPs
# --------------------------------------------------------------------------------------------

def _entry_selector(relaxation):
    """Sparse 0/1 matrix A with vec(Γ) = A y (row i*N + j selects the variable of Γ[i, j])."""
    ev = relaxation.entry_variable
    N = ev.shape[0]
    rows = np.flatnonzero(ev.ravel() >= 0)
    return sp.csr_matrix((np.ones(rows.size), (rows, ev.ravel()[rows])),
                         shape=(N * N, relaxation.n_variables))


def _moment_matrix(relaxation, y):
    """Γ = reshape(A y) as a cvxpy expression, A the sparse 0/1 entry selector."""
    N = relaxation.entry_variable.shape[0]
    return cp.reshape(_entry_selector(relaxation) @ y, (N, N), order="C")


def dual_bound(relaxation, objective, Z, multipliers=None):
    r"""A rigorous upper bound on the SDP value from any symmetric ``Z`` (and ``λ ≥ 0``).

    For every feasible y (Γ(y) ⪰ 0, y_1 = 1, positivity rows ``T y ≥ 0`` if ``multipliers``),
    :math:`w\cdot y = c_{\mathbb 1} - \langle Z, \Gamma(y)\rangle - \lambda\cdot Ty` whenever
    :math:`c = w + A^T \mathrm{vec} Z + T^T\lambda` vanishes off the identity variable.  ``Z`` is
    first shifted within each class of identified entries so that it does (exactly), then
    :math:`-\langle Z, \Gamma\rangle \le \varepsilon\,\mathrm{tr}\,\Gamma \le \varepsilon N` with
    :math:`\varepsilon = \max(0, -\lambda_{\min}(Z))` — every diagonal entry of Γ is ≤ 1 because
    the monomial sets are closed under suffixes (the 2×2 minor on rows v and Pv gives
    Γ[Pv, Pv] ≤ Γ[v, v]).  Valid up to floating-point rounding, whatever solver produced Z:
    this turns a first-order solver's approximate dual into a certified bound.
    """
    A = _entry_selector(relaxation)
    N = relaxation.entry_variable.shape[0]
    Z = (Z + Z.T) / 2
    c = objective + A.T @ Z.ravel()
    if multipliers is not None:
        c = c + relaxation.table_map.T @ np.maximum(multipliers, 0.0)
    shift = c / np.maximum(np.asarray(A.sum(axis=0)).ravel(), 1.0)
    shift[relaxation.identity_variable] = 0.0
    Z = Z - (A @ shift).reshape(N, N)                       # now c_k = 0 for k ≠ identity
    c_identity = c[relaxation.identity_variable] - (A.T @ (A @ shift))[
        relaxation.identity_variable]
    epsilon = max(0.0, -float(np.linalg.eigvalsh(Z)[0]))
    size = N * N * (np.linalg.norm(Z) + np.max(np.abs(c))) + np.sum(np.abs(objective))
    return round_up(c_identity + epsilon * N, size)


def refined_dual_bound(relaxation, objective, Z, multipliers=None, return_matrix=False):
    r""":func:`dual_bound` after a short Gauss–Newton refinement of the dual matrix ``Z``.

    A solver's ``Z`` meets the dual's equality constraints :math:`c_k = 0` (k ≠ identity) only
    to its tolerance; :func:`dual_bound` repairs them exactly by a shift that creates a negative
    eigenvalue, paid for as :math:`\varepsilon N`.  That term dominates for first-order solves
    (I3322 at level 3, SCS at 1e-6: 0.25097 for an optimum near 0.250878).  The refinement keeps
    the dual PSD by construction — :math:`Z = RR^T`, R from ``Z``'s positive eigenpairs — and
    corrects R by Gauss–Newton steps on :math:`A^T\mathrm{vec}(RR^T) = -w` (off the identity;
    ``w`` includes the positivity multipliers, kept fixed): each step is the minimum-norm
    least-squares solution (LSQR) of the linearization :math:`A^T\mathrm{vec}(R\,dR^T +
    dR\,R^T) = -\text{residual}`, so the residual falls quadratically (measured on I3322 level
    3: 4e-6, 3e-7, 5e-9, ...) and ``ε`` with it.  Every iterate's certificate is computed by
    :func:`dual_bound` — valid for any ``Z`` — and the smallest is returned, so the refinement
    can only tighten the bound, never invalidate it.  Steps: at most :data:`REFINE_STEPS`,
    stopping once one gains less than :data:`REFINE_MIN_GAIN`; LSQR iterations per step:
    :data:`REFINE_LSQR_ITERATIONS`.  ``return_matrix=True`` returns
    ``(bound, Z')`` with ``Z'`` the matrix whose :func:`dual_bound` is ``bound`` (what
    :func:`verify_certificate` re-checks without solving).
    """
    Z = (np.asarray(Z, dtype=float) + np.asarray(Z, dtype=float).T) / 2
    best = dual_bound(relaxation, objective, Z, multipliers), Z
    eigenvalues, vectors = np.linalg.eigh(Z)
    if eigenvalues[-1] <= 0:
        return best if return_matrix else best[0]
    keep = eigenvalues > REFINE_RANK_TOL * eigenvalues[-1]
    R = vectors[:, keep] * np.sqrt(eigenvalues[keep])
    N, k = R.shape
    A = _entry_selector(relaxation)
    target = -np.asarray(objective, dtype=float)
    if multipliers is not None:
        target = target - relaxation.table_map.T @ np.maximum(multipliers, 0.0)
    rows = np.ones(relaxation.n_variables, dtype=bool)
    rows[relaxation.identity_variable] = False
    target = target[rows]

    AT = A.T.tocsr()                  # transposed once: LSQR applies it thousands of times

    def constraints(R):
        return (AT @ (R @ R.T).ravel())[rows]

    for _ in range(REFINE_STEPS):
        residual = constraints(R) - target
        if not np.all(np.isfinite(residual)) or np.max(np.abs(residual)) < 1e-14:
            break

        def apply(x, R=R):
            S = R @ x.reshape(N, k).T
            return (AT @ (S + S.T).ravel())[rows]

        def adjoint(u, R=R):
            full = np.zeros(relaxation.n_variables)
            full[rows] = u
            U = (A @ full).reshape(N, N)
            return ((U + U.T) @ R).ravel()

        operator = spla.LinearOperator((int(rows.sum()), N * k), matvec=apply,
                                       rmatvec=adjoint)
        step = spla.lsqr(operator, -residual, atol=1e-15, btol=1e-15,
                         iter_lim=REFINE_LSQR_ITERATIONS)[0]
        R = R + step.reshape(N, k)
        candidate = R @ R.T
        bound = dual_bound(relaxation, objective, candidate, multipliers)
        gain = best[0] - bound
        if gain > 0:
            best = bound, candidate
        if gain < REFINE_MIN_GAIN:    # converged (an interior point's dual: after one step)
            break
    return best if return_matrix else best[0]


def _game_arrays(game):
    """``(W = μ·V, n_answers, n_questions)`` of a game, or a TypeError naming ``game``."""
    for attr in ("predicate", "question_dist", "n_answers", "n_questions"):
        if not hasattr(game, attr):
            raise TypeError(f"game must be a NonlocalGame (missing .{attr}), got "
                            f"{type(game).__name__}")
    weights = np.asarray(game.question_dist) * np.asarray(game.predicate)
    return weights, tuple(game.n_answers), tuple(game.n_questions)


def _check_size(size, level=None, at_least=False):
    if size > MAX_MOMENT_SIZE:
        name = "" if level is None else f" at level {level.name!r}"
        raise ValueError(
            f"the NPA moment matrix{name} would have {'at least ' if at_least else ''}{size} "
            f"monomials, more than MAX_MOMENT_SIZE = {MAX_MOMENT_SIZE} (the SDP would take "
            f"hours): use a lower level, an intermediate level such as '1+AB' (add terms like "
            f"'1+AB+AAB' to tighten it), or for a game with independent question blocks "
            f"decompose=True")


def _interior_point_bytes(solver, size, n_variables, n_rows=0):
    """Estimated peak memory (bytes) of an interior-point ``solver`` on an SDP with one
    ``size``×``size`` PSD block, ``n_variables`` variables and ``n_rows`` other constraint rows.

    Clarabel (and the other svec-based solvers) factorize a dense block of the cone's dimension
    N(N+1)/2: 8·(N(N+1)/2)² bytes.  CVXOPT's Cholesky KKT solver holds the scaled constraint
    matrix densely — N² + rows by m = ``n_variables`` — and the m×m Schur complement: 8·((N² +
    rows)·m + m²) bytes (measured peaks next to :data:`INTERIOR_POINT_MAX_BYTES`).  0 for
    other solvers."""
    name = str(solver).upper()
    if name == "CVXOPT":
        m = n_variables + 1
        return 8.0 * ((size * size + n_rows) * m + m * m)
    if name in INTERIOR_POINT_SOLVERS:
        return 8.0 * (size * (size + 1) / 2) ** 2
    return 0.0


def _attempts(solver, size, options, n_variables=None, n_rows=0):
    """The ``(solver, options, strict)`` attempts to make in order, chosen by the problem's
    shape; a ``strict`` attempt is accepted only at status "optimal" (:func:`_solve_certified`).

    ``solver=None`` (times measured by ``benchmarks/bench_npa_solvers.py``, RESULTS.md):

    * up to :data:`CLARABEL_MAX_SIZE` monomials: Clarabel, then Clarabel with
      :data:`CLARABEL_RETRY` (a random 3-player game at "1+AB", found by
      tests/test_bounds_chain.py, ended inaccurate with the default factorization), then
      CVXOPT, then SCS at :data:`SCS_DEFAULTS`.  Every solver takes ≤ 3.6 s there;
    * above, while CVXOPT's memory estimate (:func:`_interior_point_bytes`) fits
      :data:`INTERIOR_POINT_MAX_BYTES` and its work :data:`CVXOPT_MAX_WORK`: SCS for at most
      :data:`SCS_PROBE_ITERATIONS`
      iterations, kept only if it ends "optimal" (the rendezvous games: Tetra's 81 monomials
      in 1.5 s, where CVXOPT takes 9 s and Clarabel 12 s), then CVXOPT at
      :data:`CVXOPT_DEFAULTS` (I3322 at level 3: SCS at 1e-8 does not converge in 200 s,
      Clarabel takes > 200 s, CVXOPT 7 s), then SCS with its full budget, warm-started;
    * beyond CVXOPT's memory or work (the Cube's joint 289-monomial SDP: 26 GB): SCS alone.

    CVXOPT runs at :data:`CVXOPT_DEFAULTS` and then at its own looser defaults: the tight run
    can end "singular KKT matrix" on rank-deficient optima (CHSH, CGLMP).  A solver named by
    the caller is used alone (Clarabel and CVXOPT still retry as above unless the caller set
    the options involved); the caller's options take precedence.  Raises ``ValueError`` for
    an interior-point solver beyond :data:`INTERIOR_POINT_MAX_BYTES`, before building.
    """
    _check_size(size)
    n_variables = size * size if n_variables is None else n_variables
    scs = ("SCS", {**SCS_DEFAULTS, **options}, False)
    cvxopt = [("CVXOPT", {**CVXOPT_DEFAULTS, **options}, False)] + (
        [] if set(CVXOPT_DEFAULTS) & set(options) else [("CVXOPT", options, False)])
    clarabel = [("CLARABEL", options, False)] + (
        [] if "direct_solve_method" in options else
        [("CLARABEL", {**options, **CLARABEL_RETRY}, False)])
    if solver is None:
        cvxopt_fits = (_interior_point_bytes("CVXOPT", size, n_variables, n_rows)
                       <= INTERIOR_POINT_MAX_BYTES
                       and (size * n_variables) ** 2 <= CVXOPT_MAX_WORK)
        if size <= CLARABEL_MAX_SIZE:
            return clarabel + (cvxopt if cvxopt_fits else []) + [scs]
        if not cvxopt_fits:
            return [scs]
        probe = ("SCS", {**SCS_DEFAULTS, "max_iters": SCS_PROBE_ITERATIONS, **options}, True)
        return [probe] + cvxopt + [("SCS", {**SCS_DEFAULTS, "warm_start": True, **options},
                                    False)]
    memory = _interior_point_bytes(solver, size, n_variables, n_rows)
    if memory > INTERIOR_POINT_MAX_BYTES:
        raise ValueError(f"solver {solver} on a {size}-monomial moment matrix ({n_variables} "
                         f"variables) needs about {memory / 1e9:.0f} GB (interior point, dense "
                         f"factorization); use solver='SCS' or solver=None")
    chosen = {"SCS": [scs], "CVXOPT": cvxopt, "CLARABEL": clarabel}
    return chosen.get(str(solver).upper(), [(solver, options, False)])


def _solve_certified(problem, attempts, what, certify):
    """Solve ``problem`` with each ``(solver, options, strict)`` of ``attempts`` until one is
    accepted.

    After a solve that ends "optimal" or "optimal_inaccurate", ``certify(status)`` turns the
    solver's point into rigorous numbers and returns ``(result, accepted)``: the numbers are
    certified whatever the status, so an inaccurate solve can be accepted, and an optimal one
    that does not settle the question can move on to the next (tighter) attempt.  A ``strict``
    attempt (a short probe) is accepted at once only at status "optimal"; otherwise its result
    is kept in case every later attempt fails.  Returns ``(result, solver, status, seconds,
    accepted)`` of the first accepted attempt, else of the last acceptable or, failing that,
    the last one that produced a result (``seconds``: all attempts together); raises
    :class:`SolverError` with the last status if none did.
    """
    error, last, elapsed = None, None, 0.0
    for solver, options, strict in attempts:
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                problem.solve(solver=solver, **options)
        except cp.error.SolverError as exc:
            error = SolverError(f"{solver} failed on the {what}: {exc}", "solver_error")
            elapsed += time.perf_counter() - start
            continue
        elapsed += time.perf_counter() - start
        if problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            result, accepted = certify(problem.status)
            if result is not None:
                if accepted and (problem.status == cp.OPTIMAL or not strict):
                    return result, solver, problem.status, elapsed, True
                if last is None or accepted or not last[4]:
                    last = (result, solver, problem.status, elapsed, accepted)
                continue
        error = SolverError(f"{solver} did not solve the {what}", problem.status)
    if last is not None:
        return (*last[:3], elapsed, last[4])
    raise error


def question_blocks(weights):
    """Split a game into independent blocks of questions (a direct sum), from ``W = μ·V``.

    Nodes are the questions ``(player k, question x)``; every question tuple ``o`` with a nonzero
    payoff weight joins its n questions.  Returns one tuple of question-index arrays (one per
    player) for each connected component; questions that never carry weight are left out.
    """
    n = weights.ndim // 2
    offsets = np.cumsum((0,) + weights.shape[n:])
    parent = list(range(offsets[-1]))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    support = np.argwhere(np.any(weights != 0, axis=tuple(range(n))))
    for o in support:
        nodes = [root(offsets[k] + x) for k, x in enumerate(o)]
        for node in nodes[1:]:
            parent[node] = nodes[0]
    used = np.unique((support + offsets[:-1]).ravel()) if len(support) else np.arange(0)
    components = {}
    for node in used:
        components.setdefault(root(node), []).append(node)
    blocks = []
    for nodes in components.values():
        nodes = np.array(nodes)
        blocks.append(tuple(nodes[(nodes >= offsets[k]) & (nodes < offsets[k + 1])] - offsets[k]
                            for k in range(n)))
    return blocks


def _normalized_objective(relaxation, weights):
    """``(offset, scale, direction)`` with ``objective · y = offset + scale·(direction · y)`` on
    the NPA variables, ``direction`` zero on the identity and of largest entry 1 (``scale`` 0 for
    a constant payoff).  The per-question mean of ``W`` is taken out first (its value is the
    same for every table), so a shifted payoff ``a·V + b`` gives the same direction as ``V``
    up to rounding: the solver sees the same problem at every payoff scale and shift."""
    n = weights.ndim // 2
    mean = weights.mean(axis=tuple(range(n)), keepdims=True)
    centred = weights - mean
    offset = float(np.sum(mean))          # Σ_a p(a|o) = 1 for every question tuple o
    objective = np.asarray(relaxation.table_map.T @ centred.ravel(), dtype=float)
    offset += float(objective[relaxation.identity_variable])
    objective[relaxation.identity_variable] = 0.0
    scale = float(np.max(np.abs(objective)))
    return offset, scale, (objective / scale if scale > 0 else objective)


def _npa_block(weights, level, solver, positivity, solver_options, extra_words):
    """The NPA SDP for the payoff weights ``W[a..., o...]`` of one block.

    The payoff is normalized (:func:`_normalized_objective`) and the rigorous bound mapped back
    with outward rounding, so the result is invariant under ``V → a·V + b`` (a > 0)."""
    start = time.perf_counter()
    n = weights.ndim // 2
    relaxation = npa_relaxation(weights.shape[:n], weights.shape[n:], level, extra_words)
    offset, scale, direction = _normalized_objective(relaxation, weights)
    N = len(relaxation.monomials)
    positivity_rows = positivity and not relaxation.positivity_implied
    attempts = _attempts(solver, N, solver_options, relaxation.n_variables,
                         relaxation.table_map.shape[0] if positivity_rows else 0)
    details = {"size": N, "n_variables": relaxation.n_variables, "positivity": positivity,
               "extra_monomials": relaxation.extra_monomials, "offset": offset, "scale": scale}
    if scale == 0.0:              # a constant payoff: every table has the value `offset`
        return Bound(value=offset, upper=offset, kind="npa", status=cp.OPTIMAL,
                     level=relaxation.level, seconds=time.perf_counter() - start,
                     details={**details, "positivity_rows": False, "primal_value": offset,
                              "dual_bound": offset, "gap": 0.0,
                              "certificate": [{"Z": None, "multipliers": None}]})
    y = cp.Variable(relaxation.n_variables)
    gamma = _moment_matrix(relaxation, y)
    table = relaxation.table_map @ y
    constraints = [gamma >> 0, y[relaxation.identity_variable] == 1]
    if positivity_rows:       # redundant rows are left out: they make interior points struggle
        constraints.append(table >= 0)
    problem = cp.Problem(cp.Maximize(direction @ y), constraints)
    build_seconds = time.perf_counter() - start

    def certify(status):
        multipliers = constraints[2].dual_value if positivity_rows else None
        Z = constraints[0].dual_value
        if Z is None or problem.value is None or gamma.value is None:
            return None, False
        # any Z is valid: take the solver's either sign (cvxpy returns the PSD dual with a
        # plus sign for Clarabel, CVXOPT and SCS alike — checked on I3322 levels 2 and 3 — but
        # the certificate does not rely on it)
        Z = np.asarray(Z, dtype=float)
        sign = min((1.0, -1.0), key=lambda sign: dual_bound(
            relaxation, direction, sign * Z, None if multipliers is None else sign * multipliers))
        multipliers = None if multipliers is None else sign * np.asarray(multipliers, float)
        certified, Z = refined_dual_bound(relaxation, direction, sign * Z, multipliers,
                                          return_matrix=True)
        gap = certified - float(problem.value)
        # this attempt's point, kept with its certificate (a later attempt may overwrite it)
        point = float(problem.value), np.asarray(gamma.value), np.asarray(table.value)
        return (certified, {"Z": Z, "multipliers": multipliers}, point), bool(
            np.isfinite(certified)) and (status == cp.OPTIMAL or gap <= INACCURATE_GAP)

    what = f"NPA level {relaxation.level} SDP"
    (certified, certificate, (value, moments, probabilities)), solver_name, status, \
        solve_seconds, accepted = _solve_certified(problem, attempts, what, certify)
    if not accepted:
        raise SolverError(f"{solver_name} did not solve the {what} to a certificate within "
                          f"INACCURATE_GAP = {INACCURATE_GAP:g} (normalized)", status)
    upper = _map_back(offset, scale, certified)
    primal = offset + scale * value
    return Bound(
        value=upper, upper=upper, kind="npa", solver=solver_name, status=status,
        level=relaxation.level, moment_matrix=moments,
        seconds=time.perf_counter() - start,
        details={**details, "positivity_rows": positivity_rows,
                 "build_seconds": build_seconds, "solve_seconds": solve_seconds,
                 "primal_value": primal, "dual_bound": upper, "gap": upper - primal,
                 "table": probabilities.reshape(weights.shape),
                 "certificate": [certificate]})


def _map_back(offset, scale, certified):
    """The bound ``offset + scale·certified`` of the original payoff, rounded outward."""
    return round_up(offset + scale * certified, abs(offset) + scale * abs(certified))


def npa_upper_bound(game, level=1, solver=None, positivity=True, decompose=True,
                    extra_words=None, **solver_options):
    r"""Upper bound on the quantum value of ``game`` from the NPA hierarchy at ``level``.

    .. math::  \max\ \sum_{a,o} \mu(o) V(a|o)\, p(a|o) \quad\text{s.t.}\quad
               \Gamma \succeq 0,\ \Gamma[\mathbb 1,\mathbb 1] = 1,\
               \text{(positivity)}\ p(a|o) \ge 0,

    with Γ the real symmetric moment matrix of :func:`npa_relaxation` (see the module docstring
    for the levels, the extra monomials for n-body terms and the positivity rows).

    **Blocks.**  With ``decompose=True`` (default) a game whose weighted question tuples fall
    into independent blocks (:func:`question_blocks`; e.g. the Cube's even and odd start
    vertices: different parities never meet) is bounded block by block and the values are
    added.  This is a valid upper bound — Γ's principal submatrix on a block's monomials is
    feasible for that block — that can only be looser than the joint relaxation (it drops the
    cross-block moments); ``decompose=False`` solves the joint SDP.  On the Cube at "1+AB" the
    sum equals 209/648 (2 × Tetra's blocks of 81 monomials instead of 289), which the see-saw
    reaches, so nothing is lost there.

    **What is returned is what is proved.**  ``value`` (= ``upper``) is the rigorous bound
    recomputed from the solver's dual matrix (:func:`dual_bound`, refined by
    :func:`refined_dual_bound`, rounded outward), never the solver's own number: that one is
    ``details["primal_value"]`` (it can sit slightly below the true optimum: SCS on Tetra ended
    3e-9 below an explicit strategy's value), and ``details["gap"] = value − primal_value``
    says how tight the certificate is.

    **Scale.**  The payoff is normalized before solving (constant per question tuple taken out,
    largest coefficient 1) and the bound mapped back, so ``a·V + b`` (a > 0) gives ``a·value +
    b`` (up to rounding): solver tolerances never meet an unnormalized objective.

    Parameters
    ----------
    game : NonlocalGame (any number of players, any real payoff).
    level : ``1``, ``2``, ... or ``"1+AB"``, ``"1+AB+AAB"``, ``"1+AB+ABC"`` (:func:`parse_level`).
    solver : cvxpy solver name, used alone.  Default (None): chosen by the moment matrix's size
        and fallen back across solvers before raising (:func:`_attempts`: Clarabel up to
        :data:`CLARABEL_MAX_SIZE` monomials; above, an SCS probe, CVXOPT, then SCS with
        :data:`SCS_DEFAULTS`).  ``details["size"]`` and ``solver`` say what was used;
        ``details["certificate"]`` holds the dual matrices that prove ``value``
        (:func:`verify_certificate` re-checks them without solving).
    positivity : add ``p(a|o) ≥ 0`` for every answer including the dropped last one.
    decompose : bound independent question blocks separately (see above; not with
        ``extra_words``, whose question indices refer to the whole game).
    extra_words : additional monomials (see :func:`npa_relaxation`).
    solver_options : passed to ``problem.solve`` (e.g. tolerances).

    Returns
    -------
    Bound
        ``kind="npa"``, ``value`` = ``upper`` (certified), ``level``, the solver and status,
        ``moment_matrix`` (Γ at the solver's optimum, monomials in
        ``npa_relaxation(...).monomials`` order; with several blocks, None and each block's
        :class:`Bound` is in ``details["blocks"]``), ``seconds`` (build + solve) and ``details``:
        ``size`` (N), ``n_variables``, ``positivity``, ``positivity_rows``, ``extra_monomials``,
        ``build_seconds``, ``solve_seconds``, ``table`` (the solver's optimal table ``p[a...,
        o...]``), ``primal_value``, ``gap``, ``dual_bound`` (= ``value``, kept for older callers),
        ``offset`` and ``scale`` (the normalization), ``certificate`` (one ``{"Z": dual matrix,
        "multipliers": positivity multipliers or None}`` per question block: the matrices whose
        :func:`dual_bound` gives ``value``; ``solve_seconds`` counts every solver attempt).
        Status "optimal_inaccurate" is accepted only
        when the certificate is within :data:`INACCURATE_GAP` (normalized) of the solver's value;
        otherwise the next solver is tried, and :class:`~qpolicy.bounds.results.SolverError` is
        raised after the last.  Oversized levels raise ``ValueError`` before anything is built
        (:data:`MAX_MOMENT_SIZE`).

    >>> from qpolicy import games
    >>> round(npa_upper_bound(games.ghz(), level=1).value, 6)
    1.0
    """
    if not isinstance(positivity, bool):
        raise TypeError(f"positivity must be True or False, got {type(positivity).__name__}")
    if not isinstance(decompose, bool):
        raise TypeError(f"decompose must be True or False, got {type(decompose).__name__}")
    start = time.perf_counter()
    weights, n_answers, n_questions = _game_arrays(game)
    parse_level(level)
    n = len(n_answers)
    # a constant payoff per question tuple is the same for every table: take it out first, so
    # that a shifted payoff has the same question blocks
    mean = weights.mean(axis=tuple(range(n)), keepdims=True)
    offset, centred = float(np.sum(mean)), weights - mean
    blocks = question_blocks(centred) if decompose and extra_words is None else []
    if len(blocks) <= 1:
        return _npa_block(weights, level, solver, positivity, solver_options, extra_words)
    parts = []
    for block in blocks:
        sub = centred
        for k, questions in enumerate(block):
            sub = np.take(sub, questions, axis=n + k)
        parts.append(_npa_block(sub, level, solver, positivity, solver_options, None))
    total = offset + sum(part.value for part in parts)
    upper = round_up(total, abs(offset) + sum(abs(part.value) for part in parts))
    primal = offset + sum(part.details["primal_value"] for part in parts)
    return Bound(
        value=upper, upper=upper, kind="npa",
        solver="+".join(dict.fromkeys(str(part.solver) for part in parts)),
        status=parts[0].status if all(p.status == parts[0].status for p in parts)
        else cp.OPTIMAL_INACCURATE,
        level=parts[0].level, moment_matrix=None, seconds=time.perf_counter() - start,
        details={"size": [part.details["size"] for part in parts],
                 "n_variables": [part.details["n_variables"] for part in parts],
                 "positivity": positivity,
                 "positivity_rows": any(part.details["positivity_rows"] for part in parts),
                 "extra_monomials": sum(part.details["extra_monomials"] for part in parts),
                 "primal_value": primal, "dual_bound": upper, "gap": upper - primal,
                 "offset": offset, "question_blocks": blocks, "blocks": parts,
                 "certificate": [part.details["certificate"][0] for part in parts]})


def verify_certificate(game, level, details, extra_words=None):
    r"""Re-check a stored NPA bound from its dual certificate, without solving: the rigorous
    upper bound that ``details["certificate"]`` proves for ``game`` at ``level``.

    ``details`` is :attr:`Bound.details` of :func:`npa_upper_bound` (or any mapping with its
    ``"certificate"``: a list with one ``{"Z": (N, N) array, "multipliers": array or None}``
    per question block — one for a joint solve).  The relaxation and the normalized objective
    are rebuilt from ``game`` and ``level`` (the stored offset and scale are not trusted), and
    each block's bound is recomputed by :func:`dual_bound` — valid for *any* matrix, so a
    tampered or corrupted certificate can only give a larger (weaker) number, never a wrong
    one.  A stored value ``v`` is therefore supported iff ``verify_certificate(...) ≤ v``
    (equal, up to floating-point summation order, for the value the solve returned).  Blocks
    are :func:`question_blocks` of the game, as in :func:`npa_upper_bound`, when the
    certificate has one entry per block; a single entry is checked against the joint
    relaxation.  Raises ``ValueError`` naming ``details`` when the certificate is missing or
    its shapes do not match the relaxation.

    >>> from qpolicy import games
    >>> bound = npa_upper_bound(games.chsh(), level=1)
    >>> verify_certificate(games.chsh(), 1, bound.details) <= bound.value
    True
    """
    weights, n_answers, n_questions = _game_arrays(game)
    certificates = details.get("certificate") if hasattr(details, "get") else None
    if not isinstance(certificates, (list, tuple)) or not certificates or not all(
            hasattr(c, "get") and "Z" in c for c in certificates):
        raise ValueError("details must hold an NPA certificate: details['certificate'] = a list "
                         "of {'Z': array, 'multipliers': array or None}, one per question block "
                         "(Bound.details of npa_upper_bound)")
    n = len(n_answers)
    mean = weights.mean(axis=tuple(range(n)), keepdims=True)
    offset, centred = float(np.sum(mean)), weights - mean
    if len(certificates) == 1:
        parts = [(weights, certificates[0])]
        offset = 0.0
    else:
        blocks = question_blocks(centred) if extra_words is None else []
        if len(blocks) != len(certificates):
            raise ValueError(f"details['certificate'] has {len(certificates)} entries, the game "
                             f"has {len(blocks)} question blocks")
        parts = []
        for block, certificate in zip(blocks, certificates):
            sub = centred
            for k, questions in enumerate(block):
                sub = np.take(sub, questions, axis=n + k)
            parts.append((sub, certificate))
    values = []
    for sub, certificate in parts:
        m = sub.ndim // 2
        relaxation = npa_relaxation(sub.shape[:m], sub.shape[m:], level, extra_words)
        block_offset, scale, direction = _normalized_objective(relaxation, sub)
        if scale == 0.0:
            values.append(block_offset)
            continue
        N = len(relaxation.monomials)
        Z = certificate.get("Z")
        Z = None if Z is None else np.asarray(Z, dtype=float)
        if Z is None or Z.shape != (N, N) or not np.all(np.isfinite(Z)):
            raise ValueError(f"details['certificate']: Z must be a finite {N}×{N} matrix for "
                             f"level {relaxation.level!r}, got "
                             f"{None if Z is None else Z.shape}")
        multipliers = certificate.get("multipliers")
        if multipliers is not None:
            multipliers = np.asarray(multipliers, dtype=float)
            rows = relaxation.table_map.shape[0]
            if multipliers.shape != (rows,) or not np.all(np.isfinite(multipliers)):
                raise ValueError(f"details['certificate']: multipliers must be {rows} finite "
                                 f"numbers, got shape {multipliers.shape}")
        values.append(_map_back(block_offset, scale,
                                dual_bound(relaxation, direction, Z, multipliers)))
    if len(values) == 1:
        return values[0]
    return round_up(offset + sum(values), abs(offset) + sum(abs(v) for v in values))


def npa_membership(p, level=1, solver=None, atol=IN_NPA_ATOL, extra_words=None,
                   **solver_options):
    r"""Is the table ``p[a_1..a_n, o_1..o_n]`` in the NPA relaxation at ``level``?  Three answers.

    The statistic is :math:`t^* = \min t` s.t. :math:`\Gamma(y) + t\,\mathbb 1 \succeq 0` with
    the correlators of ``p`` fixed in the moment matrix (``t* ≤ 0`` iff ``p`` is in the
    relaxation; quantum tables sit on its boundary, where ``t* ≈ 0``).  The solver's point is
    turned into a rigorous interval ``[lower, upper] ∋ t*``:

    * ``upper = −λ_min Γ(y)`` with the correlators set exactly (:func:`_membership_primal_bound`);
    * ``lower`` from the solver's dual matrix (:func:`_membership_dual_bound`);

    and the answer is a :class:`~qpolicy.bounds.results.Membership`: ``"member"`` if ``upper ≤
    atol`` (certified: ``p`` is within ``atol`` of the relaxation, consistent with a quantum
    strategy), ``"non_member"`` if ``lower > atol`` (certified: ``p`` is not quantum), else
    ``"undecided"`` with the interval — never the solver's own number.  A table that signals by
    more than ``atol`` is a non-member without an SDP (``reason="signaling"``).

    **Cost and solvers.**  Membership needs the *joint* moment matrix (a sub-table passing is
    only a necessary condition), and fixing the correlators leaves most entries free (Cube at
    "1+AB": 28 896 of 29 185), so the SDP keeps its full size (289 monomials).  ``solver=None``:
    Clarabel up to :data:`CLARABEL_MAX_SIZE` monomials (then its other factorization, CVXOPT,
    SCS); above, SCS at tolerance ``atol`` — the decision's own resolution — and, if that leaves
    the answer undecided, CVXOPT where its memory estimate fits (not the Cube's joint SDP: 26
    GB), then SCS once more warm-started at ``atol/100``.  Before moving on, an undecided
    answer polishes the solver's point (:func:`_polished_membership_point`, at most
    :data:`MEMBERSHIP_POLISH_STEPS` projections), which often proves membership without another
    solve (the Cube's see-saw table: 61 s instead of 220 s).  ``details``: ``solver_t`` (the
    solver's own t), ``solver_point_upper`` (the primal bound at the solver's point, before
    polishing), ``size``, ``signaling_residual``.  A named ``solver`` is used
    alone.  Moment matrices above :data:`MAX_MOMENT_SIZE` monomials, or too large for an
    interior-point ``solver`` (:data:`INTERIOR_POINT_MAX_BYTES`), raise ``ValueError`` before
    solving.  ``p`` must be a conditional distribution (validated); ``atol`` a positive finite
    number.

    >>> import numpy as np, qpolicy as qp
    >>> from qpolicy.policies import pr_box
    >>> npa_membership(pr_box()).status
    'non_member'
    """
    start = time.perf_counter()
    ndim = as_array(p, "p", complex_ok=False).ndim
    if ndim < 2 or ndim % 2:
        raise ValueError(f"p must have 2 * n_players axes (answers, then questions), got shape "
                         f"{np.shape(p)}")
    n_players = ndim // 2
    p = check_table(p, n_players, name="p")
    atol = check_positive(atol, "atol")
    relaxation = npa_relaxation(p.shape[:n_players], p.shape[n_players:], level, extra_words)
    N = len(relaxation.monomials)
    attempts = _attempts(solver, N, solver_options, relaxation.n_variables + 1,
                         relaxation.correlator_variable.size)
    if solver is None and attempts[0][0] == "SCS":
        # the decision needs only atol: SCS at atol, then (if undecided) CVXOPT where it fits,
        # then SCS warm-started at atol/100
        tight = {**SCS_DEFAULTS, "eps_abs": atol / 100, "eps_rel": atol / 100,
                 "warm_start": True, **solver_options}
        attempts = [("SCS", {**SCS_DEFAULTS, "eps_abs": atol, "eps_rel": atol,
                             **solver_options}, False)] + [
            attempt for attempt in attempts if attempt[0] == "CVXOPT"] + [("SCS", tight, False)]
    # Correlators from p: the Collins–Gisin map is injective and its range is exactly the
    # non-signaling tables, so a least-squares residual above tolerance means p signals.
    K = relaxation.correlator_map.toarray()
    correlators, *_ = np.linalg.lstsq(K, p.ravel(), rcond=None)
    residual = float(np.max(np.abs(K @ correlators - p.ravel())))
    if residual > atol:
        return Membership(status=NON_MEMBER, lower=np.inf, upper=np.inf, atol=atol,
                          reason="signaling", level=relaxation.level,
                          seconds=time.perf_counter() - start,
                          details={"signaling_residual": residual})
    fixed = relaxation.correlator_variable.ravel()
    y = cp.Variable(relaxation.n_variables)
    t = cp.Variable()
    gamma = _moment_matrix(relaxation, y)
    psd = gamma + t * np.eye(N) >> 0
    problem = cp.Problem(cp.Minimize(t), [psd, y[fixed] == correlators])

    def certify(status):
        if psd.dual_value is None or y.value is None or t.value is None:
            return None, False
        values = np.array(y.value, dtype=float)
        values[fixed] = correlators
        upper = raw_upper = _membership_primal_bound(relaxation, values)
        # t* ≤ upper is proved, so the dual bound assuming t ≤ max(upper, 0) holds outright; the
        # one assuming t ≤ atol, if above atol, proves t* > atol (a contradiction otherwise)
        lower = _membership_dual_bound(relaxation, correlators, psd.dual_value, max(upper, 0.0))
        if lower <= atol < _membership_dual_bound(relaxation, correlators, psd.dual_value, atol):
            lower = float(np.nextafter(atol, np.inf))
        if lower <= atol < upper:           # undecided: try to certify membership cheaply
            polished = _polished_membership_point(relaxation, values, fixed, 0.99 * atol)
            upper = min(upper, _membership_primal_bound(relaxation, polished))
            lower = max(lower, _membership_dual_bound(relaxation, correlators, psd.dual_value,
                                                      max(upper, 0.0)))
        upper = max(upper, lower)
        return (lower, upper, float(t.value), raw_upper), upper <= atol or lower > atol

    (lower, upper, solver_t, raw_upper), solver_name, status, _, decided = _solve_certified(
        problem, attempts, f"NPA level {relaxation.level} membership SDP", certify)
    if upper <= atol:
        verdict, reason = MEMBER, "primal certificate: -lambda_min(Gamma) <= atol"
    elif lower > atol:
        verdict, reason = NON_MEMBER, "dual certificate: lower bound on t* > atol"
    else:
        verdict, reason = UNDECIDED, "the rigorous bounds on t* straddle atol"
    return Membership(status=verdict, lower=lower, upper=upper, atol=atol, reason=reason,
                      level=relaxation.level, solver=solver_name, solver_status=status,
                      seconds=time.perf_counter() - start,
                      details={"solver_t": solver_t, "solver_point_upper": raw_upper, "size": N,
                               "signaling_residual": residual})


def in_npa(p, level=1, solver=None, atol=IN_NPA_ATOL, **solver_options):
    r"""Whether the table ``p`` passes the NPA test at ``level``: :func:`npa_membership` as a bool.

    True for a certified member, False for a certified non-member (both rigorous, see
    :func:`npa_membership`).  **Undecided** answers raise
    :class:`~qpolicy.bounds.results.UndecidedError`, whose ``.membership`` carries the interval:
    a boolean cannot say "undecided", and guessing from the solver's number is what this
    function must not do.  Call :func:`npa_membership` to handle all three answers.

    >>> import numpy as np, qpolicy as qp
    >>> M = np.array([[np.diag([1., 0]), np.diag([0., 1])]])     # one question, Z measurement
    >>> in_npa(qp.born(qp.bell_state(), [M, M]))
    True
    """
    membership = npa_membership(p, level, solver, atol, **solver_options)
    if membership.status == UNDECIDED:
        raise UndecidedError(membership)
    return membership.status == MEMBER


def _moment_values(relaxation, values):
    """Γ as a NumPy matrix for the variable values ``values`` (zero products are 0)."""
    ev = relaxation.entry_variable
    return np.where(ev >= 0, values[np.maximum(ev, 0)], 0.0)


def _polished_membership_point(relaxation, values, fixed, target):
    """A point with the same fixed correlators and a smaller ``-λ_min Γ``: alternating
    projections between the PSD cone and the moment matrices with those correlators (clip Γ's
    negative eigenvalues, then average each free class of entries), at most
    :data:`MEMBERSHIP_POLISH_STEPS` steps, stopping once ``-λ_min ≤ target``.  Returns the best
    point seen; any point is a valid primal certificate (:func:`_membership_primal_bound`)."""
    A = _entry_selector(relaxation)
    AT = A.T.tocsr()
    counts = np.maximum(np.asarray(A.sum(axis=0)).ravel(), 1.0)
    free = np.ones(relaxation.n_variables, dtype=bool)
    free[fixed] = False
    best, best_gap = values, np.inf
    for _ in range(MEMBERSHIP_POLISH_STEPS):
        G = _moment_values(relaxation, values)
        eigenvalues, vectors = np.linalg.eigh((G + G.T) / 2)
        if -eigenvalues[0] < best_gap:
            best, best_gap = values, -eigenvalues[0]
        if best_gap <= target:
            break
        clipped = (vectors * np.maximum(eigenvalues, 0.0)) @ vectors.T
        values = np.where(free, (AT @ clipped.ravel()) / counts, values)
    return best


def _membership_primal_bound(relaxation, values):
    """``-λ_min Γ(values)`` rounded up: every feasible point's ``t`` bounds ``t*`` from above."""
    G = _moment_values(relaxation, values)
    G = (G + G.T) / 2
    N = G.shape[0]
    return round_up(-float(np.linalg.eigvalsh(G)[0]), N * np.linalg.norm(G))


def _membership_dual_bound(relaxation, correlators, Z, cap):
    r"""A rigorous lower bound on ``t* = min t`` s.t. ``Γ(y) + t·I ⪰ 0``, correlators fixed.

    ``Z`` (the solver's dual matrix) is symmetrized and shifted within each class of a *free*
    variable so that its entries there sum to zero; with ``ε = max(0, -λ_min(Z))``,
    ``Z + εI ⪰ 0`` gives ``0 ≤ <Z, Γ> + ε tr Γ + t (tr Z + εN)`` for every feasible ``(y, t)``,
    where ``<Z, Γ>`` involves only the fixed correlators.  ``tr Γ``: a fixed diagonal entry is
    known; a free one (level ≥ 2, where ``u†u`` is not a correlator) is at most
    ``1 + 2a·len(u)`` when ``t ≤ a``: on rows ``v`` and ``u = P v`` (the monomial sets are closed
    under such parents) the 2×2 minor of ``Γ + aI ⪰ 0`` gives ``Γ[u,u] ≤ Γ[v,v] + 2a``.  With
    ``a = cap ≥ 0`` the returned ``L`` is a lower bound on ``t*`` whenever ``t* ≤ cap`` (always
    when no diagonal entry is free).  Rounded down; ``-inf`` when vacuous.
    """
    if Z is None:
        return -np.inf
    N = relaxation.entry_variable.shape[0]
    A = _entry_selector(relaxation)
    Z = (np.asarray(Z, dtype=float) + np.asarray(Z, dtype=float).T) / 2
    free = np.ones(relaxation.n_variables, dtype=bool)
    free[relaxation.correlator_variable.ravel()] = False
    counts = np.maximum(np.asarray(A.sum(axis=0)).ravel(), 1.0)
    shift = np.where(free, (A.T @ Z.ravel()) / counts, 0.0)
    Z = Z - (A @ shift).reshape(N, N)                       # free classes now sum to zero
    epsilon = max(0.0, -float(np.linalg.eigvalsh(Z)[0]))
    values = np.zeros(relaxation.n_variables)
    values[relaxation.correlator_variable.ravel()] = correlators
    gamma = _moment_values(relaxation, values)
    free_diagonal = free[np.diag(relaxation.entry_variable)]
    lengths = np.array([len(word) for word in relaxation.monomials], dtype=float)
    trace = float(np.sum(np.where(free_diagonal, 1.0 + 2.0 * cap * lengths, np.diag(gamma))))
    denominator = float(np.trace(Z)) + epsilon * N
    if denominator <= 0:
        return -np.inf
    numerator = float(np.sum(Z * gamma)) + epsilon * trace
    size = (N * N * np.linalg.norm(Z) + abs(numerator)) / denominator
    return -round_up(numerator / denominator, size)

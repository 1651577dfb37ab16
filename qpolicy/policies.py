r"""The policy hierarchy :math:`\Pi_F \subset \Pi_{SR} \subset \Pi_Q \subset \Pi_{NS} \subset \Pi_C`
(§3, Prop. 2) for finitely many questions and answers, as probability tables.

A joint policy of ``n`` players is the table ``p[a_1, …, a_n, o_1, …, o_n] = π(a | o)``
(answers first, then questions; ``p.sum(axis=tuple(range(n)))`` is all ones).  A *local*
policy uses the same convention, ``pi_i[a_i, o_i]``.  Four constructive classes:

========================================  ===================================================
:class:`FactorizedPolicy` (class F)       :math:`\pi(a|o) = \prod_i \pi_i(a_i|o_i)`
:class:`SharedRandomnessPolicy` (SR)      :math:`\sum_x q(x) \prod_i \pi_i(a_i|x, o_i)`  (eq. 4)
:class:`EntangledPolicy` (Q)              :math:`\operatorname{tr}(\rho \bigotimes_i M_i(a_i|o_i))`  (eq. 6)
:class:`CoordinatorAdvicePolicy` (Q)      :math:`\sum_x \operatorname{tr}(\rho \bigotimes_i \tilde M_i(x_i|o_i)) \prod_i \pi_i(a_i|x_i, o_i)`  (eq. 7)
========================================  ===================================================

Each has ``.n_players``, ``.n_questions``, ``.n_answers``, ``.table()``, ``.sample(questions,
rng)`` (vectorized; samples the way the policy is deployed: local draws after a shared draw, the
coordinator's advice before the actors' actions) and ``.log_prob(answers, questions)``.

The class NS is defined by a property, not a construction: :func:`nonsignaling_violation` and
:func:`is_nonsignaling` test eq. (5) over every bipartition of the players.  Prop. 5 (App. G)
is :func:`effective_povms` (advice + actors → POVMs) and :func:`coordinator_advice_form`
(POVMs → advice with δ actors); Prop. 6's counterexamples are :func:`prop6_povm`.

Reference: Gardiner et al. (2026), §3, eq. (4)–(7), Prop. 2, 5, 6.

Example
-------
>>> import numpy as np, qpolicy as qp
>>> from qpolicy.policies import EntangledPolicy, is_nonsignaling
>>> Z = np.zeros((2, 2, 2, 2)); Z[:, 0] = np.diag([3.0, -3.0])     # (questions, answers, d, d)
>>> policy = EntangledPolicy(qp.bell_state(), [qp.quantum_softmax(Z)] * 2)
>>> is_nonsignaling(policy.table())
True
>>> policy.sample(np.array([[0, 1], [1, 1]]), rng=0).shape
(2, 2)
"""
import itertools
import string

import numpy as np

from qpolicy.quantum import _einsum_letters, born, check_density_matrix, check_povm
from qpolicy.validation import (
    ATOL, as_array, as_generator, as_index_array, check_int, check_probabilities, check_size,
    check_tolerance)

__all__ = [
    "check_policy_table", "nonsignaling_violation", "is_nonsignaling",
    "FactorizedPolicy", "SharedRandomnessPolicy", "EntangledPolicy", "CoordinatorAdvicePolicy",
    "effective_povms", "coordinator_advice_form", "prop6_povm", "pr_box",
]


# ----------------------------------------------------------------------------------------------
# Tables: validity and the non-signaling property (eq. 5)
# ----------------------------------------------------------------------------------------------

def check_policy_table(p, name="p", atol=ATOL, n_players=None):
    """Return ``p`` as a float array after checking that it is a conditional distribution.

    ``p`` has ``2n`` axes ``[a_1..a_n, o_1..o_n]``; every entry is ≥ −atol and, for each
    question tuple, the entries sum to 1 within ``atol``.  Raises ``TypeError``/``ValueError``
    naming ``name``.

    >>> check_policy_table(np.full((2, 2, 1, 1), 0.25)).shape
    (2, 2, 1, 1)
    """
    p = as_array(p, name, complex_ok=False)
    if p.ndim == 0 or p.ndim % 2:
        raise ValueError(f"{name} must have 2n axes [a_1..a_n, o_1..o_n], got shape {p.shape}")
    n = p.ndim // 2
    if n_players is not None and n != n_players:
        raise ValueError(f"{name} must describe {n_players} players ({2 * n_players} axes), "
                         f"got shape {p.shape}")
    if p.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {p.shape}")
    atol = check_tolerance(atol)
    if np.min(p) < -atol:
        raise ValueError(f"{name} must be non-negative, has entry {np.min(p):.3g}")
    sums = p.sum(axis=tuple(range(n)))                 # one sum per question tuple o
    worst = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
    if abs(sums[worst] - 1.0) > atol:
        raise ValueError(
            f"{name} must be a conditional distribution p[a_1..a_{n}, o_1..o_{n}] (answers first): "
            f"for every question tuple o, the sum over the answers a must be 1, but for "
            f"o = {tuple(int(i) for i in worst)} it is {sums[worst]:.6g}" + _questions_first_hint(p, n, atol))
    return p


def _questions_first_hint(p, n, atol):
    """A hint when ``p`` would be valid with its two halves of axes swapped."""
    swapped = np.moveaxis(p, range(n), range(n, 2 * n))
    if np.all(np.abs(swapped.sum(axis=tuple(range(n))) - 1.0) <= atol):
        return (f"; it looks like a questions-first table p[o..., a...]: "
                f"np.moveaxis(p, {tuple(range(n))}, {tuple(range(n, 2 * n))}) reorders it")
    return ""


def pr_box():
    r"""The Popescu–Rohrlich box :math:`p(a, b | x, y) = \tfrac12 [a \oplus b = x \wedge y]`:
    non-signaling, wins CHSH always, so it lies outside the quantum set (Prop. 2: Q ⊊ NS).
    Reference: Popescu & Rohrlich, Found. Phys. 24, 379 (1994)."""
    a, b, x, y = np.indices((2, 2, 2, 2))
    return ((a ^ b) == (x & y)) / 2.0


def nonsignaling_violation(p):
    r"""Largest violation of eq. (5): over every bipartition ``{I, J}`` of the players, the
    largest change of the marginal :math:`\sum_{a_J} p(a_I, a_J | o_I, o_J)` when only ``o_J``
    changes.  Zero (to rounding) exactly for non-signaling tables.

    >>> float(nonsignaling_violation(pr_box()))
    0.0
    >>> signaling = np.zeros((2, 2, 2, 2))                        # Bob answers Alice's question
    >>> for a, x, y in np.ndindex(2, 2, 2):
    ...     signaling[a, x, x, y] = 0.5
    >>> float(nonsignaling_violation(signaling))
    1.0
    """
    p = check_policy_table(p)
    n = p.ndim // 2
    worst = 0.0
    for size in range(1, n):
        for J in itertools.combinations(range(n), size):       # J: the players summed out
            marginal = p.sum(axis=J)                           # axes: a_I..., o_1..o_n
            question_axes_J = tuple(n - size + j for j in J)
            spread = np.max(marginal, axis=question_axes_J) - np.min(marginal, axis=question_axes_J)
            worst = max(worst, float(np.max(spread)))
    return worst


def is_nonsignaling(p, atol=1e-9):
    """True iff ``p`` is a valid policy table satisfying eq. (5) within ``atol``."""
    atol = check_tolerance(atol)
    return nonsignaling_violation(p) <= atol


# ----------------------------------------------------------------------------------------------
# Shared machinery: questions/answers validation, sampling and log-probabilities from a table
# ----------------------------------------------------------------------------------------------


def _check_local_tables(tables, name, leading=0):
    """A list of per-player tables ``[*leading axes, a_i, o_i]``, each summing to 1 over a_i."""
    if isinstance(tables, np.ndarray) or not hasattr(tables, "__len__") or len(tables) == 0:
        raise TypeError(f"{name} must be a non-empty list with one table per player")
    checked = []
    for i, t in enumerate(tables):
        t = as_array(t, f"{name}[{i}]", ndim=2 + leading, complex_ok=False)
        checked.append(check_probabilities(t, f"{name}[{i}]", axis=leading))
    return checked


def _read_only(arr):
    arr = np.array(arr, copy=True)
    arr.setflags(write=False)
    return arr


def _sample_categorical(probs, rng):
    """One draw per row of ``probs`` (rows sum to 1) by inverting the CDF (vectorized).  Born-rule
    rounding (entries like −1e-17) is clipped so such answers are never drawn."""
    cdf = np.cumsum(np.maximum(probs, 0.0), axis=-1)
    u = rng.random(probs.shape[:-1]) * cdf[..., -1]     # scale by the total: no off-by-rounding
    return np.minimum((cdf <= u[..., None]).sum(axis=-1), probs.shape[-1] - 1)


def _local_draws(local, index, questions, rng):
    """a_i ~ local[i][index_i, :, o_i] for every player and batch row (``index`` may be None)."""
    answers = np.empty_like(questions)
    for i, t in enumerate(local):
        rows = t[:, questions[:, i]].T if index is None else t[index[:, i], :, questions[:, i]]
        answers[:, i] = _sample_categorical(rows, rng)
    return answers


class _TablePolicy:
    """Base class: a validated, immutable joint policy with its table computed once."""

    def __init__(self, table, n_questions, n_answers):
        self._table = _read_only(table)
        self.n_players = len(n_questions)
        self.n_questions = tuple(int(k) for k in n_questions)
        self.n_answers = tuple(int(k) for k in n_answers)

    def table(self):
        """The joint table ``p[a_1..a_n, o_1..o_n]`` (read-only)."""
        return self._table

    def _questions(self, questions):
        return as_index_array(questions, "questions", self.n_questions)

    def sample(self, questions, rng):
        """Answers ``(batch, n)`` for questions ``(batch, n)``, drawn from the joint table."""
        questions = self._questions(questions)
        rng = as_generator(rng)
        n = self.n_players
        joint = np.moveaxis(self._table, range(n), range(n, 2 * n))     # [o..., a...]
        probs = joint[tuple(questions.T)].reshape(len(questions), -1)
        flat = _sample_categorical(probs, rng)
        return np.stack(np.unravel_index(flat, self.n_answers), axis=-1).astype(questions.dtype)

    def log_prob(self, answers, questions):
        """``log π(a | o)`` for each row, shape ``(batch,)`` (−inf for impossible answers)."""
        questions = self._questions(questions)
        answers = as_index_array(answers, "answers", self.n_answers)
        if len(answers) != len(questions):
            raise ValueError(f"answers and questions must have the same batch size, got "
                             f"{len(answers)} and {len(questions)}")
        with np.errstate(divide="ignore"):
            return np.log(self._table[tuple(answers.T) + tuple(questions.T)])

    def __repr__(self):
        return (f"{type(self).__name__}(n_players={self.n_players}, "
                f"n_answers={self.n_answers}, n_questions={self.n_questions})")


def _einsum_product(local, leading=""):
    """einsum spec joining local factors ``[leading, a_i, o_i]`` into ``[leading, a..., o...]``."""
    n = len(local)
    pool = string.ascii_letters.replace(leading, "") if leading else string.ascii_letters
    if 2 * n > len(pool):
        raise ValueError(f"local_tables: at most {len(pool) // 2} players are supported (2 einsum "
                         f"indices each, NumPy allows 52), got {n}")
    check_size(np.prod([t.shape[-2] * t.shape[-1] for t in local], dtype=object),
               "local_tables", "joint table", itemsize=8)
    letters = iter(pool)
    a = [next(letters) for _ in range(n)]
    o = [next(letters) for _ in range(n)]
    inputs = ",".join(leading + a[i] + o[i] for i in range(n))
    return inputs, "".join(a) + "".join(o)


# ----------------------------------------------------------------------------------------------
# The classes of the hierarchy
# ----------------------------------------------------------------------------------------------

class FactorizedPolicy(_TablePolicy):
    r"""Class F: independent local policies, :math:`\pi(a|o) = \prod_i \pi_i(a_i|o_i)`.

    ``local_tables[i][a_i, o_i]`` (each column sums to 1).

    >>> pi = np.array([[0.9, 0.2], [0.1, 0.8]])                     # pi[a, o]
    >>> FactorizedPolicy([pi, pi]).table()[0, 0, 0, 1].round(2)
    np.float64(0.18)
    """

    def __init__(self, local_tables):
        self.local_tables = tuple(_read_only(t) for t in _check_local_tables(local_tables, "local_tables"))
        inputs, output = _einsum_product(self.local_tables)
        super().__init__(np.einsum(f"{inputs}->{output}", *self.local_tables),
                         [t.shape[1] for t in self.local_tables],
                         [t.shape[0] for t in self.local_tables])

    def sample(self, questions, rng):
        """Each player draws its answer from its own local policy (decentralized)."""
        return _local_draws(self.local_tables, None, self._questions(questions), as_generator(rng))

    def as_shared_randomness(self):
        """The same policy in class SR with a single shared value (F ⊂ SR)."""
        return SharedRandomnessPolicy([1.0], [t[None] for t in self.local_tables])


class SharedRandomnessPolicy(_TablePolicy):
    r"""Class SR (eq. 4): :math:`\pi(a|o) = \sum_x q(x) \prod_i \pi_i(a_i|x, o_i)`.

    ``weights[x]`` = q(x) (a probability vector); ``local_tables[i][x, a_i, o_i]``.

    >>> agree = np.stack([np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])])  # [x, a, o]
    >>> SharedRandomnessPolicy([0.5, 0.5], [agree, agree]).table()[:, :, 0, 0].tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """

    def __init__(self, weights, local_tables):
        weights = check_probabilities(as_array(weights, "weights", ndim=1, complex_ok=False),
                                      "weights")
        local = _check_local_tables(local_tables, "local_tables", leading=1)
        for i, t in enumerate(local):
            if t.shape[0] != len(weights):
                raise ValueError(f"local_tables[{i}] has {t.shape[0]} shared values x, "
                                 f"weights has {len(weights)}")
        self.weights = _read_only(weights)
        self.local_tables = tuple(_read_only(t) for t in local)
        inputs, output = _einsum_product(local, leading="x")
        super().__init__(np.einsum(f"x,{inputs}->{output}", weights, *local),
                         [t.shape[2] for t in local], [t.shape[1] for t in local])

    def sample(self, questions, rng):
        """Draw the shared value x ~ q once per row, then each player answers locally."""
        questions = self._questions(questions)
        rng = as_generator(rng)
        x = _sample_categorical(np.broadcast_to(self.weights, (len(questions), len(self.weights))), rng)
        shared = np.repeat(x[:, None], self.n_players, axis=1)
        return _local_draws(self.local_tables, shared, questions, rng)

    def as_entangled(self):
        r"""The same policy in class Q (SR ⊂ Q): the classically correlated state
        :math:`\rho = \sum_x q(x) |x…x\rangle\langle x…x|` and diagonal POVMs
        :math:`M_i(a|o) = \sum_x \pi_i(a|x, o) |x\rangle\langle x|`."""
        k = len(self.weights)
        check_size(k ** (2 * self.n_players), "weights", "state of the shared values", itemsize=16)
        psi_index = [np.ravel_multi_index((x,) * self.n_players, (k,) * self.n_players) for x in range(k)]
        rho = np.zeros((k ** self.n_players,) * 2, dtype=complex)
        rho[psi_index, psi_index] = self.weights
        povms = [np.einsum("xao,xy->oaxy", t, np.eye(k)).astype(complex) for t in self.local_tables]
        return EntangledPolicy(rho, povms)


class EntangledPolicy(_TablePolicy):
    r"""Class Q (eq. 6): :math:`\pi(a|o) = \operatorname{tr}(\rho \bigotimes_i M_i(a_i|o_i))`.

    ``rho``: density matrix on :math:`\bigotimes_i \mathbb C^{d_i}`; ``povms[i]`` of shape
    ``(n_questions_i, n_answers_i, d_i, d_i)`` (as in :func:`qpolicy.born`).  Sampling draws
    from the Born-rule table (a classical simulation of the players' measurements).
    """

    def __init__(self, rho, povms, atol=ATOL):
        rho = check_density_matrix(rho, atol=atol)
        povms = _check_povm_families(povms, "povms", atol)
        self.rho = _read_only(rho)
        self.povms = tuple(_read_only(M) for M in povms)
        super().__init__(born(rho, list(povms)), [M.shape[0] for M in povms],
                         [M.shape[1] for M in povms])


def _check_povm_families(povms, name, atol):
    if isinstance(povms, np.ndarray) or not hasattr(povms, "__len__") or len(povms) == 0:
        raise TypeError(f"{name} must be a non-empty list with one (questions, outcomes, d, d) "
                        f"array per player")
    checked = []
    for i, M in enumerate(povms):
        M = as_array(M, f"{name}[{i}]", ndim=4)
        checked.append(check_povm(M, atol=atol, name=f"{name}[{i}]"))
    return checked


class CoordinatorAdvicePolicy(_TablePolicy):
    r"""Eq. (7) with a quantum coordinator: advice :math:`x \sim q(x|o) =
    \operatorname{tr}(\rho \bigotimes_i \tilde M_i(x_i|o_i))`, then each actor answers
    :math:`a_i \sim \pi_i(\cdot|x_i, o_i)`:

    .. math:: \pi(a|o) = \sum_x q(x|o) \prod_i \pi_i(a_i|x_i, o_i).

    ``advice_povms[i]``: ``(n_questions_i, n_advice_i, d_i, d_i)``; ``actors[i][x_i, a_i, o_i]``
    (sums to 1 over ``a_i``).  By Prop. 5 this is the entangled policy with POVMs
    :func:`effective_povms` — the tests check both routes agree.
    """

    def __init__(self, rho, advice_povms, actors, atol=ATOL):
        rho = check_density_matrix(rho, atol=atol)
        advice_povms = _check_povm_families(advice_povms, "advice_povms", atol)
        actors = _check_local_tables(actors, "actors", leading=1)
        _check_advice_shapes(advice_povms, actors)
        self.rho = _read_only(rho)
        self.advice_povms = tuple(_read_only(M) for M in advice_povms)
        self.actors = tuple(_read_only(t) for t in actors)
        n = len(actors)
        advice = born(rho, list(advice_povms))                        # q[x..., o...]
        letters = _einsum_letters(3 * n, "actors", "players", 3)
        check_size(np.prod([t.shape[1] * t.shape[2] for t in actors], dtype=object), "actors",
                   "joint table", itemsize=8)
        x, a, o = ([next(letters) for _ in range(n)] for _ in range(3))
        spec = ("".join(x) + "".join(o) + "," + ",".join(x[i] + a[i] + o[i] for i in range(n))
                + "->" + "".join(a) + "".join(o))
        super().__init__(np.einsum(spec, advice, *actors, optimize=n > 2),
                         [M.shape[0] for M in advice_povms], [t.shape[1] for t in actors])

    def advice_table(self):
        """The coordinator's distribution ``q[x_1..x_n, o_1..o_n]``."""
        return born(self.rho, list(self.advice_povms))

    def sample(self, questions, rng):
        """As deployed: the coordinator samples the advice x ~ q(·|o) (the joint quantum
        measurement), then each actor draws a_i ~ π_i(·|x_i, o_i) locally."""
        questions = self._questions(questions)
        rng = as_generator(rng)
        n = self.n_players
        q = np.moveaxis(self.advice_table(), range(n), range(n, 2 * n))       # [o..., x...]
        n_advice = q.shape[n:]
        flat = _sample_categorical(q[tuple(questions.T)].reshape(len(questions), -1), rng)
        advice = np.stack(np.unravel_index(flat, n_advice), axis=-1)
        return _local_draws(self.actors, advice, questions, rng)


def _check_advice_shapes(advice_povms, actors):
    if len(advice_povms) != len(actors):
        raise ValueError(f"advice_povms has {len(advice_povms)} players, actors has {len(actors)}")
    for i, (M, t) in enumerate(zip(advice_povms, actors)):
        if t.shape[0] != M.shape[1] or t.shape[2] != M.shape[0]:
            raise ValueError(f"actors[{i}] must have shape (n_advice={M.shape[1]}, n_answers, "
                             f"n_questions={M.shape[0]}), got {t.shape}")


# ----------------------------------------------------------------------------------------------
# Prop. 5 and Prop. 6 (App. G)
# ----------------------------------------------------------------------------------------------

def effective_povms(advice_povms, actors):
    r"""Prop. 5, advice → POVMs: :math:`M_i(a|o) = \sum_x \pi_i(a|x, o)\, \tilde M_i(x|o)`.

    ``advice_povms[i]`` ``(n_questions, n_advice, d, d)``, ``actors[i][x, a, o]`` →
    ``povms[i]`` ``(n_questions, n_answers, d, d)``; ``born(rho, povms)`` then equals the table
    of ``CoordinatorAdvicePolicy(rho, advice_povms, actors)``.
    """
    advice_povms = _check_povm_families(advice_povms, "advice_povms", ATOL)
    actors = _check_local_tables(actors, "actors", leading=1)
    _check_advice_shapes(advice_povms, actors)
    return [np.einsum("xao,oxij->oaij", t, M) for M, t in zip(advice_povms, actors)]


def coordinator_advice_form(policy):
    r"""Prop. 5, POVMs → advice: the same policy as a :class:`CoordinatorAdvicePolicy` whose
    advice POVMs are the policy's POVMs and whose actors copy the advice,
    :math:`\pi_i(a|x, o) = \delta_{ax}`."""
    if not isinstance(policy, EntangledPolicy):
        raise TypeError(f"policy must be an EntangledPolicy, got {type(policy).__name__}")
    actors = [np.repeat(np.eye(M.shape[1])[:, :, None], M.shape[0], axis=2) for M in policy.povms]
    return CoordinatorAdvicePolicy(policy.rho, policy.povms, actors)


def prop6_povm(k, d):
    r"""Prop. 6's k-outcome POVM on :math:`\mathbb C^d` that no POVM with fewer than k outcomes
    can produce by classical post-processing (:math:`M(a) = \sum_b P_{ab} \tilde M(b)`).

    * ``k ≤ d``: k commuting, nonzero orthogonal projectors summing to I (here diagonal: the
      first k − 1 onto single basis vectors, the last onto the remaining d − k + 1);
    * ``k > d``: the rank-one Fourier POVM :math:`M(a) = f_a f_a^H / k`,
      :math:`f_a = (1, \omega^{-a}, …, \omega^{-(d-1)a})^T`, :math:`\omega = e^{2\pi i/k}` — no
      two elements proportional.

    Returns a complex array ``(k, d, d)``.  For ``d = 1`` and ``k ≥ 2`` the proposition as
    printed is false (every 1-dimensional POVM is a probability vector, the post-processing of
    the 1-outcome POVM {1}; the proof's "no two M(a) proportional" fails), so that raises
    ``ValueError``.

    >>> M = prop6_povm(3, 2)
    >>> bool(np.allclose(M.sum(axis=0), np.eye(2)))
    True
    """
    k = check_int(k, "k", minimum=1)
    d = check_int(d, "d", minimum=1)
    if d == 1 and k > 1:
        raise ValueError(f"no counterexample exists for d = 1 (k = {k}): every 1-dimensional POVM "
                         "is a post-processing of the 1-outcome POVM")
    if k <= d:
        labels = np.minimum(np.arange(d), k - 1)                    # basis vector r → outcome
        return np.stack([np.diag((labels == a).astype(complex)) for a in range(k)])
    omega = np.exp(2j * np.pi / k)
    f = omega ** (-np.outer(np.arange(k), np.arange(d)))           # row a: f_a
    return np.einsum("ar,ac->arc", f, f.conj()) / k

"""Nonlocal games: a referee asks each player a question, the players answer without communicating.

A game of n players is a pair

* ``predicate[a_1, ..., a_n, o_1, ..., o_n]`` — the payoff ``V(a | o)`` of answers ``a`` to
  questions ``o`` (0/1 for a win/lose predicate, any finite real for weighted games), and
* ``question_dist[o_1, ..., o_n]`` — the referee's distribution ``mu(o)`` over question tuples.

A strategy is a conditional table ``p[a_1..a_n, o_1..o_n] = p(a | o)`` (answers first, then
questions — the order of ``qpolicy.born`` and of toqito's ``pred_mat[a, b, x, y]``), and its value
is the expected payoff (paper App. D, eq. (16))::

    value(p) = sum_{a, o} mu(o) V(a | o) p(a | o).

Built-in games (paper App. D.4; reference values in the project notes ``games.md``):
:func:`chsh`, :func:`ghz` (Vaidman's form), :func:`rendezvous` on any simple graph, and its two
instances :func:`tetra` (K4) and :func:`cube` (the 3-cube).

Example
-------
>>> import numpy as np
>>> from qpolicy import games
>>> game = games.chsh()
>>> always_zero = np.zeros((2, 2, 2, 2)); always_zero[0, 0] = 1.0   # both answer 0
>>> game.value(always_zero)
0.75

Reference: R. Cleve, P. Høyer, B. Toner, J. Watrous, "Consequences and limits of nonlocal
strategies", CCC 2004 (the nonlocal-game formalism).
"""
import collections
import itertools
import numbers
import os

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from qpolicy.policies import check_policy_table
from qpolicy.validation import (
    ATOL, as_array, as_generator, as_index_array, check_int, check_size)

__all__ = ["NonlocalGame", "Referee", "check_table", "chsh", "chsh_quantum_strategy", "ghz",
           "rendezvous", "tetra", "cube", "mermin", "magic_square"]


def check_table(p, n_players, shape=None, name="p", atol=ATOL, allow_traced=False):
    """Validate a conditional table ``p[a_1..a_n, o_1..o_n]`` of ``n_players`` (and ``shape``).

    :func:`qpolicy.policies.check_policy_table` plus the shape; with ``allow_traced`` an autograd
    ArrayBox is validated on its value and returned unchanged (so values stay differentiable).
    """
    table = check_policy_table(getval(p) if allow_traced else p, name=name, atol=atol,
                               n_players=check_int(n_players, "n_players", minimum=1))
    if shape is not None and table.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} (answers, then questions), got "
                         f"{table.shape}")
    return p if allow_traced and p is not getval(p) else table


class NonlocalGame:
    """An n-player nonlocal game given by its payoff ``V[a..., o...]`` and question law ``mu[o...]``.

    Parameters
    ----------
    predicate : array_like, shape ``n_answers + n_questions``
        Payoff ``V(a_1..a_n | o_1..o_n)``; a 0/1 predicate or any finite real payoff.
    question_dist : array_like, shape ``n_questions``
        ``mu(o_1..o_n) >= 0`` summing to 1 (within ``qpolicy.validation.ATOL``).
    name : str, optional

    The arrays are stored as read-only float64 copies.
    """

    def __init__(self, predicate, question_dist, name=None):
        predicate = as_array(predicate, "predicate", complex_ok=False)
        mu = as_array(question_dist, "question_dist", complex_ok=False)
        if mu.ndim < 1:
            raise ValueError("question_dist must have one axis per player, got a scalar")
        n = mu.ndim
        if predicate.ndim != 2 * n:
            raise ValueError(f"predicate must have 2 * n_players = {2 * n} axes (answers, then "
                             f"questions) for a question_dist of shape {mu.shape}, got shape "
                             f"{predicate.shape}")
        if predicate.shape[n:] != mu.shape:
            raise ValueError(f"predicate's question axes {predicate.shape[n:]} must match "
                             f"question_dist's shape {mu.shape}")
        if mu.size == 0 or predicate.size == 0:
            raise ValueError(f"every player needs at least one question and one answer; got "
                             f"predicate shape {predicate.shape}")
        if mu.min() < 0:
            raise ValueError(f"question_dist must be non-negative, has entry {mu.min():.3g}")
        if abs(mu.sum() - 1.0) > ATOL:
            raise ValueError(f"question_dist must sum to 1, sums to {mu.sum():.12g}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string or None, got {type(name).__name__}")
        self._predicate = _frozen_copy(predicate)
        self._mu = _frozen_copy(mu)
        self.name = name if name is not None else f"game{predicate.shape}"

    # -- shape ---------------------------------------------------------------------------------
    @property
    def predicate(self):
        """Payoff ``V[a_1..a_n, o_1..o_n]`` (read-only)."""
        return self._predicate

    @property
    def question_dist(self):
        """Question distribution ``mu[o_1..o_n]`` (read-only)."""
        return self._mu

    @property
    def n_players(self):
        return self._mu.ndim

    @property
    def n_questions(self):
        """Number of questions of each player, a tuple."""
        return self._mu.shape

    @property
    def n_answers(self):
        """Number of answers of each player, a tuple."""
        return self._predicate.shape[:self.n_players]

    @property
    def shape(self):
        """Shape of a strategy table: ``n_answers + n_questions``."""
        return self._predicate.shape

    @property
    def weights(self):
        """``W[a, o] = mu(o) V(a | o)``, so that ``value(p) = sum(W * p)``."""
        return self._mu * self._predicate

    def __repr__(self):
        return (f"NonlocalGame(name={self.name!r}, n_players={self.n_players}, "
                f"n_questions={self.n_questions}, n_answers={self.n_answers})")

    # -- value and referee ----------------------------------------------------------------------
    def value(self, p):
        """Expected payoff ``sum_{a,o} mu(o) V(a|o) p(a|o)`` of the strategy table ``p``.

        ``p`` is validated (shape ``game.shape``, a conditional distribution, errors naming
        ``p``).  Differentiable with autograd: a traced ``p`` gives a traced value.
        """
        p = check_table(p, self.n_players, self.shape, name="p", allow_traced=True)
        total = anp.sum(self.weights * p)
        return total if total is not getval(total) else float(total)

    def referee(self, seed):
        """A black-box :class:`Referee` drawing questions from ``mu`` with the given seed/Generator."""
        return Referee(self, seed)

    # -- conversion and storage -----------------------------------------------------------------
    def to_toqito(self):
        """``(prob_mat, pred_mat)`` as toqito's ``NonlocalGame`` expects them (two players only).

        toqito indexes ``prob_mat[x, y]`` and ``pred_mat[a, b, x, y]`` — the same order as here.
        """
        if self.n_players != 2:
            raise ValueError(f"toqito supports two-player games only; this game has "
                             f"{self.n_players} players")
        return np.array(self._mu), np.array(self._predicate)

    @classmethod
    def from_toqito(cls, prob_mat, pred_mat, name=None):
        """Build a two-player game from toqito's ``(prob_mat[x, y], pred_mat[a, b, x, y])``."""
        prob_mat = as_array(prob_mat, "prob_mat", ndim=2, complex_ok=False)
        pred_mat = as_array(pred_mat, "pred_mat", ndim=4, complex_ok=False)
        return cls(pred_mat, prob_mat, name=name)

    def save(self, path):
        """Write the game to ``path`` as ``.npz`` (arrays ``predicate``, ``question_dist``, ``name``)."""
        with open(path, "wb") as fh:  # a file handle: numpy would otherwise append ".npz"
            np.savez(fh, predicate=self._predicate, question_dist=self._mu,
                     name=np.array(self.name))

    @classmethod
    def load(cls, path):
        """Read a game written by :meth:`save` (no pickles are loaded)."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a file path, got {type(path).__name__}")
        with np.load(path, allow_pickle=False) as data:
            missing = {"predicate", "question_dist"} - set(data.files)
            if missing:
                raise ValueError(f"path {os.fspath(path)!r} is not a saved game: missing "
                                 f"{sorted(missing)}")
            name = str(data["name"]) if "name" in data.files else None
            return cls(data["predicate"], data["question_dist"], name=name)


class Referee:
    """The black-box oracle a learner plays against: it asks questions and scores answers.

    ``ask(n)`` draws ``n`` question tuples i.i.d. from ``mu`` (int array ``(n, n_players)``);
    ``score(questions, answers)`` returns the payoff ``V(a | o)`` of each row, a float array
    ``(n,)``.  It reveals the alphabet sizes and nothing else about the game.
    """

    def __init__(self, game, seed):
        if not isinstance(game, NonlocalGame):
            raise TypeError(f"game must be a NonlocalGame, got {type(game).__name__}")
        self._rng = as_generator(seed, "seed")
        self._predicate = game.predicate
        mu = game.question_dist.ravel()
        self._cdf = np.cumsum(mu / mu.sum())
        self.n_players = game.n_players
        self.n_questions = game.n_questions
        self.n_answers = game.n_answers

    def ask(self, n):
        """``n`` question tuples drawn i.i.d. from ``mu``: int array ``(n, n_players)``."""
        n = check_int(n, "n", minimum=0)
        check_size(n * self.n_players, "n", "question array", itemsize=8)
        flat = np.searchsorted(self._cdf, self._rng.random(n), side="right")
        flat = np.minimum(flat, self._cdf.size - 1)  # guards a final cdf of 1 - 1e-16
        return np.stack(np.unravel_index(flat, self.n_questions), axis=-1).astype(np.int64)

    def score(self, questions, answers):
        """Payoff ``V(answers | questions)`` of each row: float array ``(n,)``."""
        questions = as_index_array(questions, "questions", self.n_questions)
        answers = as_index_array(answers, "answers", self.n_answers)
        if questions.shape != answers.shape:
            raise ValueError(f"questions and answers must have the same shape, got "
                             f"{questions.shape} and {answers.shape}")
        return self._predicate[tuple(answers.T) + tuple(questions.T)].astype(np.float64)


# -- built-in games -------------------------------------------------------------------------------

def chsh():
    """The CHSH game (paper App. D.4.1): uniform bits x, y; win iff ``a XOR b = x AND y``.

    Classical value 3/4, quantum cos²(π/8) ≈ 0.8536 (Tsirelson), non-signaling 1.
    Reference: Clauser, Horne, Shimony, Holt, PRL 23, 880 (1969).
    """
    a, b, x, y = np.indices((2, 2, 2, 2))
    return NonlocalGame(((a ^ b) == (x & y)).astype(float), np.full((2, 2), 0.25), name="chsh")


def chsh_quantum_strategy():
    r"""The optimal CHSH strategy of App. D.4.1: the Bell state and qubit projective measurements
    ``(state, [alice, bob])`` (POVM families ``(question, answer, 2, 2)``) winning with cos²(π/8).

    Alice measures Z for x = 0 and X for x = 1 (eqs. 21–22); Bob projects onto
    (cos θ, ±sin θ), θ = π/8 (eqs. 23–24).  The paper prints Bob's off-diagonals as sin 2θ, which
    is not a projector (not even PSD); the projector has sin θ cos θ, used here.

    >>> import qpolicy as qp
    >>> round(chsh().value(qp.born(*chsh_quantum_strategy())), 6)
    0.853553
    """
    from qpolicy.quantum import bell_state
    c, s = np.cos(np.pi / 8), np.sin(np.pi / 8)
    alice = np.array([[[[1, 0], [0, 0]], [[0, 0], [0, 1]]],
                      [[[.5, .5], [.5, .5]], [[.5, -.5], [-.5, .5]]]], dtype=complex)
    bob = np.array([[[[c * c, s * c], [s * c, s * s]], [[s * s, -s * c], [-s * c, c * c]]],
                    [[[c * c, -s * c], [-s * c, s * s]], [[s * s, s * c], [s * c, c * c]]]],
                   dtype=complex)
    return bell_state(), [alice, bob]


def ghz():
    """The three-player GHZ game in Vaidman's form (paper App. D.4.2).

    Questions (x, y, z) uniform over {000, 110, 101, 011}; answers bits a, b, c; win iff
    ``a + b + c ≡ x OR y OR z (mod 2)``.  Classical 3/4, quantum 1, non-signaling 1.
    Reference: L. Vaidman, "Variations on the theme of the Greenberger-Horne-Zeilinger proof",
    Found. Phys. 29, 615 (1999).
    """
    a, b, c, x, y, z = np.indices((2,) * 6)
    predicate = ((a + b + c) % 2 == (x | y | z)).astype(float)
    x, y, z = np.indices((2, 2, 2))
    mu = ((x ^ y ^ z) == 0) / 4.0
    return NonlocalGame(predicate, mu, name="ghz")


def rendezvous(edges, name=None):
    """Two-player rendezvous game on a simple graph (paper App. D.4.3; Viola & Mironowicz 2024).

    Each player gets an independent uniform start vertex ``v`` (they may coincide), sees only its
    own, and must move once along an edge: its answer ``k`` means "go to the k-th neighbour of v
    in sorted order".  The answer alphabet is padded to the maximum degree; an answer ``k >=
    deg(v)`` is always losing.  The players win iff they stand on the same vertex after moving.

    ``edges``: pairs ``(u, v)`` of vertex labels ``0..n-1``; the graph must be simple (no loops,
    no repeated edges) and every vertex must have an edge.
    Reference: G. Viola, P. Mironowicz, "Quantum strategies for rendezvous and domination tasks
    on graphs with mobile agents", Phys. Rev. A 109, 042201 (2024).
    """
    neighbours = _neighbour_lists(edges)
    n_vertices = len(neighbours)
    degree = max(len(nb) for nb in neighbours)
    # destination[v, k] = k-th neighbour of v, or -1 (never equal to a vertex) for padded answers
    destination = np.full((n_vertices, degree), -1, dtype=np.int64)
    for v, nb in enumerate(neighbours):
        destination[v, :len(nb)] = nb
    dest_1 = destination.T[:, None, :, None]  # axes (a_1, a_2, v_1, v_2)
    dest_2 = destination.T[None, :, None, :]
    predicate = ((dest_1 == dest_2) & (dest_1 >= 0)).astype(float)
    mu = np.full((n_vertices, n_vertices), 1.0 / n_vertices**2)
    return NonlocalGame(predicate, mu, name=name if name is not None else "rendezvous")


def tetra():
    """Rendezvous on the tetrahedron K4: classical 5/8, quantum ≈ 0.64506, non-signaling 3/4."""
    return rendezvous(list(itertools.combinations(range(4), 2)), name="tetra")


def cube():
    """Rendezvous on the 3-cube Q3: classical 5/16, quantum ≈ 0.32253, non-signaling 3/8."""
    edges = [(u, u ^ (1 << bit)) for u in range(8) for bit in range(3) if u < u ^ (1 << bit)]
    return rendezvous(edges, name="cube")


def mermin(n):
    r"""The n-player Mermin (GHZ) game: questions ``x ∈ {0,1}^n`` uniform over the strings of
    even weight; answers bits; win iff :math:`\sum_k a_k \equiv \tfrac12 \sum_k x_k \pmod 2`.

    ``mermin(3)`` is :func:`ghz` (Vaidman's form) on every question the referee asks.  The GHZ
    state measured in X (x = 0) or Y (x = 1) wins with certainty; the classical value is
    :math:`\tfrac12 + 2^{-\lceil n/2 \rceil}` (Mermin's local bound :math:`2^{\lfloor n/2
    \rfloor}` on the :math:`2^{n-1}` terms of his polynomial), so under white noise the GHZ
    strategy stops winning at visibility :math:`2^{1-\lceil n/2\rceil}`.

    Reference: N. D. Mermin, "Extreme quantum entanglement in a superposition of macroscopically
    distinct states", PRL 65, 1838 (1990).

    >>> mermin(4).n_questions, float(mermin(4).question_dist.max())      # 8 even strings
    ((2, 2, 2, 2), 0.125)
    """
    n = check_int(n, "n", minimum=2)
    idx = np.indices((2,) * (2 * n))
    answers, questions = idx[:n].sum(axis=0), idx[n:].sum(axis=0)
    predicate = ((questions % 2 == 0) & (answers % 2 == (questions // 2) % 2)).astype(float)
    weight = np.indices((2,) * n).sum(axis=0)
    mu = (weight % 2 == 0) / 2.0 ** (n - 1)
    return NonlocalGame(predicate, mu, name=f"mermin{n}")


def magic_square():
    """The Mermin–Peres magic square game: Alice gets a row r, Bob a column c (uniform, 3 × 3).

    Alice answers the three entries of her row with even parity, Bob those of his column with
    odd parity — answer k is the k-th such bit string in lexicographic order (4 answers each);
    they win iff they agree on the shared entry (Alice's bit c = Bob's bit r).  Classical 8/9,
    quantum 1 with two ebits (local dimension 4).
    Reference: P. K. Aravind, "Quantum mysteries revisited again", Am. J. Phys. 72, 1303 (2004).
    """
    strings = list(itertools.product((0, 1), repeat=3))
    alice = np.array([s for s in strings if sum(s) % 2 == 0])           # (4, 3)
    bob = np.array([s for s in strings if sum(s) % 2 == 1])
    a, b, r, c = np.indices((4, 4, 3, 3))
    predicate = (alice[a, c] == bob[b, r]).astype(float)
    return NonlocalGame(predicate, np.full((3, 3), 1 / 9), name="magic_square")


# -- helpers --------------------------------------------------------------------------------------

def _frozen_copy(arr):
    out = np.array(arr, dtype=np.float64)
    out.flags.writeable = False
    return out



def _neighbour_lists(edges):
    """Sorted neighbour lists of a simple graph on vertices 0..n-1, validating ``edges``."""
    if isinstance(edges, (str, bytes)) or edges is None:
        raise TypeError(f"edges must be a sequence of vertex pairs, got {type(edges).__name__}")
    try:
        pairs = [tuple(e) for e in edges]
    except TypeError:
        raise TypeError("edges must be a sequence of vertex pairs (u, v)") from None
    if not pairs:
        raise ValueError("edges must contain at least one edge")
    seen = set()
    for pair in pairs:
        if len(pair) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                     for v in pair):
            raise TypeError(f"edges must be pairs of integer vertex labels, got {pair!r}")
        u, v = int(pair[0]), int(pair[1])
        if u < 0 or v < 0:
            raise ValueError(f"edges must use vertex labels >= 0, got ({u}, {v})")
        if u == v:
            raise ValueError(f"edges must not contain loops, got ({u}, {v})")
        key = (min(u, v), max(u, v))
        if key in seen:
            raise ValueError(f"edges must not repeat an edge, ({u}, {v}) appears twice")
        seen.add(key)
    n_vertices = 1 + max(max(key) for key in seen)
    degree = collections.Counter(v for key in seen for v in key)
    check_size(n_vertices ** 2 * max(degree.values()) ** 2, "edges", "predicate (vertices² × "
               "degree²)", itemsize=8)
    neighbours = [[] for _ in range(n_vertices)]
    for u, v in seen:
        neighbours[u].append(v)
        neighbours[v].append(u)
    isolated = [v for v, nb in enumerate(neighbours) if not nb]
    if isolated:
        raise ValueError(f"edges must give every vertex 0..{n_vertices - 1} an edge; vertices "
                         f"{isolated} have none")
    return [sorted(nb) for nb in neighbours]

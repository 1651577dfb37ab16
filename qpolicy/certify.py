r"""Is a *black box* beyond shared randomness?  p-values from finite samples, valid under memory.

:mod:`qpolicy.verify` judges an exact probability table.  Learners and experiments produce only
**rounds** ``(questions x_i, answers a_i)``, i = 1..n.  This module tests the null hypothesis

    H0: the answers came from players sharing only classical randomness — possibly with memory,
        choosing each round's strategy from everything that happened before,

and returns a p-value, a confidence interval for the game value, and a sample-size planner.

**Assumption (the only one).**  The referee draws each round's question tuple from the game's
``mu`` independently of the past (and of the players' strategy for that round).  Nothing is
assumed about the players: under H0 each round's answers come from *some* deterministic strategy
chosen (at random) from the history.  Pass the referee's ``question_dist`` or ``referee_seed``
to :func:`bell_test` when you have that provenance: a mismatch is an error.

Why both tests are valid under memory.  Given the past ``H_{i-1}``, a local player's round-i
behaviour is a mixture of deterministic strategies ``d``, and the question is fresh from ``mu``;
so for any function ``g(a, x)``,  ``E[g(a_i, x_i) | H_{i-1}] ≤ max_d E_{mu,d}[g]``.

* ``method="wins"`` (Elkouss & Wehner 2016): with ``g`` = the (rescaled) payoff
  ``Y = (V - v_min)/(v_max - v_min) ∈ [0, 1]`` each round wins with conditional probability at
  most ``ω = (ω_c - v_min)/(v_max - v_min)``.  For a 0/1 payoff the win count is then
  stochastically dominated by ``Binomial(n, ω)`` (couple each round with an independent uniform),
  so ``p = Pr[Binomial(n, ω) ≥ wins]`` is valid — this is the exact, rate-optimal CHSH test.
  For payoffs with more than two values, ``E[e^{λY} | H] ≤ 1 - ω + ω e^λ`` (convexity of
  ``e^{λy}`` on [0, 1]) makes ``∏ e^{λY_i}/(1 - ω + ω e^λ)`` a supermartingale, and optimizing λ
  gives the Chernoff–Hoeffding bound ``p = exp(-n KL(Ȳ || ω))`` for ``Ȳ > ω``
  (``bound="chernoff"``, deterministic).  With ``rounding_seed`` each ``Y_i`` is instead rounded
  to a Bernoulli(Y_i) bit with fresh randomness (conditional mean unchanged, still ≤ ω) and the
  exact binomial tail is used (``bound="rounding"``; sharper, but the p-value depends on the seed).
* ``method="pbr"`` (Zhang, Glancy & Knill 2011, 2013): a *test factor* ``F(a, x) ≥ 0`` with
  ``E_{mu,d}[F] ≤ 1`` for every deterministic ``d`` — checked by exact enumeration of the
  deterministic strategies (:func:`qpolicy.bounds.classical.best_deterministic`) and rescaled
  until it holds.  If round i's factor depends only on rounds < i, ``∏_{i≤k} F_i`` is a test
  supermartingale, so ``p = min(1, 1/∏ F_i)`` is valid at any (data-dependent) stopping time
  (Ville's inequality).  The factor is the *prediction-based ratio* ``F = p̂/q̂`` with ``p̂`` an
  estimate of the players' table and ``q̂`` the local table closest to it in KL divergence; it
  maximizes the expected log-gain ``E_p̂[log F]`` (:func:`pbr_factor`).  Fitted sequentially (on
  past rounds only, refitted on a geometric schedule) or on a training split — as a mixture with
  a Kelly bet on the payoff, the weight chosen on held-out past rounds, because a factor fitted
  to a noisy estimate also fits its noise — or given (e.g. the factor of a claimed table).  A
  mixture of valid factors is valid; every factor is re-checked by enumeration.
* ``null="quantum"`` (wins only): a *beyond-quantum* claim, tested against the rigorous NPA upper
  bound ``bounds.npa_upper_bound(game, level).details["dual_bound"]``: any quantum strategy with
  memory wins each round with conditional probability at most that bound.

Example
-------
>>> import numpy as np
>>> from qpolicy import games
>>> from qpolicy.certify import bell_test, samples_needed
>>> game = games.chsh()
>>> questions = game.referee(seed=1).ask(400)
>>> answers = np.stack([np.zeros(400, int), questions[:, 0] & questions[:, 1]], axis=1)  # a PR box
>>> result = bell_test(game, questions, answers)          # 400 wins of 400
>>> result.p_value < 1e-40
True
>>> samples_needed(game, (2 + 2**0.5) / 4, p_value=1e-6, power=0.95)   # Tsirelson's table
619

References: D. Elkouss, S. Wehner, "(Nearly) optimal P values for all Bell inequalities",
npj Quantum Inf. 2, 16026 (2016); Y. Zhang, S. Glancy, E. Knill, "Asymptotically optimal data
analysis for rejecting local realism", PRA 84, 062118 (2011) and "Efficient quantification of
experimental evidence against local realism", PRA 88, 052119 (2013); I. Waudby-Smith, A. Ramdas,
"Estimating means of bounded random variables by betting", JRSS B 86, 1 (2024); B. Hensen et
al., "Loophole-free Bell inequality violation using electron spins separated by 1.3 km",
Nature 526, 682 (2015).
"""
import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Optional

import cvxpy as cp
import numpy as np
from scipy import stats

from qpolicy.bounds.classical import best_deterministic, deterministic_table, top_deterministic
from qpolicy.bounds.results import SolverError, solve
from qpolicy.games import NonlocalGame, check_table
from qpolicy.validation import ATOL, as_array, as_generator, as_index_array

__all__ = ["BellTest", "TestFactor", "ValueInterval", "bell_test", "pbr_factor",
           "value_interval", "samples_needed",
           "NULL_ROUNDING", "FACTOR_SAFETY", "PBR_FIRST_FIT", "PBR_GROWTH"]

#: The null's value (ω_c from exact enumeration, a float) is raised by this relative amount
#: before it enters a tail bound, so a last-bit rounding of ω_c can only make p larger.
NULL_ROUNDING = 1e-12
#: A fitted test factor is divided by ``(1 + FACTOR_SAFETY) * max_d E_d[F]`` (float rounding of
#: the enumeration's sums is ~1e-15 relative).
FACTOR_SAFETY = 1e-9
#: Sequential PBR: rounds before the first fit (factor 1 until then) ...
PBR_FIRST_FIT = 32
#: ... and the factor is refitted whenever the number of past rounds has grown by this ratio.
PBR_GROWTH = 1.5
#: Violated deterministic strategies added per column-generation round of :func:`pbr_factor`.
_COLUMNS_PER_ROUND = 20
#: Column generation stops when no deterministic strategy has E_d[F] > 1 + this, or when
#: renormalizing would cost at most _GAIN_TOL of the log-gain (validity never depends on it).
_COLUMN_TOL = 1e-6
_GAIN_TOL = 0.02
#: Shrinkage weights β of ``1 + β (F - 1)`` tried by the cross-fitted factors of bell_test.
_SHRINK_GRID = (0.0, 0.125, 0.25, 0.5, 0.75, 1.0)
_MAX_COLUMN_ROUNDS = 200


# -- results -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BellTest:
    """The outcome of :func:`bell_test`.

    ``p_value``: valid p-value of H0 (see the module docstring); ``n``: rounds tested;
    ``statistic``: wins (0/1 payoffs), the rescaled payoff sum (``bound="chernoff"``/
    ``"rounding"``), or ``log ∏F`` in nats (pbr); ``method``; ``null`` and ``null_value`` (ω_c or
    the NPA bound, in the game's payoff units); ``win_rate``: mean payoff of the tested rounds;
    ``alpha``/``rejected``: the decision ``p_value ≤ alpha`` when ``alpha`` was given;
    ``running_log10_p``: log10 of the p-value after each round (wins: the fixed-n p-value of each
    prefix; pbr: of the running product, valid at any stopping time); ``details``: method specifics.
    """
    p_value: float
    n: int
    statistic: float
    method: str
    null: str
    null_value: float
    win_rate: float
    alpha: Optional[float] = None
    rejected: Optional[bool] = None
    running_log10_p: np.ndarray = field(default=None, repr=False)
    details: dict = field(default_factory=dict, repr=False)

    def summary(self):
        """One readable line."""
        decision = "" if self.alpha is None else \
            f"; {'rejects' if self.rejected else 'does not reject'} H0 at alpha={self.alpha:g}"
        return (f"{self.method} test vs {self.null} value {self.null_value:.6g}: n={self.n}, "
                f"mean payoff {self.win_rate:.4f}, p = {self.p_value:.3g}{decision}")

    def __str__(self):
        return self.summary()


@dataclass(frozen=True)
class TestFactor:
    """A PBR test factor ``values[a..., x...] ≥ 0`` with ``local_max = max_d E_{mu,d}[F] ≤ 1``.

    ``gain``: ``E_p̂[log F]`` in nats per round under the table it was fitted to (the rate at
    which ``log(1/p)`` grows when that table is true; NaN for the cross-fitted mixtures that
    :func:`bell_test` fits from rounds); ``columns``: the deterministic tables
    (flattened, one per row) the fit kept — pass the factor as ``start`` to a later
    :func:`pbr_factor` of the same game to begin from them.
    """
    __test__ = False   # not a pytest test class
    values: np.ndarray = field(repr=False)
    local_max: float
    gain: float
    columns: np.ndarray = field(default=None, repr=False)


@dataclass(frozen=True)
class ValueInterval:
    """A confidence interval ``[lower, upper]`` for the game value (expected payoff per round).

    ``anytime``: True for a confidence *sequence* (valid simultaneously at every n, so a running
    learner may be monitored and stopped at will); ``running_lower``/``running_upper``: its
    bounds after each round.  ``method``: "clopper-pearson", "betting" (see
    :func:`value_interval`).
    """
    lower: float
    upper: float
    estimate: float
    n: int
    confidence: float
    method: str
    anytime: bool
    running_lower: np.ndarray = field(default=None, repr=False)
    running_upper: np.ndarray = field(default=None, repr=False)


# -- input checks ------------------------------------------------------------------------------

def _check_game(game):
    if not isinstance(game, NonlocalGame):
        raise TypeError(f"game must be a NonlocalGame, got {type(game).__name__}")
    return game


def _check_rounds(game, questions, answers, question_dist=None, referee_seed=None):
    """Validated int arrays ``(n, n_players)``; errors name the argument."""
    questions = as_index_array(questions, "questions", game.n_questions)
    answers = as_index_array(answers, "answers", game.n_answers)
    if questions.shape != answers.shape:
        raise ValueError(f"questions and answers must have the same shape, got {questions.shape} "
                         f"and {answers.shape}")
    if questions.shape[0] == 0:
        raise ValueError("questions must hold at least one round, got n = 0")
    mu = game.question_dist
    impossible = mu[tuple(questions.T)] <= 0
    if impossible.any():
        i = int(np.argmax(impossible))
        raise ValueError(f"questions[{i}] = {tuple(questions[i])} has probability 0 under the "
                         f"game's question_dist: these rounds were not drawn by its referee")
    if question_dist is not None:
        given = as_array(question_dist, "question_dist", complex_ok=False)
        if given.shape != mu.shape or not np.allclose(given, mu, rtol=0, atol=ATOL):
            raise ValueError("question_dist (the referee's distribution) differs from the game's "
                             "mu: the tests assume questions drawn from the game's own mu")
    if referee_seed is not None:
        expected = game.referee(referee_seed).ask(questions.shape[0])
        if not np.array_equal(expected, questions):
            raise ValueError("questions are not the ones game.referee(referee_seed) draws: "
                             "wrong referee_seed, or the questions were not drawn by that referee")
    return questions, answers


def _check_alpha(alpha):
    if alpha is None:
        return None
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number in (0, 1) or None, got "
                        f"{type(alpha).__name__}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return float(alpha)


def _check_probability(x, name):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number in (0, 1), got {type(x).__name__}")
    if not 0 < x < 1:
        raise ValueError(f"{name} must lie in (0, 1), got {x}")
    return float(x)


def _payoff_range(game):
    """``(v_min, v_max, binary)`` over answers to questions with mu > 0."""
    n = game.n_players
    support = game.question_dist > 0
    values = np.moveaxis(game.predicate, tuple(range(n)), tuple(range(n, 2 * n)))[support]
    v_min, v_max = float(values.min()), float(values.max())
    if v_max <= v_min:
        raise ValueError(f"game has a constant payoff {v_min}: no strategy can beat another")
    binary = bool(np.all((values == v_min) | (values == v_max)))
    return v_min, v_max, binary


def _payoffs(game, questions, answers):
    """Payoff ``V(a_i | x_i)`` of each (validated) round, a float array ``(n,)``."""
    return game.predicate[tuple(answers.T) + tuple(questions.T)].astype(np.float64)


def _null_value(game, null, npa_level):
    from qpolicy.bounds import classical_value, npa_upper_bound
    if null == "classical":
        return classical_value(game).value
    if null == "quantum":
        return npa_upper_bound(game, level=npa_level).details["dual_bound"]
    raise ValueError(f"null must be 'classical' or 'quantum', got {null!r}")


# -- the wins test -------------------------------------------------------------------------------

def _binomial_log10_sf(wins, n, q):
    """log10 Pr[Binomial(n, q) ≥ wins] (elementwise)."""
    wins = np.asarray(wins, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(wins <= 0, 0.0, stats.binom.logsf(wins - 1, n, q) / math.log(10))


def _kl_bernoulli(s, q):
    """KL(Bernoulli(s) || Bernoulli(q)) in nats, s in [0, 1], q in (0, 1)."""
    s = np.asarray(s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(s > 0, s * np.log(s / q), 0.0)
        b = np.where(s < 1, (1 - s) * np.log((1 - s) / (1 - q)), 0.0)
    return a + b


def _wins_test(y, binary, omega, rounding_seed):
    """p-value pieces for rescaled payoffs ``y ∈ [0, 1]`` against conditional mean ≤ omega."""
    n = y.size
    k = np.arange(1, n + 1)
    if binary or rounding_seed is not None:
        if binary:
            bits, bound = (y > 0.5).astype(float), "binomial"
        else:
            rng = as_generator(rounding_seed, "rounding_seed")
            bits, bound = (rng.random(n) < y).astype(float), "rounding"
        running = np.cumsum(bits)
        if omega >= 1:
            log10_p = np.zeros(n)
        else:
            log10_p = _binomial_log10_sf(running, k, omega)
        return float(running[-1]), bound, log10_p
    running = np.cumsum(y)
    if omega >= 1:
        return float(running[-1]), "chernoff", np.zeros(n)
    mean = running / k
    log10_p = np.where(mean > omega, -k * _kl_bernoulli(np.minimum(mean, 1.0), omega), 0.0)
    return float(running[-1]), "chernoff", log10_p / math.log(10)


# -- PBR test factors ------------------------------------------------------------------------------

def pbr_factor(game, table, solver=None, start=None):
    r"""The prediction-based-ratio test factor of ``table`` against the local polytope.

    Solves (Zhang, Glancy & Knill 2011, eq. (5); convex, exponential cone)

    .. math:: \max_F \sum_{a,x} \mu(x)\,\hat p(a|x) \log F(a,x) \quad\text{s.t.}\quad
              F \ge 0,\ \ \sum_{a,x} \mu(x)\, d(a|x)\, F(a,x) \le 1
              \ \ \forall d\ \text{deterministic},

    whose optimum is ``F = p̂/q̂`` with ``q̂`` the local table nearest to ``p̂`` in μ-weighted KL
    divergence, and whose value ``E_p̂[log F] = KL(p̂ || local)`` is the best possible log-gain per
    round.  Column generation: the deterministic strategies are not listed; the fit keeps a set
    of them, adds the ones most violated by the current F (exact enumeration with best response,
    :func:`qpolicy.bounds.classical.top_deterministic`) and stops when none exceeds
    ``1 + 1e-6`` or renormalizing costs at most 2 % of the log-gain; ``start``: a
    :class:`TestFactor` of the same game whose columns seed the set (refits of a sequential
    test).  The result is then divided by ``(1 + FACTOR_SAFETY) · max_d E_d[F]`` computed by that
    exact enumeration, so ``E_d[F] ≤ 1`` for *every* deterministic ``d`` whatever the solver's
    accuracy.  ``table``: any conditional table ``p̂[a..., x...]`` of the game's shape.

    Example
    -------
    >>> import qpolicy as qp
    >>> from qpolicy import games
    >>> game = games.chsh()
    >>> F = pbr_factor(game, qp.born(*games.chsh_quantum_strategy()))
    >>> F.local_max <= 1, round(F.gain, 3)                  # log-gain per round in nats
    (True, 0.032)
    """
    game = _check_game(game)
    table = check_table(table, game.n_players, game.shape, name="table")
    w = (game.question_dist * table).ravel()                 # mu(x) p(a|x)
    support = np.flatnonzero(w > 0)
    mu_full = np.broadcast_to(game.question_dist, game.shape).ravel()
    # start: the deterministic strategies best against the table itself (and a warm start's)
    _, strategies, _ = top_deterministic(game.question_dist * table, _COLUMNS_PER_ROUND)
    columns = [deterministic_table(s, game.n_answers).ravel() for s in strategies]
    if start is not None:
        if not isinstance(start, TestFactor) or start.columns is None or \
                start.columns.shape[1:] != (w.size,):
            raise ValueError("start must be a TestFactor fitted by pbr_factor on this game")
        columns += list(start.columns)
    # every answer to a question with mu > 0 is given by some deterministic strategy, so a valid
    # F has mu(x) F(a, x) <= 1: bounds that keep each restricted problem bounded
    cap = np.where(mu_full > 0, 1.0 / np.maximum(mu_full, 1e-300), 0.0)
    F = cp.Variable(w.size, nonneg=True)
    objective = cp.Maximize(w[support] @ cp.log(F[support]))
    values = np.ones(w.size)                        # F = 1: valid, if nothing better is found
    for _ in range(_MAX_COLUMN_ROUNDS):
        D = np.array(columns) * mu_full
        found = _solve_factor(cp.Problem(objective, [D @ F <= 1, F <= cap]), F, solver)
        if found is None:
            break                                   # keep the last factor found (or F = 1)
        values = found
        weights = (values * mu_full).reshape(game.shape)
        tops, strategies, _ = top_deterministic(weights, _COLUMNS_PER_ROUND)
        with np.errstate(divide="ignore"):
            gain = float(w[support] @ np.log(values[support])) - math.log(max(tops[0], 1e-300))
        if tops[0] <= 1 + _COLUMN_TOL or math.log(tops[0]) <= _GAIN_TOL * gain:
            break
        columns += [deterministic_table(s, game.n_answers).ravel()
                    for v, s in zip(tops, strategies) if v > 1 + _COLUMN_TOL]
    values = values.reshape(game.shape)
    return _normalized_factor(game, values, table, np.unique(np.array(columns), axis=0))


def _solve_factor(problem, F, solver):
    """``F.value`` after solving, or None when no solver gives a usable point.

    Validity never rests on the solver (the factor is renormalized by exact enumeration), so an
    "inaccurate" optimum only costs power; when the chosen solver fails outright (Clarabel
    reported solver_error on a few noisy Tetra estimates), SCS is tried.
    """
    for name in ([solver] if solver is not None else [None, "SCS"]):
        try:
            with warnings.catch_warnings():       # "inaccurate" is handled just below
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                solve(problem, name, what="PBR factor")
        except SolverError as exc:
            if exc.status != cp.OPTIMAL_INACCURATE:
                continue
        if F.value is not None and np.all(np.isfinite(F.value)):
            return np.maximum(F.value, 0.0)
    return None


def _normalized_factor(game, values, table, columns=None):
    """``values / ((1 + FACTOR_SAFETY) max_d E_d[values])`` as a :class:`TestFactor`."""
    local_max, _, _ = best_deterministic(values * game.question_dist)
    if local_max <= 0:
        raise ValueError("factor must be positive for some answer a deterministic strategy gives")
    values = values / (local_max * (1 + FACTOR_SAFETY))
    check, _, _ = best_deterministic(values * game.question_dist)
    w = game.question_dist * table
    with np.errstate(divide="ignore"):
        gain = float(np.sum(np.where(w > 0, w * np.log(np.where(w > 0, values, 1.0)), 0.0)))
    values.flags.writeable = False
    return TestFactor(values=values, local_max=float(check), gain=gain, columns=columns)


def _check_factor(game, factor):
    """A user factor: non-negative finite, valid (E_d[F] ≤ 1 by enumeration)."""
    values = factor.values if isinstance(factor, TestFactor) else \
        as_array(factor, "factor", complex_ok=False)
    if values.shape != game.shape:
        raise ValueError(f"factor must have the game's shape {game.shape}, got {values.shape}")
    if not np.all(np.isfinite(values)) or values.min() < 0:
        raise ValueError("factor must be finite and non-negative")
    local_max, _, _ = best_deterministic(values * game.question_dist)
    if local_max > 1 + 1e-12:
        raise ValueError(f"factor is not a test factor: a deterministic strategy has "
                         f"E[F] = {local_max:.12g} > 1")
    return values


def _estimate_table(game, questions, answers):
    """Add-½ (Krichevsky–Trofimov) estimate of p(a|x) from rounds; uniform for unseen x."""
    counts = np.zeros(game.shape)
    np.add.at(counts, tuple(answers.T) + tuple(questions.T), 1.0)
    counts += 0.5
    n = game.n_players
    return counts / counts.sum(axis=tuple(range(n)), keepdims=True)


def _pbr_schedule(n):
    """Refit points ``0 = b_0 < PBR_FIRST_FIT = b_1 < ...`` growing by PBR_GROWTH, and n."""
    points, b = [0], PBR_FIRST_FIT
    while b < n:
        points.append(b)
        b = max(b + 1, int(math.ceil(b * PBR_GROWTH)))
    return points + [n]


# -- public tests ----------------------------------------------------------------------------------

def bell_test(game, questions, answers, method="wins", alpha=None, null="classical", *,
              npa_level=1, factor=None, train_fraction=None, rounding_seed=None,
              question_dist=None, referee_seed=None, solver=None):
    r"""p-value of "local (shared-randomness) players, possibly with memory" from recorded rounds.

    Parameters
    ----------
    game : NonlocalGame
    questions, answers : int arrays ``(n, n_players)``: round i asked ``questions[i]`` and got
        ``answers[i]``.  Questions must have been drawn by the referee from ``game``'s mu,
        independently of the past (the one assumption; see the module docstring).
    method : ``"wins"`` (win count vs ω_c, exact binomial; Elkouss–Wehner) or ``"pbr"``
        (prediction-based-ratio test factors; Zhang–Glancy–Knill).
    alpha : optional level in (0, 1); fills ``rejected = p_value <= alpha``.
    null : ``"classical"`` (ω_c by exact enumeration) or ``"quantum"`` (wins only: the rigorous
        NPA bound at ``npa_level``, ``dual_bound`` of :func:`qpolicy.bounds.npa_upper_bound`).
    factor : pbr only — a fixed test factor (:class:`TestFactor` or array ``F[a..., x...]``)
        chosen before seeing these rounds; checked by enumeration (a ValueError if some
        deterministic strategy has E[F] > 1).
    train_fraction : pbr only — fit the factor on the first ``train_fraction`` of the rounds and
        test on the rest.  Default (neither given): sequential — round i's factor is fitted on
        rounds < i, refitted on a geometric schedule (:data:`PBR_FIRST_FIT`, :data:`PBR_GROWTH`).
    rounding_seed : wins with non-binary payoffs — seed of the randomized rounding (binomial
        tail); None uses the deterministic Chernoff–Hoeffding bound.
    question_dist, referee_seed : provenance of the questions, checked when given (the referee's
        mu must equal the game's; ``game.referee(referee_seed).ask(n)`` must reproduce them).

    Returns
    -------
    BellTest
        The p-value, the statistic, the method and the null's value.

    Example
    -------
    >>> from qpolicy import games
    >>> import numpy as np
    >>> game = games.chsh()
    >>> q = game.referee(seed=0).ask(200)
    >>> a = np.zeros((200, 2), dtype=int)                 # always answer 0: a local strategy
    >>> bell_test(game, q, a).p_value > 0.05
    True
    """
    game = _check_game(game)
    questions, answers = _check_rounds(game, questions, answers, question_dist, referee_seed)
    alpha = _check_alpha(alpha)
    if method not in ("wins", "pbr"):
        raise ValueError(f"method must be 'wins' or 'pbr', got {method!r}")
    if method == "wins" and (factor is not None or train_fraction is not None):
        raise ValueError("factor and train_fraction apply to method='pbr' only")
    if method == "pbr" and null != "classical":
        raise ValueError(f"null={null!r} is supported by method='wins' only; method='pbr' tests "
                         "the classical null")
    if factor is not None and train_fraction is not None:
        raise ValueError("give at most one of factor and train_fraction")
    null_value = _null_value(game, null, npa_level)
    payoffs = _payoffs(game, questions, answers)
    details = {}
    if method == "wins":
        v_min, v_max, binary = _payoff_range(game)
        omega = min(1.0, (null_value - v_min) / (v_max - v_min) * (1 + NULL_ROUNDING))
        y = (payoffs - v_min) / (v_max - v_min)
        statistic, bound, log10_p = _wins_test(y, binary, omega, rounding_seed)
        details.update(bound=bound, rescaled_null=omega, payoff_range=(v_min, v_max))
        tested = payoffs
    else:
        log_f, tested, fit = _pbr_log_factors(game, questions, answers, factor, train_fraction,
                                              solver)
        with np.errstate(divide="ignore"):
            running = np.cumsum(log_f)
        log10_p = np.minimum(0.0, -running / math.log(10))
        statistic = float(running[-1])
        details.update(fit)
        details["p_value_max"] = float(10 ** log10_p.min())   # Ville: also valid (anytime)
    p_value = float(10 ** log10_p[-1])
    return BellTest(p_value=p_value, n=int(log10_p.size), statistic=statistic, method=method,
                    null=null, null_value=float(null_value), win_rate=float(np.mean(tested)),
                    alpha=alpha, rejected=None if alpha is None else bool(p_value <= alpha),
                    running_log10_p=log10_p, details=details)


def _pbr_log_factors(game, questions, answers, factor, train_fraction, solver):
    """``(log F_i of the tested rounds, their payoffs, details)``."""
    payoffs = _payoffs(game, questions, answers)
    n = questions.shape[0]

    def log_of(values, q, a):
        with np.errstate(divide="ignore"):
            return np.log(values[tuple(a.T) + tuple(q.T)])

    if factor is not None:
        values = _check_factor(game, factor)
        return log_of(values, questions, answers), payoffs, {"fit": "given"}
    if train_fraction is not None:
        train_fraction = _check_probability(train_fraction, "train_fraction")
        n_train = int(round(train_fraction * n))
        if not 2 <= n_train < n:
            raise ValueError(f"train_fraction={train_fraction} leaves too few training or no test "
                             f"rounds out of n = {n}")
        fitted, beta = _cross_fitted_factor(game, questions[:n_train], answers[:n_train], solver)
        return (log_of(fitted.values, questions[n_train:], answers[n_train:]), payoffs[n_train:],
                {"fit": "split", "n_train": n_train, "shrinkage": beta})
    log_f = np.zeros(n)
    points = _pbr_schedule(n)
    fits, fitted, betas = 0, None, []
    for start, stop in zip(points[:-1], points[1:]):
        if start == 0:
            continue                                   # no past rounds: F = 1
        fitted, beta = _cross_fitted_factor(game, questions[:start], answers[:start], solver,
                                            fitted)
        log_f[start:stop] = log_of(fitted.values, questions[start:stop], answers[start:stop])
        fits += 1
        betas.append(beta)
    return log_f, payoffs, {"fit": "sequential", "refits": fits,
                            "shrinkage": betas[-1] if betas else 0.0}


def _cross_fitted_factor(game, questions, answers, solver, start=None):
    """A factor from past rounds only: a cross-fitted mixture of a PBR factor and a bet on wins.

    A PBR factor fitted to an estimated table also fits the estimate's noise (with many
    answer/question cells and few rounds, noise alone looks non-local).  So the factor is
    ``(1 - β) F_win + β F_pbr`` with ``F_win = 1 + λ (y - ω)`` a Kelly bet on the rescaled payoff
    ``y`` (valid: ``E_d[y] ≤ ω`` for every deterministic d; ``λ = (ȳ - ω)/(ω(1 - ω))`` clipped to
    ``[0, 0.75/ω]`` keeps it positive) and ``β`` from :data:`_SHRINK_GRID` maximizing the log-gain
    on the second half of the rounds of factors fitted on the first half; then both are refitted
    on all rounds.  A mixture of valid factors is valid.  Returns ``(TestFactor, β)``.
    """
    v_min, v_max, _ = _payoff_range(game)
    omega = min(1.0, (_null_value(game, "classical", 1) - v_min) / (v_max - v_min)
                * (1 + NULL_ROUNDING))
    y_table = (game.predicate - v_min) / (v_max - v_min)

    def fit(q, a, begin=None):
        pbr = pbr_factor(game, _estimate_table(game, q, a), solver, start=begin)
        y_bar = float(np.mean(y_table[tuple(a.T) + tuple(q.T)]))
        lam = 0.0 if omega >= 1 else min(max((y_bar - omega) / (omega * (1 - omega)), 0.0),
                                         0.75 / omega)
        return pbr, 1 + lam * (y_table - omega)

    half = questions.shape[0] // 2
    pbr, win = fit(questions[:half], answers[:half], start)
    cells = tuple(answers[half:].T) + tuple(questions[half:].T)
    with np.errstate(divide="ignore"):
        scores = [np.sum(np.log((1 - beta) * win[cells] + beta * pbr.values[cells]))
                  for beta in _SHRINK_GRID]
    beta = _SHRINK_GRID[int(np.argmax(scores))]
    pbr_all, win_all = fit(questions, answers, pbr)
    values = (1 - beta) * win_all + beta * pbr_all.values
    local_max, _, _ = best_deterministic(values * game.question_dist)
    values.flags.writeable = False
    return TestFactor(values=values, local_max=float(local_max), gain=float("nan"),
                      columns=pbr_all.columns), beta


# -- confidence intervals -------------------------------------------------------------------------

#: Grid of candidate means (rescaled to [0, 1]) of the betting confidence sequence.
_BETTING_GRID = 1001


def value_interval(game, questions, answers, confidence=0.95, anytime=False):
    r"""Confidence interval for the game value ``E[V]`` of the players' (i.i.d.) strategy.

    * ``anytime=False``: two-sided Clopper–Pearson interval (exact binomial inversion) for 0/1
      payoffs; for other bounded payoffs the betting interval below at the final n.
    * ``anytime=True``: a confidence *sequence* — with probability ≥ ``confidence`` the true
      value lies in every running interval simultaneously, so a learner can be monitored round
      by round and stopped whenever.  Hedged betting (Waudby-Smith & Ramdas 2024, "PrPl-EB"):
      for each candidate mean m, ``K_t(m) = ½∏(1 + λ_i⁺(Y_i - m)) + ½∏(1 - λ_i⁻(Y_i - m))``
      with predictable bets ``λ_i`` (from rounds < i) capped at ½/m and ½/(1-m), a non-negative
      martingale when m is the mean; m leaves the set once ``K_t(m) ≥ 1/(1-confidence)``
      (Ville's inequality).  Candidates on a grid of 1001 points; bounds rounded outward by one
      grid step; running intersection.

    With memory (a learner changing its strategy) the betting sequence covers the running average
    of the rounds' conditional means.  Returns a :class:`ValueInterval` in the game's payoff
    units.
    """
    game = _check_game(game)
    questions, answers = _check_rounds(game, questions, answers)
    confidence = _check_probability(confidence, "confidence")
    if not isinstance(anytime, bool):
        raise TypeError(f"anytime must be a bool, got {type(anytime).__name__}")
    v_min, v_max, binary = _payoff_range(game)
    payoffs = _payoffs(game, questions, answers)
    y = (payoffs - v_min) / (v_max - v_min)
    n = y.size
    scale = lambda t: v_min + (v_max - v_min) * np.asarray(t)   # noqa: E731
    if binary and not anytime:
        wins = int(round(y.sum()))
        a = 1 - confidence
        lower = 0.0 if wins == 0 else stats.beta.ppf(a / 2, wins, n - wins + 1)
        upper = 1.0 if wins == n else stats.beta.isf(a / 2, wins + 1, n - wins)
        return ValueInterval(lower=float(scale(lower)), upper=float(scale(upper)),
                             estimate=float(scale(y.mean())), n=n, confidence=confidence,
                             method="clopper-pearson", anytime=False)
    lower, upper = _betting_sequence(y, 1 - confidence)
    return ValueInterval(lower=float(scale(lower[-1])), upper=float(scale(upper[-1])),
                         estimate=float(scale(y.mean())), n=n, confidence=confidence,
                         method="betting", anytime=anytime,
                         running_lower=scale(lower) if anytime else None,
                         running_upper=scale(upper) if anytime else None)


def play_rounds(game, table, rounds, seed):
    """``rounds`` rounds of ``game`` played by the policy ``table``: ``(questions, answers)``.

    Questions from the game's referee seeded by ``seed`` (``game.referee(seed).ask``), answers
    drawn from ``table[a..., o...]`` with ``numpy.random.default_rng([seed, 1])`` — the rounds
    ``qpolicy certify RUN.npz --rounds N --seed S`` tests, so a study and the command certify
    the same data.

    >>> import qpolicy as qp
    >>> from qpolicy import games
    >>> q, a = play_rounds(games.chsh(), qp.born(*games.chsh_quantum_strategy()), 5, seed=0)
    >>> q.shape, a.shape
    ((5, 2), (5, 2))
    """
    from qpolicy.learn.reinforce import sample_answers
    game = _check_game(game)
    table = check_table(table, game.n_players, tuple(game.n_answers) + tuple(game.n_questions),
                        name="table")
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds!r}")
    questions = game.referee(seed).ask(int(rounds))
    answers, _ = sample_answers(table[None], questions[None], game.n_answers,
                                np.random.default_rng([seed, 1]))
    return questions, answers[0]


def _betting_sequence(y, alpha, chunk=4096):
    """Running ``(lower, upper)`` of the hedged-capital confidence sequence of mean(y ∈ [0, 1])."""
    n = y.size
    grid = np.linspace(0.0, 1.0, _BETTING_GRID)
    t = np.arange(1, n + 1)
    # predictable plug-in bets of PrPl-EB: lam[i] uses rounds < i only
    mean = (0.5 + np.concatenate([[0.0], np.cumsum(y)])) / np.arange(1, n + 2)   # after t rounds
    squares = np.concatenate([[0.0], np.cumsum((y - mean[1:]) ** 2)])
    var = (0.25 + squares) / np.arange(1, n + 2)
    lam = np.sqrt(2 * math.log(2 / alpha) / (var[:-1] * t * np.log(t + 1)))
    log_plus = np.zeros(grid.size)
    log_minus = np.zeros(grid.size)
    threshold = math.log(1 / alpha)
    alive = np.ones(grid.size, dtype=bool)
    lower, upper = np.empty(n), np.empty(n)
    with np.errstate(divide="ignore"):
        for begin in range(0, n, chunk):
            sl = slice(begin, min(n, begin + chunk))
            diff = y[sl, None] - grid[None, :]
            lam_plus = np.minimum(lam[sl, None], 0.5 / np.maximum(grid, 1e-300))
            lam_minus = np.minimum(lam[sl, None], 0.5 / np.maximum(1 - grid, 1e-300))
            cum_plus = log_plus + np.cumsum(np.log1p(lam_plus * diff), axis=0)
            cum_minus = log_minus + np.cumsum(np.log1p(-lam_minus * diff), axis=0)
            log_k = np.logaddexp(cum_plus, cum_minus) - math.log(2)
            alive_t = np.logical_and.accumulate(log_k < threshold, axis=0) & alive
            # bounds of the surviving candidates, one grid step outward (all rejected: keep the
            # last interval — an event of probability at most alpha)
            first = np.maximum(np.argmax(alive_t, axis=1) - 1, 0)
            last = np.minimum(grid.size - np.argmax(alive_t[:, ::-1], axis=1), grid.size - 1)
            lower[sl], upper[sl] = grid[first], grid[last]
            empty = ~alive_t.any(axis=1)
            lower[sl][empty], upper[sl][empty] = np.nan, np.nan
            log_plus, log_minus, alive = cum_plus[-1], cum_minus[-1], alive_t[-1]
    filled = np.maximum.accumulate(np.where(np.isnan(lower), -1, np.arange(n)))
    if filled[-1] < 0:   # empty from the first round on: nothing to carry
        return np.zeros(n), np.ones(n)
    filled = np.maximum(filled, 0)
    return lower[filled], upper[filled]


# -- planner ---------------------------------------------------------------------------------------

def samples_needed(game, value, p_value=1e-6, power=0.95, method="wins", solver=None):
    r"""Rounds needed so that a strategy reaches ``p < p_value`` with probability ≥ ``power``.

    ``value``: the strategy's win probability (expected payoff, wins) or its table
    ``p[a..., x...]`` (either method).

    * ``"wins"`` (0/1 payoffs): exact binomial.  For each n the critical count
      ``c(n) = min{c : Pr[Bin(n, ω_c) ≥ c] ≤ p_value}``; the power ``Pr[Bin(n, v) ≥ c(n)]``;
      returns the smallest n with power ≥ ``power`` (the power is a saw-tooth in n; a few larger
      n can fall just below).  ``power=0.5`` gives the median.
    * ``"pbr"`` (needs the table): the oracle factor of the table (:func:`pbr_factor`, the best
      any fit can do), ``log(1/p)`` a sum of i.i.d. log-factors; returns the smallest n with
      ``n m - z_power σ √n ≥ log(1/p_value)`` (normal approximation, m and σ the mean and
      standard deviation of log F per round).

    Example
    -------
    >>> from qpolicy import games
    >>> samples_needed(games.ghz(), 1.0)       # every round won: 0.75**49 < 1e-6
    49
    """
    game = _check_game(game)
    p_value = _check_probability(p_value, "p_value")
    power = _check_probability(power, "power")
    table = None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not np.isfinite(value):
            raise ValueError(f"value must be finite, got {value}")
        v = float(value)
    else:
        table = check_table(value, game.n_players, game.shape, name="value")
        v = game.value(table)
    omega = _null_value(game, "classical", 1)
    if method == "pbr":
        if table is None:
            raise ValueError("method='pbr' needs value to be the strategy's table p[a..., x...]")
        return _pbr_plan(game, table, p_value, power, solver)
    if method != "wins":
        raise ValueError(f"method must be 'wins' or 'pbr', got {method!r}")
    v_min, v_max, binary = _payoff_range(game)
    if not binary:
        raise ValueError("the wins planner needs a game with two payoff values (a win/lose game)")
    v = (v - v_min) / (v_max - v_min)
    w = (omega - v_min) / (v_max - v_min) * (1 + NULL_ROUNDING)
    if not 0 <= v <= 1:
        raise ValueError(f"value must lie in the game's payoff range [{v_min}, {v_max}]")
    if v <= w:
        raise ValueError(f"value {value if table is None else v} is not above the classical value "
                         f"{omega:.6g}: no number of rounds suffices")
    if v >= 1:       # every round won: the first n with w**n <= p_value
        return int(math.ceil(math.log(p_value) / math.log(w) - 1e-12))
    # Chernoff's rate gives the scale; scan n exactly in growing windows
    upper = max(16, int(4 * math.log(1 / p_value) / _kl_bernoulli(v, w)))
    start = 1
    while True:
        n = np.arange(start, upper + 1)
        c = _critical_counts(n, w, p_value)
        ok = stats.binom.sf(c - 1, n, v) >= power
        if ok.any():
            return int(n[np.argmax(ok)])
        start, upper = upper + 1, 2 * upper


def _critical_counts(n, w, p_value):
    """Smallest c with Pr[Bin(n, w) ≥ c] ≤ p_value, per n (n + 1 if none)."""
    c = stats.binom.isf(p_value, n, w).astype(np.int64) + 1   # isf: smallest k with sf(k) ≤ p
    # guard the quantile function's rounding at both sides
    for _ in range(3):
        too_high = (c > 0) & (stats.binom.sf(c - 2, n, w) <= p_value)
        c = np.where(too_high, c - 1, c)
        too_low = stats.binom.sf(c - 1, n, w) > p_value
        c = np.where(too_low, c + 1, c)
    return c


def _pbr_plan(game, table, p_value, power, solver):
    fitted = pbr_factor(game, table, solver)
    w = game.question_dist * table
    with np.errstate(divide="ignore"):
        log_f = np.log(fitted.values)
    support = w > 0
    if np.any(~np.isfinite(log_f[support])):
        raise ValueError("the table's own PBR factor vanishes on an answer the table gives")
    m = float(np.sum(w[support] * log_f[support]))
    s = math.sqrt(max(0.0, float(np.sum(w[support] * (log_f[support] - m) ** 2))))
    if m <= 0:
        raise ValueError("the table is local (no positive log-gain): no number of rounds suffices")
    target, z = math.log(1 / p_value), stats.norm.ppf(power)
    # n m - z s sqrt(n) >= target: a quadratic in sqrt(n)
    root = (z * s + math.sqrt(z * z * s * s + 4 * m * target)) / (2 * m)
    return int(math.ceil(root * root - 1e-9))

"""Monte Carlo: the p-values are valid under the null (local players with memory) and have power.

Validity: for local strategies — deterministic, mixed (fresh shared randomness each round) and
adaptive ones choosing their deterministic strategy from the history — the fraction of trials
with ``p ≤ α`` must not exceed α by more than 3 Monte Carlo standard deviations
(``3 sqrt(α(1-α)/T)``), for α ∈ {0.01, 0.05, 0.2}.  Power: samples of Tsirelson's table reach
``p < 1e-6`` at the planned number of rounds in ≥ 95 % of trials (same tolerance).

Trials are simulated as arrays (trials × rounds); the p-value of every trial comes from
``bell_test`` itself (the wins p-value depends on the data only through the win count, so it is
called once per distinct count; PBR products are recomputed from the factor and checked against
``bell_test`` on a few trials).
"""
import math

import numpy as np
import pytest
from scipy import stats

import qpolicy as qp
from qpolicy import games
from qpolicy.bounds import classical_value, nonsignaling_value
from qpolicy.bounds.classical import top_deterministic
from qpolicy.certify import bell_test, pbr_factor, samples_needed
from qpolicy.learn import reinforce

ALPHAS = (0.01, 0.05, 0.2)
TSIRELSON = (2 + math.sqrt(2)) / 4


def random_game(seed=7):
    rng = np.random.default_rng(seed)
    predicate = (rng.random((2, 2, 3, 3)) < 0.5).astype(float)
    mu = rng.random((3, 3))
    return games.NonlocalGame(predicate, mu / mu.sum(), name="random")


GAMES = {"chsh": games.chsh, "ghz": games.ghz, "tetra": games.tetra, "random": random_game}


def candidate_strategies(game, weights, count, rng):
    """The ``count`` best deterministic strategies for ``weights`` plus as many random ones."""
    _, best, _ = top_deterministic(weights, count)
    random_ones = [tuple(rng.integers(0, a, size=q) for a, q in
                         zip(game.n_answers, game.n_questions)) for _ in range(count)]
    strategies = best + random_ones
    width = max(game.n_questions)
    table = np.zeros((len(strategies), game.n_players, width), dtype=np.int64)
    for s, strategy in enumerate(strategies):
        for k, f in enumerate(strategy):
            table[s, k, :len(f)] = f
    return table                                          # table[s, k, x_k] = answer


def play(game, strategies, chooser, trials, rounds, seed):
    """Local players with memory: each round every trial picks a deterministic strategy."""
    rng = np.random.default_rng(seed)
    n = game.n_players
    questions = game.referee(rng).ask(trials * rounds).reshape(trials, rounds, n)
    answers = np.zeros_like(questions)
    history = {"wins": np.zeros(trials), "log_product": np.zeros(trials),
               "last_q": np.zeros((trials, n), dtype=np.int64),
               "last_a": np.zeros((trials, n), dtype=np.int64)}
    for i in range(rounds):
        s = chooser(i, history, rng)
        x = questions[:, i]
        a = np.stack([strategies[s, k, x[:, k]] for k in range(n)], axis=1)
        answers[:, i] = a
        history["wins"] += game.predicate[tuple(a.T) + tuple(x.T)]
        history["last_q"], history["last_a"] = x, a
        history["round"] = i
        if "factor" in history:
            history["log_product"] += np.log(history["factor"][tuple(a.T) + tuple(x.T)])
    return questions, answers


def fixed(i, h, rng):
    return np.zeros(len(h["wins"]), dtype=np.int64)             # the best strategy, always


def make_mixed(n_strategies):
    def mixed(i, h, rng):                                        # fresh shared randomness
        return rng.integers(0, n_strategies, size=len(h["wins"]))
    return mixed


def make_adaptive(n_strategies, omega):
    def adaptive(i, h, rng):
        # behind the classical rate: play the best strategy; ahead: one of the best four (or,
        # every 7th round, any candidate) chosen by the last round's questions and answers and
        # the win count — a history-dependent local strategy
        behind = h["wins"] < omega * i
        code = (h["last_q"].sum(axis=1) * 3 + h["last_a"].sum(axis=1) + h["wins"].astype(int))
        pick = np.where(i % 7 == 6, code % n_strategies, code % 4)
        return np.where(behind, 0, pick)
    return adaptive


def wins_p_values(game, questions, answers):
    """bell_test's p-value of each trial, one call per distinct win count."""
    wins = game.predicate[tuple(np.moveaxis(answers, -1, 0)) +
                          tuple(np.moveaxis(questions, -1, 0))].sum(axis=1)
    p = np.empty(len(wins))
    for value in np.unique(wins):
        trials = np.flatnonzero(wins == value)
        p[trials] = bell_test(game, questions[trials[0]], answers[trials[0]]).p_value
    return p


def assert_valid(p, label):
    for alpha in ALPHAS:
        rate = np.mean(p <= alpha)
        limit = alpha + 3 * math.sqrt(alpha * (1 - alpha) / len(p))
        assert rate <= limit, f"{label}: Pr[p <= {alpha}] = {rate:.4f} > {limit:.4f}"


# -- wins -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GAMES))
@pytest.mark.parametrize("kind", ["deterministic", "mixed", "adaptive"])
def test_wins_p_values_are_valid_for_local_players_with_memory(name, kind):
    game = GAMES[name]()
    omega = classical_value(game).value
    rng = np.random.default_rng(1)
    strategies = candidate_strategies(game, game.weights, 4, rng)
    chooser = {"deterministic": fixed, "mixed": make_mixed(4),
               "adaptive": make_adaptive(len(strategies), omega)}[kind]
    trials, rounds = 3000, 100
    q, a = play(game, strategies, chooser, trials, rounds, seed=2)
    p = wins_p_values(game, q, a)
    assert_valid(p, f"{name}/{kind}")
    if kind == "deterministic":
        # the best strategy wins each round with probability exactly omega: the rejection rate
        # is the binomial probability of reaching the critical count (the bound is sharp)
        for alpha in ALPHAS:
            c = next(k for k in range(rounds + 2) if stats.binom.sf(k - 1, rounds, omega) <= alpha)
            exact = stats.binom.sf(c - 1, rounds, omega)
            sd = math.sqrt(exact * (1 - exact) / trials)
            assert abs(np.mean(p <= alpha) - exact) <= 4 * sd + 1e-12


# -- PBR with a fixed factor and adversaries that know it ------------------------------------------

def nonlocal_table(name, game):
    if name == "chsh":
        return qp.born(*games.chsh_quantum_strategy())
    if name == "ghz":
        return game.predicate / 4.0
    if name == "random":             # a PR box on questions {0, 1} x {0, 1}, extended to 3 x 3
        a, b, x, y = np.indices((2, 2, 3, 3))
        return ((a ^ b) == ((x > 0) & (y > 0))) / 2.0
    return nonsignaling_value(game).strategy


def make_adversary(game, factor, strategies, kind):
    """Local players who know the factor and try to make the product large."""
    cells = [np.array([[factor[tuple(strategies[s, k, x[k]] for k in range(game.n_players))
                               + tuple(x)] for x in np.ndindex(*game.n_questions)]
                       for s in range(len(strategies))])]
    mu = game.question_dist.ravel()
    values = cells[0]                                        # values[s, x] = F(d_s(x), x)
    mean = values @ mu
    grow = (values > 1) @ mu                                 # Pr_d[F > 1]
    second = values**2 @ mu

    def adversary(i, h, rng):
        if kind == "max-mean":
            return np.full(len(h["wins"]), int(np.argmax(mean)), dtype=np.int64)
        # bold play: behind, the strategy most likely to grow the product; ahead, the most
        # volatile among the near-best ones
        near = np.flatnonzero(mean >= mean.max() - 0.05)
        volatile = near[np.argmax(second[near])]
        return np.where(h["log_product"] < 0, int(np.argmax(grow)), volatile)
    return adversary


def pbr_adversary_p_values(name, kind):
    """p-values of 2000 trials x 60 rounds of an adversary that knows the fixed factor."""
    game = GAMES[name]()
    # a noisy non-local table: its factor is positive everywhere, so a local adversary is never
    # stopped by a zero factor and can keep E[F] = 1 every round
    noisy = 0.9 * nonlocal_table(name, game) + 0.1 / np.prod(game.n_answers)
    factor = pbr_factor(game, noisy)
    rng = np.random.default_rng(3)
    # candidates: the strategies best against the factor itself (the adversary's best moves)
    strategies = candidate_strategies(game, factor.values * game.question_dist, 8, rng)
    adversary = make_adversary(game, factor.values, strategies, kind)
    trials, rounds = 2000, 60
    rng_play = np.random.default_rng(4)
    n = game.n_players
    questions = game.referee(rng_play).ask(trials * rounds).reshape(trials, rounds, n)
    answers = np.zeros_like(questions)
    h = {"wins": np.zeros(trials), "log_product": np.zeros(trials)}
    for i in range(rounds):
        s = adversary(i, h, rng_play)
        x = questions[:, i]
        a = np.stack([strategies[s, k, x[:, k]] for k in range(n)], axis=1)
        answers[:, i] = a
        h["log_product"] += np.log(factor.values[tuple(a.T) + tuple(x.T)])
    p = np.minimum(1.0, np.exp(-h["log_product"]))
    for t in range(3):
        assert bell_test(game, questions[t], answers[t], method="pbr",
                         factor=factor).p_value == pytest.approx(p[t], rel=1e-9)
    return p


@pytest.mark.parametrize("name", list(GAMES))
@pytest.mark.parametrize("kind", ["max-mean", "bold"])
def test_pbr_with_a_fixed_factor_is_valid_against_adversaries(name, kind):
    assert_valid(pbr_adversary_p_values(name, kind), f"{name}/{kind}")


# -- power ------------------------------------------------------------------------------------------

def sample_many(game, table, trials, rounds, seed):
    questions = game.referee(seed).ask(trials * rounds).reshape(1, trials * rounds, -1)
    answers, _ = reinforce.sample_answers(np.asarray(table)[None], questions, game.n_answers,
                                          np.random.default_rng(seed + 1))
    n = game.n_players
    return questions.reshape(trials, rounds, n), answers.reshape(trials, rounds, n)


def test_tsirelson_samples_reach_the_planned_p_value():
    game = games.chsh()
    table = qp.born(*games.chsh_quantum_strategy())
    planned = samples_needed(game, TSIRELSON, p_value=1e-6, power=0.95)
    trials = 2000
    q, a = sample_many(game, table, trials, planned, seed=5)
    rate = np.mean(wins_p_values(game, q, a) < 1e-6)
    assert rate >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / trials)
    # the planner is not generous: 15 % fewer rounds fall clearly short
    fewer = int(0.85 * planned)
    q, a = sample_many(game, table, trials, fewer, seed=6)
    assert np.mean(wins_p_values(game, q, a) < 1e-6) < 0.9
    # the median planner agrees with simulation
    median = samples_needed(game, TSIRELSON, p_value=1e-6, power=0.5)
    q, a = sample_many(game, table, trials, median, seed=7)
    assert abs(np.mean(wins_p_values(game, q, a) < 1e-6) - 0.5) <= 0.05


def test_pbr_planner_agrees_with_simulation_of_the_oracle_factor():
    game = games.chsh()
    table = qp.born(*games.chsh_quantum_strategy())
    planned = samples_needed(game, table, p_value=1e-6, power=0.95, method="pbr")
    factor = pbr_factor(game, table).values
    trials = 2000
    q, a = sample_many(game, table, trials, planned, seed=8)
    log_product = np.log(factor[tuple(np.moveaxis(a, -1, 0)) +
                                tuple(np.moveaxis(q, -1, 0))]).sum(axis=1)
    rate = np.mean(log_product >= math.log(1e6))
    # normal approximation of a sum of `planned` i.i.d. log-factors: within 2 points
    assert abs(rate - 0.95) <= 0.02


# -- slow: sequential PBR under the null, PBR vs wins power on the rendezvous games ---------------

@pytest.mark.slow
@pytest.mark.parametrize("name", ["chsh", "tetra"])
def test_sequential_pbr_is_valid_for_adaptive_local_players(name):
    game = GAMES[name]()
    omega = classical_value(game).value
    rng = np.random.default_rng(11)
    strategies = candidate_strategies(game, game.weights, 4, rng)
    # every trial refits its factors (twice per refit: cross-fitting); Tetra's fits are slower
    trials, rounds = (300, 120) if name == "chsh" else (150, 80)
    q, a = play(game, strategies, make_adaptive(len(strategies), omega), trials, rounds, seed=12)
    p = np.array([bell_test(game, q[t], a[t], method="pbr").p_value for t in range(trials)])
    for alpha in ALPHAS:
        rate = np.mean(p <= alpha)
        assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / trials)


@pytest.mark.slow
def test_pbr_needs_fewer_rounds_than_wins_on_tetra_and_cube():
    for game in (games.tetra(), games.cube()):
        bound = qp.bounds.seesaw_lower_bound(game, dim=3, restarts=4, seed=1)
        table = qp.born(bound.strategy["state"], bound.strategy["povms"])
        wins = samples_needed(game, table)
        pbr = samples_needed(game, table, method="pbr")
        assert pbr < wins / 5, (game.name, pbr, wins)
        q, a = sample_many(game, table, 1, pbr, seed=13)
        factor = pbr_factor(game, table)
        assert bell_test(game, q[0], a[0], method="pbr", factor=factor).p_value < 1e-3

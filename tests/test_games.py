"""Tests of qpolicy.games: definitions against literal rules, value, referee, conversion, errors."""
import itertools

import autograd
import numpy as np
import pytest
from scipy import stats

from qpolicy import games
from qpolicy.games import NonlocalGame


def brute_force_classical(game):
    """max over every joint deterministic strategy of all players (itertools, tiny games only)."""
    per_player = [list(itertools.product(range(n_a), repeat=n_q))
                  for n_a, n_q in zip(game.n_answers, game.n_questions)]
    best = -np.inf
    for joint in itertools.product(*per_player):
        total = sum(game.question_dist[o] * game.predicate[tuple(f[o_k] for f, o_k in
                                                                  zip(joint, o)) + o]
                    for o in np.ndindex(*game.n_questions))
        best = max(best, total)
    return best


# -- definitions -------------------------------------------------------------------------------

def test_chsh_matches_the_rule_and_table_1():
    game = games.chsh()
    for a, b, x, y in np.ndindex(2, 2, 2, 2):
        assert game.predicate[a, b, x, y] == float((a ^ b) == (x & y))
    np.testing.assert_array_equal(game.question_dist, np.full((2, 2), 0.25))
    assert (game.n_players, game.n_questions, game.n_answers) == (2, (2, 2), (2, 2))


def test_ghz_is_vaidmans_form():
    game = games.ghz()
    allowed = {(0, 0, 0), (1, 1, 0), (1, 0, 1), (0, 1, 1)}
    for x, y, z in np.ndindex(2, 2, 2):
        assert game.question_dist[x, y, z] == (0.25 if (x, y, z) in allowed else 0.0)
    for a, b, c, x, y, z in np.ndindex(*(2,) * 6):
        assert game.predicate[a, b, c, x, y, z] == float((a + b + c) % 2 == (x or y or z))


def rendezvous_by_rules(edges):
    """The rendezvous predicate written literally from the rules in notes/games.md."""
    n = 1 + max(max(e) for e in edges)
    neighbours = [sorted({v for e in edges for v in e if u in e and v != u}) for u in range(n)]
    degree = max(len(nb) for nb in neighbours)
    V = np.zeros((degree, degree, n, n))
    for a1, a2, v1, v2 in np.ndindex(degree, degree, n, n):
        if a1 < len(neighbours[v1]) and a2 < len(neighbours[v2]):
            V[a1, a2, v1, v2] = neighbours[v1][a1] == neighbours[v2][a2]
    return V


@pytest.mark.parametrize("edges", [[(0, 1), (1, 2)],                      # path, degrees 1,2,1
                                   [(0, 1), (0, 2), (0, 3), (2, 3)],      # degrees 3,1,2,2
                                   [(3, 0), (1, 0), (2, 1), (3, 2)]])     # unsorted 4-cycle
def test_rendezvous_matches_literal_rules(edges):
    game = games.rendezvous(edges)
    np.testing.assert_array_equal(game.predicate, rendezvous_by_rules(edges))
    n = game.n_questions[0]
    np.testing.assert_allclose(game.question_dist, np.full((n, n), 1 / n**2))


def test_padded_answers_always_lose():
    game = games.rendezvous([(0, 1), (1, 2)])        # vertex 0 has one neighbour, padding = 1
    assert game.n_answers == (2, 2)
    assert not game.predicate[1, :, 0, :].any() and not game.predicate[:, 1, :, 2].any()


def test_tetra_and_cube_graphs():
    tetra, cube = games.tetra(), games.cube()
    assert (tetra.n_questions, tetra.n_answers) == ((4, 4), (3, 3))
    assert (cube.n_questions, cube.n_answers) == ((8, 8), (3, 3))
    cube_edges = [(u, v) for u, v in itertools.combinations(range(8), 2)
                  if bin(u ^ v).count("1") == 1]
    np.testing.assert_array_equal(cube.predicate, rendezvous_by_rules(cube_edges))


@pytest.mark.parametrize("make, expected", [(games.chsh, 3 / 4), (games.ghz, 3 / 4),
                                            (games.tetra, 5 / 8)])
def test_brute_force_classical_values_of_the_notes(make, expected):
    assert brute_force_classical(make()) == pytest.approx(expected, abs=1e-12)


# -- value -----------------------------------------------------------------------------------------

def random_table(rng, shape, n):
    p = rng.random(shape)
    return p / p.sum(axis=tuple(range(n)), keepdims=True)


def test_value_is_the_expected_payoff():
    rng = np.random.default_rng(1)
    game = games.ghz()
    p = random_table(rng, game.shape, 3)
    expected = sum(game.question_dist[o] * game.predicate[a + o] * p[a + o]
                   for a in np.ndindex(2, 2, 2) for o in np.ndindex(2, 2, 2))
    assert game.value(p) == pytest.approx(expected, abs=1e-14)
    assert isinstance(game.value(p), float)


def test_value_is_differentiable():
    game = games.tetra()
    p = random_table(np.random.default_rng(2), game.shape, 2)
    np.testing.assert_allclose(autograd.grad(game.value)(p), game.question_dist * game.predicate)


def test_value_rejects_bad_tables():
    game = games.chsh()
    good = np.full((2, 2, 2, 2), 0.25)
    with pytest.raises(ValueError, match="p must have shape"):
        game.value(np.full((2, 2, 2, 1), 0.25))
    with pytest.raises(ValueError, match="p"):
        game.value(good * 1.1)                                     # does not sum to one
    bad = good.copy(); bad[0, 0, 0, 0], bad[1, 1, 0, 0] = -0.25, 0.75
    with pytest.raises(ValueError, match="non-negative"):
        game.value(bad)
    with pytest.raises(ValueError, match="p"):
        game.value(np.full((4, 2, 2), 0.25))                       # wrong number of axes
    with pytest.raises(TypeError, match="p"):
        game.value("table")


# -- referee -------------------------------------------------------------------------------------

#: Total probability that the frequency test below fails for a correct sampler (Bonferroni).
FALSE_FAILURE_RATE = 1e-6


@pytest.mark.parametrize("make", [games.ghz, games.tetra])
def test_referee_question_frequencies_match_mu(make):
    game = make()
    n = 100_000
    questions = game.referee(seed=7).ask(n)
    assert questions.shape == (n, game.n_players) and questions.dtype.kind == "i"
    counts = np.zeros(game.n_questions)
    np.add.at(counts, tuple(questions.T), 1)
    mu = game.question_dist
    alpha = FALSE_FAILURE_RATE / mu.size / 2
    support = mu > 0
    low = stats.binom.ppf(alpha, n, mu[support])
    high = stats.binom.isf(alpha, n, mu[support])
    assert np.all(counts[support] >= low) and np.all(counts[support] <= high)
    assert not counts[~support].any()


def test_referee_is_reproducible_and_scores_with_the_predicate():
    game = games.cube()
    q1, q2 = game.referee(3).ask(50), game.referee(np.random.default_rng(3)).ask(50)
    np.testing.assert_array_equal(q1, q2)
    answers = np.random.default_rng(4).integers(0, 3, size=(50, 2))
    scores = game.referee(3).score(q1, answers)
    expected = [game.predicate[a[0], a[1], q[0], q[1]] for a, q in zip(answers, q1)]
    np.testing.assert_array_equal(scores, expected)
    assert game.referee(0).ask(0).shape == (0, 2)


def test_referee_rejects_bad_input():
    referee = games.chsh().referee(0)
    q = referee.ask(4)
    with pytest.raises(ValueError, match="answers"):
        referee.score(q, np.full((4, 2), 2))                   # outside the answer alphabet
    with pytest.raises(ValueError, match="answers"):
        referee.score(q, np.zeros((4, 3), dtype=int))
    with pytest.raises(TypeError, match="answers"):
        referee.score(q, np.zeros((4, 2)))                     # floats, not indices
    with pytest.raises(ValueError, match="same shape"):
        referee.score(q, np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match="n"):
        referee.ask(-1)
    with pytest.raises(TypeError, match="seed"):
        games.chsh().referee(0.5)


# -- conversion and storage -------------------------------------------------------------------------

def test_toqito_round_trip():
    game = games.tetra()
    prob_mat, pred_mat = game.to_toqito()
    assert prob_mat.shape == (4, 4) and pred_mat.shape == (3, 3, 4, 4)
    back = NonlocalGame.from_toqito(prob_mat, pred_mat, name="t")
    np.testing.assert_array_equal(back.predicate, game.predicate)
    np.testing.assert_array_equal(back.question_dist, game.question_dist)
    with pytest.raises(ValueError, match="two-player"):
        games.ghz().to_toqito()


def test_toqito_conventions_agree_with_toqito_itself():
    toqito_game = pytest.importorskip("toqito.nonlocal_games.nonlocal_game")
    prob_mat, pred_mat = games.chsh().to_toqito()
    value = toqito_game.NonlocalGame(prob_mat, pred_mat).classical_value()["classical_value"]
    assert value == pytest.approx(0.75, abs=1e-9)


def test_npz_round_trip(tmp_path):
    game = games.ghz()
    path = tmp_path / "ghz.npz"
    game.save(path)
    back = NonlocalGame.load(path)
    assert back.name == "ghz"
    np.testing.assert_array_equal(back.predicate, game.predicate)
    np.testing.assert_array_equal(back.question_dist, game.question_dist)
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="not a saved game"):
        NonlocalGame.load(tmp_path / "other.npz")


def test_arrays_are_read_only_copies():
    V = np.ones((2, 2, 2, 2)); mu = np.full((2, 2), 0.25)
    game = NonlocalGame(V, mu)
    V[0, 0, 0, 0] = 5.0
    assert game.predicate[0, 0, 0, 0] == 1.0
    with pytest.raises(ValueError):
        game.predicate[0, 0, 0, 0] = 2.0
    with pytest.raises(ValueError):
        game.question_dist[0, 0] = 2.0


# -- bad games -------------------------------------------------------------------------------------

@pytest.mark.parametrize("predicate, mu, error, match", [
    (np.ones((2, 2, 2, 2)), np.full((2, 3), 1 / 6), ValueError, "question axes"),
    (np.ones((2, 2, 2)), np.full((2, 2), 0.25), ValueError, "2 \\* n_players"),
    (np.ones((2, 2, 2, 2)), np.array([[0.5, 0.5], [0.5, -0.5]]), ValueError, "non-negative"),
    (np.ones((2, 2, 2, 2)), np.full((2, 2), 0.3), ValueError, "sum to 1"),
    (np.full((2, 2, 2, 2), np.nan), np.full((2, 2), 0.25), ValueError, "predicate"),
    (np.ones((2, 2, 2, 2), dtype=bool), np.full((2, 2), 0.25), TypeError, "predicate"),
    (np.ones((2, 2, 2, 2)) * 1j, np.full((2, 2), 0.25), TypeError, "predicate"),
    (np.ones((2, 2, 2, 2)), "uniform", TypeError, "question_dist"),
    (np.ones(()), np.ones(()), ValueError, "question_dist"),
])
def test_malformed_games_are_rejected(predicate, mu, error, match):
    with pytest.raises(error, match=match):
        NonlocalGame(predicate, mu)


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match="name"):
        NonlocalGame(np.ones((2, 2)), np.full(2, 0.5), name=3)


@pytest.mark.parametrize("edges, error, match", [
    ([(0, 0), (0, 1)], ValueError, "loops"),
    ([(0, 1), (1, 0)], ValueError, "repeat"),
    ([(0, 1), (2, 3), (3, 4), (0, 1)], ValueError, "repeat"),
    ([(0, 2)], ValueError, "vertices \\[1\\]"),
    ([(-1, 0)], ValueError, ">= 0"),
    ([], ValueError, "at least one"),
    ([(0, 1.5)], TypeError, "integer"),
    ([(0, 1, 2)], TypeError, "pairs"),
    ("0-1", TypeError, "edges"),
    (5, TypeError, "edges"),
])
def test_bad_edges_are_rejected(edges, error, match):
    with pytest.raises(error, match=match):
        games.rendezvous(edges)

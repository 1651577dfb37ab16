"""qpolicy.certify: oracles for the p-values, factors, intervals and planner; bad input; the CLI.

Validity under the null and power (Monte Carlo) are in ``test_certify_validity.py``.
"""
import doctest
import itertools
import json
import math
import os
import subprocess
import sys

import cvxpy as cp
import numpy as np
import pytest
from scipy import stats

import qpolicy as qp
from qpolicy import certify, games
from qpolicy.bounds import nonsignaling_value
from qpolicy.certify import bell_test, pbr_factor, samples_needed, value_interval
from qpolicy.cli import main
from qpolicy.learn import reinforce

TSIRELSON = (2 + math.sqrt(2)) / 4
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tsirelson_table():
    return qp.born(*games.chsh_quantum_strategy())


def ghz_perfect_table():
    # every question tuple: uniform over the 4 answer triples of the right parity (GHZ state)
    return games.ghz().predicate / 4.0


def sample(game, table, n, seed):
    """n rounds: referee questions (seed) and answers drawn from the table (seed + 1)."""
    questions = game.referee(seed).ask(n)
    answers, _ = reinforce.sample_answers(np.asarray(table)[None], questions[None],
                                          game.n_answers, np.random.default_rng(seed + 1))
    return questions, answers[0]


def all_deterministic_tables(game):
    """Every deterministic strategy of every player, as tables (brute force, small games only)."""
    per_player = [list(itertools.product(range(a), repeat=q))
                  for a, q in zip(game.n_answers, game.n_questions)]
    tables = []
    for joint in itertools.product(*per_player):
        tables.append(qp.bounds.deterministic_table([np.array(f) for f in joint], game.n_answers))
    return np.array(tables)


def random_game(seed, n_q=3, n_a=2):
    rng = np.random.default_rng(seed)
    predicate = (rng.random((n_a, n_a, n_q, n_q)) < 0.5).astype(float)
    mu = rng.random((n_q, n_q))
    return games.NonlocalGame(predicate, mu / mu.sum(), name=f"random{seed}")


def pr_box_3():
    """A non-local box with 3 questions: a XOR b = [x > 0 and y > 0], uniform marginals."""
    a, b, x, y = np.indices((2, 2, 3, 3))
    return ((a ^ b) == ((x > 0) & (y > 0))) / 2.0


# -- wins test: exact oracles ---------------------------------------------------------------------

def test_module_doctests_pass():
    assert doctest.testmod(certify).failed == 0


def test_wins_p_value_is_the_binomial_tail_at_the_classical_value():
    game = games.chsh()
    q, a = sample(game, tsirelson_table(), 300, seed=4)
    result = bell_test(game, q, a, alpha=0.01)
    wins = int(game.predicate[tuple(a.T) + tuple(q.T)].sum())
    # oracle: the tail sum written out with exact binomial coefficients
    tail = sum(math.comb(300, k) * 0.75**k * 0.25**(300 - k) for k in range(wins, 301))
    assert result.statistic == wins and result.n == 300 and result.null_value == 0.75
    assert result.p_value == pytest.approx(tail, rel=1e-9)
    assert result.rejected == (tail <= 0.01) and result.method == "wins"
    assert "p = " in result.summary() and result.details["bound"] == "binomial"


def test_all_rounds_won_gives_the_closed_form():
    game = games.ghz()
    q, a = sample(game, ghz_perfect_table(), 49, seed=0)
    result = bell_test(game, q, a)
    assert result.statistic == 49
    assert result.p_value == pytest.approx(0.75**49, rel=1e-9)


def test_wins_is_invariant_to_payoff_scale_and_answer_labels():
    game = games.tetra()
    rng = np.random.default_rng(3)
    q = game.referee(1).ask(400)
    a = rng.integers(0, 3, size=(400, 2))
    base = bell_test(game, q, a)
    scaled = games.NonlocalGame(7 * game.predicate - 2, game.question_dist)
    assert bell_test(scaled, q, a).p_value == pytest.approx(base.p_value, rel=1e-9)
    perm = np.array([2, 0, 1])                       # relabel player 0's answers
    relabelled = games.NonlocalGame(game.predicate[np.argsort(perm)], game.question_dist)
    a2 = a.copy()
    a2[:, 0] = perm[a[:, 0]]
    assert bell_test(relabelled, q, a2).p_value == pytest.approx(base.p_value, rel=1e-12)


def test_weighted_payoffs_use_the_chernoff_bound_or_randomized_rounding():
    chsh = games.chsh()
    _, _, x, y = np.indices((2, 2, 2, 2))
    game = games.NonlocalGame(chsh.predicate * (1 + x + y), chsh.question_dist)  # payoffs 0..3
    omega = qp.bounds.classical_value(game).value
    assert omega == pytest.approx(1.75)            # lose only the cheapest question (weight 1)
    q, a = sample(game, qp.policies.pr_box(), 500, seed=2)
    result = bell_test(game, q, a)
    payoffs = game.predicate[tuple(a.T) + tuple(q.T)]
    s, w = payoffs.mean() / 3, omega / 3
    assert s > w
    kl = s * math.log(s / w) + (1 - s) * math.log((1 - s) / (1 - w))
    assert result.details["bound"] == "chernoff"
    assert result.p_value == pytest.approx(math.exp(-500 * kl), rel=1e-6)
    rounded = bell_test(game, q, a, rounding_seed=0)
    assert rounded.details["bound"] == "rounding" and 0 <= rounded.p_value <= 1
    assert rounded.statistic == int(rounded.statistic)              # a count of rounded wins


def test_quantum_null_uses_the_npa_bound():
    game = games.chsh()
    pr_box = qp.policies.pr_box()
    q, a = sample(game, pr_box, 200, seed=1)
    result = bell_test(game, q, a, null="quantum")
    assert result.null_value == pytest.approx(TSIRELSON, abs=1e-6)
    assert result.null_value >= TSIRELSON - 1e-12                 # a rigorous upper bound
    assert result.p_value < 1e-12                                 # a PR box is beyond quantum
    q, a = sample(game, tsirelson_table(), 200, seed=1)
    assert bell_test(game, q, a, null="quantum").p_value > 0.01    # Tsirelson's box is not


# -- PBR factors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["chsh", "ghz", "tetra", "random"])
def test_pbr_factor_is_valid_for_every_deterministic_strategy_by_brute_force(name):
    game = random_game(7) if name == "random" else getattr(games, name)()
    table = {"chsh": tsirelson_table, "ghz": ghz_perfect_table, "random": pr_box_3}.get(
        name, lambda: nonsignaling_value(game).strategy)()
    factor = pbr_factor(game, table)
    deterministic = all_deterministic_tables(game)
    expectations = (deterministic * (game.question_dist * factor.values)).reshape(
        len(deterministic), -1).sum(axis=1)
    assert factor.values.min() >= 0
    assert expectations.max() <= 1.0                       # E_d[F] <= 1 for all of them
    assert expectations.max() >= 1 - 1e-6                  # and tight: F is not scaled down
    assert factor.local_max == pytest.approx(expectations.max(), abs=1e-12)
    assert factor.gain > 0


def kl_to_local_polytope(game, table):
    """min over local q of sum mu p log(p/q): the primal, over all deterministic vertices."""
    vertices = all_deterministic_tables(game).reshape(-1, table.size)
    w = (game.question_dist * table).ravel()
    support = w > 0
    lam = cp.Variable(len(vertices), nonneg=True)
    q = vertices.T @ lam
    problem = cp.Problem(cp.Maximize(w[support] @ cp.log(q[support])), [cp.sum(lam) == 1])
    problem.solve(solver="CLARABEL")
    return float(np.sum(w[support] * np.log(table.ravel()[support]))) - problem.value


@pytest.mark.parametrize("name", ["chsh", "ghz", "random"])
def test_pbr_gain_equals_the_kl_divergence_to_the_local_polytope(name):
    game = random_game(11) if name == "random" else getattr(games, name)()
    table = {"chsh": tsirelson_table, "ghz": ghz_perfect_table, "random": pr_box_3}[name]()
    gain = pbr_factor(game, table).gain
    assert gain == pytest.approx(kl_to_local_polytope(game, table), abs=1e-5)
    if name == "chsh":      # closest local table is the isotropic one at 3/4 (symmetry)
        v = TSIRELSON
        assert gain == pytest.approx(v * math.log(v / .75) + (1 - v) * math.log((1 - v) / .25),
                                     abs=1e-6)
    if name == "ghz":
        assert gain == pytest.approx(math.log(4 / 3), abs=1e-6)


def test_pbr_p_value_is_the_inverse_product_of_factors():
    game = games.chsh()
    factor = pbr_factor(game, tsirelson_table())
    q, a = sample(game, tsirelson_table(), 500, seed=9)
    result = bell_test(game, q, a, method="pbr", factor=factor)
    log_product = np.log(factor.values[tuple(a.T) + tuple(q.T)]).sum()
    assert result.statistic == pytest.approx(log_product, rel=1e-12)
    assert result.p_value == pytest.approx(min(1.0, math.exp(-log_product)), rel=1e-9)
    assert result.details["fit"] == "given"
    assert result.details["p_value_max"] <= result.p_value


def test_pbr_sequential_and_split_fits_reject_a_tsirelson_box():
    game = games.chsh()
    q, a = sample(game, tsirelson_table(), 1500, seed=12)
    sequential = bell_test(game, q, a, method="pbr")
    assert sequential.details["fit"] == "sequential" and sequential.p_value < 1e-6
    split = bell_test(game, q, a, method="pbr", train_fraction=0.3)
    assert split.n == 1050 and split.details["n_train"] == 450 and split.p_value < 1e-4
    # the first PBR_FIRST_FIT rounds have factor 1: the running p-value starts flat at 1
    assert np.all(sequential.running_log10_p[:certify.PBR_FIRST_FIT] == 0)


def test_pbr_does_not_depend_on_answer_labels():
    game = games.tetra()
    table = nonsignaling_value(game).strategy
    q, a = sample(game, table, 300, seed=5)
    base = bell_test(game, q, a, method="pbr", train_fraction=0.5)
    perm = np.array([1, 2, 0])
    relabelled = games.NonlocalGame(game.predicate[:, np.argsort(perm)], game.question_dist)
    a2 = a.copy()
    a2[:, 1] = perm[a[:, 1]]
    other = bell_test(relabelled, q, a2, method="pbr", train_fraction=0.5)
    assert other.statistic == pytest.approx(base.statistic, rel=1e-4, abs=1e-4)


# -- value intervals --------------------------------------------------------------------------------

def test_clopper_pearson_closed_forms():
    game = games.chsh()
    q = game.referee(0).ask(10)
    lose = np.stack([np.zeros(10, int), 1 - (q[:, 0] & q[:, 1])], axis=1)   # always loses
    interval = value_interval(game, q, lose, confidence=0.9)
    assert interval.lower == 0 and interval.upper == pytest.approx(1 - 0.05**(1 / 10), rel=1e-9)
    win = np.stack([np.zeros(10, int), q[:, 0] & q[:, 1]], axis=1)
    interval = value_interval(game, q, win, confidence=0.9)
    assert interval.upper == 1 and interval.lower == pytest.approx(0.05**(1 / 10), rel=1e-9)


def test_intervals_cover_the_true_value():
    game = games.chsh()
    table = tsirelson_table()
    misses_cp = misses_anytime = 0
    trials = 60
    for t in range(trials):
        q, a = sample(game, table, 300, seed=100 + t)
        cp_interval = value_interval(game, q, a)
        misses_cp += not cp_interval.lower <= TSIRELSON <= cp_interval.upper
        cs = value_interval(game, q, a, anytime=True)
        assert cs.running_lower.shape == (300,) and np.all(np.diff(cs.running_lower) >= 0)
        assert np.all(np.diff(cs.running_upper) <= 0)            # a running intersection
        misses_anytime += np.any((cs.running_lower > TSIRELSON) | (cs.running_upper < TSIRELSON))
    # 95 % intervals: a miss count of 9 in 60 has probability < 0.5 % if coverage is 95 %
    assert misses_cp <= 8 and misses_anytime <= 8
    # the confidence sequence is wider than the fixed-n interval but shrinks with n
    assert cs.upper - cs.lower > cp_interval.upper - cp_interval.lower
    assert cs.running_upper[-1] - cs.running_lower[-1] < 0.5 * (cs.running_upper[20]
                                                                - cs.running_lower[20])


# -- planner --------------------------------------------------------------------------------------

def brute_force_power(n, v, w, p_value):
    """Power of the binomial test at n by a direct scan of the critical count."""
    c = next(k for k in range(n + 2) if stats.binom.sf(k - 1, n, w) <= p_value)
    return stats.binom.sf(c - 1, n, v)


def test_planner_against_a_brute_force_scan():
    n = samples_needed(games.chsh(), TSIRELSON, p_value=1e-6, power=0.95)
    assert brute_force_power(n, TSIRELSON, 0.75, 1e-6) >= 0.95
    assert all(brute_force_power(m, TSIRELSON, 0.75, 1e-6) < 0.95 for m in range(n - 30, n))
    assert n == 619                  # the issue quotes ≈ 624 (power is a saw-tooth in n)
    median = samples_needed(games.chsh(), TSIRELSON, power=0.5)
    assert brute_force_power(median, TSIRELSON, 0.75, 1e-6) >= 0.5 > brute_force_power(
        median - 1, TSIRELSON, 0.75, 1e-6)


def test_planner_reference_numbers():
    # the reference numbers (exact binomial): ≈ 624 / 1515 / 49 / 23 600 / 88 000
    vis = 0.5 + 0.9 * (TSIRELSON - 0.5)
    assert samples_needed(games.chsh(), vis) == 1515
    assert samples_needed(games.ghz(), 1.0) == 49 == math.ceil(math.log(1e-6) / math.log(0.75))
    tetra = samples_needed(games.tetra(), 0.6450617283950617)
    assert abs(tetra - 23600) < 0.01 * 23600


def test_planner_accepts_a_table_and_plans_pbr():
    game = games.chsh()
    assert samples_needed(game, tsirelson_table()) == samples_needed(game, TSIRELSON)
    n_pbr = samples_needed(game, tsirelson_table(), method="pbr")
    # normal approximation with the oracle factor: m n - z s sqrt(n) = log(1e6)
    factor = pbr_factor(game, tsirelson_table())
    w = game.question_dist * tsirelson_table()
    logs = np.log(factor.values)
    m = np.sum(w * logs)
    s = math.sqrt(np.sum(w * (logs - m) ** 2))
    z = stats.norm.ppf(0.95)
    assert n_pbr * m - z * s * math.sqrt(n_pbr) >= math.log(1e6)
    assert (n_pbr - 1) * m - z * s * math.sqrt(n_pbr - 1) < math.log(1e6)


# -- bad input ------------------------------------------------------------------------------------

def _rounds(n=20):
    game = games.chsh()
    return game, game.referee(0).ask(n), np.zeros((n, 2), dtype=np.int64)


@pytest.mark.parametrize("change, error, word", [
    (lambda g, q, a: (g, q + 2, a), ValueError, "questions"),
    (lambda g, q, a: (g, q, a.astype(float)), TypeError, "answers"),
    (lambda g, q, a: (g, q, np.full(a.shape, np.nan)), TypeError, "answers"),
    (lambda g, q, a: (g, q, a[:, :1]), ValueError, "answers"),
    (lambda g, q, a: (g, q, a[:5]), ValueError, "same shape"),
    (lambda g, q, a: (g, q[:0], a[:0]), ValueError, "n = 0"),
    (lambda g, q, a: ("chsh", q, a), TypeError, "game"),
    (lambda g, q, a: (g, q.astype(bool), a), TypeError, "questions"),
])
def test_bad_rounds_are_rejected_naming_the_argument(change, error, word):
    game, q, a = change(*_rounds())
    for function in (bell_test, value_interval):
        with pytest.raises(error, match=word):
            function(game, q, a)


def test_questions_the_referee_never_asks_are_rejected():
    game = games.ghz()
    q = game.referee(0).ask(10)
    q[3] = (1, 1, 1)                                  # mu(1,1,1) = 0
    with pytest.raises(ValueError, match=r"questions\[3\]"):
        bell_test(game, q, np.zeros((10, 3), dtype=np.int64))


def test_question_provenance_is_checked():
    game, q, a = _rounds()
    with pytest.raises(ValueError, match="question_dist"):
        bell_test(game, q, a, question_dist=[[0.4, 0.1], [0.1, 0.4]])
    assert bell_test(game, q, a, question_dist=game.question_dist, referee_seed=0).n == 20
    with pytest.raises(ValueError, match="referee_seed"):
        bell_test(game, q, a, referee_seed=1)


@pytest.mark.parametrize("kwargs, error, word", [
    ({"method": "chi2"}, ValueError, "method"),
    ({"null": "nonsignaling"}, ValueError, "null"),
    ({"alpha": 1.5}, ValueError, "alpha"),
    ({"alpha": "0.05"}, TypeError, "alpha"),
    ({"method": "pbr", "null": "quantum"}, ValueError, "null"),
    ({"method": "pbr", "train_fraction": 0.0}, ValueError, "train_fraction"),
    ({"method": "pbr", "train_fraction": 0.01}, ValueError, "train_fraction"),
    ({"method": "pbr", "factor": np.full((2, 2, 2, 2), 1.5)}, ValueError, "factor"),
    ({"method": "pbr", "factor": np.ones((2, 2))}, ValueError, "factor"),
    ({"method": "pbr", "factor": -np.ones((2, 2, 2, 2))}, ValueError, "factor"),
    ({"factor": np.ones((2, 2, 2, 2))}, ValueError, "pbr"),
])
def test_bad_options_are_rejected(kwargs, error, word):
    game, q, a = _rounds()
    with pytest.raises(error, match=word):
        bell_test(game, q, a, **kwargs)


@pytest.mark.parametrize("args, kwargs, word", [
    ((0.7,), {}, "classical value"),
    ((1.2,), {}, "value"),
    ((float("nan"),), {}, "value"),
    ((TSIRELSON,), {"p_value": 0.0}, "p_value"),
    ((TSIRELSON,), {"power": 1.0}, "power"),
    ((TSIRELSON,), {"method": "pbr"}, "table"),
    ((TSIRELSON,), {"method": "exact"}, "method"),
    ((np.ones((2, 2)),), {}, "value"),
])
def test_planner_rejects_bad_input(args, kwargs, word):
    with pytest.raises(ValueError, match=word):
        samples_needed(games.chsh(), *args, **kwargs)


def test_value_interval_rejects_a_bad_confidence():
    game, q, a = _rounds()
    with pytest.raises(ValueError, match="confidence"):
        value_interval(game, q, a, confidence=1.2)
    with pytest.raises(TypeError, match="anytime"):
        value_interval(game, q, a, anytime="yes")


# -- the command line -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chsh_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "chsh.npz"
    reinforce.train(games.chsh(), seeds=2, steps=120, batch=256, checkpoint=str(path),
                    progress=False)
    return path


def test_cli_certifies_a_learned_run(chsh_run, tmp_path, capsys):
    saved = tmp_path / "rounds.npz"
    assert main(["certify", str(chsh_run), "--rounds", "800", "--seed", "3", "--alpha", "0.01",
                 "--save-samples", str(saved), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"game", "source", "input", "n", "mean_payoff", "classical_value",
                           "null", "null_value", "tests", "combined_p_value", "value_interval",
                           "rounds_needed", "alpha", "rejected", "run", "seed"}
    assert report["source"] == "run" and report["n"] == 800 and report["rejected"]
    run = reinforce.load_run(chsh_run)
    assert report["run"] == int(np.argmax(run.best_values))
    assert report["rounds_needed"]["at_value"] == pytest.approx(run.best_values.max())
    # the saved rounds are the referee's (seed 3) and give the same p-value when re-certified
    with np.load(saved) as data:
        q, a = data["questions"], data["answers"]
    np.testing.assert_array_equal(q, games.chsh().referee(3).ask(800))
    assert bell_test(games.chsh(), q, a).p_value == pytest.approx(
        report["tests"]["wins"]["p_value"], rel=1e-12)
    assert main(["certify", str(saved), "--method", "wins"]) == 0
    text = capsys.readouterr().out
    assert "wins test" in text and "recorded in" in text and "PBR" not in text


def test_play_rounds_are_the_rounds_the_command_certifies(chsh_run, capsys):
    # the certification study plays a run with play_rounds; the command must test the same data
    assert main(["certify", str(chsh_run), "--rounds", "600", "--seed", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    run = reinforce.load_run(chsh_run)
    table = run.best_tables[int(np.argmax(run.best_values))]
    q, a = certify.play_rounds(games.chsh(), table, 600, seed=0)
    assert bell_test(games.chsh(), q, a).p_value == pytest.approx(
        report["tests"]["wins"]["p_value"], rel=1e-12)
    pbr = bell_test(games.chsh(), q, a, method="pbr", factor=certify.pbr_factor(games.chsh(),
                                                                               table))
    assert pbr.p_value == pytest.approx(report["tests"]["pbr"]["p_value"], rel=1e-9)


@pytest.mark.parametrize("kwargs, error, word", [
    ({"rounds": 0}, ValueError, "rounds"), ({"rounds": 2.5}, ValueError, "rounds"),
    ({"table": np.ones((2, 2, 2, 2))}, ValueError, "table"),
    ({"table": np.full((2, 2, 3, 2), 0.25)}, ValueError, "table")])
def test_play_rounds_rejects_bad_input(kwargs, error, word):
    arguments = {"game": games.chsh(), "table": np.full((2, 2, 2, 2), 0.25), "rounds": 10,
                 "seed": 0, **kwargs}
    with pytest.raises(error, match=word):
        certify.play_rounds(**arguments)


def test_cli_reads_csv_and_the_quantum_null(tmp_path, capsys):
    game = games.chsh()
    q, a = sample(game, qp.policies.pr_box(), 100, seed=0)
    path = tmp_path / "rounds.csv"
    path.write_text("x,y,a,b\n" + "\n".join(",".join(map(str, row))
                                           for row in np.hstack([q, a])) + "\n")
    assert main(["certify", str(path), "--game", "chsh", "--null", "quantum"]) == 0
    text = capsys.readouterr().out
    assert "beyond QUANTUM" in text and "100 rounds" in text


@pytest.mark.parametrize("argv, message", [
    (["certify", "missing.npz"], "does not exist"),
    (["certify", "{csv}"], "--game is required"),
    (["certify", "{csv}", "--game", "nosuchgame"], "unknown game 'nosuchgame'"),
    (["certify", "{bad_csv}", "--game", "chsh"], "expected 4 integers"),
])
def test_cli_bad_input_gives_a_clear_error(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv").write_text("0,1,0,0\n1,1,0,1\n")
    (tmp_path / "bad.csv").write_text("0,1,0\n")
    argv = [x.format(csv="r.csv", bad_csv="bad.csv") for x in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_subprocess_uses_this_worktree(tmp_path):
    game = games.ghz()
    q, a = sample(game, ghz_perfect_table(), 60, seed=0)
    path = tmp_path / "ghz.npz"
    np.savez(path, questions=q, answers=a)
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-m", "qpolicy", "certify", str(path), "--game", "ghz",
                          "--method", "wins", "--json"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout
    report = json.loads(out)
    assert report["tests"]["wins"]["p_value"] == pytest.approx(0.75**60, rel=1e-9)


def test_hensen_2015_worked_example():
    # Delft loophole-free test: 245 CHSH trials, published P <= 0.039 (memory allowed);
    # 196 wins reproduce it with the binomial tail at 3/4, 195 would not
    game = games.chsh()
    x = game.referee(seed=0).ask(245)
    for wins, p in ((196, 0.0391), (195, 0.0540)):
        win = np.arange(245) < wins
        answers = np.stack([np.zeros(245, int), (x[:, 0] & x[:, 1]) ^ ~win], axis=1)
        assert bell_test(game, x, answers).p_value == pytest.approx(p, abs=5e-5)


def test_pbr_factor_rejects_bad_input():
    game = games.chsh()
    with pytest.raises(ValueError, match="table"):
        pbr_factor(game, np.ones((2, 2, 2, 2)))                  # not a conditional table
    with pytest.raises(ValueError, match="start"):
        pbr_factor(game, tsirelson_table(), start=pbr_factor(games.ghz(), ghz_perfect_table()))
    with pytest.raises(TypeError, match="game"):
        pbr_factor(None, tsirelson_table())

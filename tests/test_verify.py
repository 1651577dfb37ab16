"""``qpolicy verify`` / :func:`qpolicy.verify.verify` on tables whose class is known exactly."""
import itertools

import numpy as np
import pytest

import qpolicy as qp
from qpolicy import games
from qpolicy.cli import main
from qpolicy.learn import reinforce
from qpolicy.learn.checkpoint import load_checkpoint
from qpolicy.policies import pr_box
from qpolicy.verify import Report, load_table, verify

TSIRELSON = np.cos(np.pi / 8) ** 2


def projective_family(observables):
    """Two-outcome projective measurements (1 ± O)/2 of ±1 observables: shape (n_q, 2, 2, 2)."""
    eye = np.eye(2)
    return np.array([[(eye + O) / 2, (eye - O) / 2] for O in observables], dtype=complex)


def tsirelson_strategy():
    return games.chsh_quantum_strategy()


def tsirelson_table():
    return qp.born(*tsirelson_strategy())




def deterministic_tables(n_answers=2, n_questions=2):
    """All 2-player deterministic tables, built by hand (an oracle independent of bounds/)."""
    functions = list(itertools.product(range(n_answers), repeat=n_questions))
    for f, g in itertools.product(functions, repeat=2):
        d = np.zeros((n_answers, n_answers, n_questions, n_questions))
        for x, y in np.ndindex(n_questions, n_questions):
            d[f[x], g[y], x, y] = 1.0
        yield d


def brute_force_local_bound(B):
    return max(float(np.sum(B * d)) for d in deterministic_tables(B.shape[0], B.shape[2]))


def test_tsirelson_table_is_nonlocal_with_a_violated_certificate():
    p = tsirelson_table()
    report = verify(p, game=games.chsh())
    assert isinstance(report, Report)
    assert report.nonsignaling and report.nonsignaling_violation < 1e-12
    assert not report.local and report.beyond_shared_randomness
    cert = report.certificate
    # the local bound is the true maximum over all 16 deterministic strategies, and p violates it
    assert cert.local_bound == pytest.approx(brute_force_local_bound(cert.coefficients), abs=1e-9)
    assert cert.evaluate(p) == pytest.approx(cert.value, abs=1e-12)
    assert cert.violation > 0.8
    # LP duality: the optimal violation is the L1 distance; for the CHSH functional 2√2 − 2
    assert report.local_distance == pytest.approx(cert.violation, abs=1e-6)
    assert cert.violation == pytest.approx(2 * np.sqrt(2) - 2, abs=1e-6)
    assert report.in_npa and report.classification == "npa2"   # level "auto": 2 for CHSH
    assert report.value == pytest.approx(TSIRELSON, abs=1e-12)
    assert report.classical_value == pytest.approx(0.75, abs=1e-12)
    assert report.npa_bound == pytest.approx(TSIRELSON, abs=1e-6)
    assert report.nonsignaling_value == pytest.approx(1.0, abs=1e-6)
    assert report.normalized_advantage == pytest.approx(1.0, abs=1e-5)
    text = str(report)
    assert "beyond shared randomness (certified" in text and "Bell inequality certificate" in text


def test_mixture_of_deterministic_strategies_is_local_without_certificate():
    rng = np.random.default_rng(7)
    tables = list(deterministic_tables())
    weights = rng.dirichlet(np.ones(len(tables)))
    p = np.tensordot(weights, np.array(tables), axes=1)
    report = verify(p, game=games.chsh())
    assert report.local and report.certificate is None
    assert report.local_distance <= 1e-6
    assert report.classification in ("shared_randomness", "factorized")
    assert report.classification == "shared_randomness"      # a generic mixture is correlated
    assert report.value <= report.classical_value + 1e-12
    assert "NOT beyond shared randomness" in str(report)


def test_signaling_table_is_reported_signaling():
    p = np.zeros((2, 2, 2, 2))                  # Bob answers Alice's question: communication
    for a, x, y in np.ndindex(2, 2, 2):
        p[a, x, x, y] = 0.5
    report = verify(p)
    assert not report.nonsignaling and report.nonsignaling_violation == pytest.approx(1.0)
    assert report.classification == "signaling" and not report.in_npa
    assert "non-signaling (eq. 5)            NO" in str(report)
    assert "needs communication" in str(report) and "verdict: p signals" in str(report)


def test_pr_box_is_nonsignaling_but_outside_npa():
    report = verify(pr_box(), game=games.chsh())
    assert report.nonsignaling and not report.local and not report.in_npa
    assert report.classification == "nonsignaling"
    assert report.value == pytest.approx(1.0) == pytest.approx(report.nonsignaling_value)
    # CHSH's algebraic maximum: the L1 distance of the PR box to the local polytope is 2
    assert report.local_distance == pytest.approx(2.0, abs=1e-6)
    assert report.normalized_advantage > 1.0        # beyond the quantum bound
    assert "fails (SDP: p is not quantum;" in str(report)


def test_verify_solves_the_distance_lp_once(monkeypatch):
    import qpolicy.bounds.membership as membership
    import qpolicy.verify as verify_module
    calls, original = [], membership.local_distance

    def counting(p, *args, **kwargs):
        calls.append(1)
        return original(p, *args, **kwargs)
    monkeypatch.setattr(verify_module, "local_distance", counting)
    monkeypatch.setattr(membership, "local_distance", counting)   # classify's own call
    report = verify(tsirelson_table(), game=games.chsh())
    assert len(calls) == 1 and report.classification == "npa2"   # level "auto": 2 for CHSH

def test_ghz_strategy_three_players():
    X, Y = np.array([[0, 1], [1, 0]], dtype=complex), np.array([[0, -1j], [1j, 0]])
    family = projective_family([X, Y])
    game = games.ghz()
    p = qp.born(qp.ghz_state(3), [family] * 3)
    report = verify(p, game=game)
    assert report.value == pytest.approx(1.0, abs=1e-12)
    assert report.classical_value == pytest.approx(0.75, abs=1e-12)
    assert report.certificate is not None and report.nonsignaling
    assert report.normalized_advantage == pytest.approx(1.0, abs=1e-5)


@pytest.fixture(scope="module")
def trained_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("train") / "chsh.npz"
    reinforce.train(games.chsh(), seeds=2, steps=40, batch=128, seed=3, checkpoint=str(path),
                    progress=False)
    return path


def test_file_written_by_train_verifies(trained_file, tmp_path, capsys):
    run = reinforce.load_run(trained_file)
    best = int(np.argmax(run.best_values))
    table, game, strategy, note = load_table(trained_file)
    np.testing.assert_array_equal(table, run.best_tables[best])
    rho, povms = strategy                       # rebuilt from the saved parameters
    np.testing.assert_allclose(qp.born(rho, povms), table, atol=1e-12)
    assert game.name == "chsh" and np.array_equal(game.predicate, games.chsh().predicate)
    assert f"run {best} of 2" in note

    cert_path = tmp_path / "bell.npz"
    assert main(["verify", str(trained_file), "--certificate-out", str(cert_path)]) == 0
    out = capsys.readouterr().out
    assert "game chsh" in out and "classical value                0.750000" in out
    assert "explicit quantum strategy        reproduces p" in out
    value = float(out.split("value of p")[1].split()[0])
    assert value == pytest.approx(run.best_values[best], abs=1e-6)
    if run.best_values[best] > 0.75 + 1e-3:        # learned beyond classical: must be certified
        assert "certificate saved to" in out
        saved = load_checkpoint(cert_path)
        B = saved["coefficients"]
        assert float(np.sum(B * table)) == pytest.approx(saved["value"], abs=1e-9)
        assert saved["local_bound"] == pytest.approx(brute_force_local_bound(B), abs=1e-9)
        assert saved["violation"] > 0
        assert "class                            quantum (Q:" in out
    other = 1 - best
    assert main(["verify", str(trained_file), "--run", str(other)]) == 0
    assert f"run {other} of 2" in capsys.readouterr().out


def test_table_key_npz_and_npy_and_game_option(tmp_path, capsys):
    npz, npy = tmp_path / "p.npz", tmp_path / "p.npy"
    np.savez(npz, table=pr_box())
    np.save(npy, tsirelson_table())
    assert main(["verify", str(npz)]) == 0
    out = capsys.readouterr().out
    assert "class                            nonsignaling" in out and "game" not in out
    assert main(["verify", str(npy), "--game", "chsh"]) == 0
    assert "normalized advantage           100.00 %" in capsys.readouterr().out


def test_local_table_certificate_out_is_not_written(tmp_path, capsys):
    npy, cert = tmp_path / "local.npy", tmp_path / "cert.npz"
    np.save(npy, np.full((2, 2, 2, 2), 0.25))
    assert main(["verify", str(npy), "--certificate-out", str(cert)]) == 0
    out = capsys.readouterr().out
    assert "class                            factorized" in out and "not written" in out
    assert not cert.exists()


@pytest.mark.parametrize("bad, message", [
    (np.full((2, 2, 2, 2), 0.3), "p"),                     # rows sum to 1.2
    (np.full((2, 2, 2), 0.25), "2n axes"),
    (-tsirelson_table(), "p"),
])
def test_invalid_tables_raise_naming_p(bad, message):
    with pytest.raises(ValueError, match=message):
        verify(bad)


def test_explicit_strategy_makes_the_class_quantum():
    p, strategy = tsirelson_table(), tsirelson_strategy()
    report = verify(p, strategy=strategy)
    assert report.classification == "quantum" and report.strategy_gap < 1e-12
    rho, povms = strategy
    with pytest.raises(ValueError, match="strategy does not produce p"):
        verify(p, strategy=(rho, [povms[0], povms[1][::-1]]))  # Bob's questions swapped


def test_shared_randomness_train_file_has_no_quantum_strategy(tmp_path, capsys):
    path = tmp_path / "shared.npz"
    reinforce.train(games.chsh(), policy="shared", seeds=2, steps=5, batch=16, seed=0,
                    checkpoint=str(path), progress=False)
    table, game, strategy, note = load_table(path, run=1)
    assert strategy is None and "run 1 of 2" in note and "shared policies" in note
    report = verify(table, game=game)
    assert report.local and report.value <= report.classical_value + 1e-12


def test_game_mismatch_and_type():
    with pytest.raises(ValueError, match="shape"):
        verify(np.full((2, 2, 2, 2), 0.25), game=games.ghz())
    with pytest.raises(TypeError, match="game"):
        verify(np.full((2, 2, 2, 2), 0.25), game="chsh")
    with pytest.raises(ValueError, match="level"):
        verify(np.full((2, 2, 2, 2), 0.25), level="1+XY")


def test_bad_files_fail_clearly(tmp_path, trained_file, capsys):
    no_table = tmp_path / "other.npz"
    np.savez(no_table, weights=np.ones(3))
    text = tmp_path / "p.txt"
    text.write_text("0.25 0.25")
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"not numpy")
    invalid = tmp_path / "invalid.npy"
    np.save(invalid, np.full((2, 2, 2, 2), 0.3))
    nan_table = tmp_path / "nan.npy"
    np.save(nan_table, np.full((2, 2, 2, 2), np.nan))
    cases = [
        ([str(tmp_path / "missing.npy")], "no such file"),
        ([str(no_table)], "holds no policy table"),
        ([str(text)], ".npy or .npz"),
        ([str(broken)], "not a readable"),
        ([str(invalid)], "p must"),
        ([str(trained_file), "--run", "5"], "run must be between 0 and 1"),
        ([str(trained_file), "--certificate-out", "x.txt"], "must end with .npz"),
        ([str(trained_file), "--game", "ghz"], "shape"),
        ([str(trained_file), "--game", "nonsense"], "unknown game"),
        ([str(trained_file), "--game", "rendezvous", "--edges", "0-1,1-2,2-0"], "shape"),
        ([str(trained_file), "--edges", "0-1"], "--game rendezvous"),
        ([str(nan_table)], "p"),
    ]
    for argv, message in cases:
        assert main(["verify", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("qpolicy verify: error:") and message in err, (argv, err)


def test_tetra_see_saw_strategy_three_answers():
    """A 3-answer game: the see-saw's qutrit strategy is certified non-local and quantum."""
    from qpolicy.bounds import seesaw_lower_bound
    game = games.tetra()
    found = seesaw_lower_bound(game, dim=3, restarts=1, seed=0)
    strategy = (found.strategy["state"], found.strategy["povms"])
    p = qp.born(*strategy)
    report = verify(p, game=game, level="1+AB", strategy=strategy)
    assert report.classification == "quantum" and report.in_npa
    assert report.value == pytest.approx(found.value, abs=1e-12)
    assert report.classical_value == 0.625 and report.value > 0.64
    assert report.npa_bound == pytest.approx(0.64506, abs=1e-5)
    assert report.certificate.violation == pytest.approx(report.local_distance, abs=1e-6)
    assert report.certificate.evaluate(p) == pytest.approx(report.certificate.value, abs=1e-9)
    assert 0.99 < report.normalized_advantage < 1.01

"""`qpolicy train`: trains, saves a loadable policy, resumes, and rejects bad input clearly."""
import numpy as np
import pytest

from qpolicy import games
from qpolicy.cli import main
from qpolicy.learn import reinforce


def test_train_saves_a_policy_and_resumes(tmp_path, capsys):
    out = tmp_path / "chsh.npz"
    common = ["train", "chsh", "--seeds", "2", "--batch", "128", "--out", str(out), "--quiet"]
    assert main(common + ["--steps", "60"]) == 0
    text = capsys.readouterr().out
    assert "classical value 0.750000" in text and "runs beyond it" in text
    first = reinforce.load_run(out)
    assert first.history.shape == (60, 2) and first.best_tables.shape == (2, 2, 2, 2, 2)
    assert main(common + ["--steps", "120", "--resume"]) == 0
    resumed = reinforce.load_run(out)
    np.testing.assert_array_equal(resumed.history[:60], first.history)
    assert resumed.history.shape == (120, 2)
    straight = reinforce.train(games.chsh(), seeds=2, steps=120, batch=128, progress=False)
    np.testing.assert_array_equal(resumed.history, straight.history)
    for s in range(2):
        assert games.chsh().value(resumed.best_tables[s]) == pytest.approx(resumed.best_values[s])


def test_train_accepts_a_saved_game_and_the_classical_classes(tmp_path, capsys):
    game_file = tmp_path / "tetra-game.npz"
    games.tetra().save(game_file)
    out = tmp_path / "t.npz"
    assert main(["train", str(game_file), "--class", "factorized", "--seeds", "2", "--steps",
                 "20", "--batch", "32", "--out", str(out), "--quiet"]) == 0
    assert "0 of 2 runs beyond it" in capsys.readouterr().out
    assert reinforce.load_run(out).hyperparameters.policy == "factorized"


@pytest.mark.parametrize("argv, message", [
    (["train", "nosuchgame"], "game must be one of"),
    (["train", "chsh", "--seeds", "0", "--steps", "1"], "seeds must be at least 1"),
    (["train", "chsh", "--entropy", "-1", "--steps", "1"], "entropy"),
    (["train", "chsh", "--steps", "1", "--resume", "--out", "/nonexistent/x.npz"], "no checkpoint"),
])
def test_bad_input_gives_a_clear_error(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_unknown_class_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["train", "chsh", "--class", "quantum"])
    assert "invalid choice" in capsys.readouterr().err

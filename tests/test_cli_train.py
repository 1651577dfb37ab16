"""`qpolicy train`: trains, saves a loadable policy, resumes, and rejects bad input clearly."""
import pickle

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
    (["train", "nosuchgame"], "unknown game"),
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


# --- failing early and clearly; resume settings; rendezvous; plain progress lines in logs ------

def no_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("training started before the input was checked")
    monkeypatch.setattr(reinforce, "train", fail)


@pytest.mark.parametrize("write, message", [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.write_bytes(b"PK\x03\x04 truncated zip"), "not a game saved by NonlocalGame"),
    (lambda p: p.write_bytes(b"just text"), "not a game saved by NonlocalGame"),
    (lambda p: p.write_bytes(pickle.dumps({"predicate": 1})), "not a game saved by NonlocalGame"),
    (lambda p: np.savez(p, table=np.zeros(3)), "not a valid saved game"),
])
def test_a_bad_game_file_gives_one_clear_error(tmp_path, capsys, monkeypatch, write, message):
    no_training(monkeypatch)
    game_file = tmp_path / "game.npz"
    write(game_file)
    assert main(["train", str(game_file), "--out", str(tmp_path / "o.npz"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "allow_pickle" not in err
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize("out, message", [
    ("run.txt", "--out must end with .npz"),
    ("afile/run.npz", "cannot be written"),
    (".", "--out must end with .npz"),
])
def test_a_bad_out_fails_before_any_training(tmp_path, capsys, monkeypatch, out, message):
    no_training(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a file, not a folder")
    assert main(["train", "chsh", "--out", out, "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_an_existing_out_is_not_overwritten_without_overwrite(tmp_path, capsys):
    out = tmp_path / "chsh.npz"
    common = ["train", "chsh", "--seeds", "1", "--batch", "16", "--out", str(out), "--quiet"]
    assert main(common + ["--steps", "5"]) == 0
    before = out.read_bytes()
    assert main(common + ["--steps", "5", "--seed", "1"]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == before
    assert main(common + ["--steps", "5", "--seed", "1", "--overwrite"]) == 0
    assert reinforce.load_run(out).hyperparameters.seed == 1


def test_resume_of_a_garbage_checkpoint_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "chsh.npz"
    out.write_bytes(b"garbage")
    assert main(["train", "chsh", "--out", str(out), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "not a readable checkpoint" in err and "allow_pickle" not in err


def test_resume_takes_its_settings_from_the_checkpoint_unless_given(tmp_path, capsys):
    """`qpolicy train chsh --steps 40 --out x.npz --resume` used to fail with "hyperparameters
    differ: seeds (2, 30)" for a run trained with --seeds 2."""
    out = tmp_path / "chsh.npz"
    assert main(["train", "chsh", "--seeds", "2", "--batch", "32", "--lr", "0.05", "--steps",
                 "20", "--out", str(out), "--quiet"]) == 0
    assert main(["train", "chsh", "--steps", "40", "--out", str(out), "--resume", "--quiet"]) == 0
    resumed = reinforce.load_run(out)
    assert resumed.history.shape == (40, 2) and resumed.hyperparameters.lr == 0.05
    straight = reinforce.train(games.chsh(), seeds=2, batch=32, lr=0.05, steps=40, progress=False)
    np.testing.assert_array_equal(resumed.history, straight.history)
    assert main(["train", "chsh", "--steps", "60", "--seeds", "3", "--out", str(out),
                 "--resume", "--quiet"]) == 2
    assert "seeds" in capsys.readouterr().err          # an explicit option must agree


def test_train_accepts_rendezvous_with_edges(tmp_path, capsys):
    out = tmp_path / "triangle.npz"
    assert main(["train", "rendezvous", "--edges", "0-1,1-2,2-0", "--class", "shared", "--seeds",
                 "1", "--steps", "3", "--batch", "8", "--out", str(out), "--quiet"]) == 0
    assert reinforce.load_run(out).game == games.rendezvous([(0, 1), (1, 2), (2, 0)]).name
    assert main(["train", "chsh", "--edges", "0-1", "--out", str(tmp_path / "x.npz")]) == 2
    assert "rendezvous" in capsys.readouterr().err


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(tmp_path, capsys):
    """A log file gets whole lines, not a line redrawn with carriage returns."""
    assert main(["train", "chsh", "--seeds", "1", "--steps", "5", "--batch", "8", "--out",
                 str(tmp_path / "c.npz")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "step 5/5" in err and err.endswith("\n")

"""Atomic checkpoints: round trip bit for bit, atomic replace, clear errors."""
import os
import pickle
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qpolicy.learn import Adam, load_checkpoint, save_checkpoint


def test_round_trip_is_exact_for_nested_state(tmp_path):
    rng = np.random.default_rng(0)
    params = {"x": rng.normal(size=(3, 2)), "z": rng.normal(size=4) + 1j * rng.normal(size=4)}
    opt = Adam()
    state = opt.init({"x": params["x"]})
    path = tmp_path / "ck.npz"
    save_checkpoint(path, params=params, opt=state, step=7, name="chsh", alpha=0.2, done=False,
                    rng_state=np.arange(5, dtype=np.uint64))
    ck = load_checkpoint(path)
    assert ck["step"] == 7 and ck["name"] == "chsh" and ck["alpha"] == 0.2 and ck["done"] is False
    assert np.array_equal(ck["params"]["x"], params["x"]) and ck["params"]["z"].dtype == complex
    assert np.array_equal(ck["params"]["z"], params["z"])
    assert ck["opt"]["t"] == 0 and np.array_equal(ck["opt"]["m"]["x"], np.zeros((3, 2)))
    assert ck["rng_state"].dtype == np.uint64
    # The restored Adam state steps on exactly like the original.
    g = {"x": np.ones((3, 2))}
    a, _ = opt.step({"x": params["x"]}, g, state)
    b, _ = opt.step({"x": ck["params"]["x"]}, g, ck["opt"])
    assert np.array_equal(a["x"], b["x"])


def test_overwrite_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "ck.npz"
    save_checkpoint(path, step=1)
    save_checkpoint(path, step=2)
    assert load_checkpoint(path)["step"] == 2
    assert os.listdir(tmp_path / "sub") == ["ck.npz"]


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, step=1)
    with pytest.raises(TypeError, match="bad"):
        save_checkpoint(path, step=2, bad=object())
    assert load_checkpoint(path)["step"] == 1
    assert os.listdir(tmp_path) == ["ck.npz"]


def test_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(junk)
    with pytest.raises(ValueError, match=".npz"):
        save_checkpoint(tmp_path / "ck.dat", step=1)
    with pytest.raises(ValueError, match="without '/'"):
        save_checkpoint(tmp_path / "ck.npz", **{"a/b": 1})
    with pytest.raises(ValueError, match="empty dict"):
        save_checkpoint(tmp_path / "ck.npz", opt={})
    with pytest.raises(TypeError, match="x"):
        save_checkpoint(tmp_path / "ck.npz", x=None)


# --- permissions, temporaries of killed writers, faithful storage, unreadable files -------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_checkpoint_gets_the_permissions_the_umask_gives(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        save_checkpoint(tmp_path / "run.npz", x=np.zeros(2))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "run.npz").st_mode) == mode


def test_a_killed_writers_temporary_is_removed_by_the_next_save(tmp_path):
    """A kill -9 mid-save leaves ``run.npz.tmp-<pid>-<hex>``; the next save removes it when that
    process is gone, and leaves a running process's temporary alone."""
    path = tmp_path / "run.npz"
    code = ("import os, sys, numpy as np; sys.path.insert(0, sys.argv[2]); "
            "from qpolicy.learn import checkpoint as c; "
            "np.savez = lambda *a, **k: os.kill(os.getpid(), 9); "          # die mid-write
            "c.save_checkpoint(sys.argv[1], x=np.zeros(3))")
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-c", code, str(path), root])
    assert proc.returncode == -signal.SIGKILL
    orphans = [p for p in os.listdir(tmp_path) if p.startswith("run.npz.tmp-")]
    assert len(orphans) == 1
    live = tmp_path / f"run.npz.tmp-{os.getppid()}-0000"         # the test runner's parent
    live.write_bytes(b"in progress")
    save_checkpoint(path, x=np.ones(2))
    assert sorted(os.listdir(tmp_path)) == sorted(["run.npz", live.name])
    np.testing.assert_array_equal(load_checkpoint(path)["x"], np.ones(2))


def test_a_mixed_list_is_refused_rather_than_stored_as_strings(tmp_path):
    with pytest.raises(TypeError, match="'labels' mixes strings"):
        save_checkpoint(tmp_path / "run.npz", labels=[1, "a", 2.5])
    with pytest.raises(TypeError, match="nested/labels"):
        save_checkpoint(tmp_path / "run.npz", nested={"labels": [["x", 3]]})
    assert not os.listdir(tmp_path)


def test_lists_of_one_kind_round_trip_faithfully(tmp_path):
    save_checkpoint(tmp_path / "run.npz", names=["chsh", "ghz"], ints=[1, 2], floats=[0.5, 2.0])
    ck = load_checkpoint(tmp_path / "run.npz")
    assert ck["names"].tolist() == ["chsh", "ghz"]
    assert ck["ints"].dtype.kind == "i" and ck["floats"].tolist() == [0.5, 2.0]


@pytest.mark.parametrize("write", [
    lambda p: p.write_bytes(b""),
    lambda p: p.write_bytes(b"PK\x03\x04 garbage"),
    lambda p: p.write_bytes(pickle.dumps({"x": 1})),
    lambda p: np.save(open(p, "wb"), np.zeros(3)),
    lambda p: np.savez(p, x=np.array([{"a": 1}], dtype=object)),
    lambda p: np.savez(p),
])
def test_unreadable_files_give_one_clear_error_without_numpy_advice(tmp_path, write):
    path = tmp_path / "bad.npz"
    write(path)
    with pytest.raises(ValueError, match="not a readable checkpoint") as info:
        load_checkpoint(path)
    assert "allow_pickle" not in str(info.value)


def test_loading_removes_dead_writers_temporaries_and_stale_ones_of_earlier_versions(tmp_path):
    path = tmp_path / "run.npz"
    save_checkpoint(path, x=np.zeros(2))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / f"run.npz.tmp-{dead}-00ff").write_bytes(b"partial")
    stale, fresh = tmp_path / "run.npz.ab12cd34.tmp", tmp_path / "run.npz.zz99yy88.tmp"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")               # possibly an old-version writer still running
    os.utime(stale, (0, 0))
    other = tmp_path / "other.npz.tmp-1-00ff"   # another checkpoint's temporaries: not ours
    other.write_bytes(b"x")
    load_checkpoint(path)
    assert sorted(os.listdir(tmp_path)) == sorted(["run.npz", fresh.name, other.name])

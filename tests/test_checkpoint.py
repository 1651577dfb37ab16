"""Atomic checkpoints: round trip bit for bit, atomic replace, clear errors."""
import os

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

"""reinforce.train takes NumPy scalars, a seed or a Generator (reproducibly), refuses negative
seeds and histories that cannot fit — each error naming the argument."""
import numpy as np
import pytest

from qpolicy import games
from qpolicy.learn import reinforce

SMALL = dict(seeds=2, steps=3, batch=16, progress=False)


def test_numpy_scalars_are_accepted_and_stored_as_python_numbers(tmp_path):
    run = reinforce.train(games.chsh(), entropy=np.float32(0.25), lr=np.float64(0.03),
                          seeds=np.int64(2), steps=3, batch=16, progress=False,
                          checkpoint=tmp_path / "run.npz")
    hp = run.hyperparameters
    assert type(hp.entropy) is float and hp.entropy == 0.25 and type(hp.seeds) is int


def test_a_generator_seed_is_accepted_reproducibly_through_the_integer_it_yields():
    a = reinforce.train(games.chsh(), seed=np.random.default_rng(11), **SMALL)
    b = reinforce.train(games.chsh(), seed=np.random.default_rng(11), **SMALL)
    assert isinstance(a.hyperparameters.seed, int)
    np.testing.assert_array_equal(a.history, b.history)
    again = reinforce.train(games.chsh(), seed=a.hyperparameters.seed, **SMALL)   # stored seed
    np.testing.assert_array_equal(a.history, again.history)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2 ** 64, ValueError), (1.0, TypeError),
                                         ("0", TypeError), (True, TypeError), (None, TypeError)])
def test_bad_seeds_are_refused_naming_seed(seed, error):
    with pytest.raises(error, match="seed"):
        reinforce.train(games.chsh(), seed=seed, **SMALL)


def test_a_history_too_large_to_allocate_is_refused_with_its_size():
    with pytest.raises(ValueError, match=r"steps is too large.*GiB"):
        reinforce.train(games.chsh(), seeds=30, steps=10 ** 9, progress=False)


def test_a_per_step_batch_too_large_is_refused_with_its_size():
    with pytest.raises(ValueError, match=r"batch is too large"):
        reinforce.train(games.chsh(), seeds=30, steps=1, batch=10 ** 9, progress=False)


@pytest.mark.parametrize("field, value, error", [
    ("entropy", -0.1, ValueError), ("entropy", float("nan"), ValueError),
    ("entropy", "0.2", TypeError), ("baseline", 1, TypeError), ("lr", float("inf"), ValueError),
])
def test_bad_hyperparameters_are_refused_naming_them(field, value, error):
    with pytest.raises(error, match=field):
        reinforce.train(games.chsh(), **{**SMALL, field: value})


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(checkpoint="run.txt"), ValueError, "checkpoint"),
    (dict(resume="no", checkpoint="run.npz"), TypeError, "resume"),
    (dict(progress=1), TypeError, "progress"),
])
def test_train_options_are_checked_before_any_work(kwargs, error, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=name):
        reinforce.train(games.chsh(), **{**SMALL, **kwargs})
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("kwargs, name", [
    (dict(dim=10 ** 5), "dim"), (dict(dim=2 ** 70), "dim"),
    (dict(policy="shared", shared_values=10 ** 9), "shared_values"),
    (dict(policy="shared", seeds=10 ** 8), "seeds"),
])
def test_strategies_too_large_to_allocate_are_refused_with_their_size(kwargs, name):
    with pytest.raises(ValueError, match=rf"{name}.* is too large.*GiB"):
        reinforce.train(games.chsh(), **{**SMALL, "steps": 1, **kwargs})

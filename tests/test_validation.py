"""Input validation helpers (qpolicy.validation): every rejection names the argument."""
import numpy as np
import pytest
from autograd import grad
import autograd.numpy as anp

from qpolicy.validation import (
    as_array, as_generator, as_square_matrices, check_hermitian, check_int, check_positive,
    check_probabilities,
)


@pytest.mark.parametrize("bad, error, fragment", [
    ("abc", TypeError, "array of numbers, got str"),
    (None, TypeError, "array of numbers, got NoneType"),
    ([1, "a"], TypeError, "array of numbers"),
    ([[1, 2], [3]], TypeError, "array of numbers"),
    (np.array([True]), TypeError, "dtype bool"),
    (np.array([1.0, np.nan]), ValueError, "NaN"),
    (np.array([np.inf]), ValueError, "infinite"),
])
def test_as_array_rejects(bad, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        as_array(bad, "x")
    assert str(info.value).startswith("x ")


def test_as_array_converts_and_checks_shape():
    assert as_array([1, 2], "x").dtype == np.float64
    assert as_array([1j], "x").dtype == np.complex128
    with pytest.raises(TypeError, match="x must be real"):
        as_array([1j], "x", complex_ok=False)
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        as_array([1.0], "x", ndim=2)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        as_array(np.zeros((2, 2)), "x", min_ndim=3)


def test_as_array_passes_traced_values_through():
    def f(x):
        assert as_array(x, "x", allow_traced=True) is x
        return anp.sum(x ** 2)
    np.testing.assert_allclose(grad(f)(np.array([1.0, 2.0])), [2.0, 4.0])


def test_as_square_matrices():
    assert as_square_matrices(np.zeros((3, 2, 2)), "M").shape == (3, 2, 2)
    with pytest.raises(ValueError, match="M must be square"):
        as_square_matrices(np.zeros((2, 3)), "M")


def test_check_hermitian():
    check_hermitian(np.array([[1.0, 1j], [-1j, 2.0]]), "H")
    with pytest.raises(ValueError, match="H must be Hermitian"):
        check_hermitian(np.array([[1.0, 1j], [1j, 2.0]]), "H")


def test_check_probabilities():
    np.testing.assert_array_equal(check_probabilities([0.25, 0.75], "q"), [0.25, 0.75])
    with pytest.raises(ValueError, match="q must sum to 1 along axis -1, a sum is off by 0.07"):
        check_probabilities([0.5, 0.43], "q")
    with pytest.raises(ValueError, match="q must be non-negative"):
        check_probabilities([1.5, -0.5], "q")
    with pytest.raises(ValueError, match="q must not be empty"):
        check_probabilities([], "q")
    check_probabilities(np.array([[0.5, 1.0], [0.5, 0.0]]), "pi", axis=0)


def test_check_int_and_positive():
    assert check_int(np.int64(3), "k", minimum=1) == 3
    for bad, error in [(True, TypeError), (2.0, TypeError), (0, ValueError)]:
        with pytest.raises(error, match="^k "):
            check_int(bad, "k", minimum=1)
    assert check_positive(0.5, "lr") == 0.5
    for bad, error in [(0.0, ValueError), (-1, ValueError), (np.inf, ValueError), ("1", TypeError),
                       (False, TypeError)]:
        with pytest.raises(error, match="^lr "):
            check_positive(bad, "lr")


def test_as_generator():
    rng = np.random.default_rng(0)
    assert as_generator(rng) is rng
    assert as_generator(5).random() == np.random.default_rng(5).random()
    for bad in [None, 1.5, True, np.random.RandomState(0)]:
        with pytest.raises(TypeError, match="seed must be a numpy.random.Generator"):
            as_generator(bad, "seed")

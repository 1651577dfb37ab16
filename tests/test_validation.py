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


# --- the scalar / flag / seed / size layer (issue 12) -------------------------------------------

from qpolicy.validation import (  # noqa: E402
    MAX_ARRAY_ELEMENTS, check_bool, check_choice, check_finite_real, check_real_scalar,
    check_seed, check_size, check_tolerance,
)


def test_check_real_scalar_accepts_numpy_widths_and_checks_the_interval():
    assert check_real_scalar(np.float32(0.25), "entropy", 0) == 0.25
    assert check_real_scalar(np.int8(3), "x") == 3.0
    assert check_real_scalar(0.95, "confidence", 0, 1, lo_open=True, hi_open=True) == 0.95
    assert check_real_scalar(np.inf, "x", 0) == np.inf
    for bad, kwargs, error, fragment in [
        (np.nan, {}, ValueError, "x must be a number, got NaN"),
        ("0.5", {}, TypeError, "x must be a real number, got str"),
        (True, {}, TypeError, "got bool"),
        (np.array([0.5]), {}, TypeError, "got ndarray"),
        (1.5, dict(lo=0, hi=1, lo_open=True, hi_open=True), ValueError, r"x must be in \(0, 1\)"),
        (1.0, dict(lo=0, hi=1, hi_open=True), ValueError, r"x must be in \[0, 1\)"),
        (-1.0, dict(lo=0), ValueError, "x must be >= 0, got -1"),
        (0.0, dict(lo=0, lo_open=True), ValueError, "x must be > 0"),
        (2.0, dict(hi=1), ValueError, "x must be <= 1"),
    ]:
        with pytest.raises(error, match=fragment):
            check_real_scalar(bad, "x", **kwargs)


def test_check_finite_real_and_tolerance():
    assert check_finite_real(-2, "c") == -2.0
    with pytest.raises(ValueError, match="c must be finite"):
        check_finite_real(-np.inf, "c")
    assert check_tolerance(0) == 0.0
    for bad in [np.nan, -1e-12, np.inf]:
        with pytest.raises(ValueError, match="^atol "):
            check_tolerance(bad)


def test_check_bool_takes_only_booleans():
    assert check_bool(np.bool_(True), "flag") is True
    for bad in ["no", 0, 1, None, 1.0]:
        with pytest.raises(TypeError, match="flag must be True or False"):
            check_bool(bad, "flag")


def test_check_seed_and_generators():
    assert check_seed(np.uint64(2 ** 63)) == 2 ** 63
    rng = np.random.default_rng(0)
    assert check_seed(rng, allow_generator=True) is rng
    with pytest.raises(TypeError, match="seed must be an integer, got Generator"):
        check_seed(rng)
    for bad in [-1, 2 ** 64]:
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            check_seed(bad)
        with pytest.raises(ValueError, match="^seed "):          # was numpy's own error
            as_generator(bad, "seed")
    with pytest.raises(TypeError, match="seed must be an integer"):
        check_seed(None)


def test_check_choice_and_int_maximum():
    assert check_choice("shared", "kind", ("shared", "entangled")) == "shared"
    for bad in ["Shared", 1, None]:
        with pytest.raises(ValueError, match="kind must be one of 'shared', 'entangled'"):
            check_choice(bad, "kind", ("shared", "entangled"))
    assert check_int(3, "k", minimum=1, maximum=3) == 3
    with pytest.raises(ValueError, match="k must be at most 3, got 4"):
        check_int(4, "k", maximum=3)
    with pytest.raises(TypeError, match="k must be an integer"):
        check_int(np.bool_(True), "k")


def test_check_size_refuses_with_the_size():
    assert check_size(MAX_ARRAY_ELEMENTS, "n") == MAX_ARRAY_ELEMENTS
    with pytest.raises(ValueError, match=r"d is too large: the state would have 1e\+10 entries "
                                         r"\(149 GiB\)"):
        check_size(10 ** 10, "d", "state")


def test_as_array_converts_other_precisions_to_double():
    for dtype in [np.float16, np.float32, np.longdouble]:
        assert as_array(np.ones(2, dtype=dtype), "x").dtype == np.float64
    assert as_array(np.ones(2, dtype=np.clongdouble), "x").dtype == np.complex128
    if np.finfo(np.longdouble).max > np.finfo(np.float64).max:        # x86 80-bit long double
        huge = np.array([np.longdouble(10) ** 400])
        with pytest.raises(ValueError, match="beyond the double-precision range"):
            as_array(huge, "x")
    for bad in [np.array(["1"]), np.array([1, None], dtype=object)]:
        with pytest.raises(TypeError, match="^x must be an array of numbers"):
            as_array(bad, "x")


def test_check_nonempty_names_the_argument():
    from qpolicy.validation import check_nonempty
    assert check_nonempty(np.zeros((2, 1)), "M").shape == (2, 1)
    with pytest.raises(ValueError, match=r"^M must not have an empty axis, got shape \(2, 0\)"):
        check_nonempty(np.zeros((2, 0)), "M")

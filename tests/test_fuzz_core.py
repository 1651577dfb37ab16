"""Property-based fuzzing of the public surface of linalg, quantum, policies, games, validation.

Every call gets arbitrary arguments — random shapes (empty axes included), dtypes (half to long
double, complex, int, bool, object, str), NaN/inf, extreme scales (1e±300), non-arrays and
wrong types — and the outcome must be one of:

* a correct answer, checked against the function's own contract by an independent check
  (a POVM, a density matrix, a conditional table, a finite Hermitian matrix function, ...);
* a ``ValueError``/``TypeError`` whose message names the offending argument.

Anything else (NumPy/LAPACK errors, StopIteration, NaN in an answer, a silently accepted NaN
tolerance) fails.  The example budget is fixed by the derandomized hypothesis profile in
``conftest.py`` (40 examples per test by default), so the suite checks the same inputs on every run.
"""
import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

import qpolicy as qp
from qpolicy import games, linalg, policies, validation

TOL = 1e-8        # tolerance of the independent output checks

# -- arbitrary arguments ----------------------------------------------------------------------

SCALES = [0.0, 1e-300, 1e-200, 1e-8, 1.0, 30.0, 1e8, 1e200, 1e300]
DTYPES = [np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128,
          np.int64, np.uint8, bool]


@st.composite
def numeric_arrays(draw, min_dims=0, max_dims=4, square=False):
    """An ndarray of any numeric dtype with entries of any scale, sometimes NaN or inf."""
    ndim = draw(st.integers(min_dims, max_dims))
    if square and ndim >= 2:
        d = draw(st.integers(0, 3))
        shape = tuple(draw(st.integers(0, 3)) for _ in range(ndim - 2)) + (d, d)
    else:
        shape = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from(SCALES))
    values = rng.normal(size=shape) * scale
    dtype = draw(st.sampled_from(DTYPES))
    if np.issubdtype(dtype, np.complexfloating):
        values = values + 1j * rng.normal(size=shape) * scale
    special = draw(st.sampled_from([None, None, None, np.nan, np.inf, -np.inf]))
    if special is not None and values.size:
        values = values.astype(complex if np.iscomplexobj(values) else float)
        values.flat[int(rng.integers(values.size))] = special
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(dtype)


def junk():
    """Values that are not arrays of numbers."""
    return st.sampled_from([None, "abc", "1.0", b"x", {"a": 1}, [1, "a"], [[1, 2], [3]],
                            np.array(["1"]), np.array([1, None], dtype=object), object()])


def anything(**kwargs):
    return st.one_of(numeric_arrays(**kwargs), numeric_arrays(**kwargs), junk())


def integers_and_junk():
    return st.one_of(st.integers(-3, 6), st.sampled_from([10 ** 5, 2 ** 40, 10 ** 12, True, 2.0, "3",
                                                          None, np.int8(2), np.float64(2)]))


def tolerances():
    return st.one_of(st.sampled_from([0.0, 1e-12, 1e-8, 1e-3, 1.0, np.float32(1e-6)]),
                     st.sampled_from([np.nan, -1.0, np.inf, "1e-8", None, True]))


def call(function, *args, names, **kwargs):
    """Run ``function``; return its result, or ``None`` after checking that a ValueError or
    TypeError names one of ``names``.  Any other exception propagates (fails the test)."""
    try:
        with np.errstate(over="raise", invalid="raise"):    # silent overflow/NaN fails too
            return function(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(re.search(rf"(^|\W){re.escape(n)}(\W|$)", message) for n in names), (
            f"{function.__name__}: error does not name any of {names}: {message!r}")
        return None


def is_finite_hermitian(A, tol=TOL):
    A = np.asarray(A)
    scale = max(1.0, float(np.max(np.abs(A), initial=0.0)))
    return np.all(np.isfinite(A)) and np.max(np.abs(A - np.conj(np.swapaxes(A, -1, -2))),
                                             initial=0.0) <= tol * scale


# -- quantum ------------------------------------------------------------------------------------

@given(anything(min_dims=2, square=True))
def test_quantum_softmax_fuzz(Z):
    P = call(qp.quantum_softmax, Z, names=["Z"])
    if P is not None:
        assert P.shape == Z.shape and P.dtype in (np.float64, np.complex128)
        for M in P.reshape((-1,) + P.shape[-3:]):
            qp.check_povm(M, atol=1e-9)


@given(anything(min_dims=2, square=True))
def test_conditioning_penalty_fuzz(Z):
    value = call(qp.conditioning_penalty, Z, names=["Z"])
    if value is not None:
        assert np.all(np.isfinite(value)) and np.all(value >= 0)


@given(anything(min_dims=1, max_dims=3, square=True))
def test_density_matrix_fuzz(B):
    rho = call(qp.density_matrix, B, names=["B"])
    if rho is not None:
        for r in np.reshape(rho, (-1,) + rho.shape[-2:]):
            qp.check_density_matrix(r, atol=1e-9)


@given(anything(min_dims=1, square=True), tolerances())
def test_povm_and_density_checks_fuzz(M, atol):
    """check_* either returns its input validated or names the argument; is_* agrees with it,
    and a bad tolerance is an error, never a silent True/False."""
    for check, predicate, name in [(qp.check_povm, qp.is_povm, "M"),
                                   (qp.check_density_matrix, qp.is_density_matrix, "rho")]:
        result = call(check, M, atol, names=[name, "atol"])
        verdict = call(predicate, M, atol, names=["atol"])
        if isinstance(atol, float) and np.isfinite(atol) and atol >= 0:
            assert verdict is (result is not None)
        elif not isinstance(atol, (float, np.floating)) or not (np.isfinite(atol) and atol >= 0):
            assert verdict is None and result is None


@given(integers_and_junk())
def test_state_constructors_fuzz(k):
    for function, name in [(qp.maximally_entangled, "d"), (qp.ghz_state, "n")]:
        rho = call(function, k, names=[name])
        if rho is not None:
            qp.check_density_matrix(rho, atol=1e-12)
            assert np.isclose(np.trace(rho @ rho).real, 1.0)           # pure
    rho = call(qp.quantum.default_entangled_state, k, 2, names=["n_parties", "n"])
    if rho is not None:
        qp.check_density_matrix(rho, atol=1e-12)


@given(anything(min_dims=2, max_dims=2, square=True),
       st.one_of(st.lists(st.integers(-1, 3), max_size=3), junk()),
       st.one_of(st.integers(-1, 3), st.lists(st.integers(-1, 3), max_size=3), junk()))
def test_partial_trace_fuzz(rho, dims, trace_out):
    reduced = call(qp.partial_trace, rho, dims, trace_out, names=["rho", "dims", "trace_out"])
    if reduced is not None:
        assert np.isclose(np.trace(reduced), np.trace(rho.astype(complex)),
                          rtol=1e-9, atol=1e-9 * np.max(np.abs(rho), initial=1.0))


@st.composite
def born_arguments(draw):
    """A valid (state, POVMs) pair, then maybe one argument swapped for an arbitrary value."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n = draw(st.integers(1, 3))
    dims = [draw(st.integers(1, 2)) for _ in range(n)]
    D = int(np.prod(dims))
    rho = qp.density_matrix(rng.normal(size=(D, D)) + 1j * rng.normal(size=(D, D)))
    povms = [qp.quantum_softmax(rng.normal(size=(draw(st.integers(1, 2)), draw(st.integers(1, 3)),
                                                 d, d)) * draw(st.sampled_from([1.0, 50.0])))
             for d in dims]
    which = draw(st.sampled_from(["none", "rho", "povm", "list"]))
    if which == "rho":
        rho = draw(anything(min_dims=2, max_dims=2, square=True))
    elif which == "povm":
        povms[0] = draw(anything(min_dims=3, max_dims=5))
    elif which == "list":
        povms = draw(st.sampled_from([[], np.zeros((1, 1, 1, 1)), None, "M", povms * 5]))
    return rho, povms


@given(born_arguments(), tolerances())
def test_born_fuzz(arguments, atol):
    rho, povms = arguments
    table = call(qp.born, rho, povms, atol=atol,
                 names=["rho", "povms", "atol"] + [f"povms[{k}]" for k in range(15)]
                 + ["local dimensions of povms"])
    if table is not None:
        policies.check_policy_table(table, atol=1e-6 + 10 * float(atol))


# -- linalg -------------------------------------------------------------------------------------

@given(anything(min_dims=2, max_dims=3, square=True))
def test_matrix_functions_fuzz(H):
    for function in (linalg.expmh, linalg.sqrtmh, linalg.inv_sqrtmh, linalg.logmh):
        F = call(function, H, names=["H"])
        if F is not None:
            assert is_finite_hermitian(F, tol=1e-6)


# -- policies and games -------------------------------------------------------------------------

@given(anything(min_dims=0, max_dims=6), tolerances())
def test_policy_table_checks_fuzz(p, atol):
    table = call(policies.check_policy_table, p, atol=atol, names=["p", "atol"])
    if table is not None:
        n = table.ndim // 2
        assert np.all(table >= -float(atol))
        np.testing.assert_allclose(table.sum(axis=tuple(range(n))), 1.0, atol=float(atol) + 1e-12)
    verdict = call(policies.is_nonsignaling, p, atol=atol, names=["p", "atol"])
    if verdict is not None:
        assert table is not None and isinstance(verdict, (bool, np.bool_))


@given(st.lists(anything(min_dims=1, max_dims=3), min_size=1, max_size=3), st.integers(0, 3))
def test_policy_classes_fuzz(tables, seed):
    policy = call(policies.FactorizedPolicy, tables,
                  names=["local_tables"] + [f"local_tables[{i}]" for i in range(3)])
    if policy is not None:
        table = policies.check_policy_table(policy.table(), atol=1e-9)
        n = policy.n_players
        questions = np.zeros((5, n), dtype=np.int64)
        answers = policy.sample(questions, np.random.default_rng(seed))
        assert np.all(np.exp(policy.log_prob(answers, questions)) > 0)
        assert table.shape == policy.n_answers + policy.n_questions


@given(anything(min_dims=0, max_dims=4), anything(min_dims=0, max_dims=2),
       st.one_of(st.none(), st.text(max_size=3), st.integers()))
def test_nonlocal_game_fuzz(predicate, question_dist, name):
    game = call(games.NonlocalGame, predicate, question_dist, name=name,
                names=["predicate", "question_dist", "name"])
    if game is not None:
        n = game.n_players
        uniform = np.full(game.shape, 1.0 / np.prod(game.n_answers))
        value = game.value(uniform)
        brute = np.sum(game.question_dist * game.predicate.mean(axis=tuple(range(n))))
        assert np.isfinite(value) and np.isclose(value, brute, rtol=1e-9,
                                                 atol=1e-12 * np.abs(game.predicate).max())


@given(st.one_of(st.lists(st.tuples(st.integers(-1, 6), st.integers(-1, 6)), max_size=6),
                 st.lists(st.tuples(st.integers(0, 2 ** 70), st.integers(0, 3)), min_size=1,
                          max_size=2),
                 junk()),
       integers_and_junk(), st.one_of(st.integers(-2, 3), junk()))
def test_rendezvous_and_referee_fuzz(edges, n, seed):
    game = call(games.rendezvous, edges, names=["edges"])
    if game is None:
        return
    assert game.n_players == 2 and np.isclose(game.question_dist.sum(), 1.0)
    referee = call(game.referee, seed, names=["seed"])
    if referee is None:
        return
    questions = call(referee.ask, n, names=["n"])
    if questions is not None:
        assert questions.shape == (n, 2) and np.all((0 <= questions) & (questions < game.n_questions[0]))
        payoff = referee.score(questions, np.zeros_like(questions))
        assert np.all((payoff == 0) | (payoff == 1))


# -- validation ---------------------------------------------------------------------------------

@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10),
                 st.sampled_from([np.float32(0.5), np.float16(2), True, "0.5", None, [0.5]])),
       st.sampled_from([(None, None), (0, None), (0, 1), (None, 1)]), st.booleans(), st.booleans())
def test_real_scalar_validator_fuzz(x, bounds, lo_open, hi_open):
    lo, hi = bounds
    value = call(validation.check_real_scalar, x, "x", lo, hi, lo_open=lo_open, hi_open=hi_open,
                 names=["x"])
    if value is not None:
        assert isinstance(value, float) and not np.isnan(value)
        assert lo is None or (value > lo if lo_open else value >= lo)
        assert hi is None or (value < hi if hi_open else value <= hi)


@pytest.mark.parametrize("validator, good, bad", [
    (validation.check_tolerance, [0, 1e-8, np.float32(1)], [np.nan, -1, np.inf, "0", None]),
    (validation.check_bool, [True, np.bool_(False)], [1, 0, "yes", None]),
    (validation.check_seed, [0, 2 ** 64 - 1, np.uint32(5)], [-1, 2 ** 64, 1.0, None, "1"]),
])
def test_scalar_validators_accept_and_refuse(validator, good, bad):
    for x in good:
        validator(x, "arg")
    for x in bad:
        with pytest.raises((ValueError, TypeError), match="^arg "):
            validator(x, "arg")

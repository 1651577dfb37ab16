"""Issue 12 hardening of the core modules (quantum, policies, games): sizes are estimated before
memory is touched, tolerances are validated, einsum index supply and empty axes give clear
errors.  Each test failed on the code before the fix (MemoryError / StopIteration / NumPy's own
reduction error / a silently wrong True)."""
import numpy as np
import pytest

import qpolicy as qp
from qpolicy import games, policies
from qpolicy.validation import MAX_ARRAY_ELEMENTS

POVM = np.array([np.diag([1.0, 0.0]), np.diag([0.0, 1.0])])


# -- sizes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: qp.maximally_entangled(10 ** 5), "d"),
    (lambda: qp.ghz_state(40), "n"),
    (lambda: qp.ghz_state(2 ** 40), "n"),                  # 4**n is not even computed
    (lambda: qp.maximally_entangled(10 ** 100), "d"),      # d**4 beyond the float range
    (lambda: games.rendezvous([(0, 2 ** 63)]), "edges"),
    (lambda: games.chsh().referee(0).ask(10 ** 12), "n"),
    (lambda: policies.SharedRandomnessPolicy(np.full(64, 1 / 64), [np.full((64, 1, 1), 1.0)] * 6)
     .as_entangled(), "weights"),
])
def test_sizes_are_refused_before_allocating(call, name):
    with pytest.raises(ValueError, match=rf"^{name} is too large: .* would have .* entries"):
        call()


def test_sizes_at_the_limit_still_work():
    assert qp.maximally_entangled(int(MAX_ARRAY_ELEMENTS ** 0.25) // 8).shape == (256, 256)
    assert qp.ghz_state(10).shape == (1024, 1024)
    assert games.chsh().referee(0).ask(0).shape == (0, 2)


# -- tolerances ----------------------------------------------------------------------------------

@pytest.mark.parametrize("atol, error", [(np.nan, ValueError), (-1.0, ValueError),
                                         (np.inf, ValueError), ("1e-8", TypeError),
                                         (None, TypeError)])
@pytest.mark.parametrize("call", [
    lambda atol: qp.is_povm(2 * POVM, atol=atol),
    lambda atol: qp.check_povm(POVM, atol=atol),
    lambda atol: qp.is_density_matrix(np.eye(2) / 2, atol=atol),
    lambda atol: qp.check_density_matrix(np.eye(2) / 2, atol=atol),
    lambda atol: qp.born(qp.bell_state(), [POVM[None], POVM[None]], atol=atol),
    lambda atol: policies.check_policy_table(np.full((2, 2, 1, 1), 0.25), atol=atol),
    lambda atol: policies.is_nonsignaling(policies.pr_box(), atol=atol),
    lambda atol: policies.EntangledPolicy(qp.bell_state(), [POVM[None], POVM[None]], atol=atol),
], ids=["is_povm", "check_povm", "is_density_matrix", "check_density_matrix", "born",
        "check_policy_table", "is_nonsignaling", "EntangledPolicy"])
def test_tolerances_are_validated(call, atol, error):
    """atol=NaN made every ``gap > atol`` false: is_povm(2·POVM, atol=NaN) was True."""
    with pytest.raises(error, match="^atol must be"):
        call(atol)


def test_valid_tolerances_still_decide():
    assert not qp.is_povm(2 * POVM, atol=0.5) and qp.is_povm(2 * POVM, atol=1.0)
    assert qp.is_povm(POVM, atol=0) and qp.is_povm(POVM, atol=np.float32(1e-3))


# -- einsum index supply and subsystem counts ----------------------------------------------------

def test_partial_trace_supports_many_subsystems():
    """27 subsystems ran out of einsum letters (StopIteration); now up to 32 (NumPy's 64 axes)."""
    rng = np.random.default_rng(0)
    B = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    rho = qp.density_matrix(B)
    dims = (2, 1, 2) + (1,) * 26 + (2,)                 # 30 subsystems, three of them qubits
    kept = qp.partial_trace(rho, dims, [0] + list(range(3, 29)))        # keep subsystems 1, 2, 29
    # oracle: the three qubits are 0, 2 and 29; tracing qubit 0 of rho on C²⊗C²⊗C² by einsum
    expected = np.einsum("abcaef->bcef", rho.reshape(2, 2, 2, 2, 2, 2)).reshape(4, 4)
    np.testing.assert_allclose(kept, expected, atol=1e-15)
    with pytest.raises(ValueError, match="^dims: at most 32 subsystems"):
        qp.partial_trace(np.ones((1, 1)), (1,) * 33, 0)


@pytest.mark.parametrize("call, fragment", [
    (lambda: qp.born(np.ones((1, 1)), [np.ones((1, 1, 1, 1))] * 14), "^povms: at most 13 parties"),
    (lambda: policies.FactorizedPolicy([np.ones((1, 1))] * 27), "^local_tables: at most 26 players"),
    (lambda: policies.SharedRandomnessPolicy([1.0], [np.ones((1, 1, 1))] * 26),
     "^local_tables: at most 25 players"),
])
def test_einsum_index_supply_is_refused_clearly(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_many_trivial_players_within_the_supply():
    assert qp.born(np.ones((1, 1)), [np.ones((1, 1, 1, 1))] * 13).shape == (1,) * 26
    assert policies.FactorizedPolicy([np.ones((1, 1))] * 26).table().shape == (1,) * 52


# -- empty axes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call, fragment", [
    (lambda: qp.quantum_softmax(np.zeros((0, 2, 2))), "^Z must have at least one outcome"),
    (lambda: qp.conditioning_penalty(np.zeros((0, 2, 2))), "^Z must have at least one outcome"),
    (lambda: qp.check_povm(np.zeros((0, 2, 2, 2))), "^M must not have an empty axis"),
    (lambda: qp.check_density_matrix(np.zeros((0, 2, 2))), "^rho must not have an empty axis"),
    (lambda: qp.born(qp.bell_state(), [np.zeros((0, 2, 2, 2))] * 2),
     r"^povms\[0\] must not have an empty axis"),
])
def test_empty_axes_give_clear_errors(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_empty_batch_of_povms_is_an_empty_answer():
    assert qp.quantum_softmax(np.zeros((0, 3, 2, 2))).shape == (0, 3, 2, 2)

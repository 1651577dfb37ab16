"""MAPPO's entangled coordinator under a resource model (issue 15): a given (noisy) state, the
real measurement family and detection efficiency, checked against closed forms of the Born rule."""
import dataclasses
import json

import numpy as np
import pytest

import qpolicy as qp
from qpolicy.learn.checkpoint import load_checkpoint
from qpolicy.learn.mappo import Agent, MAPPOConfig, train
from qpolicy.quantum import detector_loss, quantum_softmax
from qpolicy.queueing import RoutingEnv
from qpolicy.resources import detection_povms, white_noise

SMALL = MAPPOConfig(updates=1, n_steps=2, hidden=(4,), epochs=1, minibatches=1, lr=1e-3)


def _coordinator(**fields):
    agent = Agent(dataclasses.replace(SMALL, **fields), 2, 1, 5, 2)
    return agent.coordinator, agent.init(np.random.default_rng(3))


def _obs(n=7):
    return np.random.default_rng(1).exponential(size=(n, 2, 1))


def _povms(coord, params, obs):
    """Each agent's POVMs N_i (B, K, d, d) as the coordinator builds them."""
    return [detector_loss(quantum_softmax(Z), coord.efficiency, coord.no_click)
            for Z in coord.logits(params, obs)]


def test_noiseless_resource_is_bit_identical_to_the_default_coordinator():
    default, params = _coordinator()
    given, _ = _coordinator(state=white_noise(qp.bell_state(), 1.0), efficiency=1.0)
    obs = _obs()
    q = given.joint(params, obs)
    assert np.array_equal(q, default.joint(params, obs))
    # today's formula, written out: q[b, x1, x2] = tr(Φ+ M_1(x1) ⊗ M_2(x2)), clipped at 0
    M1, M2 = (quantum_softmax(Z) for Z in default.logits(params, obs))
    rho = qp.bell_state().reshape(2, 2, 2, 2)
    old = np.maximum(np.real(np.einsum("abcd,zxca,zydb->zxy", rho, M1, M2)), 0.0)
    assert np.array_equal(q, old)


@pytest.mark.parametrize("complex_logits", [True, False])
@pytest.mark.parametrize("v", [0.0, 0.3, 0.8])
def test_white_noise_co_routing_is_the_closed_form(v, complex_logits):
    """tr[(vΦ+ + (1−v)𝟙/4) M⊗N] = v tr[Φ+ M⊗N] + (1−v) (tr M/2)(tr N/2), so the co-routing
    probability is s_v = v s_1 + (1−v) Σ_x t_1(x) t_2(x), t_i(x) = tr M_i(x)/2 (= (1−v)/2 for
    rank-one projective measurements)."""
    pure, params = _coordinator(complex_logits=complex_logits)
    noisy, _ = _coordinator(complex_logits=complex_logits, state=white_noise(qp.bell_state(), v))
    obs = _obs()
    s_pure = np.einsum("zxx->z", pure.joint(params, obs))
    s_noisy = np.einsum("zxx->z", noisy.joint(params, obs))
    M1, M2 = _povms(pure, params, obs)
    t1, t2 = (np.real(np.trace(M, axis1=-2, axis2=-1)) / 2 for M in (M1, M2))
    np.testing.assert_allclose(s_noisy, v * s_pure + (1 - v) * np.sum(t1 * t2, axis=1),
                               rtol=0, atol=1e-14)
    assert not np.allclose(s_pure, 0.5)          # the check is not vacuous


def test_real_family_gives_real_symmetric_povms():
    coord, params = _coordinator(complex_logits=False, state=white_noise(qp.bell_state(), 0.9))
    for M in _povms(coord, params, _obs()):
        assert np.isrealobj(M)
        np.testing.assert_array_equal(M, np.swapaxes(M, -1, -2))
        assert qp.is_povm(M)


@pytest.mark.parametrize("eta, no_click", [(0.7, 0), (0.4, 1)])
def test_detection_efficiency_co_routing_is_the_closed_form(eta, no_click):
    """N = ηM + (1−η)δ_{a0}𝟙: P(x1 = x2) = η² s + η(1−η)(m_1(a0) + m_2(a0)) + (1−η)², with m_i
    the advice marginals of the lossless POVMs on the state."""
    state = white_noise(qp.bell_state(), 0.9)
    lossless, params = _coordinator(state=state)
    lossy, _ = _coordinator(state=state, efficiency=eta, no_click=no_click)
    obs = _obs()
    q = lossless.joint(params, obs)
    s = np.einsum("zxx->z", q)
    m1, m2 = q.sum(axis=2)[:, no_click], q.sum(axis=1)[:, no_click]
    expected = eta ** 2 * s + eta * (1 - eta) * (m1 + m2) + (1 - eta) ** 2
    np.testing.assert_allclose(np.einsum("zxx->z", lossy.joint(params, obs)), expected,
                               rtol=0, atol=1e-14)


def test_detector_loss_is_the_resources_detection_model():
    M = quantum_softmax(np.random.default_rng(0).standard_normal((3, 2, 2, 2)))
    for eta, a0 in ((1.0, 0), (0.6, 1), (0.25, 0)):
        np.testing.assert_array_equal(detector_loss(M, eta, a0),
                                      detection_povms([M], eta, no_click=a0)[0])
    assert detector_loss(M, 1.0, 0) is M


@pytest.mark.parametrize("fields, match", [
    (dict(state=qp.bell_state(), learned_state=True), r"config\.state.*config\.learned_state"),
    (dict(state=np.eye(3) / 3, dim=2), r"config\.state"),               # not a power of dim
    (dict(state=np.eye(2) / 2), r"config\.state"),                      # a single party
    (dict(state=np.diag([1.5, -0.5, 0, 0])), r"config\.state"),         # not PSD
    (dict(state=np.ones((4, 4))), r"config\.state"),                    # trace 4
    (dict(state="bell"), r"config\.state"),
    (dict(state=qp.bell_state(), coordinator="shared"), r"config\.state"),
    (dict(efficiency=0.0), r"config\.efficiency"),
    (dict(efficiency=1.2), r"config\.efficiency"),
    (dict(efficiency="1"), r"config\.efficiency"),
    (dict(efficiency=0.9, coordinator="none"), r"config\.efficiency"),
    (dict(no_click=2), r"config\.no_click"),
    (dict(no_click=-1), r"config\.no_click"),
    (dict(no_click=0.0), r"config\.no_click"),
])
def test_bad_resource_fields_are_refused_naming_them(fields, match):
    with pytest.raises((ValueError, TypeError), match=match):
        MAPPOConfig(**fields)


def test_a_state_of_the_wrong_number_of_agents_is_refused():
    config = dataclasses.replace(SMALL, state=white_noise(qp.ghz_state(3), 0.5))
    with pytest.raises(ValueError, match=r"config\.state has dimension 8.*2\^2 = 4"):
        Agent(config, 2, 1, 5, 2)
    assert Agent(config, 3, 1, 5, 2).coordinator.state({}).shape == (8, 8)


def test_checkpoint_stores_the_state_and_resume_refuses_another(tmp_path):
    path = tmp_path / "run.npz"
    state = white_noise(qp.bell_state(), 0.8)
    config = dataclasses.replace(SMALL, state=state, efficiency=0.9)
    train(RoutingEnv(n_envs=4), config, seed=0, checkpoint=path, log=None)
    saved = np.array(json.loads(load_checkpoint(path)["config"])["state"])
    np.testing.assert_array_equal(saved[..., 0] + 1j * saved[..., 1], state)
    longer = dataclasses.replace(config, updates=2)
    train(RoutingEnv(n_envs=4), longer, seed=0, checkpoint=path, resume=True, log=None)
    for other in (dict(state=white_noise(qp.bell_state(), 0.7)), dict(state=None),
                  dict(efficiency=0.8)):
        changed = dataclasses.replace(longer, updates=3, **other)
        with pytest.raises(ValueError, match=next(iter(other))):
            train(RoutingEnv(n_envs=4), changed, seed=0, checkpoint=path, resume=True, log=None)

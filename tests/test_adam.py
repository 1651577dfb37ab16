"""Adam against its definition (Kingma & Ba 2015, Alg. 1), computed by hand."""
import numpy as np
import pytest

from qpolicy.learn import Adam


def test_first_step_moves_each_entry_by_lr_against_the_gradient_sign():
    # t=1: m̂ = g, v̂ = g², so the step is lr·g/(|g|+eps) ≈ lr·sign(g).
    opt = Adam(lr=0.1, eps=1e-12)
    params = {"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([0.5])}
    grads = {"w": np.array([[0.3, -7.0], [1e-3, -2.0]]), "b": np.array([4.0])}
    new, state = opt.step(params, grads, opt.init(params))
    np.testing.assert_allclose(new["w"], params["w"] - 0.1 * np.sign(grads["w"]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(new["b"], [0.4], rtol=0, atol=1e-12)
    assert int(state["t"]) == 1


def test_three_steps_match_hand_computation():
    lr, b1, b2, eps = 0.01, 0.8, 0.9, 1e-3
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    gs = [2.0, -1.0, 0.5]
    theta, m, v = 1.0, 0.0, 0.0
    params = {"x": np.array(theta)}
    state = opt.init(params)
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        params, state = opt.step(params, {"x": np.array(g)}, state)
        assert params["x"] == pytest.approx(theta, abs=1e-15)
        assert state["m"]["x"] == pytest.approx(m, abs=1e-15)
        assert state["v"]["x"] == pytest.approx(v, abs=1e-15)
    # The first update worked by hand (m = 0.4, v = 0.4, m̂ = 2, v̂ = 4: step 0.01·2/2.001),
    # against the optimizer itself (the review found this line comparing two constants).
    first, _ = opt.step({"x": np.array(1.0)}, {"x": np.array(2.0)}, opt.init({"x": np.array(1.0)}))
    assert first["x"] == pytest.approx(1.0 - 0.01 * 2 / 2.001, abs=1e-15)


def test_maximize_ascends_and_minimize_descends_a_quadratic():
    opt = Adam(lr=0.05)
    params = {"x": np.array([3.0, -2.0])}
    state = opt.init(params)
    for _ in range(500):
        params, state = opt.step(params, {"x": 2 * params["x"]}, state)          # f = |x|²
    assert np.max(np.abs(params["x"])) < 0.05
    params, state = {"x": np.array([0.0])}, opt.init({"x": np.zeros(1)})
    for _ in range(100):
        params, state = opt.step(params, {"x": 1 - params["x"]}, state, maximize=True)  # x - x²/2
    assert params["x"][0] == pytest.approx(1.0, abs=0.05)


def test_step_does_not_mutate_its_inputs_and_is_independent_per_entry():
    opt = Adam()
    params = {"x": np.array([1.0, 1.0])}
    state = opt.init(params)
    new, _ = opt.step(params, {"x": np.array([1.0, 0.0])}, state)
    assert params["x"].tolist() == [1.0, 1.0] and state["m"]["x"].tolist() == [0.0, 0.0]
    assert new["x"][1] == 1.0                                   # zero gradient: no move


def test_bad_input_is_rejected_naming_the_argument():
    with pytest.raises(ValueError, match="lr"):
        Adam(lr=-1.0)
    with pytest.raises(ValueError, match="beta1"):
        Adam(beta1=1.0)
    with pytest.raises(TypeError, match="beta2"):
        Adam(beta2="0.9")
    opt = Adam()
    params = {"x": np.zeros(2)}
    state = opt.init(params)
    with pytest.raises(ValueError, match="grads"):
        opt.step(params, {"y": np.zeros(2)}, state)
    with pytest.raises(ValueError, match="grads"):
        opt.step(params, {"x": np.zeros(3)}, state)
    with pytest.raises(ValueError, match="NaN"):
        opt.step(params, {"x": np.array([np.nan, 0.0])}, state)
    with pytest.raises(TypeError, match="params"):
        opt.init([np.zeros(2)])
    with pytest.raises(ValueError, match="state"):
        opt.step(params, {"x": np.zeros(2)}, {"m": {}})

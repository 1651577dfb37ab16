"""Adam, the optimizer of Kingma & Ba (2015), Algorithm 1, on a dict of NumPy arrays.

Written out in full (rather than borrowed from a deep-learning framework) so that the update
reads like the paper and its whole state is a dict of arrays that a checkpoint can hold::

    t ← t + 1
    m ← β₁ m + (1 − β₁) g                 (biased first moment)
    v ← β₂ v + (1 − β₂) g²                (biased second raw moment)
    m̂ ← m / (1 − β₁ᵗ),  v̂ ← v / (1 − β₂ᵗ)  (bias correction)
    θ ← θ ∓ lr · m̂ / (√v̂ + ε)             (− to minimize, + to maximize)

Every operation is elementwise, so a parameter with a leading seed axis trains many independent
runs at once (the step count ``t`` is shared, as all runs step together).

Example
-------
>>> import numpy as np
>>> opt = Adam(lr=0.1)
>>> params = {"x": np.array([1.0, -2.0])}
>>> state = opt.init(params)
>>> params, state = opt.step(params, {"x": np.array([0.5, -0.5])}, state)
>>> params["x"]                           # first step moves each entry by lr against sign(g)
array([ 0.9, -1.9])

Reference: D. P. Kingma and J. Ba, "Adam: A method for stochastic optimization", ICLR 2015.
"""
import numbers

import numpy as np

from qpolicy.validation import as_array, check_positive


class Adam:
    """Adam with learning rate ``lr``, decay rates ``beta1``/``beta2`` and ``eps`` (Alg. 1)."""

    def __init__(self, lr=3e-2, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr = check_positive(lr, "lr")
        self.beta1 = _check_decay(beta1, "beta1")
        self.beta2 = _check_decay(beta2, "beta2")
        self.eps = check_positive(eps, "eps")

    def __repr__(self):
        return f"Adam(lr={self.lr:g}, beta1={self.beta1:g}, beta2={self.beta2:g}, eps={self.eps:g})"

    def init(self, params):
        """Fresh state for ``params`` (dict name → real ndarray): zero moments, ``t = 0``."""
        params = _check_params(params, "params")
        return {"m": {k: np.zeros_like(p) for k, p in params.items()},
                "v": {k: np.zeros_like(p) for k, p in params.items()},
                "t": np.array(0, dtype=np.int64)}

    def step(self, params, grads, state, maximize=False, lr=None):
        """One Adam step; returns ``(new_params, new_state)`` and leaves the inputs untouched.

        ``grads`` must have exactly the keys and shapes of ``params``; ``state`` comes from
        :meth:`init` or a previous step (or a checkpoint of one).  ``maximize=True`` ascends.
        ``lr`` overrides the learning rate for this step only (for schedules).
        """
        lr = self.lr if lr is None else check_positive(lr, "lr")
        params = _check_params(params, "params")
        grads = _check_params(grads, "grads")
        _check_same_layout(params, grads, "grads")
        if not isinstance(state, dict) or set(state) != {"m", "v", "t"}:
            raise ValueError("state must be the dict {'m', 'v', 't'} returned by Adam.init/step")
        _check_same_layout(params, state["m"], "state['m']")
        _check_same_layout(params, state["v"], "state['v']")
        t = int(state["t"]) + 1
        sign = 1.0 if maximize else -1.0
        new_params, new_m, new_v = {}, {}, {}
        for k, g in grads.items():
            new_m[k] = self.beta1 * state["m"][k] + (1.0 - self.beta1) * g
            new_v[k] = self.beta2 * state["v"][k] + (1.0 - self.beta2) * g * g
            m_hat = new_m[k] / (1.0 - self.beta1 ** t)
            v_hat = new_v[k] / (1.0 - self.beta2 ** t)
            new_params[k] = params[k] + sign * lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return new_params, {"m": new_m, "v": new_v, "t": np.array(t, dtype=np.int64)}


def _check_decay(beta, name):
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(beta).__name__}")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {beta}")
    return float(beta)


def _check_params(params, name):
    if not isinstance(params, dict) or not params:
        raise TypeError(f"{name} must be a non-empty dict name -> ndarray, got {type(params).__name__}")
    return {k: as_array(v, f"{name}[{k!r}]", complex_ok=False) for k, v in params.items()}


def _check_same_layout(params, other, name):
    if not isinstance(other, dict) or set(other) != set(params):
        raise ValueError(f"{name} must have the keys of params {sorted(params)}, "
                         f"got {sorted(other) if isinstance(other, dict) else type(other).__name__}")
    for k, p in params.items():
        if np.shape(other[k]) != p.shape:
            raise ValueError(f"{name}[{k!r}] has shape {np.shape(other[k])}, params has {p.shape}")

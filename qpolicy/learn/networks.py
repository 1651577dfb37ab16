"""Small fully connected networks for autograd: parameters are a flat dict of NumPy arrays.

A network is a frozen description (:class:`MLP`) plus a parameter dict; the dict is what the
optimizer (:class:`qpolicy.learn.Adam`) steps and what a checkpoint stores.  Keys are
``"<name>.W<k>"`` / ``"<name>.b<k>"``, so several networks can share one dict.

Initialization follows the PPO implementation-details convention (CleanRL, Huang et al. 2022):
orthogonal weights with gain √2 on hidden layers, biases zero, and a small output gain for policy
heads (0.01, so every policy starts near uniform) or 1 for value heads.

Example
-------
>>> import numpy as np
>>> net = MLP("value", (3, 16, 1))
>>> params = net.init(np.random.default_rng(0))
>>> sorted(params)
['value.W0', 'value.W1', 'value.b0', 'value.b1']
>>> net(params, np.ones((5, 3))).shape
(5, 1)

Reference: S. Huang et al., "The 37 implementation details of proximal policy optimization",
ICLR blog track 2022.
"""
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np

from qpolicy.validation import as_generator, check_finite_real, check_int

#: Hidden-layer gain for tanh networks (CleanRL's ``layer_init`` default).
HIDDEN_GAIN = np.sqrt(2.0)


def orthogonal(shape, gain, rng):
    """A ``(fan_in, fan_out)`` matrix with orthonormal rows or columns, times ``gain``
    (Saxe et al. 2014): the QR factor of a Gaussian matrix with the sign of R's diagonal fixed,
    so the distribution is uniform (Haar) over orthogonal matrices."""
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return gain * (q if rows >= cols else q.T)


@dataclass(frozen=True)
class MLP:
    """A tanh network ``sizes[0] → sizes[1] → … → sizes[-1]`` with a linear output layer.

    ``name`` prefixes its parameter keys; ``out_gain`` scales the initial output layer.
    Calling it maps inputs ``(..., sizes[0])`` to outputs ``(..., sizes[-1])`` and is
    differentiable in the parameters with autograd.
    """
    name: str
    sizes: tuple
    out_gain: float = 1.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ValueError(f"name must be a non-empty string without '/', got {self.name!r}")
        if not isinstance(self.sizes, tuple) or len(self.sizes) < 2:
            raise ValueError(f"sizes must be a tuple of at least two layer widths, got {self.sizes!r}")
        for k, width in enumerate(self.sizes):
            check_int(width, f"sizes[{k}]", minimum=1)
        check_finite_real(self.out_gain, "out_gain", lo=0.0)     # 0: zero initial output

    @property
    def n_layers(self):
        return len(self.sizes) - 1

    def init(self, rng):
        """Fresh parameters ``{name.Wk: (in, out), name.bk: (out,)}`` from ``rng`` (Generator or seed)."""
        rng = as_generator(rng)
        params = {}
        for k, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            gain = self.out_gain if k == self.n_layers - 1 else HIDDEN_GAIN
            params[f"{self.name}.W{k}"] = orthogonal((fan_in, fan_out), gain, rng)
            params[f"{self.name}.b{k}"] = np.zeros(fan_out)
        return params

    def __call__(self, params, x):
        h = x
        for k in range(self.n_layers):
            h = anp.dot(h, params[f"{self.name}.W{k}"]) + params[f"{self.name}.b{k}"]
            if k < self.n_layers - 1:
                h = anp.tanh(h)
        return h

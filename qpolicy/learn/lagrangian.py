r"""A PID-controlled Lagrange multiplier for a cost constraint :math:`J_c \le d` (PPO-Lagrangian).

Constrained RL maximizes the return :math:`J_r` subject to :math:`J_c \le d` through the
Lagrangian :math:`J_r - \lambda (J_c - d)`.  Plain gradient ascent on λ is an integral-only
controller and oscillates; Stooke, Achiam & Abbeel (2020), Alg. 2, add proportional and derivative
terms.  Each policy update calls :meth:`PIDLagrangian.update` with the latest cost estimate
:math:`J_c` and gets (positional form, as in the authors' code)::

    e      = J_c − d                                   error (positive = constraint violated)
    I      ← max(0, I + K_i · e)                       integral, projected to stay ≥ 0
    e_p    ← α_p · e_p + (1 − α_p) · e                  smoothed error for the P term
    J_d    ← α_d · J_d + (1 − α_d) · J_c                smoothed cost for the D term
    D      = max(0, J_d − J_d[k − delay])              only rising cost pushes λ up
    λ      = max(0, K_p · e_p + I + K_d · D)            the multiplier is never negative

The smoothed quantities start at the first cost received (not at 0, which would give a spurious
derivative kick at the first update).  ``lambda_init`` seeds the integral, e.g. to warm-start from
a previous run's multiplier.  The P, I and D contributions of the last update are kept in
:attr:`terms` for logging; the whole controller state is a dict of floats (:meth:`state_dict`) so
a checkpoint can restore it exactly.

Example
-------
>>> pid = PIDLagrangian(limit=1.0, kp=0.0, ki=0.5, kd=0.0)
>>> [pid.update(c) for c in (2.0, 2.0, 0.0, 0.0, 0.0)]
[0.5, 1.0, 0.5, 0.0, 0.0]

Reference: A. Stooke, J. Achiam, P. Abbeel, "Responsive safety in reinforcement learning by PID
Lagrangian methods", ICML 2020 (arXiv:2007.03964), Alg. 2.
"""

import numpy as np

from qpolicy.validation import check_finite_real, check_int


def _check_real(x, name, minimum=None, below=None):
    return check_finite_real(x, name, lo=minimum, hi=below, hi_open=True)


class PIDLagrangian:
    """PID controller for the multiplier of the constraint ``cost ≤ limit`` (see module doc).

    Parameters: ``limit`` d; gains ``kp, ki, kd ≥ 0``; EMA factors ``p_smoothing`` (α_p) and
    ``d_smoothing`` (α_d) in [0, 1); ``d_delay`` ≥ 1 updates between the costs the D term compares;
    ``lambda_init ≥ 0`` the starting integral (and multiplier).
    """

    def __init__(self, limit, kp=0.1, ki=0.01, kd=0.0, p_smoothing=0.0, d_smoothing=0.0,
                 d_delay=1, lambda_init=0.0):
        self.limit = _check_real(limit, "limit")
        self.kp = _check_real(kp, "kp", minimum=0.0)
        self.ki = _check_real(ki, "ki", minimum=0.0)
        self.kd = _check_real(kd, "kd", minimum=0.0)
        self.p_smoothing = _check_real(p_smoothing, "p_smoothing", minimum=0.0, below=1.0)
        self.d_smoothing = _check_real(d_smoothing, "d_smoothing", minimum=0.0, below=1.0)
        self.d_delay = check_int(d_delay, "d_delay", minimum=1)
        self.integral = _check_real(lambda_init, "lambda_init", minimum=0.0)
        self.multiplier = self.integral
        self.smoothed_error = None        # e_p; None until the first update
        self.cost_history = []            # J_d of the last d_delay + 1 updates, oldest first
        self.terms = {"p": 0.0, "i": self.integral, "d": 0.0}

    def update(self, cost):
        """Feed this update's cost estimate J_c; returns the new multiplier λ ≥ 0."""
        cost = _check_real(cost, "cost")
        error = cost - self.limit
        self.integral = max(0.0, self.integral + self.ki * error)
        if self.smoothed_error is None:
            self.smoothed_error, smoothed_cost = error, cost
        else:
            self.smoothed_error = self.p_smoothing * self.smoothed_error + (1 - self.p_smoothing) * error
            smoothed_cost = self.d_smoothing * self.cost_history[-1] + (1 - self.d_smoothing) * cost
        self.cost_history = (self.cost_history + [smoothed_cost])[-(self.d_delay + 1):]
        rise = max(0.0, smoothed_cost - self.cost_history[0])
        self.terms = {"p": self.kp * self.smoothed_error, "i": self.integral, "d": self.kd * rise}
        self.multiplier = max(0.0, self.terms["p"] + self.terms["i"] + self.terms["d"])
        return self.multiplier

    def state_dict(self):
        """The controller's mutable state as plain numbers/arrays (for a checkpoint)."""
        return {"integral": self.integral, "multiplier": self.multiplier,
                "smoothed_error": np.nan if self.smoothed_error is None else self.smoothed_error,
                "cost_history": np.asarray(self.cost_history, dtype=float),
                "terms": np.array([self.terms["p"], self.terms["i"], self.terms["d"]])}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned (exactly)."""
        self.integral = float(state["integral"])
        self.multiplier = float(state["multiplier"])
        error = float(state["smoothed_error"])
        self.smoothed_error = None if np.isnan(error) else error
        self.cost_history = [float(c) for c in np.atleast_1d(state["cost_history"])]
        self.terms = dict(zip("pid", (float(t) for t in state["terms"])))

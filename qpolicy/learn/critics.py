r"""Centralized critics and advantage estimation for MAPPO (paper App. E, H.2).

* :func:`gae` — generalized advantage estimation (Schulman et al. 2016);
* :class:`NetworkCritic` — value and cost networks trained by SGD;
* :class:`LSTDCritic` — linear in :func:`quadratic_features`, solved in closed form per batch;
* :func:`input_baseline` — a cross-fitted input-dependent baseline (Mao et al. 2019).

A critic has ``init(rng)``, ``values(params, roll) -> (V, V', C, C')`` on a rollout of shape
(T, N), and ``loss(params, batch)`` (the critics' squared error, 0 when solved in closed form).
"""
import autograd.numpy as anp
import numpy as np

from qpolicy.learn.blas import single_blas_thread
from qpolicy.learn.networks import MLP
from qpolicy.validation import as_array, check_finite_real


def discount(config):
    """γ of the returns: ``config.gamma``, or 1 for the average-reward objective (whose rewards
    are centred by the batch mean, so undiscounted sums of them stay bounded)."""
    return 1.0 if config.objective == "average" else config.gamma


def gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    r"""Generalized advantage estimates and critic targets for a rollout of shape ``(T, N)``.

    ``values[t]`` = V(s_t); ``next_values[t]`` = V of the observation that *followed* step t —
    for a truncated step the true final observation, not the auto-reset one.  Then

    .. math:: \delta_t = r_t + \gamma (1 - \mathrm{term}_t) V'_t - V_t, \qquad
              A_t = \delta_t + \gamma\lambda (1 - \mathrm{end}_t) A_{t+1},

    with :math:`\mathrm{end}_t` = terminated or truncated (no credit flows across an episode
    boundary) and :math:`A_T = 0` after the last step (its δ already bootstraps from V'_{T-1}).
    Returns ``(advantages, targets)`` with targets = advantages + values.

    >>> import numpy as np
    >>> A, R = gae(np.array([[1.0], [1.0]]), np.zeros((2, 1)), np.array([[0.0], [2.0]]),
    ...            np.zeros((2, 1), bool), np.zeros((2, 1), bool), gamma=0.5, lam=1.0)
    >>> A.ravel().tolist()                 # δ = [1, 2]; A_1 = 2, A_0 = 1 + 0.5·2
    [2.0, 2.0]
    """
    gamma = check_finite_real(gamma, "gamma", 0.0, 1.0)
    lam = check_finite_real(lam, "lam", 0.0, 1.0)
    rewards = as_array(rewards, "rewards", ndim=2, complex_ok=False)
    values = as_array(values, "values", ndim=2, complex_ok=False)
    next_values = as_array(next_values, "next_values", ndim=2, complex_ok=False)
    terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
    for name, arr in (("values", values), ("next_values", next_values),
                      ("terminated", terminated), ("truncated", truncated)):
        if arr.shape != rewards.shape:
            raise ValueError(f"{name} must have the shape of rewards {rewards.shape}, got {arr.shape}")
    deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    carry = gamma * lam * ~(terminated | truncated)
    advantages = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[1])
    for t in reversed(range(rewards.shape[0])):
        running = deltas[t] + carry[t] * running
        advantages[t] = running
    return advantages, advantages + values


def _symlog(x):
    return np.sign(x) * np.log1p(np.abs(x))


class NetworkCritic:
    """Centralized value and cost critics V(s), C(s): two tanh networks of the symlog central
    state (queue states range over tens of units), trained by SGD on the squared error to the GAE
    targets.  They predict (1 − γ)·V, i.e. values in units of per-step reward and cost, so their
    targets are O(1) for every γ (for the average-reward objective, γ = 1, they predict V)."""

    def __init__(self, state_dim, config):
        gamma = discount(config)
        self.unit = 1.0 - gamma if gamma < 1 else 1.0      # network output = unit · V
        self.value_net = MLP("value", (state_dim, *config.hidden, 1))
        self.cost_net = MLP("cost", (state_dim, *config.hidden, 1))

    def init(self, rng):
        return {**self.value_net.init(rng), **self.cost_net.init(rng)}

    def predict(self, params, states):
        """(V(s), C(s)) for states ``(B, state_dim)``."""
        x = _symlog(states)
        return self.value_net(params, x)[:, 0] / self.unit, self.cost_net(params, x)[:, 0] / self.unit

    def values(self, params, roll):
        """(V, V', C, C') on a rollout: the critics at each step's state and bootstrap state."""
        T, N = roll["reward"].shape
        v, c = self.predict(params, roll["state"].reshape(T * N, -1))
        v_next, c_next = self.predict(params, roll["next_state"].reshape(T * N, -1))
        return tuple(a.reshape(T, N) for a in (v, v_next, c, c_next))

    def loss(self, params, batch):
        value, cost_value = self.predict(params, batch["state"])
        return (anp.mean((self.unit * (value - batch["target"])) ** 2)
                + anp.mean((self.unit * (cost_value - batch["cost_target"])) ** 2))


def quadratic_features(x):
    """1, the positive and negative parts z = (x⁺, x⁻) of the columns of ``x`` (B, k) — leaving
    out the parts that are zero on the whole batch (x⁻ of a nonnegative input) — and all products
    z_i z_j (i ≤ j): a basis of functions piecewise quadratic in x."""
    z = np.concatenate([np.maximum(x, 0.0), np.maximum(-x, 0.0)], axis=1)
    z = z[:, np.any(z != 0.0, axis=0)]
    i, j = np.triu_indices(z.shape[1])
    return np.concatenate([np.ones((len(z), 1)), z, z[:, i] * z[:, j]], axis=1)


def _unit_rms(*features):
    """The feature matrices with the columns of the first scaled to unit RMS: least-squares
    solutions are scale-free, but the rank cutoff of ``lstsq`` is not."""
    scale = np.sqrt(np.mean(features[0] ** 2, axis=0)) + 1e-300
    return [f / scale for f in features]


class LSTDCritic:
    r"""Centralized critics linear in :func:`quadratic_features` of the central state, solved in
    closed form on each batch.

    The weights solve the LSTD(0) fixed point on the batch (Bradtke & Barto 1996),

    .. math:: \sum_t \phi_t\,(\phi_t - \gamma (1 - \mathrm{term}_t)\,\phi'_t)^\top w
              = \sum_t \phi_t\, r_t,

    one solve for rewards and one for costs, with φ' the bootstrap state (the true final state at
    a truncation); γ = 1 with centred rewards for the average-reward objective.  Why this critic
    exists: in a queue the (differential) value of the workload is quadratic
    (Pollaczek–Khinchine, Takács).  On the routing problem, at 131 072 steps, the network critics'
    estimate of the Lagrangian gradient had cosine −0.48…−0.35 with the exact one, this critic's
    0.09–0.44 (discounted) and 0.62–0.93 (average reward, TD(0)), 0.95–0.97 with
    :func:`input_baseline` (``analysis/mappo_gradient_check.py``, ``benchmarks/RESULTS.md``).
    No learned parameters: nothing to checkpoint.
    """

    def __init__(self, state_dim, config):
        self.gamma = discount(config)

    def init(self, rng):
        return {}

    def values(self, params, roll):
        T, N = roll["reward"].shape
        both = quadratic_features(np.concatenate([roll["state"].reshape(T * N, -1),
                                                  roll["next_state"].reshape(T * N, -1)]))
        phi, phi_next = _unit_rms(both[:T * N], both[T * N:])
        keep = (1.0 - roll["terminated"].ravel())[:, None]
        out = []
        with single_blas_thread():          # sums over the batch in a fixed order
            A = phi.T @ (phi - self.gamma * keep * phi_next) / len(phi)
            for signal in (roll["reward"], roll["cost"]):
                w = np.linalg.lstsq(A, phi.T @ signal.ravel() / len(phi), rcond=None)[0]
                out += [(phi @ w).reshape(T, N), (phi_next @ w).reshape(T, N)]
        return tuple(out)

    def loss(self, params, batch):
        return 0.0


def input_baseline(advantage, state, exogenous):
    r"""Advantages minus an input-dependent baseline (Mao et al., ICLR 2019).

    In an input-driven environment part of each transition is an exogenous input ξ_t (here: the
    next inter-arrival time and job sizes) drawn independently of the action given the state.
    Any b(s_t, ξ_t) then satisfies :math:`E[\nabla\log\pi(a_t|\cdot)\, b(s_t, \xi_t)] = 0`, so
    subtracting it keeps the policy gradient unbiased while removing the advantage noise that the
    input explains.  b is the least-squares fit of the advantage on
    :func:`quadratic_features` of (s_t, ξ_t), **cross-fitted**: copies are split in two halves by
    index and each half's baseline is fitted on the other half, so no sample's own action noise
    enters its baseline.  Shapes: ``advantage`` (T, N), ``state`` (T, N, k), ``exogenous``
    (T, N, m); needs N ≥ 2.
    """
    T, N = advantage.shape
    if N < 2:
        raise ValueError("input_baseline needs at least 2 environment copies (cross-fitting)")
    features = quadratic_features(np.concatenate([state, exogenous], axis=2).reshape(T * N, -1))
    target = advantage.ravel()
    first = np.tile(np.arange(N) < N // 2, T)
    baseline = np.empty_like(target)
    for fit, apply in ((first, ~first), (~first, first)):
        phi_fit, phi_apply = _unit_rms(features[fit], features[apply])
        # normal equations: (k × k) instead of an SVD of the (B × k) matrix; one BLAS thread,
        # so the sums over the batch have a fixed order (results independent of thread count)
        with single_blas_thread():
            w = np.linalg.lstsq(phi_fit.T @ phi_fit, phi_fit.T @ target[fit], rcond=None)[0]
            baseline[apply] = phi_apply @ w
    return advantage - baseline.reshape(T, N)


CRITICS = {"network": NetworkCritic, "lstd": LSTDCritic}

r"""MAPPO with a coordinator (paper §4.2.2, eq. 7–9, App. E) and a PID-Lagrangian cost constraint.

The joint policy of ``n`` agents is written in the coordinator–advice form (eq. 7)

.. math::  \pi(\mathbf a|\mathbf h) = \sum_{\mathbf x} q(\mathbf x|\mathbf h)
           \prod_i \pi_i(a_i | x_i, h_i),

and the communication constraint is carried entirely by the coordinator ``q``:

* ``"entangled"`` — :math:`q(\mathbf x|\mathbf h) = \operatorname{tr}(\rho \bigotimes_i
  M_i(x_i|h_i))`: agent i's POVM is QuantumSoftmax of logits that a small network computes from
  agent i's *own* observation; ρ is a fixed maximally entangled (GHZ-type) state or learned as
  :math:`B^H B/\operatorname{tr}`.  Executable without communication given the shared state.
* ``"shared"`` — shared randomness as in the paper: one value x̃ ~ q(x̃) with learned logits,
  independent of h, and every agent receives it (:math:`x_i = \tilde x`).  A general joint table
  :math:`q(x_1..x_n)` independent of h is no more general — each agent could read its component
  of a shared x̃ — so only the paper's form is implemented.  With network actors and
  ``n_advice`` shared values this spans the local polytope (Carathéodory) for enough values.
* ``"none"`` — no coordinator: one advice value, the policy factorizes.

Actors are small networks :math:`\pi_i(a_i|x_i, h_i)` of (observation, one-hot advice), or
``"pass"``: the advice *is* the action (the paper's queueing experiment, App. H.2).

**Update (one iteration of :func:`train`)**::

    collect n_steps × n_envs transitions: x ~ q(·|h), a_i ~ π_i(·|x_i,h_i), r, c   (eq. 7)
    A_r, A_c = GAE of reward and of cost with the value and cost critics          (gae)
    λ = PID(mean cost per step of this batch)                                     (lagrangian)
    A = (A_r − λ A_c) / (1 + λ)  [− input-dependent baseline]  (combined_advantage)
    A normalized per minibatch
    for epochs, minibatches:
        L = Σ_i clip-surrogate(π_i/π_i,old, A)        (eq. 8, one term per actor)
          + clip-surrogate(q/q_old, A)                (eq. 9, the coordinator)
          + entropy bonus − critic losses − App. I conditioning penalty
        one Adam step on the clipped-norm gradient of −L

**Choices (documented because they matter):** one advantage per time step is shared by the
coordinator and all actors (the critics are centralized; nothing is pooled across agents).  The
cost estimate that drives the multiplier is this batch's mean cost per environment step — always
defined for a continuing task, and a non-finite value raises.  The critics see
:func:`central_state`: either two networks trained by SGD (:class:`NetworkCritic`) or a linear
function of quadratic features solved in closed form on each batch (:class:`LSTDCritic`, the
right model for queue workloads).  At a time-limit truncation GAE bootstraps from the critic's
value of the true final observation (``info["final_obs"]``, ``info["final_state"]``); at a
termination from 0.

**Environment protocol** (:class:`qpolicy.queueing.RoutingEnv` follows it): ``reset(seed) → obs``
of shape ``(n_envs, n_agents, obs_dim)``; ``step(actions) → (obs, reward, cost, terminated,
truncated, info)`` with auto-reset (``info["final_obs"]`` at a truncation); optional
``env.central_state()`` → ``(n_envs, state_dim)``, the critics' input (default: all
observations; an env that has it must report ``info["final_state"]`` at a truncation);
``get_state()`` / ``set_state(dict)`` to checkpoint mid-run.

Example
-------
>>> from qpolicy.queueing import RoutingEnv
>>> config = MAPPOConfig(coordinator="entangled", actor="pass", cost_limit=5.5, updates=2,
...                      n_steps=4, hidden=(8,))
>>> run = train(RoutingEnv(n_envs=16), config, seed=0, log=None)
>>> len(run.history["multiplier"]), bool(min(run.history["multiplier"]) >= 0)
(2, True)

References: C. Yu et al., "The surprising effectiveness of PPO in cooperative multi-agent games",
NeurIPS 2022 (MAPPO); J. Schulman et al., "Proximal policy optimization algorithms", 2017, and
"High-dimensional continuous control using generalized advantage estimation", ICLR 2016 (GAE);
A. Stooke, J. Achiam, P. Abbeel, ICML 2020 (PID Lagrangian); Gardiner et al. (2026), §4.2.2.
"""
import dataclasses
import json
import os
import string
import time
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
from autograd import grad

from qpolicy.learn.adam import Adam
from qpolicy.learn.checkpoint import load_checkpoint, save_checkpoint
from qpolicy.learn.lagrangian import PIDLagrangian
from qpolicy.learn.networks import MLP
from qpolicy.quantum import (conditioning_penalty, default_entangled_state, density_matrix,
                             quantum_softmax)
from qpolicy.validation import as_array, as_generator, check_int

#: Floor on probabilities inside logarithms: an advice value with q below it is never sampled.
PROB_FLOOR = 1e-30


@dataclass(frozen=True)
class MAPPOConfig:
    """Every hyperparameter of :func:`train` (defaults: small-network PPO practice)."""
    # --- policy architecture (eq. 7) ---
    coordinator: str = "entangled"   # "entangled" | "shared" | "none"
    actor: str = "pass"              # "pass" (advice is the action) | "network"
    n_advice: int = 2                # advice values per agent (= POVM outcomes); "pass" needs n_actions
    dim: int = 2                     # local Hilbert-space dimension of the entangled coordinator
    learned_state: bool = False      # learn ρ = BᴴB/tr(BᴴB) instead of the fixed entangled state
    complex_logits: bool = True      # POVM logits Z = X + iY (False: real symmetric Z)
    hidden: tuple = (32, 32)         # hidden widths of every network
    coordinator_gain: float = 1.0    # output-layer init gain of the POVM networks (0 ⇒ saddle at Z=0)
    critic: str = "network"          # "network" (two MLPs, SGD) | "lstd" (quadratic features,
                                     # solved in closed form on every batch; see LSTDCritic)
    # --- PPO (Schulman et al. 2017) ---
    updates: int = 100               # iterations of collect + optimize
    n_steps: int = 16                # rollout length per environment per iteration
    epochs: int = 4                  # passes over each batch
    minibatches: int = 4             # minibatches per pass
    lr: float = 3e-3                 # Adam learning rate (all networks)
    anneal_lr: bool = False          # decay lr linearly to lr/updates over the run (CleanRL)
    objective: str = "discounted"    # "discounted" (γ-discounted returns) | "average" (average
                                     # reward per step: differential returns r − r̄, no discount)
    gamma: float = 0.99              # discount of the "discounted" objective, in [0, 1)
    gae_lambda: float = 0.95         # GAE λ
    input_baseline: bool = False     # subtract a cross-fitted baseline of (s_t, ξ_t), ξ_t the
                                     # env's exogenous input info["exogenous"] (input_baseline)
    clip: float = 0.2                # ratio clip ε, eq. 8 and 9 each clipped
    entropy_coef: float = 0.01       # bonus on the entropy of q plus the actors' entropies
    value_coef: float = 0.5          # weight of each critic's squared error
    conditioning_coef: float = 1e-3  # App. I penalty ‖S − I‖² on the POVM logits
    max_grad_norm: float = 0.5       # global gradient-norm clip
    # --- PPO-Lagrangian with PID multiplier (Stooke et al. 2020); cost_limit None: no constraint ---
    cost_limit: float = None         # constraint: mean cost per env step ≤ cost_limit
    pid_kp: float = 1.0
    pid_ki: float = 0.05
    pid_kd: float = 0.0
    pid_p_smoothing: float = 0.9
    pid_d_smoothing: float = 0.9
    pid_d_delay: int = 5
    lambda_init: float = 0.0
    warmup_steps: int = 0            # steps run with the initial policy before learning, so a
                                     # continuing task (queues start empty) starts near stationarity
    # --- bookkeeping ---
    best_smoothing: float = 0.9      # EMA of batch reward/cost used to pick the best iterate
    checkpoint_every: int = 10       # iterations between checkpoints (when a path is given)
    log_every: int = 10              # iterations between progress lines


def _check_config(config, n_actions):
    if not isinstance(config, MAPPOConfig):
        raise TypeError(f"config must be a MAPPOConfig, got {type(config).__name__}")
    if config.coordinator not in ("entangled", "shared", "none"):
        raise ValueError(f"config.coordinator must be 'entangled', 'shared' or 'none', "
                         f"got {config.coordinator!r}")
    if config.actor not in ("pass", "network"):
        raise ValueError(f"config.actor must be 'pass' or 'network', got {config.actor!r}")
    if config.critic not in CRITICS:
        raise ValueError(f"config.critic must be one of {sorted(CRITICS)}, got {config.critic!r}")
    if config.actor == "pass" and config.n_advice != n_actions:
        raise ValueError(f"config.n_advice must equal the number of actions ({n_actions}) when "
                         f"actors pass the advice through, got {config.n_advice}")
    if config.actor == "pass" and config.coordinator != "entangled":
        raise ValueError("pass-through actors need the entangled coordinator: with shared or no "
                         "advice every agent would act identically or constantly")
    for name in ("n_advice", "dim", "updates", "n_steps", "epochs", "minibatches", "pid_d_delay",
                 "checkpoint_every", "log_every"):
        check_int(getattr(config, name), f"config.{name}", minimum=1)
    check_int(config.warmup_steps, "config.warmup_steps", minimum=0)
    if config.objective not in ("discounted", "average"):
        raise ValueError(f"config.objective must be 'discounted' or 'average', "
                         f"got {config.objective!r}")
    if not 0.0 <= config.gamma < 1.0:
        raise ValueError(f"config.gamma must be in [0, 1), got {config.gamma}")
    if not 0.0 <= config.gae_lambda <= 1.0:
        raise ValueError(f"config.gae_lambda must be in [0, 1], got {config.gae_lambda}")


def discount(config):
    """γ of the returns: ``config.gamma``, or 1 for the average-reward objective (whose rewards
    are centred by the batch mean, so undiscounted sums of them stay bounded)."""
    return 1.0 if config.objective == "average" else config.gamma


# --------------------------------------------------------------------------------------------
# Generalized advantage estimation
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Coordinators q(x|h) and actors π_i(a_i|x_i, h_i)
# --------------------------------------------------------------------------------------------

def _sample_categorical(probs, rng):
    """One index per row of ``probs`` (B, K) by inverse CDF."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(axis=1), probs.shape[1] - 1)


def _entropy(p, axis):
    return -anp.sum(p * anp.log(anp.maximum(p, PROB_FLOOR)), axis=axis)


def _one_hot(index, size):
    return np.eye(size)[index]



class EntangledCoordinator:
    """q(x|h) = tr(ρ ⊗_i M_i(x_i|o_i)), M_i = QuantumSoftmax(Z_i(o_i)) (paper eq. 6, §4.2.2)."""

    def __init__(self, n_agents, obs_dim, config):
        self.n, self.K, self.d = n_agents, config.n_advice, config.dim
        self.complex = config.complex_logits
        width = self.K * self.d * self.d * (2 if self.complex else 1)
        self.nets = [MLP(f"coord{i}", (obs_dim, *config.hidden, width), config.coordinator_gain)
                     for i in range(n_agents)]
        self.learned_state = config.learned_state
        self.rho0 = default_entangled_state(n_agents, self.d) if n_agents == 2 or self.d == 2 else None
        letters = iter(string.ascii_letters.replace("z", ""))
        rows, cols, advice = ([next(letters) for _ in range(n_agents)] for _ in range(3))
        self.spec = ("".join(rows + cols) + "," + ",".join(f"z{advice[k]}{cols[k]}{rows[k]}"
                                                          for k in range(n_agents))
                     + "->z" + "".join(advice))

    def init(self, rng):
        params = {}
        for net in self.nets:
            params.update(net.init(rng))
        if self.learned_state:
            D = self.d ** self.n
            rho0 = self.rho0 if self.rho0 is not None else np.eye(D) / D
            w, V = np.linalg.eigh(rho0)               # start at ρ0: B = diag(√w) Vᴴ, plus noise
            B = np.sqrt(np.maximum(w, 0))[:, None] * V.conj().T
            params["state.re"] = B.real + 0.01 * rng.standard_normal((D, D))
            params["state.im"] = B.imag + 0.01 * rng.standard_normal((D, D))
        return params

    def state(self, params):
        if self.learned_state:
            return density_matrix(params["state.re"] + 1j * params["state.im"])
        if self.rho0 is None:
            raise ValueError("no fixed entangled state for this n_agents and dim")
        return self.rho0

    def logits(self, params, obs):
        """POVM logits Z_i(o_i), shape (B, n, K, d, d) — each from agent i's own observation."""
        B = obs.shape[0]
        shape = (B, self.K, self.d, self.d)
        Zs = []
        for i, net in enumerate(self.nets):
            out = net(params, obs[:, i])
            if self.complex:
                half = self.K * self.d * self.d
                Zs.append(anp.reshape(out[:, :half], shape) + 1j * anp.reshape(out[:, half:], shape))
            else:
                Zs.append(anp.reshape(out, shape))
        return Zs

    def joint(self, params, obs, Zs=None):
        """Advice distribution q[b, x_1, …, x_n] (Born rule, batched over b)."""
        Zs = self.logits(params, obs) if Zs is None else Zs
        rho = anp.reshape(self.state(params), (self.d,) * (2 * self.n))
        q = anp.real(anp.einsum(self.spec, rho, *[quantum_softmax(Z) for Z in Zs]))
        return anp.maximum(q, 0.0)     # rounding can leave −1e-17

    def sample(self, params, obs, rng):
        """(advice (B, n), log q(advice|h) (B,))."""
        q = self.joint(params, obs).reshape(len(obs), -1)
        flat = _sample_categorical(q, rng)
        logq = np.log(np.maximum(q[np.arange(len(obs)), flat], PROB_FLOOR))
        return np.stack(np.unravel_index(flat, (self.K,) * self.n), axis=1), logq

    def evaluate(self, params, obs, advice):
        """(log q(x|h) (B,), entropy of q(·|h) (B,), App. I conditioning penalty (scalar))."""
        Zs = self.logits(params, obs)
        q = anp.reshape(self.joint(params, obs, Zs), (len(obs), -1))
        flat = np.ravel_multi_index(tuple(advice.T), (self.K,) * self.n)
        logq = anp.log(anp.maximum(q[np.arange(len(obs)), flat], PROB_FLOOR))
        penalty = sum(anp.mean(conditioning_penalty(Z)) for Z in Zs)
        return logq, _entropy(q, axis=1), penalty


class SharedRandomnessCoordinator:
    """q(x|h) = q(x̃) δ(x_1 = … = x_n = x̃), learned logits independent of h (paper §4.2.2)."""

    def __init__(self, n_agents, obs_dim, config):
        self.n, self.K = n_agents, config.n_advice

    def init(self, rng):
        return {"shared.logits": np.zeros(self.K)}

    def _log_q(self, params):
        z = params["shared.logits"]
        return z - anp.log(anp.sum(anp.exp(z - anp.max(z)))) - anp.max(z)

    def joint(self, params, obs):
        q = np.zeros((len(obs),) + (self.K,) * self.n)
        diagonal = np.exp(self._log_q(params))
        for k in range(self.K):
            q[(slice(None),) + (k,) * self.n] = diagonal[k]
        return q

    def sample(self, params, obs, rng):
        log_q = self._log_q(params)
        shared = _sample_categorical(np.broadcast_to(np.exp(log_q), (len(obs), self.K)), rng)
        return np.repeat(shared[:, None], self.n, axis=1), log_q[shared]

    def evaluate(self, params, obs, advice):
        log_q = self._log_q(params)
        entropy = _entropy(anp.exp(log_q), axis=0) * np.ones(len(obs))
        return log_q[advice[:, 0]], entropy, 0.0


class NoCoordinator:
    """One advice value: the joint policy factorizes (no shared resource)."""

    def __init__(self, n_agents, obs_dim, config):
        self.n, self.K = n_agents, 1

    def init(self, rng):
        return {}

    def joint(self, params, obs):
        return np.ones((len(obs),) + (1,) * self.n)

    def sample(self, params, obs, rng):
        return np.zeros((len(obs), self.n), dtype=int), np.zeros(len(obs))

    def evaluate(self, params, obs, advice):
        zeros = np.zeros(len(obs))
        return zeros, zeros, 0.0


COORDINATORS = {"entangled": EntangledCoordinator, "shared": SharedRandomnessCoordinator,
                "none": NoCoordinator}


class PassThroughActor:
    """π_i(a|x) = δ(a, x): the advice is the action (App. H.2)."""

    def __init__(self, n_agents, obs_dim, n_advice, n_actions, config):
        self.n, self.K, self.A = n_agents, n_advice, n_actions

    def init(self, rng):
        return {}

    def probs_all(self, params, obs):
        return np.broadcast_to(np.eye(self.K), (len(obs), self.n, self.K, self.A))

    def sample(self, params, obs, advice, rng):
        """(actions (B, n), log π_i(a_i|x_i, o_i) (B, n))."""
        return advice.copy(), np.zeros(advice.shape)

    def evaluate(self, params, obs, advice, actions):
        return np.zeros(actions.shape), np.zeros(len(obs))


class NetworkActor:
    """π_i(a_i | x_i, o_i) = softmax(f_i(o_i, onehot(x_i))) — one small network per agent."""

    def __init__(self, n_agents, obs_dim, n_advice, n_actions, config):
        self.n, self.K, self.A = n_agents, n_advice, n_actions
        self.nets = [MLP(f"actor{i}", (obs_dim + n_advice, *config.hidden, n_actions), 0.01)
                     for i in range(n_agents)]

    def init(self, rng):
        params = {}
        for net in self.nets:
            params.update(net.init(rng))
        return params

    def _log_pi(self, params, obs, advice, i):
        z = self.nets[i](params, np.concatenate([obs[:, i], _one_hot(advice[:, i], self.K)], axis=1))
        z = z - anp.max(z, axis=1, keepdims=True)
        return z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))

    def probs_all(self, params, obs):
        out = np.empty((len(obs), self.n, self.K, self.A))
        for x in range(self.K):
            advice = np.full((len(obs), self.n), x)
            for i in range(self.n):
                out[:, i, x] = np.exp(self._log_pi(params, obs, advice, i))
        return out

    def sample(self, params, obs, advice, rng):
        log_pis = [self._log_pi(params, obs, advice, i) for i in range(self.n)]
        actions = np.stack([_sample_categorical(np.exp(lp), rng) for lp in log_pis], axis=1)
        rows = np.arange(len(obs))
        return actions, np.stack([lp[rows, actions[:, i]] for i, lp in enumerate(log_pis)], axis=1)

    def evaluate(self, params, obs, advice, actions):
        log_pis = [self._log_pi(params, obs, advice, i) for i in range(self.n)]
        rows = np.arange(len(obs))
        log_prob = anp.stack([lp[rows, actions[:, i]] for i, lp in enumerate(log_pis)], axis=1)
        entropy = sum(_entropy(anp.exp(lp), axis=1) for lp in log_pis)
        return log_prob, entropy


ACTORS = {"pass": PassThroughActor, "network": NetworkActor}


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
        A = phi.T @ (phi - self.gamma * keep * phi_next) / len(phi)
        out = []
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
        # normal equations: (k × k) instead of an SVD of the (B × k) matrix
        w = np.linalg.lstsq(phi_fit.T @ phi_fit, phi_fit.T @ target[fit], rcond=None)[0]
        baseline[apply] = phi_apply @ w
    return advantage - baseline.reshape(T, N)



CRITICS = {"network": NetworkCritic, "lstd": LSTDCritic}


class Agent:
    """Coordinator + actors + centralized value and cost critics, sharing one parameter dict."""

    def __init__(self, config, n_agents, obs_dim, state_dim, n_actions):
        _check_config(config, n_actions)
        self.config = config
        self.n_agents, self.n_actions = n_agents, n_actions
        self.coordinator = COORDINATORS[config.coordinator](n_agents, obs_dim, config)
        self.actor = ACTORS[config.actor](n_agents, obs_dim, self.coordinator.K, n_actions, config)
        self.critic = CRITICS[config.critic](state_dim, config)

    def init(self, rng):
        rng = as_generator(rng)
        params = {}
        for part in (self.coordinator, self.actor, self.critic):
            params.update(part.init(rng))
        return params

    def act(self, params, obs, rng):
        """Sample advice x ~ q(·|h) and actions a_i ~ π_i(·|x_i, o_i) for joint observations
        ``(B, n, obs_dim)``; returns ``(advice, actions, log q (B,), log π_i (B, n))``."""
        advice, logq = self.coordinator.sample(params, obs, rng)
        actions, logpi = self.actor.sample(params, obs, advice, rng)
        return advice, actions, logq, logpi

    def action_probs(self, params, obs):
        """The exact joint policy π(a_1..a_n | o) of eq. 7, shape (B, A, …, A)."""
        q = self.coordinator.joint(params, obs)
        P = self.actor.probs_all(params, obs)
        letters = string.ascii_letters.replace("z", "")
        adv, act = letters[:self.n_agents], letters[self.n_agents:2 * self.n_agents]
        spec = "z" + adv + "," + ",".join(f"z{adv[i]}{act[i]}" for i in range(self.n_agents))
        return np.einsum(spec + "->z" + act, q, *[P[:, i] for i in range(self.n_agents)])


def central_state(env, obs):
    """The centralized critics' input: ``env.central_state()`` if the env defines it (e.g. queue
    states and both jobs for :class:`~qpolicy.queueing.RoutingEnv`), else all observations."""
    if callable(getattr(env, "central_state", None)):
        return np.asarray(env.central_state(), dtype=float).reshape(len(obs), -1)
    return np.reshape(obs, (len(obs), -1))


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

@dataclass
class TrainResult:
    """Outcome of :func:`train`: final and best parameters, per-iteration logs, the agent."""
    agent: Agent
    params: dict
    best_params: dict
    best_update: int
    history: dict            # name -> array over iterations (see LOG_KEYS)
    multiplier: float


LOG_KEYS = ("update", "env_steps", "reward", "cost", "multiplier", "pid_p", "pid_i", "pid_d",
            "approx_kl", "clip_frac", "explained_var", "explained_var_cost", "entropy",
            "steps_per_second")


def _collect(env, agent, params, obs, state, rng, n_steps):
    """Run the joint policy for n_steps; returns the rollout dict and the next (obs, state).

    ``next_state[t]`` is the critics' bootstrap input of step t: the state that followed it, or
    at a truncation the true final state (not the auto-reset one)."""
    N = len(obs)
    keys = ("obs", "state", "advice", "actions", "logq", "logpi", "reward", "cost", "terminated",
            "truncated", "next_state") + (("exogenous",) if agent.config.input_baseline else ())
    roll = {k: [] for k in keys}
    for _ in range(n_steps):
        advice, actions, logq, logpi = agent.act(params, obs, rng)
        next_obs, reward, cost, terminated, truncated, info = env.step(actions)
        if agent.config.input_baseline and "exogenous" not in info:
            raise ValueError("config.input_baseline needs an env that reports its exogenous "
                             "input as info['exogenous'] (n_envs, m)")
        next_state = central_state(env, next_obs)
        bootstrap_state = next_state
        truncated = np.asarray(truncated, bool)
        if truncated.any():
            bootstrap_state = np.where(truncated[:, None], _final_state(env, info, N), next_state)
        for k, v in zip(keys, (obs, state, advice, actions, logq, logpi, reward, cost, terminated,
                               truncated, bootstrap_state, info.get("exogenous"))):
            roll[k].append(np.asarray(v))
        obs, state = next_obs, next_state
    return {k: np.stack(v) for k, v in roll.items()}, obs, state


def _final_state(env, info, N):
    """Critic input of the true last observation of truncated copies (before auto-reset)."""
    if callable(getattr(env, "central_state", None)):
        if "final_state" not in info:
            raise ValueError("env truncated but info has no 'final_state': an env with a "
                             "central_state() must report the pre-reset central state")
        return np.reshape(info["final_state"], (N, -1))
    return np.reshape(info["final_obs"], (N, -1))


def advantage_parts(agent, params, roll):
    """GAE of the reward and of the cost on a rollout, with the critics' values and targets:
    dict with ``A_r, A_c, target, cost_target, value, cost_value``, each (T, N).  For the
    average-reward objective the signals are first centred by their batch means (differential
    returns, Sutton & Barto §10.3) and γ = 1."""
    config = agent.config
    if config.objective == "average":
        roll = dict(roll, reward=roll["reward"] - np.mean(roll["reward"]),
                    cost=roll["cost"] - np.mean(roll["cost"]))
    value, next_value, cost_value, next_cost_value = agent.critic.values(params, roll)
    gamma = discount(config)
    A_r, target = gae(roll["reward"], value, next_value, roll["terminated"], roll["truncated"],
                      gamma, config.gae_lambda)
    A_c, cost_target = gae(roll["cost"], cost_value, next_cost_value, roll["terminated"],
                           roll["truncated"], gamma, config.gae_lambda)
    return dict(A_r=A_r, A_c=A_c, target=target, cost_target=cost_target, value=value,
                cost_value=cost_value)


def combined_advantage(parts, multiplier, roll, config):
    """(A_r − λ A_c)/(1 + λ), minus the input-dependent baseline if ``config.input_baseline``."""
    advantage = (parts["A_r"] - multiplier * parts["A_c"]) / (1.0 + multiplier)
    if config.input_baseline:
        advantage = input_baseline(advantage, roll["state"], roll["exogenous"])
    return advantage


def _clipped_surrogate(log_ratio, advantage, clip):
    ratio = anp.exp(log_ratio)
    return anp.minimum(ratio * advantage, anp.clip(ratio, 1 - clip, 1 + clip) * advantage)


def _loss(params, agent, batch, config):
    """−(eq. 8 + eq. 9 clipped surrogates) − entropy bonus + critic losses + App. I penalty."""
    obs, advice, actions, adv = batch["obs"], batch["advice"], batch["actions"], batch["advantage"]
    logq, entropy_q, penalty = agent.coordinator.evaluate(params, obs, advice)
    logpi, entropy_pi = agent.actor.evaluate(params, obs, advice, actions)
    surrogate = _clipped_surrogate(logq - batch["logq"], adv, config.clip)                    # (9)
    surrogate = surrogate + anp.sum(_clipped_surrogate(logpi - batch["logpi"], adv[:, None],
                                                       config.clip), axis=1)                  # (8)
    critic_loss = agent.critic.loss(params, batch)
    return (-anp.mean(surrogate) - config.entropy_coef * anp.mean(entropy_q + entropy_pi)
            + config.value_coef * critic_loss + config.conditioning_coef * penalty)


def _clip_norm(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    factor = min(1.0, max_norm / (norm + 1e-12))
    return {k: g * factor for k, g in grads.items()}


def _normalize(x):
    """Zero-mean, unit-std per minibatch; a batch of one (std undefined) is only centred."""
    if x.size < 2:
        return x - x.mean()
    return (x - x.mean()) / (x.std() + 1e-8)


def _explained_variance(pred, target):
    var = np.var(target)
    return float("nan") if var == 0 else float(1.0 - np.var(target - pred) / var)


#: Samples of the batch (evenly strided) on which the per-update policy statistics are computed.
STATS_SAMPLES = 16384


def _policy_stats(agent, params, flat, clip):
    """Approx-KL (joint), clip fraction and mean entropy of the updated policy on the batch
    (on at most :data:`STATS_SAMPLES` of it: diagnostics, not worth a full pass)."""
    every = max(1, len(flat["obs"]) // STATS_SAMPLES)
    flat = {k: flat[k][::every] for k in ("obs", "advice", "actions", "logq", "logpi")}
    logq, ent_q, _ = agent.coordinator.evaluate(params, flat["obs"], flat["advice"])
    logpi, ent_pi = agent.actor.evaluate(params, flat["obs"], flat["advice"], flat["actions"])
    log_ratios = np.concatenate([(logq - flat["logq"])[:, None], logpi - flat["logpi"]], axis=1)
    joint = log_ratios.sum(axis=1)
    approx_kl = float(np.mean(np.expm1(joint) - joint))           # Schulman's k3 estimator
    clip_frac = float(np.mean(np.abs(np.expm1(log_ratios)) > clip))
    return approx_kl, clip_frac, float(np.mean(ent_q + ent_pi))


def _rng_state(rng):
    return json.dumps(rng.bit_generator.state)


def _set_rng_state(rng, text):
    rng.bit_generator.state = json.loads(text)


def train(env, config=MAPPOConfig(), seed=0, *, n_actions=2, init_params=None, checkpoint=None,
          resume=False, log=print):
    """Train the coordinator–advice joint policy on ``env`` with MAPPO (+ PID Lagrangian).

    ``seed``: int or Generator (initial parameters, env reset seed, sampling, minibatches);
    ``init_params``: warm start (e.g. the previous run of a chain) instead of fresh parameters;
    ``checkpoint``: ``.npz`` path written atomically every ``config.checkpoint_every`` iterations
    and at the end (the env must provide ``get_state``/``set_state``); ``resume=True`` continues
    from that file bit for bit if it exists (same env construction and seed), else starts fresh;
    ``log``: progress-line sink or None.
    """
    rng = as_generator(seed, "seed")
    if checkpoint is not None and not (callable(getattr(env, "get_state", None))
                                       and callable(getattr(env, "set_state", None))):
        raise TypeError(f"checkpointing needs env.get_state() and env.set_state(); "
                        f"{type(env).__name__} has no such methods (pass checkpoint=None)")
    obs = np.asarray(env.reset(seed=int(rng.integers(2 ** 62))), dtype=float)
    if obs.ndim != 3:
        raise ValueError(f"env.reset must return obs of shape (n_envs, n_agents, obs_dim), "
                         f"got {obs.shape}")
    if config.input_baseline and len(obs) < 2:
        raise ValueError(f"config.input_baseline cross-fits over environment copies: the env "
                         f"needs n_envs ≥ 2, got {len(obs)}")
    state = central_state(env, obs)
    agent = Agent(config, obs.shape[1], obs.shape[2], state.shape[1], check_int(n_actions, "n_actions", 2))
    params = agent.init(rng) if init_params is None else {k: np.array(v) for k, v in init_params.items()}
    optimizer = Adam(lr=config.lr)
    opt_state = optimizer.init(params)
    limit = config.cost_limit
    pid = PIDLagrangian(limit if limit is not None else 0.0, config.pid_kp, config.pid_ki,
                        config.pid_kd, config.pid_p_smoothing, config.pid_d_smoothing,
                        config.pid_d_delay, config.lambda_init)
    history = {k: [] for k in LOG_KEYS}
    best = {"score": -np.inf, "update": -1, "params": params, "ema_reward": 0.0, "ema_cost": 0.0}
    start = 0
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        ck = load_checkpoint(checkpoint)
        params, opt_state = ck["params"], ck["adam"]
        opt_state["t"] = np.array(opt_state["t"], dtype=np.int64)
        pid.load_state_dict(ck["pid"])
        _set_rng_state(rng, ck["rng"])
        env.set_state(ck["env"])
        obs, state = ck["obs"], ck["central_state"]
        history = {k: list(np.atleast_1d(v)) for k, v in ck["history"].items()}
        best = dict(ck["best"], params=ck["best_params"])
        start = int(ck["next_update"])

    if start == 0 and config.warmup_steps > 0:
        _, obs, state = _collect(env, agent, params, obs, state, rng, config.warmup_steps)
    N, T = len(obs), config.n_steps
    batch_size = N * T
    mb_size = max(1, batch_size // config.minibatches)
    grad_loss = grad(_loss)
    for update in range(start, config.updates):
        tic = time.perf_counter()
        roll, obs, state = _collect(env, agent, params, obs, state, rng, T)
        reward, mean_cost = float(np.mean(roll["reward"])), float(np.mean(roll["cost"]))
        parts = advantage_parts(agent, params, roll)
        # J_c that drives the multiplier: this batch's mean cost per step
        lam = pid.update(mean_cost) if limit is not None else 0.0
        advantage = combined_advantage(parts, lam, roll, config)
        flat = {k: v.reshape(batch_size, *v.shape[2:]) for k, v in roll.items()}
        flat.update(advantage=advantage.ravel(),
                    **{k: parts[k].ravel() for k in ("target", "cost_target", "value", "cost_value")})
        old_params = params
        lr = config.lr * (1.0 - update / config.updates) if config.anneal_lr else config.lr
        for _ in range(config.epochs):
            order = rng.permutation(batch_size)
            for lo in range(0, batch_size, mb_size):
                idx = order[lo:lo + mb_size]
                mb = {k: v[idx] for k, v in flat.items()}
                mb["advantage"] = _normalize(mb["advantage"])
                grads = _clip_norm(grad_loss(params, agent, mb, config), config.max_grad_norm)
                params, opt_state = optimizer.step(params, grads, opt_state, lr=lr)
        approx_kl, clip_frac, entropy = _policy_stats(agent, params, flat, config.clip)
        seconds = time.perf_counter() - tic
        record = dict(update=update, env_steps=(update + 1) * batch_size, reward=reward,
                      cost=mean_cost, multiplier=lam, pid_p=pid.terms["p"], pid_i=pid.terms["i"],
                      pid_d=pid.terms["d"], approx_kl=approx_kl, clip_frac=clip_frac,
                      explained_var=_explained_variance(flat["value"], flat["target"]),
                      explained_var_cost=_explained_variance(flat["cost_value"], flat["cost_target"]),
                      entropy=entropy, steps_per_second=batch_size / seconds)
        for k in LOG_KEYS:
            history[k].append(record[k])
        _track_best(best, old_params, reward, mean_cost, update, config)
        if log is not None and (update % config.log_every == 0 or update == config.updates - 1):
            log(f"update {update + 1}/{config.updates}  reward {reward:.4f}  cost {mean_cost:.4f}  "
                f"λ {lam:.3f}  kl {approx_kl:.4f}  clip {clip_frac:.3f}  ent {entropy:.3f}  "
                f"ev {record['explained_var']:.2f}  {record['steps_per_second']:.0f} steps/s")
        last = update == config.updates - 1
        if checkpoint is not None and ((update + 1) % config.checkpoint_every == 0 or last):
            save_checkpoint(checkpoint, params=params, adam=opt_state, pid=pid.state_dict(),
                            rng=_rng_state(rng), env=env.get_state(), obs=obs, central_state=state,
                            history={k: np.asarray(v) for k, v in history.items()},
                            best={k: v for k, v in best.items() if k != "params"},
                            best_params=best["params"], next_update=update + 1,
                            config=json.dumps(dataclasses.asdict(config)))
    return TrainResult(agent=agent, params=params, best_params=best["params"],
                       best_update=int(best["update"]),
                       history={k: np.asarray(v) for k, v in history.items()},
                       multiplier=float(pid.multiplier))


def _track_best(best, params, reward, cost, update, config):
    """Keep the parameters that *generated* the batch with the best smoothed reward among those
    whose smoothed cost meets the limit (EMAs damp the batch-to-batch noise; bias-corrected)."""
    a = config.best_smoothing
    best["ema_reward"] = a * best["ema_reward"] + (1 - a) * reward
    best["ema_cost"] = a * best["ema_cost"] + (1 - a) * cost
    correction = 1.0 - a ** (update + 1)
    smoothed_reward, smoothed_cost = best["ema_reward"] / correction, best["ema_cost"] / correction
    feasible = config.cost_limit is None or smoothed_cost <= config.cost_limit
    if feasible and smoothed_reward > best["score"]:
        best.update(score=smoothed_reward, update=update, params=params)

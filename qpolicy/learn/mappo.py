r"""MAPPO with a coordinator (paper §4.2.2, eq. 7–9, App. E) and a PID-Lagrangian cost constraint.

The joint policy of ``n`` agents is written in the coordinator–advice form (eq. 7)

.. math::  \pi(\mathbf a|\mathbf h) = \sum_{\mathbf x} q(\mathbf x|\mathbf h)
           \prod_i \pi_i(a_i | x_i, h_i),

and the communication constraint is carried entirely by the coordinator ``q``:

* ``"entangled"`` — :math:`q(\mathbf x|\mathbf h) = \operatorname{tr}(\rho \bigotimes_i
  M_i(x_i|h_i))`: agent i's POVM is QuantumSoftmax of logits that a small network computes from
  agent i's *own* observation; ρ is a fixed maximally entangled (GHZ-type) state, a given state
  (``config.state``, e.g. a noisy one) or learned as :math:`B^H B/\operatorname{tr}`; detection
  efficiency ``config.efficiency`` (App. F).  Executable without communication given the state.
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
``get_state()`` / ``set_state(dict)`` to checkpoint mid-run; optional ``parameters()`` → a
JSON-ready dict of its construction arguments, stored in checkpoints so that a resume with
another environment is refused.

**Where the parts live:** coordinators q(x|h) in :mod:`qpolicy.learn.coordinators`, actors
π_i(a_i|x_i, h_i) in :mod:`qpolicy.learn.actors`, critics, GAE and the input-dependent baseline
in :mod:`qpolicy.learn.critics`; this module has the configuration, the agent that joins them,
the loss and the training loop.

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
import hashlib
import json
import os
import string
import time
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
from autograd import grad

from qpolicy.learn.actors import ACTORS
from qpolicy.learn.adam import Adam
from qpolicy.learn.blas import one_blas_thread
from qpolicy.learn.checkpoint import load_checkpoint, save_checkpoint
from qpolicy.learn.coordinators import COORDINATORS, EntangledCoordinator  # noqa: F401 (re-export)
from qpolicy.learn.critics import (CRITICS, discount, gae, input_baseline,  # noqa: F401 (re-export)
                                   quadratic_features)
from qpolicy.learn.lagrangian import PIDLagrangian
from qpolicy.quantum import check_density_matrix
from qpolicy.validation import (as_array, as_generator, as_square_matrices, check_bool,
                                check_choice, check_finite_real, check_int, check_real_scalar)


@dataclass(frozen=True)
class MAPPOConfig:
    """Every hyperparameter of :func:`train` (defaults: small-network PPO practice)."""
    # --- policy architecture (eq. 7) ---
    coordinator: str = "entangled"   # "entangled" | "shared" | "none"
    actor: str = "pass"              # "pass" (advice is the action) | "network"
    n_advice: int = 2                # advice values per agent (= POVM outcomes); "pass" needs n_actions
    dim: int = 2                     # local Hilbert-space dimension of the entangled coordinator
    learned_state: bool = False      # learn ρ = BᴴB/tr(BᴴB) instead of the fixed entangled state
    complex_logits: bool = True      # POVM logits Z = X + iY (False: real symmetric Z, hence
                                     # real symmetric POVMs — the "real" measurement family)
    state: object = None             # a given shared state (density matrix on (C^dim)^⊗n_agents,
                                     # e.g. resources.white_noise(bell_state(), v)) instead of the
                                     # default one; stored as a nested tuple (np.array(state) is
                                     # the matrix); excludes learned_state
    efficiency: float = 1.0          # detection efficiency η in (0, 1] of each agent's detector
    no_click: int = 0                # the advice given on a no-click (< n_advice)
    hidden: tuple = (32, 32)         # hidden widths of every network (a list is kept as a tuple)
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
    max_grad_norm: float = 0.5       # global gradient-norm clip (> 0; inf: no clipping)
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

    def __post_init__(self):
        """Every field validated on construction (a ValueError/TypeError naming the field)."""
        check_choice(self.coordinator, "config.coordinator", tuple(COORDINATORS))
        check_choice(self.actor, "config.actor", tuple(ACTORS))
        check_choice(self.critic, "config.critic", tuple(CRITICS))
        check_choice(self.objective, "config.objective", ("discounted", "average"))
        for name in ("learned_state", "complex_logits", "anneal_lr", "input_baseline"):
            check_bool(getattr(self, name), f"config.{name}")
        for name in ("n_advice", "dim", "updates", "n_steps", "epochs", "minibatches",
                     "pid_d_delay", "checkpoint_every", "log_every"):
            check_int(getattr(self, name), f"config.{name}", minimum=1)
        check_int(self.warmup_steps, "config.warmup_steps", minimum=0)
        if isinstance(self.hidden, list):                 # a list of widths is a tuple of them
            object.__setattr__(self, "hidden", tuple(self.hidden))
        if not isinstance(self.hidden, tuple):
            raise TypeError(f"config.hidden must be a tuple of layer widths, "
                            f"got {type(self.hidden).__name__}")
        for k, width in enumerate(self.hidden):
            check_int(width, f"config.hidden[{k}]", minimum=1)
        real = check_finite_real
        real(self.coordinator_gain, "config.coordinator_gain", lo=0.0)
        real(self.lr, "config.lr", lo=0.0, lo_open=True)
        real(self.gamma, "config.gamma", lo=0.0, hi=1.0, hi_open=True)
        real(self.gae_lambda, "config.gae_lambda", lo=0.0, hi=1.0)
        real(self.clip, "config.clip", lo=0.0, lo_open=True)
        for name in ("entropy_coef", "value_coef", "conditioning_coef", "pid_kp", "pid_ki",
                     "pid_kd", "lambda_init"):
            real(getattr(self, name), f"config.{name}", lo=0.0)
        # +inf turns clipping off explicitly; NaN or ≤ 0 would turn it off or reverse updates
        check_real_scalar(self.max_grad_norm, "config.max_grad_norm", lo=0.0, lo_open=True)
        if self.cost_limit is not None:
            real(self.cost_limit, "config.cost_limit")
        for name in ("pid_p_smoothing", "pid_d_smoothing", "best_smoothing"):
            real(getattr(self, name), f"config.{name}", lo=0.0, hi=1.0, hi_open=True)
        self._check_resource()

    def _check_resource(self):
        """The resource model of the entangled coordinator: state, efficiency, no_click."""
        check_real_scalar(self.efficiency, "config.efficiency", 0.0, 1.0, lo_open=True)
        if check_int(self.no_click, "config.no_click", minimum=0) >= self.n_advice:
            raise ValueError(f"config.no_click must be an advice value (< config.n_advice = "
                             f"{self.n_advice}), got {self.no_click}")
        given = self.state is not None
        if (given or self.efficiency != 1.0) and self.coordinator != "entangled":
            raise ValueError(f"config.state and config.efficiency describe the entangled "
                             f"coordinator's resource; config.coordinator is "
                             f"{self.coordinator!r}")
        if not given:
            return
        if self.learned_state:
            raise ValueError("config.state (a given density matrix) and config.learned_state=True "
                             "exclude each other: a given state is held fixed")
        rho = as_square_matrices(self.state, "config.state", ndim=2)
        check_density_matrix(rho, name="config.state")
        D, n = rho.shape[0], 0
        while self.dim > 1 and self.dim ** (n + 1) <= D:
            n += 1
        if (self.dim ** n != D or n < 2) and not D == self.dim == 1:
            raise ValueError(f"config.state must act on (C^dim)^⊗n_agents with config.dim = "
                             f"{self.dim} and at least 2 agents; its dimension is {D}")
        object.__setattr__(self, "state", tuple(tuple(complex(z) for z in row)
                                                for row in np.asarray(rho, dtype=complex)))


def _check_config(config, n_actions):
    """The checks that need the environment: pass-through actors emit the advice as actions."""
    if not isinstance(config, MAPPOConfig):
        raise TypeError(f"config must be a MAPPOConfig, got {type(config).__name__}")
    if config.actor == "pass" and config.n_advice != n_actions:
        raise ValueError(f"config.n_advice must equal the number of actions ({n_actions}) when "
                         f"actors pass the advice through, got {config.n_advice}")
    if config.actor == "pass" and config.coordinator != "entangled":
        raise ValueError("pass-through actors need the entangled coordinator: with shared or no "
                         "advice every agent would act identically or constantly")


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


@one_blas_thread
def train(env, config=MAPPOConfig(), seed=0, *, n_actions=2, init_params=None, checkpoint=None,
          resume=False, log=print):
    """Train the coordinator–advice joint policy on ``env`` with MAPPO (+ PID Lagrangian).

    ``seed``: int or Generator (initial parameters, env reset seed, sampling, minibatches);
    ``init_params``: warm start (e.g. the previous run of a chain) instead of fresh parameters;
    ``checkpoint``: ``.npz`` path written atomically every ``config.checkpoint_every`` iterations
    and at the end (the env must provide ``get_state``/``set_state``); ``resume=True`` continues
    from that file bit for bit if it exists (same env construction and seed), else starts fresh;
    ``log``: progress-line sink or None.

    A resumed run must be the same run: a checkpoint written with another configuration (other
    than :data:`RESUMABLE_FIELDS`), environment parameters, seed, ``n_actions`` or warm start is
    refused with the differing fields.  BLAS runs single-threaded inside
    (:mod:`~qpolicy.learn.blas`), so the results do not depend on the BLAS thread count.
    """
    rng = as_generator(seed, "seed")
    seed_key = _seed_key(seed)
    n_actions = check_int(n_actions, "n_actions", minimum=2)
    _check_config(config, n_actions)
    check_bool(resume, "resume")
    if log is not None and not callable(log):
        raise TypeError(f"log must be a callable taking a line, or None; got {type(log).__name__}")
    if checkpoint is not None and not os.fspath(checkpoint).endswith(".npz"):
        raise ValueError(f"checkpoint must be a path ending with .npz, got {checkpoint!r}")
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
    agent = Agent(config, obs.shape[1], obs.shape[2], state.shape[1], n_actions)
    params = agent.init(rng) if init_params is None else _check_init_params(init_params, agent)
    optimizer = Adam(lr=config.lr)
    run = dict(params=params, opt_state=optimizer.init(params), pid=_pid(config), obs=obs,
               state=state, history={k: [] for k in LOG_KEYS}, next_update=0,
               best={"score": -np.inf, "update": -1, "params": params, "ema_reward": 0.0,
                     "ema_cost": 0.0},
               identity=_identity(config, env, obs, seed_key, n_actions, init_params))
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        _restore(run, checkpoint, env, rng, config)
    if run["next_update"] == 0 and config.warmup_steps > 0:
        _, run["obs"], run["state"] = _collect(env, agent, run["params"], run["obs"], run["state"],
                                               rng, config.warmup_steps)
    batch_size = len(run["obs"]) * config.n_steps
    for update in range(run["next_update"], config.updates):
        tic = time.perf_counter()
        params, pid = run["params"], run["pid"]
        # x ~ q(·|h), a_i ~ π_i(·|x_i, h_i)                                               (eq. 7)
        roll, run["obs"], run["state"] = _collect(env, agent, params, run["obs"], run["state"],
                                                  rng, config.n_steps)
        reward, mean_cost = float(np.mean(roll["reward"])), float(np.mean(roll["cost"]))
        parts = advantage_parts(agent, params, roll)                            # GAE, both signals
        lam = pid.update(mean_cost) if config.cost_limit is not None else 0.0   # PID Lagrangian
        advantage = combined_advantage(parts, lam, roll, config)       # (A_r − λA_c)/(1 + λ) − b
        flat = {k: v.reshape(batch_size, *v.shape[2:]) for k, v in roll.items()}
        flat.update(advantage=advantage.ravel(),
                    **{k: parts[k].ravel() for k in ("target", "cost_target", "value", "cost_value")})
        lr = config.lr * (1.0 - update / config.updates) if config.anneal_lr else config.lr
        run["params"], run["opt_state"] = _optimize(agent, optimizer, params, run["opt_state"],
                                                    flat, lr, rng)             # eq. 8 and 9
        approx_kl, clip_frac, entropy = _policy_stats(agent, run["params"], flat, config.clip)
        seconds = time.perf_counter() - tic
        record = dict(update=update, env_steps=(update + 1) * batch_size, reward=reward,
                      cost=mean_cost, multiplier=lam, pid_p=pid.terms["p"], pid_i=pid.terms["i"],
                      pid_d=pid.terms["d"], approx_kl=approx_kl, clip_frac=clip_frac,
                      explained_var=_explained_variance(flat["value"], flat["target"]),
                      explained_var_cost=_explained_variance(flat["cost_value"], flat["cost_target"]),
                      entropy=entropy, steps_per_second=batch_size / seconds)
        for k in LOG_KEYS:
            run["history"][k].append(record[k])
        _track_best(run["best"], params, reward, mean_cost, update, config)
        run["next_update"] = update + 1
        last = update == config.updates - 1
        if log is not None and (update % config.log_every == 0 or last):
            log(f"update {update + 1}/{config.updates}  reward {reward:.4f}  cost {mean_cost:.4f}  "
                f"λ {lam:.3f}  kl {approx_kl:.4f}  clip {clip_frac:.3f}  ent {entropy:.3f}  "
                f"ev {record['explained_var']:.2f}  {record['steps_per_second']:.0f} steps/s")
        if checkpoint is not None and ((update + 1) % config.checkpoint_every == 0 or last):
            _save(run, checkpoint, env, rng, config)
    return TrainResult(agent=agent, params=run["params"], best_params=run["best"]["params"],
                       best_update=int(run["best"]["update"]),
                       history={k: np.asarray(v) for k, v in run["history"].items()},
                       multiplier=float(run["pid"].multiplier))


def _check_init_params(init_params, agent):
    """A copy of a warm start, which must have exactly the agent's parameter names and shapes."""
    if not isinstance(init_params, dict):
        raise TypeError(f"init_params must be a dict name -> array (e.g. a previous run's "
                        f"params), got {type(init_params).__name__}")
    fresh = agent.init(np.random.default_rng(0))        # names and shapes only
    if set(init_params) != set(fresh):
        raise ValueError(f"init_params must have the parameters of this configuration: missing "
                         f"{sorted(set(fresh) - set(init_params))}, unexpected "
                         f"{sorted(set(init_params) - set(fresh))}")
    params = {}
    for k, v in fresh.items():
        params[k] = as_array(init_params[k], f"init_params[{k!r}]", complex_ok=False).copy()
        if params[k].shape != v.shape:
            raise ValueError(f"init_params[{k!r}] must have shape {v.shape}, got {params[k].shape}")
    return params


def _pid(config):
    limit = config.cost_limit
    return PIDLagrangian(limit if limit is not None else 0.0, config.pid_kp, config.pid_ki,
                         config.pid_kd, config.pid_p_smoothing, config.pid_d_smoothing,
                         config.pid_d_delay, config.lambda_init)


def _optimize(agent, optimizer, params, opt_state, flat, lr, rng):
    """``config.epochs`` passes of minibatch Adam steps on the clipped-norm gradient of the loss
    (eq. 8 + eq. 9 surrogates, entropy bonus, critic losses, App. I penalty)."""
    config = agent.config
    batch_size = len(flat["advantage"])
    mb_size = max(1, batch_size // config.minibatches)
    for _ in range(config.epochs):
        order = rng.permutation(batch_size)
        for lo in range(0, batch_size, mb_size):
            idx = order[lo:lo + mb_size]
            mb = {k: v[idx] for k, v in flat.items()}
            mb["advantage"] = _normalize(mb["advantage"])
            grads = _clip_norm(_grad_loss(params, agent, mb, config), config.max_grad_norm)
            params, opt_state = optimizer.step(params, grads, opt_state, lr=lr)
    return params, opt_state


_grad_loss = grad(_loss)


def _save(run, checkpoint, env, rng, config):
    best = run["best"]
    save_checkpoint(checkpoint, params=run["params"], adam=run["opt_state"],
                    pid=run["pid"].state_dict(), rng=_rng_state(rng), env=env.get_state(),
                    obs=run["obs"], central_state=run["state"],
                    history={k: np.asarray(v) for k, v in run["history"].items()},
                    best={k: v for k, v in best.items() if k != "params"},
                    best_params=best["params"], next_update=run["next_update"],
                    config=json.dumps(dataclasses.asdict(config), default=_plain),
                    identity=json.dumps(run["identity"]))


#: Configuration fields a resumed run may change: how long it runs and how often it reports.
RESUMABLE_FIELDS = ("updates", "checkpoint_every", "log_every")


def _identity(config, env, obs, seed, n_actions, init_params):
    """What defines a run besides its length: the configuration, the environment's parameters,
    the seed, n_actions and the warm start — JSON-normalized, compared on resume."""
    config = {k: v for k, v in dataclasses.asdict(config).items() if k not in RESUMABLE_FIELDS}
    if config["state"] is not None:     # the full matrix is in the stored config; compare a digest
        config["state"] = "sha256 " + _digest(np.asarray(config["state"], complex).tobytes())
    if callable(getattr(env, "parameters", None)):
        env_parameters = dict(env.parameters())
    else:
        env_parameters = {"type": type(env).__qualname__, "obs_shape": list(obs.shape)}
    if init_params is not None:
        init_params = _digest(*(f"{k}{np.asarray(v).dtype}{np.shape(v)}".encode()
                                + np.ascontiguousarray(v).tobytes()
                                for k, v in sorted(init_params.items())))
    identity = {**{f"config.{k}": v for k, v in config.items()},
                **{f"env.{k}": v for k, v in env_parameters.items()},
                "seed": seed,
                "n_actions": int(n_actions), "init_params": init_params}
    return json.loads(json.dumps(identity, default=_plain))   # tuples -> lists, as stored


def _plain(value):
    """JSON for NumPy scalars in a configuration (np.int64(2) -> 2) and for the complex entries
    of a given state (z -> [Re z, Im z], exact: JSON floats round-trip)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, complex):
        return [value.real, value.imag]
    raise TypeError(f"cannot store {type(value).__name__} {value!r} in a checkpoint")


def _seed_key(seed):
    """The seed as stored: the integer, or a digest of a Generator's state on entry."""
    if isinstance(seed, np.random.Generator):
        return "Generator " + _digest(json.dumps(seed.bit_generator.state, sort_keys=True))
    return int(seed)


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()[:16]


def _check_resumable(ck, path, identity, config):
    """Refuse a checkpoint of another run: naming every differing field (saved, requested)."""
    if "next_update" not in ck or "config" not in ck or "params" not in ck:
        raise ValueError(f"cannot resume {os.fspath(path)!r}: it is not a MAPPO checkpoint "
                         f"(written by qpolicy.learn.mappo.train)")
    # configuration fields added after a checkpoint was written take their defaults
    defaults = json.loads(json.dumps(dataclasses.asdict(MAPPOConfig())))
    saved = {f"config.{k}": v for k, v in {**defaults, **json.loads(ck["config"])}.items()
             if k not in RESUMABLE_FIELDS}
    if "identity" in ck:
        saved.update(json.loads(ck["identity"]))
    else:       # written before run identities were stored: the configuration only
        identity = {k: v for k, v in identity.items() if k.startswith("config.")}
    differ = {k.removeprefix("config."): (saved.get(k, "<absent>"), v)
              for k, v in identity.items() if saved.get(k, "<absent>") != v}
    differ.update({k: (v, "<absent>") for k, v in saved.items() if k not in identity})
    if differ:
        listed = ", ".join(f"{k} (saved {a!r}, requested {b!r})" for k, (a, b) in differ.items())
        raise ValueError(f"cannot resume {os.fspath(path)!r}: it was written by another run; "
                         f"differing settings: {listed}")
    if int(ck["next_update"]) > config.updates:
        raise ValueError(f"cannot resume {os.fspath(path)!r} to config.updates={config.updates}: "
                         f"it has already run {int(ck['next_update'])} updates")


def _restore(run, checkpoint, env, rng, config):
    ck = load_checkpoint(checkpoint)
    _check_resumable(ck, checkpoint, run["identity"], config)
    run["params"], run["opt_state"] = ck["params"], ck["adam"]
    run["opt_state"]["t"] = np.array(run["opt_state"]["t"], dtype=np.int64)
    run["pid"].load_state_dict(ck["pid"])
    _set_rng_state(rng, ck["rng"])
    env.set_state(ck["env"])
    run["obs"], run["state"] = ck["obs"], ck["central_state"]
    run["history"] = {k: list(np.atleast_1d(v)) for k, v in ck["history"].items()}
    run["best"] = dict(ck["best"], params=ck["best_params"])
    run["next_update"] = int(ck["next_update"])


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

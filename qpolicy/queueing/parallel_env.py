"""The routing problem as a PettingZoo ``ParallelEnv`` (optional extra ``[envs]``).

One environment copy, two agents ``"router_0"`` and ``"router_1"``: each observes a ``Box``
feature vector (its own job size, optionally Δt and the queues — see :class:`RoutingEnv`) and
picks a server with a ``Discrete(2)`` action.  Both agents get the shared reward of eq. (33); the
quality-of-service cost (the step's mean customer wait) is in ``infos[agent]["cost"]``.
``state()`` / ``state_space`` give the central state (q₁, q₂, x₁, x₂, Δt) for centralized
critics.  Seeding goes through ``reset(seed=...)``; the first reset must be seeded (qpolicy reads
no global or OS random state), later unseeded resets continue the same stream.

Joint policies.  A shared-randomness or entangled coordinator correlates the two routers'
actions, so it must sample the *joint* action: draw ``(a₁, a₂)`` from the coordinator's table
(e.g. :meth:`qpolicy.policies.EntangledPolicy.sample` on the pair of observations) and pass
both entries of the dict at once.  Per-agent samplers — SuperSuit's vectorization, or any loop
that asks each agent's policy separately — sample the agents independently and can only represent
factorized policies.

Example:
    >>> from qpolicy.queueing.parallel_env import ParallelRoutingEnv
    >>> env = ParallelRoutingEnv(horizon=5)
    >>> obs, infos = env.reset(seed=0)
    >>> obs["router_0"].shape, int(env.action_space("router_1").n)
    ((1,), 2)
    >>> obs, rewards, terminations, truncations, infos = env.step({"router_0": 1, "router_1": 0})
    >>> sorted(infos["router_0"])
    ['cost', 'servers']
"""
import functools

import numpy as np

try:
    from gymnasium import spaces
    from pettingzoo import ParallelEnv
except ImportError as exc:          # pragma: no cover - exercised only without the extra
    raise ImportError("qpolicy.queueing.parallel_env needs PettingZoo: "
                      "python -m pip install -e \".[envs]\"") from exc

from .env import RoutingEnv

#: Bounds of each observation feature: job sizes and Δt are ≥ 0, queue states are real
#: (q < 0 is minus the idle time).
_FEATURE_BOUNDS = {"job": [(0.0, np.inf)], "dt": [(0.0, np.inf)],
                   "queues": [(-np.inf, np.inf), (-np.inf, np.inf)]}


class ParallelRoutingEnv(ParallelEnv):
    """One copy of the two-router problem of App. H with PettingZoo's parallel API.

    Keyword arguments are those of :class:`RoutingEnv` except ``n_envs`` (always 1).
    """

    metadata = {"name": "qpolicy_routing_v0", "render_modes": []}
    possible_agents = ["router_0", "router_1"]
    render_mode = None

    def __init__(self, **routing_env_kwargs):
        if "n_envs" in routing_env_kwargs:
            raise TypeError("ParallelRoutingEnv is one environment copy; n_envs is not accepted "
                            "(use RoutingEnv for many copies)")
        self._env = RoutingEnv(n_envs=1, **routing_env_kwargs)
        self.agents = []
        bounds = [b for feature in self._env.observe for b in _FEATURE_BOUNDS[feature]]
        low, high = np.array(bounds).T
        self._observation_space = spaces.Box(low, high, dtype=np.float64)
        self._action_space = spaces.Discrete(2)
        # Central state (q₁, q₂, x₁, x₂, Δt): queues real, the rest ≥ 0.
        self.state_space = spaces.Box(np.array([-np.inf, -np.inf, 0.0, 0.0, 0.0]),
                                      np.full(5, np.inf), dtype=np.float64)

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent):
        self._check_agent(agent)
        return self._observation_space

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent):
        self._check_agent(agent)
        return self._action_space

    def _check_agent(self, agent):
        if agent not in self.possible_agents:
            raise ValueError(f"agent must be one of {self.possible_agents}, got {agent!r}")

    def _per_agent(self, obs):
        return {agent: obs[0, i].copy() for i, agent in enumerate(self.possible_agents)}

    def state(self):
        """Central state (q₁, q₂, x₁, x₂, Δt before the current pair), shape (5,)."""
        return self._env.central_state()[0]

    def reset(self, seed=None, options=None):
        """Empty queues; returns ``(observations, infos)``.  ``options`` is unused."""
        obs = self._env.reset(seed=seed)
        self.agents = list(self.possible_agents)
        return self._per_agent(obs), {agent: {} for agent in self.agents}

    def step(self, actions):
        """Route the current pair: ``actions`` maps each live agent to 0 or 1."""
        if not self.agents:
            raise RuntimeError("the episode has ended: call reset() before step()")
        if not isinstance(actions, dict) or set(actions) != set(self.agents):
            raise ValueError(f"actions must be a dict with exactly the keys {self.agents}, "
                             f"got {actions!r}")
        joint = np.empty((1, 2), dtype=np.int64)
        for i, agent in enumerate(self.possible_agents):
            action = actions[agent]
            if isinstance(action, np.ndarray) and action.shape == ():
                action = action[()]
            if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
                raise TypeError(f"actions[{agent!r}] must be an integer 0 or 1, got {action!r}")
            if int(action) not in (0, 1):
                raise ValueError(f"actions[{agent!r}] must be 0 or 1, got {action!r}")
            joint[0, i] = int(action)
        obs, reward, cost, terminated, truncated, info = self._env.step(joint)
        if truncated[0]:
            obs = info["final_obs"]
        observations = self._per_agent(obs)
        rewards = {agent: float(reward[0]) for agent in self.agents}
        terminations = {agent: bool(terminated[0]) for agent in self.agents}
        truncations = {agent: bool(truncated[0]) for agent in self.agents}
        infos = {agent: {"cost": float(cost[0]), "servers": info["servers"][0].copy()}
                 for agent in self.agents}
        if terminated[0] or truncated[0]:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

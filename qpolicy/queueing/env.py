"""The two-router queueing Dec-POMDP of App. H (eq. 30–35), vectorized over environment copies.

One environment step is one arrival epoch.  Sequence of a step (the same in every copy):

1. the observation is the job sizes ``x = (x_1, x_2)`` of the pair about to be routed
   (router i sees ``x_i``; optionally the inter-arrival time Δt that preceded the pair and the
   queue states, App. H.1.5);
2. the routers pick servers ``a = (a_1, a_2)``; with ``balanced=True`` one fair coin per step flips
   **both** actions, ``a -> 1 - a`` (eq. 35), so the executed joint policy satisfies eq. (34);
3. the cost is the mean wait of the step's two customers: customer i waits the remaining work
   ``[q_{a_i}]_+`` of its server, and when both go to the same server they are served in random
   order (a second fair coin) and the second also waits the first's size (App. H.1.6);
4. Δt ~ Exp(λ) is drawn, the queues move by eq. (31) and the reward is eq. (33);
5. the next pair ``x' ~ Exp(μ)²`` is drawn and observed.

Units: ``cost`` per step = mean wait of the step's two customers, so the long-run mean cost per
step equals the mean wait per customer (the quality-of-service constraint "mean wait ≤ W_ℓ"
of App. H.1.6 is "mean cost ≤ W_ℓ").  ``reward`` per step is the baseline-task reward of both
servers (eq. 33); the throughput per unit time is Σ reward / Σ Δt = λ × mean reward per step.

Queue state ``q`` per server: ``q > 0`` remaining work, ``q < 0`` minus the uninterrupted idle
time (baseline task), eq. (30).  Every copy starts empty, ``q = 0``.

Random numbers are drawn in blocks of many steps (one call per block for each kind), so a step is
a handful of whole-array operations and no Python loop over copies.

Reference: App. H of the paper; the model is that of da Silva & Wehner (2026).
"""
import json

import numpy as np

from ..validation import as_array, as_generator, check_bool, check_int, check_positive, check_size

#: Observation features a router can be given, in their order inside the feature vector.
OBSERVATIONS = ("job", "dt", "queues")
_FEATURE_SIZE = {"job": 1, "dt": 1, "queues": 2}

#: Random draws are made for about this many env-steps at a time (memory ~ 40 bytes per step).
_BLOCK_ENV_STEPS = 1 << 18


def square(t):
    """The paper's baseline-task throughput function T(t) = t²."""
    return t * t


def check_rates(arrival_rate, service_rate):
    """Validated ``(λ, μ)``: positive finite rates with λ < μ (each server stable, ρ = λ/μ < 1)."""
    lam = check_positive(arrival_rate, "arrival_rate")
    mu = check_positive(service_rate, "service_rate")
    if lam >= mu:
        raise ValueError(f"arrival_rate must be below service_rate for a stable queue "
                         f"(load λ/μ < 1), got arrival_rate={lam:g}, service_rate={mu:g}")
    return lam, mu


def check_throughput_function(throughput):
    """Raise unless ``throughput`` is a vectorized callable T with T(0) = 0, finite on t ≥ 0."""
    if not callable(throughput):
        raise TypeError(f"throughput must be a callable T(t), got {type(throughput).__name__}")
    probe = np.array([0.0, 0.5, 2.0])
    try:
        values = np.asarray(throughput(probe), dtype=float)
    except Exception as exc:
        raise TypeError(f"throughput must accept a float array, failed with: {exc}") from None
    if values.shape != probe.shape or not np.all(np.isfinite(values)):
        raise ValueError("throughput must map a float array elementwise to finite values")
    if values[0] != 0.0:
        # eq. (32) pays T([-q']_+) on busy steps, which is only right when T(0) = 0.
        raise ValueError(f"throughput must satisfy T(0) = 0, got T(0) = {values[0]:g}")
    return throughput


def check_actions(actions, n_envs):
    """Actions as an integer array ``(n_envs, 2)`` with entries in {0, 1}; bool is accepted."""
    a = np.asarray(actions)
    if a.dtype.kind not in "biu":
        raise TypeError(f"actions must be an integer array of servers 0/1, got dtype {a.dtype}")
    if a.shape != (n_envs, 2):
        raise ValueError(f"actions must have shape (n_envs, 2) = ({n_envs}, 2), got {a.shape}")
    if a.dtype == bool:
        return a.view(np.uint8)
    # One reduction: read as unsigned, negative entries are huge, so max ≤ 1 iff all are 0 or 1.
    if a.view(f"u{a.itemsize}").max() > 1:
        high_bits = a >> 1
        raise ValueError("actions must be 0 or 1 (the server index), got "
                         f"{a[high_bits != 0][0]}")
    return a


class RoutingEnv:
    """``n_envs`` independent copies of the two-router, two-server queueing problem (App. H).

    Parameters: ``arrival_rate`` λ of the Poisson arrival epochs (one pair per epoch),
    ``service_rate`` μ of the Exp(μ) job sizes (λ < μ), ``horizon`` steps per episode (None: a
    continuing task that never truncates), ``throughput`` the baseline reward T(t) of an
    uninterrupted idle interval of length t (vectorized, T(0) = 0; default t²), ``balanced``
    the random relabeling of eq. (35), ``observe`` a tuple of features from
    :data:`OBSERVATIONS` given to each router, in that order: ``"job"`` its own x_i,
    ``"dt"`` the inter-arrival time before the current pair (0 after a reset), ``"queues"``
    both queue states (q_1, q_2).

    Example:
        >>> env = RoutingEnv(n_envs=3, horizon=10)
        >>> obs = env.reset(seed=0)
        >>> obs.shape
        (3, 2, 1)
        >>> obs, reward, cost, terminated, truncated, info = env.step(np.zeros((3, 2), int))
        >>> reward.shape, cost.shape, info["state"].shape
        ((3,), (3,), (3, 5))
    """

    n_agents = 2
    #: Central state for critics: (q_1, q_2, x_1, x_2, Δt before the current pair).
    state_dim = 5

    def __init__(self, n_envs=1, arrival_rate=0.8, service_rate=1.0, horizon=None,
                 throughput=square, balanced=True, observe=("job",)):
        self.n_envs = check_int(n_envs, "n_envs", minimum=1)
        # state rows, step buffers and at least one random block: ~32 floats per copy
        check_size(32 * self.n_envs, "n_envs", "environment state", itemsize=8)
        self.arrival_rate, self.service_rate = check_rates(arrival_rate, service_rate)
        self.horizon = None if horizon is None else check_int(horizon, "horizon", minimum=1)
        self.throughput = check_throughput_function(throughput)
        self.balanced = check_bool(balanced, "balanced")
        self.observe = self._check_observe(observe)
        self.obs_dim = sum(_FEATURE_SIZE[f] for f in self.observe)
        self._block = max(1, min(4096, _BLOCK_ENV_STEPS // self.n_envs))
        self._rng = None

    @staticmethod
    def _check_observe(observe):
        if isinstance(observe, str) or not isinstance(observe, (tuple, list)):
            raise TypeError(f"observe must be a tuple of feature names from {OBSERVATIONS}, "
                            f"got {observe!r}")
        unknown = [f for f in observe if f not in OBSERVATIONS]
        if unknown or not observe or len(set(observe)) != len(observe):
            raise ValueError(f"observe must be a non-empty tuple of distinct names from "
                             f"{OBSERVATIONS}, got {tuple(observe)!r}")
        return tuple(observe)

    def parameters(self):
        """The construction arguments, JSON-ready (stored in checkpoints, compared on resume)."""
        throughput = self.throughput
        return {"type": "RoutingEnv", "n_envs": self.n_envs, "arrival_rate": self.arrival_rate,
                "service_rate": self.service_rate, "horizon": self.horizon,
                "throughput": f"{getattr(throughput, '__module__', '?')}."
                              f"{getattr(throughput, '__qualname__', type(throughput).__name__)}",
                "balanced": self.balanced, "observe": list(self.observe)}

    # ------------------------------------------------------------------ state
    # Internally every per-server or per-router quantity is stored server/router-major,
    # shape (2, n_envs), so that each operation runs over contiguous rows.
    @property
    def state(self):
        """Queue states ``q`` of shape ``(n_envs, 2)`` (q > 0 remaining work, q < 0 −idle time);
        a copy."""
        return self._q.T.copy()

    def central_state(self):
        """``(n_envs, 5)`` array (q_1, q_2, x_1, x_2, Δt before the current pair), for critics."""
        state = np.empty((5, self.n_envs))
        state[:2], state[2:4], state[4] = self._q, self._x, self._dt_prev
        return state.T

    def observation(self):
        """Per-router observation ``(n_envs, 2, obs_dim)`` of the current pair (see class doc)."""
        obs = np.empty((self.n_envs, 2, self.obs_dim))
        column = 0
        for feature in self.observe:
            # Row by row: a single transposing copy would loop over the length-2 axis innermost.
            for router in (0, 1):
                if feature == "job":
                    obs[:, router, column] = self._x[router]
                elif feature == "dt":
                    obs[:, router, column] = self._dt_prev
                else:
                    obs[:, router, column] = self._q[0]
                    obs[:, router, column + 1] = self._q[1]
            column += _FEATURE_SIZE[feature]
        return obs

    # ------------------------------------------------------------------ random draws
    def _draw_block(self):
        """Exogenous randomness for the next ``self._block`` steps of every copy."""
        rng, n, block = self._rng, self.n_envs, self._block
        self._block_rng_state = json.dumps(rng.bit_generator.state)   # to redraw on set_state
        draws = rng.standard_exponential((block, 3, n))   # x_1, x_2 ~ Exp(μ), Δt ~ Exp(λ)
        draws[:, :2] *= 1.0 / self.service_rate
        draws[:, 2] *= 1.0 / self.arrival_rate
        self._jobs, self._gaps = draws[:, :2], draws[:, 2]
        # Two fair coins per step, unpacked from random bytes (8 coins per byte).
        coins = np.unpackbits(np.frombuffer(rng.bytes(-(-2 * block * n // 8)), np.uint8))
        coins = coins[:2 * block * n].reshape(2, block, n)
        # The relabeling coin c of eq. (35) as floats 0/1: executed server = |action − c|.
        self._flips = coins[0].astype(float) if self.balanced else np.zeros((block, n))
        self._second_is_0 = coins[1].view(bool)         # router 0's customer served second
        # Extra wait of the second customer of a co-routed pair: the first one's size; halved,
        # since the cost is the mean of the two customers' waits.
        half_first = np.where(self._second_is_0, self._jobs[:, 1], self._jobs[:, 0])
        self._half_first_size = np.multiply(half_first, 0.5, out=half_first)
        self._k = 0

    def _next_jobs(self):
        if self._k + 1 >= self._block:
            self._draw_block()
        else:
            self._k += 1
        self._x = self._jobs[self._k]

    # ------------------------------------------------------------------ API
    def reset(self, seed=None):
        """Empty queues in every copy; returns the first observation ``(n_envs, 2, obs_dim)``.

        ``seed`` (int or Generator) is required on the first reset; later resets without a
        seed continue the same random stream.
        """
        if seed is not None:
            self._rng = as_generator(seed, "seed")
        elif self._rng is None:
            raise ValueError("seed must be given on the first reset (no global random state)")
        n = self.n_envs
        self._q = np.zeros((2, n))
        self._T_idle = np.zeros((2, n))        # T(idle time so far), already paid (eq. 32)
        self._dt_prev = np.zeros(n)
        self._t = np.zeros(n, dtype=np.int64)
        self._allocate_buffers()
        self._draw_block()
        self._x = self._jobs[0]
        return self.observation()

    def get_state(self):
        """Everything needed to continue this run bit for bit: a dict of arrays and a string.

        The random block in use is not stored; :meth:`set_state` redraws it from the saved
        generator state (so a checkpoint is small).
        """
        if self._rng is None:
            raise RuntimeError("call reset(seed=...) before get_state()")
        return {"q": self._q.copy(), "T_idle": self._T_idle.copy(),
                "dt_prev": self._dt_prev.copy(), "t": self._t.copy(), "k": self._k,
                "block_rng": self._block_rng_state}

    def set_state(self, state):
        """Restore a :meth:`get_state` dict (same n_envs); the env continues where it was.

        Every entry is validated (shape, finiteness, range) before anything changes."""
        n = self.n_envs
        keys = ("q", "T_idle", "dt_prev", "t", "k", "block_rng")
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict from get_state(), got {type(state).__name__}")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(f"state is missing {missing} (expected the keys {list(keys)})")
        q = as_array(state["q"], "state['q']", complex_ok=False)
        T_idle = as_array(state["T_idle"], "state['T_idle']", complex_ok=False)
        dt_prev = as_array(state["dt_prev"], "state['dt_prev']", complex_ok=False)
        for name, arr, shape in (("q", q, (2, n)), ("T_idle", T_idle, (2, n)),
                                 ("dt_prev", dt_prev, (n,))):
            if arr.shape != shape:
                raise ValueError(f"state[{name!r}] must have shape {shape}, got {arr.shape}")
        if np.any(T_idle < 0) or np.any(dt_prev < 0):
            raise ValueError("state['T_idle'] and state['dt_prev'] must be non-negative")
        t = np.asarray(state["t"])
        if t.dtype.kind not in "iu" or t.shape != (n,) or np.any(t < 0) or \
                (self.horizon is not None and np.any(t >= self.horizon)):
            raise ValueError(f"state['t'] must be {n} step counts in [0, horizon), got {t!r}")
        k = state["k"]
        k = check_int(k.item() if isinstance(k, np.ndarray) and k.ndim == 0 else k, "state['k']",
                      minimum=0, maximum=self._block - 1)
        rng = np.random.default_rng(0)          # its state is overwritten just below
        try:
            rng.bit_generator.state = json.loads(state["block_rng"])
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"state['block_rng'] must be the JSON of a PCG64 generator state "
                             f"({exc})") from None
        self._rng = rng
        self._draw_block()
        self._k = k
        self._x = self._jobs[self._k]
        self._q, self._T_idle, self._dt_prev = q.copy(), T_idle.copy(), dt_prev.copy()
        self._t = t.astype(np.int64)
        self._allocate_buffers()

    def _allocate_buffers(self):
        """Scratch arrays reused by every step (nothing returned to the caller lives in them)."""
        self._buffer = np.empty((2, self.n_envs))
        self._to_1 = np.empty((2, self.n_envs))
        self._got_work = np.empty((2, self.n_envs))

    def step(self, actions):
        """Route the current pair; returns ``obs, reward, cost, terminated, truncated, info``.

        ``info``: ``"state"`` the central state after the step, ``"servers"`` the executed
        servers ``(n_envs, 2)`` (after the relabeling coin), ``"dt"`` the elapsed Δt,
        ``"exogenous"`` ``(n_envs, 4)`` what the step drew independently of the actions —
        (Δt, next x_1, next x_2, relabeling coin) — for input-dependent baselines,
        ``"second_is_0"`` whether router 0's customer was served second if co-routed, and, if
        any copy hit the horizon, ``"final_obs"`` and ``"final_state"`` the true last
        observation and central state of those copies (which are then reset in place: q = 0,
        Δt-feature 0; the fresh pair is their first observation).
        """
        if self._rng is None:
            raise RuntimeError("call reset(seed=...) before step()")
        a = check_actions(actions, self.n_envs)
        k, to_1, buffer = self._k, self._to_1, self._buffer
        x, q, dt = self._x, self._q, self._gaps[k]
        # Executed servers as floats 0/1, (router, env): |a − c| flips both with the coin c of
        # eq. (35).  Row-by-row copies and float arithmetic: a transposing or casting ufunc
        # call, integer ufuncs and where= masks are each several times slower in NumPy.
        to_1[0], to_1[1] = a[:, 0], a[:, 1]
        to_1 -= self._flips[k]
        np.abs(to_1, out=to_1)
        servers = to_1.T.astype(np.int8)
        # Δq of eq. (31); x - x·1 is exactly 0, so a server that got nothing has load 0.
        on_1 = np.multiply(x, to_1, out=buffer)
        load = np.empty_like(q)
        np.add(on_1[0], on_1[1], out=load[1])
        on_0 = np.subtract(x, on_1, out=buffer)
        np.add(on_0[0], on_0[1], out=load[0])
        work = np.maximum(q, 0.0, out=buffer)
        # Mean wait: customer i waits work[server_i] = work_0 + to_1[i]·(work_1 − work_0); a
        # co-routed pair's second customer also waits the first's size.  With n_on_1 = 0, 1, 2
        # customers on server 1: cost = n_on_1/2·(work_1 − work_0) + work_0 + co·first/2, where
        # co = (n_on_1 − 1)² is 1 exactly when co-routed.  (All halvings are exact.)
        n_on_1 = np.add(to_1[0], to_1[1], out=to_1[0])
        cost = np.subtract(work[1], work[0])
        cost *= n_on_1
        cost *= 0.5
        cost += work[0]
        n_on_1 -= 1.0
        co_routed = np.multiply(n_on_1, n_on_1, out=n_on_1)
        co_routed *= self._half_first_size[k]
        cost += co_routed
        # eq. (30): an arrival at an idle server (q < 0) restarts it from 0: q + [−q]_+ = work.
        # Written q + got·(work − q), exact: work − q + q is work when got = 1 (q ≤ 0 or work = q).
        got_work = np.sign(load, out=self._got_work)                  # 1.0 if Δq > 0 else 0.0
        work -= q
        work *= got_work
        work += q
        q_new = np.add(work, load, out=load)
        q_new -= dt
        idle = np.negative(q_new)
        T_new = self.throughput(np.maximum(idle, 0.0, out=idle))
        # eq. (32): an idle server that got no work has already been paid T(idle so far).
        paid = np.subtract(1.0, got_work, out=buffer)
        paid *= self._T_idle
        per_server = np.subtract(T_new, paid, out=buffer)
        reward = per_server[0] + per_server[1]                               # eq. (33)
        self._q, self._T_idle, self._dt_prev = q_new, T_new, dt
        self._t += 1
        self._next_jobs()
        # copies: nothing returned may alias the env's state or random block
        info = {"servers": servers, "dt": dt.copy(), "second_is_0": self._second_is_0[k].copy(),
                "exogenous": np.stack([dt, self._x[0], self._x[1], self._flips[k]], axis=1)}
        truncated = np.zeros(self.n_envs, dtype=bool)
        if self.horizon is not None:
            truncated = self._t >= self.horizon
            if truncated.any():
                info["final_obs"] = self.observation()
                info["final_state"] = self.central_state()
                self._q[:, truncated] = 0.0
                self._T_idle[:, truncated] = 0.0
                self._dt_prev = np.where(truncated, 0.0, self._dt_prev)
                self._t[truncated] = 0
        info["state"] = self.central_state()
        terminated = np.zeros(self.n_envs, dtype=bool)
        return self.observation(), reward, cost, terminated, truncated, info

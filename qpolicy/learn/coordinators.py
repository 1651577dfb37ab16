r"""Coordinators q(x|h) of the coordinator–advice joint policy (paper eq. 7, §4.2.2).

A coordinator hands agent i an advice value x_i; the communication constraint lives here:

* :class:`EntangledCoordinator` — q(x|h) = tr(ρ ⊗_i M_i(x_i|o_i)) with each agent's POVM computed
  by QuantumSoftmax from its *own* observation (executable given the shared state ρ);
* :class:`SharedRandomnessCoordinator` — one shared value x̃ ~ q(x̃), independent of h;
* :class:`NoCoordinator` — a single advice value: the policy factorizes.

Every coordinator has ``init(rng) -> params``, ``joint(params, obs)`` (the exact table
q[b, x_1..x_n]), ``sample(params, obs, rng) -> (advice, log q)`` and
``evaluate(params, obs, advice) -> (log q, entropy, conditioning penalty)``.
"""
import string

import autograd.numpy as anp
import numpy as np

from qpolicy.learn.networks import MLP
from qpolicy.quantum import (conditioning_penalty, default_entangled_state, density_matrix,
                             detector_loss, quantum_softmax)
from qpolicy.validation import check_size

#: Floor on probabilities inside logarithms: an advice value with q below it is never sampled.
PROB_FLOOR = 1e-30


def sample_categorical(probs, rng):
    """One index per row of ``probs`` (B, K) by inverse CDF."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(axis=1), probs.shape[1] - 1)


def categorical_entropy(p, axis):
    return -anp.sum(p * anp.log(anp.maximum(p, PROB_FLOOR)), axis=axis)


class EntangledCoordinator:
    r"""q(x|h) = tr(ρ ⊗_i N_i(x_i|o_i)), N_i = η QS(Z_i(o_i)) + (1 − η) E (paper eq. 6, §4.2.2).

    The resource model (App. F) comes from the configuration: ρ is ``config.state`` if given (a
    density matrix on (C^d)^⊗n, e.g. ``qpolicy.resources.white_noise(bell_state(), v)``), else
    the maximally entangled / GHZ state, or learned (``config.learned_state``).  Measurements:
    ``config.complex_logits=False`` gives real symmetric logits, hence real symmetric POVMs
    (QuantumSoftmax of real matrices is real; for qubits, measurements in the X–Z plane).
    Detection efficiency η = ``config.efficiency``: each agent's detector clicks with
    probability η and a no-click gives advice ``config.no_click`` (E: the identity at that
    outcome, :func:`qpolicy.quantum.detector_loss`); η = 1 leaves the POVMs untouched.
    """

    def __init__(self, n_agents, obs_dim, config):
        self.n, self.K, self.d = n_agents, config.n_advice, config.dim
        check_size(self.d ** (2 * n_agents), "config.dim", f"{n_agents}-party density matrix")
        self.complex = config.complex_logits
        width = self.K * self.d * self.d * (2 if self.complex else 1)
        self.nets = [MLP(f"coord{i}", (obs_dim, *config.hidden, width), config.coordinator_gain)
                     for i in range(n_agents)]
        self.learned_state = config.learned_state
        self.efficiency, self.no_click = config.efficiency, config.no_click
        if config.state is not None:              # the given resource (validated by the config)
            self.rho0 = np.array(config.state, dtype=complex)
            if self.rho0.shape[0] != self.d ** n_agents:
                raise ValueError(f"config.state has dimension {self.rho0.shape[0]}, not "
                                 f"config.dim^n_agents = {self.d}^{n_agents} = {self.d ** n_agents}")
        elif n_agents == 2 or self.d == 2:
            self.rho0 = default_entangled_state(n_agents, self.d)
        else:
            self.rho0 = None
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
        povms = [detector_loss(quantum_softmax(Z), self.efficiency, self.no_click) for Z in Zs]
        q = anp.real(anp.einsum(self.spec, rho, *povms))
        return anp.maximum(q, 0.0)     # rounding can leave −1e-17

    def sample(self, params, obs, rng):
        """(advice (B, n), log q(advice|h) (B,))."""
        q = self.joint(params, obs).reshape(len(obs), -1)
        flat = sample_categorical(q, rng)
        logq = np.log(np.maximum(q[np.arange(len(obs)), flat], PROB_FLOOR))
        return np.stack(np.unravel_index(flat, (self.K,) * self.n), axis=1), logq

    def evaluate(self, params, obs, advice):
        """(log q(x|h) (B,), entropy of q(·|h) (B,), App. I conditioning penalty (scalar))."""
        Zs = self.logits(params, obs)
        q = anp.reshape(self.joint(params, obs, Zs), (len(obs), -1))
        flat = np.ravel_multi_index(tuple(advice.T), (self.K,) * self.n)
        logq = anp.log(anp.maximum(q[np.arange(len(obs)), flat], PROB_FLOOR))
        penalty = sum(anp.mean(conditioning_penalty(Z)) for Z in Zs)
        return logq, categorical_entropy(q, axis=1), penalty


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
        shared = sample_categorical(np.broadcast_to(np.exp(log_q), (len(obs), self.K)), rng)
        return np.repeat(shared[:, None], self.n, axis=1), log_q[shared]

    def evaluate(self, params, obs, advice):
        log_q = self._log_q(params)
        entropy = categorical_entropy(anp.exp(log_q), axis=0) * np.ones(len(obs))
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

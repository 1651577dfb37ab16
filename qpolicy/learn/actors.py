r"""Actors π_i(a_i | x_i, o_i) of the coordinator–advice joint policy (paper eq. 7).

:class:`PassThroughActor`: the advice is the action (the paper's queueing experiment, App. H.2);
:class:`NetworkActor`: a small softmax network per agent of (own observation, one-hot advice).
Both have ``init(rng)``, ``probs_all(params, obs)`` (π_i(a|x, o_i) for every x, shape
(B, n, K, A)), ``sample(params, obs, advice, rng) -> (actions, log π_i)`` and
``evaluate(params, obs, advice, actions) -> (log π_i (B, n), summed entropy (B,))``.
"""
import autograd.numpy as anp
import numpy as np

from qpolicy.learn.coordinators import categorical_entropy, sample_categorical
from qpolicy.learn.networks import MLP


def _one_hot(index, size):
    return np.eye(size)[index]


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
        actions = np.stack([sample_categorical(np.exp(lp), rng) for lp in log_pis], axis=1)
        rows = np.arange(len(obs))
        return actions, np.stack([lp[rows, actions[:, i]] for i, lp in enumerate(log_pis)], axis=1)

    def evaluate(self, params, obs, advice, actions):
        log_pis = [self._log_pi(params, obs, advice, i) for i in range(self.n)]
        rows = np.arange(len(obs))
        log_prob = anp.stack([lp[rows, actions[:, i]] for i, lp in enumerate(log_pis)], axis=1)
        entropy = sum(categorical_entropy(anp.exp(lp), axis=1) for lp in log_pis)
        return log_prob, entropy


ACTORS = {"pass": PassThroughActor, "network": NetworkActor}

"""Learning: optimizers, checkpoints and policy-gradient methods.

* :class:`Adam` — Kingma & Ba (2015), Alg. 1, on dicts of arrays (state is checkpointable).
* :func:`save_checkpoint` / :func:`load_checkpoint` — atomic ``.npz`` checkpoints.
* :mod:`qpolicy.learn.parameterizations` — entangled / shared-randomness / factorized policies
  over a game's questions and answers, batched over seeds, differentiable with autograd.
* :mod:`qpolicy.learn.reinforce` — REINFORCE with entropy regularization for nonlocal games
  (paper §4.2.1, App. D, eq. 17–20), vectorized over seeds; ``qpolicy train`` is its command.
* :mod:`qpolicy.learn.mappo` — MAPPO with an entangled / shared-randomness coordinator and a
  PID-Lagrangian cost constraint (§4.2.2, eq. 7–9, App. E); ``lagrangian``, ``networks``.
"""
from qpolicy.learn.adam import Adam  # noqa: F401
from qpolicy.learn.checkpoint import load_checkpoint, save_checkpoint  # noqa: F401
from qpolicy.learn.mappo import MAPPOConfig, train as train_mappo  # noqa: F401

"""REINFORCE with entropy regularization for nonlocal games (paper §4.2.1, App. D, eq. 16–20).

The players learn from a black-box referee only: each step the referee asks a batch of ``N``
question tuples ``o⁽ʲ⁾ ~ μ``, the players sample answers ``a⁽ʲ⁾ ~ π_θ(·|o⁽ʲ⁾)`` from their policy
(any class of :mod:`qpolicy.learn.parameterizations`), the referee scores them ``V(a⁽ʲ⁾|o⁽ʲ⁾)``,
and Adam ascends the surrogate of eq. (20)::

    Ĵ(θ) = 1/N Σ_j sg( V(a⁽ʲ⁾|o⁽ʲ⁾) − α W(a⁽ʲ⁾|o⁽ʲ⁾) ) · log π_θ(a⁽ʲ⁾|o⁽ʲ⁾),   W = log π + 1,

whose gradient is an unbiased estimate of ∇(J + αH): the win probability J (eq. 16) plus α times
the conditional entropy H (eq. 18).  The exact J, computable from the policy table, is used only
to pick each run's best iterate (as the paper does) and by the tests as an oracle.

All ``seeds`` runs train as one batched computation (parameters carry a leading seed axis).
Checkpoints hold the complete state — parameters, Adam moments, both random streams — so a
resumed run continues bit for bit as if it had never stopped.

Example
-------
>>> from qpolicy import games
>>> from qpolicy.learn import reinforce
>>> run = reinforce.train(games.chsh(), seeds=2, steps=150, batch=256, progress=False)
>>> bool(run.best_values.min() > 0.75)              # beyond every classical strategy
True

Reference: R. J. Williams, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning", Machine Learning 8, 229 (1992); the paper's App. D.
"""
import dataclasses
import json
import os
import sys
import time

import autograd.numpy as anp
import numpy as np
from autograd import make_vjp

from qpolicy.games import NonlocalGame
from qpolicy.learn.adam import Adam
from qpolicy.learn.checkpoint import load_checkpoint, save_checkpoint
from qpolicy.learn.parameterizations import MEASUREMENTS, POLICIES, STATES, make_policy
from qpolicy.validation import (check_bool, check_choice, check_finite_real, check_int,
                                check_positive, check_real_scalar, check_seed, check_size)

#: Floor on probabilities inside logarithms (the entropy of a deterministic answer is 0).
LOG_FLOOR = 1e-300


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """Everything that defines a training run (defaults: the paper's App. D.5)."""
    policy: str = "entangled"      # policy class: "entangled" | "shared" | "factorized"
    seeds: int = 30                # independent runs (random initializations), one batch
    steps: int = 5000              # Adam steps
    batch: int = 512               # referee rounds per step, N in eq. (17)
    lr: float = 3e-2               # Adam learning rate
    entropy: float = 0.2           # α of eq. (18)-(20); 0 turns entropy regularization off
    dim: int | None = None         # entangled: local dimension (None: largest answer count)
    state: str = "learned"         # entangled: "learned" ρ = BᴴB/tr(BᴴB) or "fixed" (max. entangled)
    #                                or a density matrix: a given resource (qpolicy.resources)
    measurements: str = "povm"     # entangled: "povm" | "real" (real symmetric POVMs)
    efficiency: float = 1.0        # entangled: detection efficiency η, a no-click answered no_click
    no_click: int = 0
    shared_values: int = 4         # shared: number of shared random values λ
    init_scale: float = 1.0        # standard deviation of the initial logits
    anneal_steps: int | None = None  # None: constant α and lr (paper); else cosine decay over
    #                                  this many steps of α to 0 and of lr to lr·final_lr_fraction
    final_lr_fraction: float = 0.1   # see anneal_steps
    baseline: bool = False         # subtract the leave-one-out batch mean of sg(V − αW) (not in
    #                                the paper; unbiased, lowers the estimator's variance)
    seed: int = 0                  # master seed: initialization, referee and answer sampling
    #                                (train also takes a Generator: it draws this integer from it)

    def __post_init__(self):
        for field in dataclasses.fields(self):       # NumPy scalars are stored as Python numbers
            value = getattr(self, field.name)
            if isinstance(value, np.generic) and not isinstance(value, np.bool_):
                object.__setattr__(self, field.name, value.item())
        check_choice(self.policy, "policy", tuple(POLICIES))
        if isinstance(self.state, str):        # else a density matrix, checked by the policy
            check_choice(self.state, "state", STATES)
        check_choice(self.measurements, "measurements", MEASUREMENTS)
        check_real_scalar(self.efficiency, "efficiency", 0, 1, lo_open=True)
        check_int(self.no_click, "no_click", minimum=0)
        check_int(self.seeds, "seeds", minimum=1)
        check_int(self.steps, "steps", minimum=1)
        check_int(self.batch, "batch", minimum=1)
        check_positive(self.lr, "lr")
        check_finite_real(self.entropy, "entropy", lo=0.0)
        if self.dim is not None:
            check_int(self.dim, "dim", minimum=1)
        check_int(self.shared_values, "shared_values", minimum=1)
        check_bool(self.baseline, "baseline")
        if self.baseline and self.batch < 2:
            raise ValueError("baseline=True needs batch >= 2 (a leave-one-out mean)")
        check_positive(self.init_scale, "init_scale")
        if self.anneal_steps is not None:
            check_int(self.anneal_steps, "anneal_steps", minimum=1)
        if not 0 < check_positive(self.final_lr_fraction, "final_lr_fraction") <= 1:
            raise ValueError(f"final_lr_fraction must be in (0, 1], got {self.final_lr_fraction}")
        check_seed(self.seed, "seed")
        # the history (steps × seeds values) is allocated up front: refuse what cannot fit
        check_size(self.steps * self.seeds, "steps", "history (steps × seeds)", itemsize=8)

    def schedule(self, step):
        """``(α, lr)`` at ``step``: constant, or cosine-annealed over ``anneal_steps``."""
        if self.anneal_steps is None:
            return self.entropy, self.lr
        c = 0.5 * (1.0 + np.cos(np.pi * min(step, self.anneal_steps) / self.anneal_steps))
        floor = self.final_lr_fraction
        return self.entropy * c, self.lr * (floor + (1.0 - floor) * c)

    def make_policy(self, game):
        """The parameterization these hyperparameters describe, for ``game``."""
        options = {"init_scale": self.init_scale}
        if self.policy == "entangled":
            options.update(dim=self.dim, state=self.state, measurements=self.measurements,
                           efficiency=self.efficiency, no_click=self.no_click)
        elif self.policy == "shared":
            options.update(shared_values=self.shared_values)
        return make_policy(game, self.policy, **options)


@dataclasses.dataclass
class Run:
    """The outcome of :func:`train` for ``S`` seeds over ``T`` steps.

    ``history[t, s]``: exact win probability of seed ``s``'s iterate ``θ_t`` (before step t's
    update); ``best_values[s]`` / ``best_steps[s]``: the best of them and when; ``best_params`` and
    ``best_tables``: that iterate's parameters and policy table ``(S, a.., o..)``; ``params``: the
    final parameters.  ``seconds`` counts only this call's training, which started at step
    ``start_step`` (> 0 when resumed from a checkpoint).
    """
    game: str
    hyperparameters: Hyperparameters
    history: np.ndarray
    best_values: np.ndarray
    best_steps: np.ndarray
    best_params: dict
    best_tables: np.ndarray
    params: dict
    seconds: float
    start_step: int = 0

    @property
    def steps_per_second(self):
        """Batched steps (all seeds at once) per second in this call."""
        return (self.history.shape[0] - self.start_step) / self.seconds

    def normalized_advantage(self, classical, quantum):
        """``(best value − classical) / (quantum − classical)`` per seed (Table 2's measure)."""
        return (self.best_values - classical) / (quantum - classical)


# -- the estimator (eq. 17-20) --------------------------------------------------------------------

def win_probabilities(game, tables):
    """Exact J (eq. 16) of each seed's table ``(S, a.., o..)``: ``Σ_{a,o} μ(o) V(a|o) π(a|o)``."""
    axes = tuple(range(1, anp.ndim(tables)))
    return anp.sum(game.weights * tables, axis=axes)


def conditional_entropies(game, tables):
    """Exact H (eq. 18) of each seed's table: ``−Σ_{a,o} μ(o) π(a|o) log π(a|o)``."""
    axes = tuple(range(1, anp.ndim(tables)))
    plogp = tables * anp.log(anp.maximum(tables, LOG_FLOOR))
    return -anp.sum(game.question_dist * plogp, axis=axes)


def policy_gradient(policy, params, referee, rng, batch, entropy, baseline=False):
    """One REINFORCE estimate of ∇_θ(J + αH) per seed from ``batch`` referee rounds (eq. 20).

    ``baseline``: subtract from each round's weight the mean weight of the *other* rounds of its
    seed; that mean is independent of the round's own answer, so the estimate stays unbiased.

    Returns ``(grads, tables)``: ``grads`` has the layout of ``params``; ``tables`` are the
    policy tables at ``params`` (the learner reuses them to track the exact win probability).
    """
    tables_vjp, tables = make_vjp(policy.tables)(params)
    seeds = tables.shape[0]
    n = policy.n_players
    questions = referee.ask(seeds * batch).reshape(seeds, batch, n)       # o⁽ʲ⁾ ~ μ
    answers, probs = sample_answers(tables, questions, policy.n_answers, rng)   # a⁽ʲ⁾ ~ π(·|o⁽ʲ⁾)
    rewards = referee.score(questions.reshape(-1, n), answers.reshape(-1, n)).reshape(seeds, batch)
    weights = rewards - entropy * (np.log(probs) + 1.0)                   # sg(V − αW), eq. (20)
    if baseline:
        weights = weights - (weights.sum(axis=1, keepdims=True) - weights) / (batch - 1)
    # ∇ log π = ∇π / π: the surrogate's gradient with respect to the table is weight/(N π) added
    # at each sampled entry (a, o); autograd carries it back to the parameters.
    flat_index = np.ravel_multi_index(
        (np.arange(seeds)[:, None],) + tuple(np.moveaxis(answers, -1, 0))
        + tuple(np.moveaxis(questions, -1, 0)), tables.shape)
    table_grad = np.bincount(flat_index.ravel(), weights=(weights / (batch * probs)).ravel(),
                             minlength=tables.size).reshape(tables.shape)
    return tables_vjp(table_grad), tables


def sample_answers(tables, questions, n_answers, rng):
    """Joint answers ``a ~ π_s(·|o)`` for questions ``(S, N, n)``; returns answers and π(a|o).

    Inverse-CDF sampling with one uniform draw per round.  The cumulative sums are taken once
    over the whole table and laid out answer-major, ``cdf[a, (s, o)]``, so each round's column
    is one gather and the comparison with its draw reduces over the short answer axis in
    vectorized row operations (a reduction along a short last axis is several times slower).
    """
    seeds, batch, n = questions.shape
    n_joint = int(np.prod(n_answers))
    conditional = np.maximum(tables.reshape(seeds, n_joint, -1), 0.0)         # [s, a, o]
    n_question_tuples = conditional.shape[-1]
    cdf = np.cumsum(conditional, axis=1)
    # conditional[a, s·|O| + o] = π_s(a|o), answer and question tuples flattened; cdf alike
    conditional, cdf = (np.swapaxes(x, 0, 1).reshape(n_joint, -1) for x in (conditional, cdf))
    question_index = np.ravel_multi_index(tuple(np.moveaxis(questions, -1, 0)), tables.shape[1 + n:])
    column = (np.arange(seeds)[:, None] * n_question_tuples + question_index).ravel()
    round_cdf = cdf.take(column, axis=1)                                           # (A, S·N)
    u = rng.random(seeds * batch) * round_cdf[-1]
    choice = np.minimum(np.sum(round_cdf <= u, axis=0), n_joint - 1)               # inverse CDF
    probs = conditional[choice, column].reshape(seeds, batch)
    answers = np.stack(np.unravel_index(choice.reshape(seeds, batch), n_answers), axis=-1)
    return answers, probs


# -- the learner ----------------------------------------------------------------------------------

def train(game, *, checkpoint=None, checkpoint_every=500, resume=False, progress=True,
          **hyperparameters):
    """Train ``seeds`` runs of REINFORCE + entropy regularization on ``game``; returns a :class:`Run`.

    ``hyperparameters``: the fields of :class:`Hyperparameters` (policy, seeds, steps, batch, lr,
    entropy, dim, state, shared_values, init_scale, anneal_steps, final_lr_fraction, baseline,
    seed).  ``checkpoint``: a ``.npz`` path written
    atomically every ``checkpoint_every`` steps and at the end; with ``resume=True`` training
    continues from it up to ``steps`` (all other hyperparameters must match).  ``progress``:
    print a progress line to stderr.
    """
    if not isinstance(game, NonlocalGame):
        raise TypeError(f"game must be a NonlocalGame, got {type(game).__name__}")
    if isinstance(hyperparameters.get("seed"), np.random.Generator):
        # a Generator seeds the run through one integer drawn from it, stored with the run
        hyperparameters["seed"] = int(hyperparameters["seed"].integers(2 ** 63))
    hp = Hyperparameters(**hyperparameters)
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
    check_bool(resume, "resume")
    check_bool(progress, "progress")
    if checkpoint is not None and not os.fspath(checkpoint).endswith(".npz"):
        raise ValueError(f"checkpoint must be a path ending with .npz, got {checkpoint!r}")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path")
    if checkpoint is not None and not isinstance(hp.state, str):
        raise ValueError("checkpoint needs state 'learned' or 'fixed' (a given density matrix "
                         "is not stored in checkpoints)")
    policy = hp.make_policy(game)
    check_size(hp.seeds * (hp.batch * (2 * game.n_players + 2) + 3 * game.predicate.size),
               "seeds × batch",
               "per-step samples and policy tables (seeds × …)", itemsize=8)
    optimizer = Adam(lr=hp.lr)
    if resume:
        state = _load_state(checkpoint, game, hp)
    else:
        state = _initial_state(policy, optimizer, hp)
    referee = game.referee(state["referee_rng"])
    started, step = time.perf_counter(), state["step"]
    start_step = step
    reporter = _Progress(game.name, hp, enabled=progress)
    while step < hp.steps:
        entropy, lr = hp.schedule(step)
        grads, tables = policy_gradient(policy, state["params"], referee, state["sampler_rng"],
                                        hp.batch, entropy, hp.baseline)
        _record(state, step, tables, win_probabilities(game, tables))
        state["params"], state["adam"] = optimizer.step(state["params"], grads, state["adam"],
                                                        maximize=True, lr=lr)
        step = state["step"] = step + 1
        reporter.update(step, state)
        if checkpoint is not None and (step % checkpoint_every == 0 or step == hp.steps):
            _save_state(checkpoint, game, hp, state)
    reporter.finish(state)
    return Run(game=game.name, hyperparameters=hp, history=state["history"][:hp.steps],
               best_values=state["best_values"], best_steps=state["best_steps"],
               best_params=state["best_params"], best_tables=state["best_tables"],
               params=state["params"], seconds=time.perf_counter() - started,
               start_step=start_step)


def load_run(path):
    """The :class:`Run` stored in a checkpoint written by :func:`train` (possibly unfinished)."""
    ck = load_checkpoint(path)
    if "hyperparameters" not in ck:
        raise ValueError(f"{os.fspath(path)!r} is not a REINFORCE checkpoint")
    hp = Hyperparameters(**json.loads(ck["hyperparameters"]))
    return Run(game=ck["game"], hyperparameters=hp, history=ck["history"][:ck["step"]],
               best_values=ck["best_values"], best_steps=ck["best_steps"],
               best_params=ck["best_params"], best_tables=ck["best_tables"],
               params=ck["params"], seconds=float("nan"), start_step=ck["step"])


def _initial_state(policy, optimizer, hp):
    init_rng, referee_rng, sampler_rng = (np.random.default_rng(s) for s in
                                          np.random.SeedSequence(hp.seed).spawn(3))
    params = policy.init(init_rng, hp.seeds)
    tables = policy.tables(params)
    return {"step": 0, "params": params, "adam": optimizer.init(params),
            "referee_rng": referee_rng, "sampler_rng": sampler_rng,
            "history": np.full((hp.steps, hp.seeds), np.nan),
            "best_values": np.full(hp.seeds, -np.inf), "best_steps": np.full(hp.seeds, -1),
            "best_params": {k: v.copy() for k, v in params.items()},
            "best_tables": np.array(tables)}


def _record(state, step, tables, values):
    """Store the exact values of iterate ``step`` and keep each seed's best iterate so far."""
    state["history"][step] = values
    better = values > state["best_values"]
    state["best_values"] = np.where(better, values, state["best_values"])
    state["best_steps"] = np.where(better, step, state["best_steps"])
    for k, v in state["params"].items():
        state["best_params"][k] = np.where(_expand(better, v), v, state["best_params"][k])
    state["best_tables"] = np.where(_expand(better, tables), tables, state["best_tables"])


def _expand(mask, like):
    return mask.reshape(mask.shape + (1,) * (np.ndim(like) - 1))


def _save_state(path, game, hp, state):
    save_checkpoint(path, hyperparameters=json.dumps(dataclasses.asdict(hp)), game=game.name,
                    predicate=game.predicate, question_dist=game.question_dist,
                    step=state["step"], params=state["params"], adam=state["adam"],
                    referee_rng=json.dumps(state["referee_rng"].bit_generator.state),
                    sampler_rng=json.dumps(state["sampler_rng"].bit_generator.state),
                    history=state["history"][:state["step"]], best_values=state["best_values"],
                    best_steps=state["best_steps"], best_params=state["best_params"],
                    best_tables=state["best_tables"])


def _load_state(path, game, hp):
    ck = load_checkpoint(path)
    if "hyperparameters" not in ck:
        raise ValueError(f"{os.fspath(path)!r} is not a REINFORCE checkpoint")
    # fields added after a checkpoint was written take their defaults
    saved = {**dataclasses.asdict(Hyperparameters()), **json.loads(ck["hyperparameters"])}
    wanted = dataclasses.asdict(hp)
    mismatched = {k: (saved.get(k), v) for k, v in wanted.items() if k != "steps" and saved.get(k) != v}
    if mismatched:
        raise ValueError(f"cannot resume {os.fspath(path)!r}: hyperparameters differ "
                         f"(saved, requested): {mismatched}")
    if not (np.array_equal(ck["predicate"], game.predicate)
            and np.array_equal(ck["question_dist"], game.question_dist)):
        raise ValueError(f"cannot resume {os.fspath(path)!r}: it was trained on another game "
                         f"({ck['game']!r})")
    if ck["step"] > hp.steps:
        raise ValueError(f"cannot resume {os.fspath(path)!r} to steps={hp.steps}: it has already "
                         f"trained {ck['step']} steps")
    history = np.full((hp.steps, hp.seeds), np.nan)
    history[:ck["step"]] = ck["history"]
    return {"step": ck["step"], "params": ck["params"], "adam": ck["adam"],
            "referee_rng": _generator(ck["referee_rng"]), "sampler_rng": _generator(ck["sampler_rng"]),
            "history": history, "best_values": ck["best_values"], "best_steps": ck["best_steps"],
            "best_params": ck["best_params"], "best_tables": ck["best_tables"]}


def _generator(state_json):
    rng = np.random.default_rng()
    rng.bit_generator.state = json.loads(state_json)
    return rng


class _Progress:
    """Progress on stderr: one line refreshed in place (``\\r``) about twice a second on a terminal;
    elsewhere (a log file, a pipe) a plain line every :data:`LOG_INTERVAL` seconds and at the end."""

    def __init__(self, name, hp, enabled, stream=None):
        self.label = f"{name} {hp.policy} α={hp.entropy:g}"
        self.steps, self.enabled = hp.steps, enabled
        self.stream = sys.stderr if stream is None else stream
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 0.5 if self.interactive else LOG_INTERVAL
        self.start = self.last = time.perf_counter()
        self.first_step = None
        self.printed = False

    def update(self, step, state):
        now = time.perf_counter()
        if self.first_step is None:
            self.first_step = step - 1
        if not self.enabled or (now - self.last < self.interval and step < self.steps):
            return
        self.last = now
        rate = (step - self.first_step) / max(now - self.start, 1e-9)
        current = state["history"][step - 1]
        line = (f"{self.label}: step {step}/{self.steps}  value mean {np.mean(current):.4f} "
                f"min {np.min(current):.4f}  best-iterate min {np.min(state['best_values']):.4f}  "
                f"{rate:.0f} steps/s")
        if self.interactive:
            print("\r" + line + " ", end="", file=self.stream, flush=True)
            self.printed = True
        else:
            print(line, file=self.stream, flush=True)

    def finish(self, state):
        if self.enabled and self.interactive and self.printed:
            print(file=self.stream, flush=True)


#: Seconds between progress lines when stderr is not a terminal.
LOG_INTERVAL = 10.0

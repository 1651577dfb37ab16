"""Fig. 5 study: routing policies learned by MAPPO with an entangled or a shared-randomness
coordinator, evaluated exactly and by simulation against the analytic frontiers.

Setting (paper §5.2, App. H.2): λ = 0.8, μ = 1, T(t) = t², each router sees only its own job
size; the entangled coordinator measures a 2-outcome qubit POVM per router on the Bell state
(real logits: real measurements suffice for this XOR-type game) and the actors pass the advice
through.  The shared-randomness coordinator (the pipeline check) gives both routers one of
``SHARED_VALUES`` shared values and each router's actor network maps (job size, shared value) to a
server.

Procedure (App. H.2): ``initial_runs`` seeds at the first wait limit; keep the run whose final
model has the lowest exact excess wait; then a chain of runs, each warm-started from the previous
final model (parameters and Lagrange multiplier), with the limit raised step by step.  Each
chain (one per coordinator kind) is one cell of the sweep study ``figure5``
(:func:`figure5_grid`, :func:`figure5_cell`): stored under its content key (configuration,
seed, qpolicy version, source hash) and resumed run by run, and mid-run from MAPPO checkpoints,
when interrupted (:func:`train_chain`).  Every run's
best and final models are evaluated

* **exactly**: the policy is a function of the job sizes only, so its co-routing probability
  s(x_1, x_2) gives W = ρ/(μ−λ) + E[s c] and Θ(p), p = 1 − E[s]
  (:mod:`qpolicy.queueing.theory`), integrated over ``EXACT_GRID`` × ``EXACT_GRID`` equiprobable cells
  (:func:`exact_performance`; converged to ~1e-4, see the tests);
* **by simulation**: :func:`qpolicy.queueing.simulate` with batch-means 95 % CIs.  The simulated
  policy is the learned joint action table on a job-size grid interpolated bilinearly; bilinear
  interpolation of a Born-rule table *is* the Born rule with linearly interpolated POVMs (and the
  same holds for the shared-randomness mixture), so it is still a policy of the same class.  Its
  largest deviation from the network is measured and stored (``table_error``).

Every model is judged against the **exact** frontiers of the continuous-input problem
(:func:`qpolicy.queueing.theory.frontier` with ``bins=None``: the shared-randomness optimum is a
mixture of one-threshold rule pairs, the entanglement optimum a planar qubit strategy, both with
certified lower bounds).  :func:`judge` counts the runs whose **final** model's simulated 95 % CI
of the wait lies entirely below the exact shared-randomness optimum at the run's simulated
throughput (best-of-run models separately).  Earlier versions compared against 20-bin frontiers,
which are achievable values of a discretized game and lie up to 0.09 above the exact optimum
at small p; a one-threshold classical rule beat a point counted there as "entangled beats shared
randomness".

Reference: Gardiner et al. (2026) §5.2, App. H.2, Fig. 5.
"""
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from qpolicy.learn.checkpoint import load_checkpoint, save_checkpoint
from qpolicy.learn.mappo import MAPPOConfig, train
from qpolicy.queueing import RoutingEnv, simulate, theory

#: Shared values of the shared-randomness coordinator (its actors read them).
SHARED_VALUES = 4
#: Cells per axis of the exact evaluation grid (equiprobable in each job size).
EXACT_GRID = 200
#: Nodes per axis of the table interpolated for simulation, on [0, TABLE_MAX_JOB]; job sizes above
#: it (probability e^-16 per job) use the policy at TABLE_MAX_JOB.
TABLE_NODES = 161
TABLE_MAX_JOB = 16.0


@dataclass(frozen=True)
class Study:
    """Everything that defines one Fig. 5 study; :meth:`quick` and :meth:`full` are the sizes.

    The chain starts at wait limit 5.0 (the paper: 5.5) so that it spans the throughputs where the
    two frontiers differ by more than a simulation CI (0.08–0.09 at p = 0.15–0.3, only 0.015 at
    p = 0.05, i.e. limit ≈ 6.0); the paper runs 8 initial seeds, the full study here 2 (time).
    """
    arrival_rate: float = 0.8
    service_rate: float = 1.0
    limits: tuple = (5.0, 5.25, 5.5, 5.75, 6.0)
    initial_runs: int = 2
    updates_initial: int = 20
    updates_chain: int = 10
    n_envs: int = 1024
    sim_steps: int = 8_000_000
    seed: int = 0
    kinds: tuple = ("entangled", "shared")
    name: str = "full"

    def __post_init__(self):
        for name in ("initial_runs", "updates_initial", "updates_chain", "n_envs", "sim_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.limits, tuple) or not self.limits or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.limits):
            raise ValueError(f"limits must be a non-empty tuple of numbers, got {self.limits!r}")
        if not isinstance(self.kinds, tuple) or not self.kinds or \
                not set(self.kinds) <= {"entangled", "shared"}:
            raise ValueError(f"kinds must be a non-empty tuple of 'entangled', 'shared', got "
                             f"{self.kinds!r}")
        if not (0 < self.arrival_rate < self.service_rate):
            raise ValueError(f"arrival_rate must lie in (0, service_rate), got "
                             f"{self.arrival_rate!r}")

    @classmethod
    def quick(cls, **changes):
        return cls(**{**dict(name="quick", limits=(5.0, 5.5), initial_runs=1, updates_initial=16,
                             updates_chain=8, sim_steps=8_000_000), **changes})

    @classmethod
    def full(cls, **changes):
        return cls(**changes)


def mappo_config(kind, limit, updates, lambda_init):
    """Hyperparameters of every Fig. 5 run (see :class:`MAPPOConfig` for each field).

    The estimator is what makes this problem learnable (measured with
    ``analysis/mappo_gradient_check.py``, numbers in ``benchmarks/RESULTS.md``): ∇(throughput)
    and ∇(wait) are 0.95 parallel, so the Lagrangian's gradient is a small difference of two
    large ones and its estimate must be accurate.  Hence the **average-reward** objective (a
    co-routed pair raises the wait of customers a whole busy period later, which any discount
    < 1 underweights and distorts), the **LSTD critic** on quadratic features (queue values
    are quadratic in the workloads), **TD(0)** advantages (GAE λ = 0: with that critic, longer
    traces only add noise), the **input-dependent baseline** on the next inter-arrival time, job
    sizes and relabeling coin, and batches of 131 072 steps; lr 1e-2 annealed to 0 over each run,
    2 epochs of 8 minibatches, no entropy bonus (it would bias the learned trade-off).
    """
    entangled = kind == "entangled"
    return MAPPOConfig(
        coordinator=kind, actor="pass" if entangled else "network",
        n_advice=2 if entangled else SHARED_VALUES, dim=2, complex_logits=False,
        hidden=(16, 16), critic="lstd", objective="average", gae_lambda=0.0, input_baseline=True,
        updates=updates, n_steps=128, epochs=2, minibatches=8, lr=1e-2, anneal_lr=True,
        entropy_coef=0.0, conditioning_coef=0.0,
        cost_limit=limit, pid_kp=2.0, pid_ki=0.2, pid_kd=0.0, pid_p_smoothing=0.0,
        lambda_init=lambda_init, warmup_steps=300, log_every=5)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------

def co_routing(agent, params, x1, x2):
    """s(x_1, x_2) = π(0,0|x) + π(1,1|x) of the learned joint policy (exact, eq. 7)."""
    obs = np.stack([np.ravel(x1), np.ravel(x2)], axis=1)[:, :, None]
    P = agent.action_probs(params, obs)
    return (P[:, 0, 0] + P[:, 1, 1]).reshape(np.shape(x1))


def exact_performance(agent, params, arrival_rate, service_rate, grid=EXACT_GRID):
    """(p, throughput, mean wait) of a learned policy by the queueing formulas (no sampling).

    E[s] and E[s c] over ``grid`` × ``grid`` equiprobable cells, with s and c taken at the cells' conditional
    means: since c is bi-affine, this is exact for s constant on cells and second-order accurate
    for smooth s (the plain midpoint rule in the quantile is off by ~4e-3 at 200 cells).
    """
    m = theory.bin_means(grid, service_rate)
    X1, X2 = np.meshgrid(m, m, indexing="ij")
    s = co_routing(agent, params, X1, X2)
    p = float(np.clip(1.0 - s.mean(), 0.0, 1.0))
    wait = theory.base_wait(arrival_rate, service_rate) + float(
        np.mean(s * theory.binned_costs(grid, arrival_rate, service_rate)))
    return p, float(theory.throughput(p, arrival_rate, service_rate)), wait


class TabulatedPolicy:
    """A learned joint action table on a job-size grid, interpolated bilinearly; callable as
    ``policy(x, rng) -> actions`` for :func:`qpolicy.queueing.simulate` (see module doc)."""

    def __init__(self, agent, params):
        self.grid = np.linspace(0.0, TABLE_MAX_JOB, TABLE_NODES)
        G1, G2 = np.meshgrid(self.grid, self.grid, indexing="ij")
        obs = np.stack([G1.ravel(), G2.ravel()], axis=1)[:, :, None]
        self.table = agent.action_probs(params, obs).reshape(TABLE_NODES, TABLE_NODES, 4)

    def probs(self, x):
        """Interpolated π(a_1, a_2 | x) for job pairs ``x`` (n, 2), flattened to (n, 4)."""
        pos = np.clip(x / (self.grid[1] - self.grid[0]), 0.0, TABLE_NODES - 1 - 1e-9)
        i = pos.astype(int)
        w = (pos - i)[:, :, None]
        T = self.table
        lo0, hi0 = T[i[:, 0], i[:, 1]], T[i[:, 0] + 1, i[:, 1]]
        lo1, hi1 = T[i[:, 0], i[:, 1] + 1], T[i[:, 0] + 1, i[:, 1] + 1]
        w1, w2 = w[:, 0], w[:, 1]
        return (1 - w2) * ((1 - w1) * lo0 + w1 * hi0) + w2 * ((1 - w1) * lo1 + w1 * hi1)

    def __call__(self, x, rng):
        cdf = np.cumsum(self.probs(x), axis=1)
        joint = np.minimum((cdf < rng.random(len(x))[:, None] * cdf[:, -1:]).sum(axis=1), 3)
        return np.stack([joint // 2, joint % 2], axis=1)

    def max_error(self, agent, params, seed=0, n=2000):
        """Largest |table − network| over random job pairs (sizes below TABLE_MAX_JOB)."""
        x = np.minimum(np.random.default_rng(seed).exponential(1.0, size=(n, 2)), TABLE_MAX_JOB)
        exact = agent.action_probs(params, x[:, :, None]).reshape(n, 4)
        return float(np.max(np.abs(self.probs(x) - exact)))


def evaluate(agent, params, study, seed):
    """Exact and simulated performance of a learned policy (dict of plain numbers)."""
    lam, mu = study.arrival_rate, study.service_rate
    p, throughput, wait = exact_performance(agent, params, lam, mu)
    policy = TabulatedPolicy(agent, params)
    stats = simulate(policy, arrival_rate=lam, service_rate=mu, steps=study.sim_steps, seed=seed)
    return {"exact_p": p, "exact_throughput": throughput, "exact_wait": wait,
            "sim_throughput": stats.throughput, "sim_wait": stats.mean_wait,
            "sim_throughput_ci": list(stats.throughput_ci), "sim_wait_ci": list(stats.mean_wait_ci),
            "sim_split": stats.split_fraction, "table_error": policy.max_error(agent, params)}


# --------------------------------------------------------------------------------------------
# Training chains: one sweep cell per chain (study "figure5"), resumable run by run
# --------------------------------------------------------------------------------------------

def make_study(scale="quick", kinds=None, **changes):
    """:meth:`Study.quick` or :meth:`Study.full` with ``changes``; ``kinds`` and ``limits`` may
    be one value or a list (as ``qpolicy sweep --grid`` gives them)."""
    if scale not in ("quick", "full"):
        raise ValueError(f"scale must be 'quick' or 'full', got {scale!r}")
    if kinds is not None:
        changes["kinds"] = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if isinstance(changes.get("limits"), (int, float)):
        changes["limits"] = (changes["limits"],)
    if "limits" in changes:
        changes["limits"] = tuple(changes["limits"])
    return getattr(Study, scale)(**changes)


def chain_config(study, kind):
    """The sweep configuration of ``study``'s ``kind`` chain: every field that changes its
    runs (``name`` only titles the figure; the MAPPO hyperparameters are :func:`mappo_config`,
    i.e. code, covered by the store's source hash)."""
    if kind not in study.kinds:
        raise ValueError(f"kind must be one of the study's kinds {study.kinds}, got {kind!r}")
    fields = dataclasses.asdict(study)
    del fields["kinds"], fields["name"]
    fields["limits"] = [float(v) for v in study.limits]
    return {"kind": kind, **fields}


def figure5_grid(scale="quick", kinds=None, **changes):
    """The chain cells of a Fig. 5 study, one per kind (``qpolicy sweep figure5 --grid
    scale=full limits=5.0,5.5 seed=1``; ``changes``: fields of :class:`Study`)."""
    study = make_study(scale, kinds, **changes)
    return [chain_config(study, kind) for kind in study.kinds]


def figure5_cell(config, checkpoint=None):
    """Train and evaluate one chain (:func:`train_chain`) of the configuration
    :func:`chain_config` made; summary ``{"records": [...]}``, arrays the final and best
    parameters and the training history of every run (``run<i>/params/<name>``, ...)."""
    config = dict(config)
    kind = config.pop("kind")
    config["limits"] = tuple(config["limits"])
    study = Study(**config, kinds=(kind,))
    runs = train_chain(study, kind, checkpoint)
    records = [r["record"] for r in runs]
    finals = ", ".join(f"{r['final']['exact_throughput']:.3f}/{r['final']['exact_wait']:.3f}"
                       for r in records)
    arrays = {f"run{i}/{part}/{name}": value for i, r in enumerate(runs)
              for part in ("params", "best_params", "history") for name, value in r[part].items()}
    resumed = sum(r["resumed"] or r.get("from_chain_checkpoint", False) for r in records)
    return {"records": records, "resumed_runs": resumed,
            "headline": f"{kind}: {len(records)} runs, final Θ/W exact {finals}"}, arrays


def _log(kind, limit):
    return lambda line: print(f"  {kind} limit {limit}: {line}", file=sys.stderr, flush=True)


def train_run(study, kind, limit, updates, seed, warm_start, checkpoint=None):
    """Train and evaluate one run; ``warm_start`` None or (params, Lagrange multiplier);
    ``checkpoint``: MAPPO checkpoint path, resumed when it exists.  Returns a dict with
    ``params``, ``best_params``, ``history`` and the JSON ``record``."""
    params0, lambda0 = warm_start if warm_start is not None else (None, 0.5)
    config = mappo_config(kind, limit, updates, lambda0)
    env = RoutingEnv(n_envs=study.n_envs, arrival_rate=study.arrival_rate,
                     service_rate=study.service_rate)
    resume = checkpoint is not None and os.path.exists(checkpoint)
    tic = time.perf_counter()
    run = train(env, config, seed=seed, init_params=params0, checkpoint=checkpoint,
                resume=resume, log=_log(kind, limit))
    seconds = time.perf_counter() - tic
    steps = int(run.history["env_steps"][-1]) + config.warmup_steps * study.n_envs
    record = {"kind": kind, "limit": limit, "seed": seed, "updates": updates,
              "train_seconds": seconds, "env_steps": steps, "resumed": resume,
              "steps_per_second": None if resume else steps / seconds,
              "multiplier": run.multiplier, "best_update": run.best_update,
              "final_batch_cost": float(run.history["cost"][-1])}
    record["final"] = evaluate(run.agent, run.params, study, seed)
    record["best"] = evaluate(run.agent, run.best_params, study, seed + 1)
    _log(kind, limit)(f"final Θ={record['final']['exact_throughput']:.4f} "
                      f"W={record['final']['exact_wait']:.4f} (exact), {seconds:.0f} s")
    return {"params": run.params, "best_params": run.best_params,
            "history": dict(run.history), "record": record}


def excess(study, p, wait):
    """Wait above the continuous full-communication optimum at the same splitting probability."""
    lam, mu = study.arrival_rate, study.service_rate
    return wait - theory.base_wait(lam, mu) - float(theory.communication_extra([p], lam, mu)[0][0])


def train_chain(study, kind, checkpoint=None):
    """App. H.2's procedure for one kind: ``initial_runs`` runs at ``limits[0]``, keep the one
    with the lowest exact excess wait, then a chain of runs at the next limits, each
    warm-started from the previous final model and multiplier.  Returns the runs (dicts of
    :func:`train_run`) in order.

    ``checkpoint``: after each finished run the chain's runs so far are saved there, and the run
    in progress checkpoints to ``<checkpoint without .npz>.run<i>.npz``; an interrupted chain
    resumes from both (a resumed run is the same run: same seed, warm start and updates)."""
    done = _load_chain(checkpoint)

    def run(i, limit, updates, seed, warm_start):
        if i < len(done):                # finished before the interruption
            done[i]["record"]["from_chain_checkpoint"] = True
            return done[i]
        part = None if checkpoint is None else f"{checkpoint[:-len('.npz')]}.run{i}.npz"
        result = train_run(study, kind, limit, updates, seed, warm_start, part)
        done.append(result)
        if checkpoint is not None:
            save_checkpoint(checkpoint, runs=len(done), **{
                f"run{j}": dict(r, record=json.dumps(r["record"])) for j, r in enumerate(done)})
            if os.path.exists(part):
                os.remove(part)
        return result

    runs, candidates = [], []
    for k in range(study.initial_runs):
        seed = study.seed + 1000 * (k + 1)
        result = run(k, study.limits[0], study.updates_initial, seed, None)
        runs.append(result)
        final = result["record"]["final"]
        candidates.append((excess(study, final["exact_p"], final["exact_wait"]), k, seed))
    _, k, seed = min(candidates)
    params, multiplier = runs[k]["params"], runs[k]["record"]["multiplier"]
    for j, limit in enumerate(study.limits[1:], start=1):
        result = run(study.initial_runs + j - 1, limit, study.updates_chain, seed,
                     (params, multiplier))
        params, multiplier = result["params"], result["record"]["multiplier"]
        runs.append(result)
    return runs


def _load_chain(checkpoint):
    if checkpoint is None or not os.path.exists(checkpoint):
        return []
    saved = load_checkpoint(checkpoint)
    return [dict(saved[f"run{i}"], record=json.loads(saved[f"run{i}"]["record"]))
            for i in range(saved["runs"])]


# --------------------------------------------------------------------------------------------
# Claims, table and figure
# --------------------------------------------------------------------------------------------

def frontier_waits(study, kind, ps):
    """Exact ``kind`` frontier at the splitting probabilities ``ps``: {p: (wait, certified lower)}.

    Continuous job sizes (:func:`qpolicy.queueing.theory.frontier` with ``bins=None``): the wait
    is attained by an explicit strategy, the lower bound is proved; they differ by < 1e-6.
    """
    ps = sorted({float(p) for p in ps})
    f = theory.frontier(kind, study.arrival_rate, study.service_rate, p=np.asarray(ps, float))
    return {p: (float(w), float(lo)) for p, w, lo in zip(ps, f.wait, f.lower)}


def _splitting(study, throughput):
    lam, mu = study.arrival_rate, study.service_rate
    low, high = theory.throughput(1.0, lam, mu), theory.throughput(0.0, lam, mu)
    return float(theory.splitting_for_throughput(np.clip(throughput, low, high), lam, mu))


def point_rows(study, records):
    """One row per evaluated model (final and best of every run), judged against the exact
    frontiers (see :func:`judge` for the rule)."""
    evaluated = [r[model] for r in records for model in ("best", "final")]
    p_exact = [e["exact_p"] for e in evaluated]
    p_sim = [_splitting(study, e["sim_throughput"]) for e in evaluated]
    p_sim_hi = [_splitting(study, e["sim_throughput_ci"][0]) for e in evaluated]
    shared = frontier_waits(study, "shared", p_exact + p_sim + p_sim_hi)
    entangled = frontier_waits(study, "entangled", p_exact)
    rows = []
    for r in records:
        for model in ("best", "final"):
            e = r[model]
            p = e["exact_p"]
            ps, ps_hi = _splitting(study, e["sim_throughput"]), \
                _splitting(study, e["sim_throughput_ci"][0])
            rows.append({
                "kind": r["kind"], "limit": r["limit"], "model": model, "seed": r["seed"],
                "exact_p": p, "exact_throughput": e["exact_throughput"],
                "exact_wait": e["exact_wait"],
                "exact_excess": excess(study, p, e["exact_wait"]),
                "shared_frontier_excess": excess(study, p, shared[p][0]),
                "entangled_frontier_excess": excess(study, p, entangled[p][0]),
                "below_shared_exact": bool(e["exact_wait"] < shared[p][1]),
                "sim_throughput": e["sim_throughput"], "sim_throughput_ci": e["sim_throughput_ci"],
                "sim_p": ps, "sim_wait": e["sim_wait"], "sim_wait_ci": e["sim_wait_ci"],
                "sim_excess": excess(study, ps, e["sim_wait"]),
                "sim_excess_ci": [excess(study, ps, w) for w in e["sim_wait_ci"]],
                "shared_frontier_excess_at_sim": excess(study, ps, shared[ps][0]),
                # the rule of judge(): CI of the wait entirely below the exact SR optimum (its
                # certified lower bound) at the simulated throughput; "conservative" also at the
                # low end of the throughput CI (higher p, lower SR wait)
                "below_shared_with_ci": bool(e["sim_wait_ci"][1] < shared[ps][1]),
                "below_shared_with_ci_conservative": bool(e["sim_wait_ci"][1] < shared[ps_hi][1]),
                "table_error": e["table_error"]})
    return rows


def count_below(rows, kind, key, resolution=0.005, model=None):
    """Distinct throughput values (rounded to ``resolution``) with a ``kind`` point below SR."""
    return len({round(r["exact_throughput"] / resolution) for r in rows if r["kind"] == kind
                and r[key] and (model is None or r["model"] == model)})


def judge(rows, kind="entangled"):
    """Fig. 5 verdict against the exact shared-randomness (SR) optimum, from :func:`point_rows`.

    A run counts when its **final** model's simulated 95 % CI of the mean wait (hence of the
    excess wait) lies entirely below the exact SR optimum — its certified lower bound, continuous
    job sizes — at the run's simulated throughput.  Each run contributes one final model, so
    the count is of independent runs (different wait limits, one simulation each); the runs' best
    models (the best batch during training) are counted separately, as are the stricter
    "conservative" counts (SR optimum taken at the low end of the throughput CI).

    Returns a dict: ``runs`` (number of ``kind`` runs), ``final_below`` and ``best_below``
    (numbers of runs), ``final_below_conservative``, ``best_below_conservative``,
    ``final_throughputs_below`` (distinct throughputs, rounded to 0.005, of final models below),
    ``exact_final_below`` (final models below by exact evaluation), ``rule`` (this rule in words).
    """
    if kind not in ("entangled", "shared"):
        raise ValueError(f"kind must be 'entangled' or 'shared', got {kind!r}")
    mine = [r for r in rows if r["kind"] == kind]
    final = [r for r in mine if r["model"] == "final"]
    best = [r for r in mine if r["model"] == "best"]
    return {
        "kind": kind, "runs": len(final),
        "final_below": sum(r["below_shared_with_ci"] for r in final),
        "best_below": sum(r["below_shared_with_ci"] for r in best),
        "final_below_conservative": sum(r["below_shared_with_ci_conservative"] for r in final),
        "best_below_conservative": sum(r["below_shared_with_ci_conservative"] for r in best),
        "final_throughputs_below": count_below(final, kind, "below_shared_with_ci"),
        "exact_final_below": sum(r["below_shared_exact"] for r in final),
        "rule": "final model's simulated 95% CI of the wait entirely below the exact "
                "shared-randomness optimum (certified lower bound) at its simulated throughput"}


def plot(study, rows, path):
    """Fig. 5: excess wait vs throughput; exact frontiers as lines, every learned model with its
    simulated 95 % CI (orange entangled / blue shared; filled final, hollow best-of-run)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    lam, mu = study.arrival_rate, study.service_rate
    p_all = [r["exact_p"] for r in rows] + [r["sim_p"] for r in rows]
    p_grid = np.linspace(max(0.005, min(p_all) - 0.03), min(0.995, max(p_all) + 0.03), 15)
    fig, ax = plt.subplots(figsize=(10, 4.8))
    for kind, color in (("shared", "tab:blue"), ("entangled", "tab:orange")):
        f = theory.frontier(kind, lam, mu, p=p_grid)
        ax.plot(f.throughput, f.excess, color=color,
                label=f"exact {'shared-randomness' if kind == 'shared' else 'entanglement'} "
                      f"optimum (continuous sizes)")
    for kind, color, marker in (("entangled", "tab:orange", "o"), ("shared", "tab:blue", "s")):
        for model, face in (("final", color), ("best", "none")):
            pts = [r for r in rows if r["kind"] == kind and r["model"] == model]
            if not pts:
                continue
            y = np.array([r["sim_excess"] for r in pts])
            lo = y - np.array([r["sim_excess_ci"][0] for r in pts])
            hi = np.array([r["sim_excess_ci"][1] for r in pts]) - y
            ax.errorbar([r["sim_throughput"] for r in pts], y, yerr=[lo, hi], fmt=marker,
                        color=color, mfc=face, alpha=0.7, ms=5, capsize=2,
                        label=f"learned {kind}, {model} model (simulated, 95% CI)")
    ax.set_xlabel("baseline throughput per unit time, both servers")
    ax.set_ylabel("mean wait in excess of the communication optimum")
    ax.set_title(f"Fig. 5, {study.name} study: λ={lam:g}, μ={mu:g}, T(t)=t²", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def summarize(study, records, seconds):
    """The claims of the study as a dict (also written to JSON)."""
    rows = point_rows(study, records)
    ent = [r for r in rows if r["kind"] == "entangled"]
    gaps = [r["exact_excess"] - r["entangled_frontier_excess"] for r in ent]
    fresh = [r for r in records if not r.get("resumed")]     # trained in one go: a rate
    train_steps = sum(r["env_steps"] for r in fresh)
    train_seconds = sum(r["train_seconds"] for r in fresh)
    return {
        "study": dataclasses.asdict(study), "rows": rows, "seconds": seconds,
        "judge": {kind: judge(rows, kind) for kind in study.kinds},
        "entangled_below_shared_with_ci": count_below(rows, "entangled", "below_shared_with_ci"),
        "entangled_below_shared_exact": count_below(rows, "entangled", "below_shared_exact"),
        "shared_below_shared_with_ci": count_below(rows, "shared", "below_shared_with_ci"),
        "shared_below_shared_exact": count_below(rows, "shared", "below_shared_exact"),
        "closest_to_entangled_frontier": min(gaps) if gaps else None,
        "train_env_steps": train_steps, "train_seconds": train_seconds,
        "train_steps_per_second": train_steps / train_seconds if train_seconds else None,
        "max_table_error": max(r["table_error"] for r in rows),
        # cross-check of the two evaluations: exact wait inside the simulation's 95 % CI
        "exact_inside_sim_ci": sum(r["sim_wait_ci"][0] <= r["exact_wait"] <= r["sim_wait_ci"][1]
                                   for r in rows),
        "evaluated_models": len(rows),
    }


def markdown(summary):
    """The evaluated points as a markdown table."""
    head = ("| kind | limit | model | Θ exact | W exact | excess exact | exact SR optimum | "
            "exact ent. optimum | W sim (95% CI) | below exact SR (CI) |")
    lines = [head, "|" + "---|" * 10]
    for r in summary["rows"]:
        lines.append(
            f"| {r['kind']} | {r['limit']:g} | {r['model']} | {r['exact_throughput']:.4f} | "
            f"{r['exact_wait']:.4f} | {r['exact_excess']:.4f} | {r['shared_frontier_excess']:.4f} | "
            f"{r['entangled_frontier_excess']:.4f} | {r['sim_wait']:.3f} "
            f"[{r['sim_wait_ci'][0]:.3f}, {r['sim_wait_ci'][1]:.3f}] | "
            f"{'yes' if r['below_shared_with_ci'] else 'no'} |")
    return "\n".join(lines)


def run_study(study, out, jobs=1, scheduler=None, store=None, no_recompute=False, log=print):
    """Train (or reuse) the study's chains through the sweep store — ``store`` (a folder or a
    :class:`qpolicy.sweep.Store`; default ``OUT/store``) — on ``jobs`` local workers or a Dask
    ``scheduler``, and write ``figure5.json``, ``figure5.md``, ``figure5.png`` under ``out``.
    Returns the :func:`summarize` dict with ``figure`` (its path) and ``sweep`` (the
    :class:`qpolicy.sweep.SweepResult`)."""
    from qpolicy import sweep
    store = sweep.Store(os.path.join(out, "store") if store is None else store) \
        if not isinstance(store, sweep.Store) else store
    os.makedirs(out, exist_ok=True)
    result = sweep.run("figure5", figure5_cell, [chain_config(study, k) for k in study.kinds],
                       store.path, jobs=jobs, scheduler=scheduler, no_recompute=no_recompute,
                       log=log, store=store)
    result.raise_if_failed()
    records = [r for cell in result.cells for r in cell.summary["records"]]
    summary = summarize(study, records, result.seconds)
    summary["cells"] = [{"key": c.key, "kind": c.config["kind"], "status": c.status}
                        for c in result.cells]
    with open(os.path.join(out, "figure5.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    with open(os.path.join(out, "figure5.md"), "w") as fh:
        fh.write(markdown(summary) + "\n")
    summary["figure"] = plot(study, summary["rows"], os.path.join(out, "figure5.png"))
    summary["sweep"] = result
    return summary

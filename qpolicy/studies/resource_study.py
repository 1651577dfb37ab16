"""Learning under a realistic resource (App. F) as sweep cells: see-saw thresholds, learned
values against visibility, and the noisy routing frontier.

Three studies (:data:`qpolicy.studies.STUDIES`), each a grid and a cell function:

* ``resource_threshold`` (:func:`threshold_grid`, :func:`threshold_cell`), one cell per game: the
  classical value, the see-saw critical visibility of the white-noise default entangled state
  (:func:`qpolicy.resources.critical_visibility`), the see-saw value curve on 41 visibilities
  and at the visibilities the learners will be trained at (:func:`visibilities`);
* ``resource_learning`` (:func:`learning_grid`, :func:`learning_cell`), one cell per game ×
  visibility: REINFORCE (entropy α, annealed) learns measurements for the fixed noisy state;
  every value is an exact Born-rule value of a best iterate;
* ``resource_routing`` (:func:`routing_grid`, :func:`routing_cell`), one cell per arrival rate:
  the routing frontier with a white-noise Bell pair
  (:func:`qpolicy.queueing.theory.entangled_noisy`) against the exact shared-randomness frontier, and the critical visibility.

The learning cells need the thresholds (their visibilities cluster around them), so
:func:`run_games` runs the two studies one after the other; :func:`assemble_game` joins them.

Reference: Gardiner et al. (2026) App. F.
"""
import time

import numpy as np

from qpolicy import games
from qpolicy.bounds import classical_value
from qpolicy.learn import reinforce
from qpolicy.quantum import default_entangled_state
from qpolicy.queueing import theory
from qpolicy.resources import critical_visibility, resource_value, white_noise

#: (game constructor, local dimension)
GAMES = {"chsh": (games.chsh, 2), "ghz": (games.ghz, 2), "tetra": (games.tetra, 3),
         "cube": (games.cube, 3)}
#: A learned value beats the classical value when above it by more than this (exact values).
ADVANTAGE_TOL = 1e-6
#: Visibilities of the see-saw curve.
CURVE_POINTS = 41
#: Splitting probabilities and visibilities of the routing table and figure.
ROUTING_P = (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75, 0.9)
ROUTING_V = (1.0, 0.98, 0.95, 0.92, 0.9)


def _names(names):
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in GAMES:
            raise ValueError(f"games must be among {sorted(GAMES)}, got {name!r}")
    return names


def _int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def visibilities(threshold, points):
    """A grid of ``points`` visibilities on [0.4, 1] with extra points around ``threshold``
    (rounded to 4 decimals)."""
    grid = set(np.round(np.linspace(0.4, 1.0, points), 4).tolist())
    if np.isfinite(threshold):
        grid |= {round(float(threshold + s), 4) for s in (-0.02, 0.01, 0.025)}
    return sorted(float(v) for v in grid if 0 <= v <= 1)


def threshold_grid(games=tuple(GAMES), points=4, seed=0):
    """Threshold cells: one per game; ``points`` visibilities on the coarse grid."""
    _int(points, "points", 2)
    _int(seed, "seed", 0)
    return [{"game": name, "points": points, "seed": seed} for name in _names(games)]


def threshold_cell(config, checkpoint=None):
    """Classical value, see-saw threshold (bracket) and see-saw values of one game."""
    make, dim = GAMES[config["game"]]
    game, seed = make(), config["seed"]
    rho = default_entangled_state(game.n_players, dim)
    th = critical_visibility(game, dim=dim, seed=seed, tol=1e-6)

    def seesaw(v):
        return resource_value(game, state=white_noise(rho, v), dim=dim, seed=seed, restarts=2,
                              upper=None, start=th.strategy_upper).value

    curve_v = np.linspace(0.0, 1.0, CURVE_POINTS)
    vs = visibilities(th.value, config["points"])
    summary = {"game": config["game"], "dim": dim, "classical": classical_value(game).value,
               "seesaw_threshold": th.value, "seesaw_threshold_bracket": [th.lower, th.upper],
               "visibilities": vs, "seesaw": [seesaw(v) for v in vs],
               "headline": f"see-saw v* = {th.value:.6f}"}
    return summary, {"curve_v": curve_v, "curve": np.array([seesaw(v) for v in curve_v])}


def learning_config(game, v, seeds=4, steps=400, batch=256, entropy=0.2, seed=0):
    """The configuration of one learning cell (annealed over the whole run)."""
    _names(game)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
        raise ValueError(f"v must be a visibility in [0, 1], got {v!r}")
    for name, value in (("seeds", seeds), ("steps", steps), ("batch", batch)):
        _int(value, name, 1)
    _int(seed, "seed", 0)
    if isinstance(entropy, bool) or not isinstance(entropy, (int, float)) or entropy < 0:
        raise ValueError(f"entropy must be a number >= 0, got {entropy!r}")
    return {"game": game, "v": float(v), "seeds": seeds, "steps": steps, "batch": batch,
            "entropy": float(entropy), "seed": seed}


def learning_grid(games=tuple(GAMES), visibilities=(1.0,), **options):
    """Learning cells: every game × visibility (``options``: seeds, steps, batch, entropy,
    seed; see :func:`learning_config`)."""
    vs = [visibilities] if isinstance(visibilities, (int, float)) else list(visibilities)
    return [learning_config(name, v, **options) for name in _names(games) for v in vs]


def learning_cell(config, checkpoint=None):
    """REINFORCE on the fixed white-noise state of visibility ``config["v"]``."""
    make, dim = GAMES[config["game"]]
    game = make()
    state = white_noise(default_entangled_state(game.n_players, dim), config["v"])
    run = reinforce.train(game, state=state, dim=dim, seeds=config["seeds"],
                          steps=config["steps"], batch=config["batch"],
                          entropy=config["entropy"], anneal_steps=config["steps"],
                          seed=config["seed"], progress=False)
    best = run.best_values
    summary = {"learned_best": float(best.max()), "learned_median": float(np.median(best)),
               "train_seconds": run.seconds,
               "headline": f"learned best {best.max():.6f}, median {np.median(best):.6f}"}
    return summary, {"best_values": best}


def assemble_game(threshold, learned):
    """One game's result from its threshold cell's summary and arrays (``threshold``: a
    ``(summary, arrays)`` pair) and its learning cells' summaries by visibility
    (``learned``: dict v → summary)."""
    summary, arrays = threshold
    classical = summary["classical"]
    rows = [{"v": v, "seesaw": s, "learned_best": learned[v]["learned_best"],
             "learned_median": learned[v]["learned_median"],
             "train_seconds": learned[v]["train_seconds"]}
            for v, s in zip(summary["visibilities"], summary["seesaw"])]
    winning = [r["v"] for r in rows if r["learned_best"] > classical + ADVANTAGE_TOL]
    losing = [r["v"] for r in rows if r["learned_best"] <= classical + ADVANTAGE_TOL
              and (not winning or r["v"] < min(winning))]
    return {"game": summary["game"], "dim": summary["dim"], "classical": classical,
            "seesaw_threshold": summary["seesaw_threshold"],
            "seesaw_threshold_bracket": summary["seesaw_threshold_bracket"],
            "learned_threshold_bracket": [max(losing, default=0.0), min(winning, default=None)],
            "learned_above_seesaw": sum(r["learned_best"] > r["seesaw"] + 1e-9 for r in rows),
            "rows": rows, "curve": {"v": arrays["curve_v"].tolist(),
                                    "value": arrays["curve"].tolist()}}


def run_games(games=tuple(GAMES), points=4, seed=0, out="results/resources/store", jobs=None,
              scheduler=None, no_recompute=False, log=print, **learning):
    """Thresholds, then learners at their visibilities, through the sweep store ``out``;
    returns the list of :func:`assemble_game` results (``learning``: seeds, steps, batch,
    entropy)."""
    from qpolicy import sweep
    where = dict(jobs=jobs, scheduler=scheduler, no_recompute=no_recompute, log=log)
    thresholds = sweep.run("resource_threshold", threshold_cell,
                           threshold_grid(games, points, seed), out, **where)
    thresholds.raise_if_failed()
    configs = [learning_config(c.summary["game"], v, seed=seed, **learning)
               for c in thresholds.cells for v in c.summary["visibilities"]]
    learned = sweep.run("resource_learning", learning_cell, configs, out, **where)
    learned.raise_if_failed()
    results = []
    for cell in thresholds.cells:
        mine = {c.config["v"]: c.summary for c in learned.cells
                if c.config["game"] == cell.config["game"]}
        results.append(assemble_game((cell.summary, cell.arrays()), mine))
    return results


def routing_grid(rates=(0.8, 0.5)):
    """Noisy routing cells: one per arrival rate (μ = 1)."""
    rates = [rates] if isinstance(rates, (int, float)) else list(rates)
    for lam in rates:
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0 < lam < 1:
            raise ValueError(f"rates must lie in (0, 1), got {lam!r}")
    return [{"arrival_rate": float(lam)} for lam in rates]


def routing_cell(config, checkpoint=None):
    """The noisy routing frontier at λ: waits at :data:`ROUTING_V` (and the critical
    visibility's proved upper end) × :data:`ROUTING_P`, the exact shared frontier, and the
    critical visibility (estimate, proved bracket, multiplier)."""
    lam = config["arrival_rate"]
    started = time.perf_counter()
    p = np.array(ROUTING_P)
    base = theory.base_wait(lam, 1.0)
    shared, shared_lower, _, _ = theory.shared_exact(p, lam, 1.0)
    estimate, upper, lower, nu = theory.routing_critical_visibility(lam, 1.0)
    rows = []
    for v in ROUTING_V + (round(upper, 4),):
        values, low, low_any, _ = theory.entangled_noisy(p, v, lam, 1.0)
        rows.append({"v": v, "wait": (base + values).tolist(), "lower": (base + low).tolist(),
                     "lower_any": (base + low_any).tolist()})
    result = {"arrival_rate": lam, "p": p.tolist(), "shared": (base + shared).tolist(),
              "shared_lower": (base + shared_lower).tolist(), "rows": rows,
              "critical": {"estimate": float(estimate), "upper": float(upper),
                           "lower": float(lower), "nu": float(nu)},
              "seconds": time.perf_counter() - started}
    return {"result": result, "headline": f"helps above v = {upper:.6f} (proved), not at or "
                                          f"below {lower:.6f}"}, {}

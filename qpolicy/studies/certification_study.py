"""Certify from samples, as sweep cells (study ``certification``): rounds needed and p-values
reached, wins vs PBR, for every built-in game and for learned policies.

Two kinds of cells (:func:`certification_grid`, :func:`certification_cell`):

* ``part="best"``, one per game, for the best known quantum table (CHSH: Tsirelson's; GHZ: the
  GHZ-state table; Tetra and Cube: the see-saw optimum at d = 3): the planner
  (:func:`qpolicy.certify.samples_needed`, p < 1e-6) — wins median and 95 % power (exact
  binomial), PBR 95 % power with the table's own factor (normal approximation) — and one
  simulated experiment of N = the wins 95 % plan: the p-value reached by the wins test, by PBR
  with the table's factor (fixed in advance), and, with ``sequential``, by PBR with factors
  fitted on past rounds (minutes per fit for the Cube);
* ``part="learned"``, one per game: ``reinforce.train`` (as ``qpolicy train``) then the run
  certified exactly as ``qpolicy certify RUN.npz --rounds N --seed 0`` does (N = the wins 95 %
  plan for its best value).  The run file is the cell's checkpoint: an interrupted training
  resumes from it.

Reference: Gardiner et al. (2026) §3; Zhang, Glancy, Knill, PRA 84, 062118 (2011) for PBR.
"""
import os
import tempfile

import numpy as np

import qpolicy as qp
from qpolicy import games
from qpolicy.bounds import classical_value, seesaw_lower_bound
from qpolicy.certify import bell_test, pbr_factor, play_rounds, samples_needed
from qpolicy.learn import reinforce

GAMES = ("chsh", "ghz", "tetra", "cube")
#: Games whose learned policies are certified, and their local dimension.
LEARNED = {"chsh": 2, "ghz": 2, "tetra": 3}


def best_table(name):
    """``(game, table)`` of the best known quantum strategy of game ``name``."""
    if name == "chsh":
        return games.chsh(), qp.born(*games.chsh_quantum_strategy())
    if name == "ghz":
        return games.ghz(), games.ghz().predicate / 4.0
    if name in ("tetra", "cube"):
        game = getattr(games, name)()
        bound = seesaw_lower_bound(game, dim=3, restarts=4, seed=1)
        return game, qp.born(bound.strategy["state"], bound.strategy["povms"])
    raise ValueError(f"game must be one of {GAMES}, got {name!r}")


def certification_grid(quick=False, games=GAMES, learned=tuple(LEARNED), seed=0):
    """The cells: one ``best`` per game (sequential PBR for CHSH and GHZ, and for Tetra unless
    ``quick``) and one ``learned`` per game of ``learned`` (4 seeds × 1000 steps, Tetra 2000;
    ``quick``: 150 / 300)."""
    if not isinstance(quick, bool):
        raise TypeError(f"quick must be a bool, got {type(quick).__name__}")
    names = [games] if isinstance(games, str) else list(games)
    learned = [learned] if isinstance(learned, str) else list(learned)
    for name in names:
        if name not in GAMES:
            raise ValueError(f"games must be among {GAMES}, got {name!r}")
    for name in learned:
        if name not in LEARNED:
            raise ValueError(f"learned must be among {tuple(LEARNED)}, got {name!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    steps = 150 if quick else 1000
    cells = [{"part": "best", "game": name, "seed": seed,
              "sequential": name in ("chsh", "ghz") or (name == "tetra" and not quick)}
             for name in names]
    cells += [{"part": "learned", "game": name, "seeds": 4, "batch": 512, "dim": LEARNED[name],
               "steps": steps * (2 if name == "tetra" else 1), "seed": seed} for name in learned]
    return cells


def certification_cell(config, checkpoint=None):
    """Compute one cell of :func:`certification_grid` (see the module docstring)."""
    if config["part"] == "best":
        return _best(config)
    if config["part"] == "learned":
        if checkpoint is not None:
            return _learned(config, checkpoint)
        with tempfile.TemporaryDirectory() as folder:
            return _learned(config, os.path.join(folder, "run.npz"))
    raise ValueError(f"config['part'] must be 'best' or 'learned', got {config['part']!r}")


def _log10(result):
    """log10 of a test's p-value (the p-value itself underflows for the Cube)."""
    return float(result.running_log10_p[-1])


def _best(config):
    import time
    name = config["game"]
    game, table = best_table(name)
    value = game.value(table)
    row = {"game": name, "classical": classical_value(game).value, "value": value,
           "wins_median": samples_needed(game, value, power=0.5),
           "wins_95": samples_needed(game, value, power=0.95)}
    t = time.perf_counter()
    factor = pbr_factor(game, table)
    row["factor_seconds"] = time.perf_counter() - t
    row["pbr_gain"] = factor.gain
    row["pbr_95"] = samples_needed(game, table, power=0.95, method="pbr")
    n = row["wins_95"]
    q, a = play_rounds(game, table, n, seed=config["seed"])
    wins = bell_test(game, q, a)
    oracle = bell_test(game, q, a, method="pbr", factor=factor)
    row.update(n=n, p_wins=_log10(wins), p_pbr_table=_log10(oracle))
    traces = {"wins": wins.running_log10_p, "pbr (table's factor)": oracle.running_log10_p}
    if config["sequential"]:
        t = time.perf_counter()
        fitted = bell_test(game, q, a, method="pbr")
        row["p_pbr_sequential"] = _log10(fitted)
        row["sequential_seconds"] = time.perf_counter() - t
        traces["pbr (fitted on past rounds)"] = fitted.running_log10_p
    row["traces"] = list(traces)
    row["headline"] = f"N = {n}: log10 p wins {row['p_wins']:.1f}, PBR {row['p_pbr_table']:.1f}"
    return row, {f"trace{i}": np.asarray(t) for i, t in enumerate(traces.values())}


def _learned(config, path):
    """Train as `qpolicy train` does (into ``path``, resumed from it), then certify the run as
    `qpolicy certify RUN.npz --rounds N --seed 0` does (the same rounds, by play_rounds)."""
    name = config["game"]
    game = getattr(games, name)()
    options = {k: config[k] for k in ("seeds", "steps", "batch", "seed")}
    if config["dim"] != 2:
        options["dim"] = config["dim"]
    run = reinforce.train(game, checkpoint=path, resume=os.path.exists(path), progress=False,
                          **options)
    best = float(run.best_values.max())
    classical = classical_value(game).value
    row = {"game": name, "train": options, "train_seconds": run.seconds, "best_value": best,
           "classical": classical}
    if best <= classical + 1e-9:
        row["note"] = "not beyond classical"
        row["headline"] = f"best {best:.5f}: not beyond classical"
        return row, {}
    table = run.best_tables[int(np.argmax(run.best_values))]
    row["wins_95"] = samples_needed(game, best, power=0.95)
    row["pbr_95"] = samples_needed(game, table, power=0.95, method="pbr")
    n = row["wins_95"]
    q, a = play_rounds(game, table, n, seed=0)         # the rounds `certify --seed 0` tests
    wins = bell_test(game, q, a)
    pbr = bell_test(game, q, a, method="pbr", factor=pbr_factor(game, table))
    row.update(n=n, p_wins=_log10(wins), p_pbr=_log10(pbr))
    row["headline"] = f"best {best:.5f}, N = {n}: log10 p wins {row['p_wins']:.1f}"
    return row, {}

"""The paper's nonlocal-game study (§5.1, App. D.5): Table 2 and Fig. 3, as reusable functions.

``analysis/table2.py``, ``analysis/figure3.py`` and ``qpolicy reproduce`` are thin front ends to
this module.  A *cell* is one game × policy class × entropy setting, trained as one batch of seeds
by :func:`qpolicy.learn.reinforce.train`; its score is Table 2's normalized advantage of each
run's best iterate, ``(value − classical) / (quantum bound − classical)``, with **our own** bounds:
the classical value by enumeration and the NPA upper bound (level ``1+AB``).
"""
import dataclasses
import json
import os

import numpy as np

from qpolicy import games
from qpolicy.learn import reinforce

GAMES = ("chsh", "ghz", "tetra", "cube")

#: The paper's Table 2: worst of 30 runs, % of the maximal advantage (App. D.5).
PAPER_TABLE2 = {True: {"chsh": 99.90, "ghz": 98.60, "tetra": 84.25, "cube": 40.88},
                False: {"chsh": 0.0, "ghz": 0.0, "tetra": 0.0, "cube": 0.0}}

#: The values the paper quotes (App. D.4): classical value and quantum value / NPA bound.
PAPER_VALUES = {"chsh": (0.75, np.cos(np.pi / 8) ** 2), "ghz": (0.75, 1.0),
                "tetra": (0.6250, 0.64506), "cube": (0.3125, 0.32253)}

#: NPA level used for the quantum bound (tight for all four games, see the bounds tests).
NPA_LEVEL = "1+AB"

#: A run "beats classical" when its best value exceeds the classical value by more than this.
ADVANTAGE_TOL = 1e-9


def make_game(name):
    """One of the four games of Table 2 by name."""
    if name not in GAMES:
        raise ValueError(f"game must be one of {GAMES}, got {name!r}")
    return getattr(games, name)()


def bounds_config(name, npa_level=NPA_LEVEL):
    """The configuration of one game's bounds cell."""
    make_game(name)
    return {"game": name, "npa_level": npa_level}


def bounds_grid(games=GAMES, npa_level=NPA_LEVEL):
    """The bounds cells of ``games`` (``qpolicy sweep bounds``)."""
    return [bounds_config(name, npa_level) for name in _names(games)]


def bounds_cell(config, checkpoint=None):
    """Classical value (enumeration, with an optimal deterministic strategy) and NPA upper
    bound (value and its certified dual bound) of ``config["game"]``.  The arrays keep the
    strategy and the NPA dual certificate (``npa_Z_i`` and, with positivity rows,
    ``npa_multipliers_i`` for question block i), so :func:`verify_bounds` re-checks the bound
    without solving."""
    from qpolicy.bounds import classical_value
    from qpolicy.bounds.npa import npa_upper_bound
    game = make_game(config["game"])
    classical = classical_value(game)
    npa = npa_upper_bound(game, level=config["npa_level"])
    summary = {"classical": float(classical.value), "quantum": float(npa.value),
               "quantum_certified": float(npa.details["dual_bound"]),
               "npa_level": config["npa_level"], "npa_solver": npa.solver,
               "headline": f"classical {classical.value:.6f}, NPA {npa.value:.6f}"}
    arrays = {f"classical_strategy_{i}": np.asarray(f) for i, f in enumerate(classical.strategy)}
    for i, certificate in enumerate(npa.details["certificate"]):
        for key in ("Z", "multipliers"):
            if certificate[key] is not None:
                arrays[f"npa_{key}_{i}"] = np.asarray(certificate[key])
    return summary, arrays


#: A stored NPA value is accepted when the bound its stored certificate proves is at most the
#: value plus this (relative): floating-point evaluation order only, there is no solve.
NPA_REVERIFY_TOL = 1e-12


def verify_bounds(name, summary, arrays):
    """Re-verify stored bounds of game ``name`` without solving: the stored optimal deterministic
    strategy must reach the stored classical value exactly, and enumeration must give the same
    value; the stored NPA dual certificate (``npa_Z_i``, ``npa_multipliers_i``) must prove a
    bound no larger than the stored NPA value and certified bound
    (:func:`qpolicy.bounds.npa.verify_certificate`, up to :data:`NPA_REVERIFY_TOL`), so a wrong
    stored value, a tampered certificate or one from another game is caught.  Raises
    ``ValueError`` naming what fails."""
    from qpolicy.bounds import classical_value
    from qpolicy.bounds.classical import deterministic_table
    from qpolicy.bounds.npa import verify_certificate
    game = make_game(name)
    strategy = tuple(arrays[f"classical_strategy_{i}"] for i in range(len(game.n_answers)))
    reached = game.value(deterministic_table(strategy, game.n_answers))
    enumerated = classical_value(game).value
    if not (reached == summary["classical"] == enumerated):
        raise ValueError(f"stored classical value of {name} ({summary['classical']!r}) is not "
                         f"reproduced: its strategy reaches {reached!r}, enumeration gives "
                         f"{enumerated!r}")
    blocks = sorted(int(key.rsplit("_", 1)[1]) for key in arrays if key.startswith("npa_Z_"))
    if blocks != list(range(len(blocks))) or not blocks:
        raise ValueError(f"stored NPA bound of {name} has no dual certificate (npa_Z_0, ...)")
    certificate = [{"Z": arrays[f"npa_Z_{i}"], "multipliers": arrays.get(f"npa_multipliers_{i}")}
                   for i in blocks]
    proved = verify_certificate(game, summary["npa_level"], {"certificate": certificate})
    for key in ("quantum", "quantum_certified"):
        if not proved <= summary[key] + NPA_REVERIFY_TOL * (1.0 + abs(summary[key])):
            raise ValueError(f"stored NPA bound of {name} ({key} {summary[key]!r}) is not "
                             f"supported by its stored certificate, which proves {proved!r}")


def game_bounds(names=GAMES, out=None, jobs=1, no_recompute=False, log=None):
    """``{name: {"classical", "quantum", "quantum_certified", "npa_level", ...}}`` from our own
    bounds, through the sweep store ``out`` (reused only for the same configuration and code,
    and then re-verified by :func:`verify_bounds`); ``out=None``: computed, not stored."""
    import tempfile
    from qpolicy import sweep
    names = _names(names)
    with tempfile.TemporaryDirectory() as scratch:
        result = sweep.run("bounds", bounds_cell, bounds_grid(names), out or scratch, jobs=jobs,
                           no_recompute=no_recompute, log=log)
        result.raise_if_failed()
        bounds = {}
        for cell in result.cells:
            if cell.status == "reused":
                verify_bounds(cell.config["game"], cell.summary, cell.arrays())
            bounds[cell.config["game"]] = dict(cell.summary, key=cell.key)
    return bounds


def table2_config(game, **hyperparameters):
    """The full configuration of one Table 2 cell: the game and every REINFORCE hyperparameter
    (:class:`qpolicy.learn.reinforce.Hyperparameters`, defaults filled in and validated)."""
    make_game(game)
    return {"game": game, **dataclasses.asdict(reinforce.Hyperparameters(**hyperparameters))}


def table2_grid(games=GAMES, classes=("entangled", "shared", "factorized"), entropies=(0.2, 0.0),
                seeds=30, chunk=None, **hyperparameters):
    """Table 2's cells: every game × class × entropy (classical classes only at the first
    entropy) × chunk of seeds.  ``chunk`` runs per cell (default: all ``seeds`` in one batched
    cell); chunk ``i`` has master seed ``seed + i``, so smaller chunks spread over more workers.
    ``hyperparameters``: the other fields of ``reinforce.Hyperparameters`` (steps, batch, lr,
    anneal_steps, seed, ...)."""
    seed = hyperparameters.pop("seed", 0)
    chunk = seeds if chunk is None else chunk
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1, got {seeds!r}")
    sizes = [min(chunk, seeds - start) for start in range(0, seeds, chunk)]
    entropies = [entropies] if isinstance(entropies, (int, float)) else list(entropies)
    classes = [classes] if isinstance(classes, str) else list(classes)
    return [table2_config(name, policy=policy, entropy=entropy, seeds=size, seed=seed + i,
                          **hyperparameters)
            for name in _names(games) for policy in classes
            for entropy in (entropies if policy == "entangled" else entropies[:1])
            for i, size in enumerate(sizes)]


def table2_cell(config, checkpoint=None):
    """Train one Table 2 cell (:func:`qpolicy.learn.reinforce.train`); with ``checkpoint`` it is
    saved there every tenth of the run and resumed from it."""
    hyperparameters = dict(config)
    name = hyperparameters.pop("game")
    resume = checkpoint is not None and os.path.exists(checkpoint)
    run = reinforce.train(make_game(name), checkpoint=checkpoint, resume=resume, progress=False,
                          checkpoint_every=max(1, hyperparameters["steps"] // 10),
                          **hyperparameters)
    summary = {"best_values": run.best_values.tolist(), "resumed_from_step": run.start_step,
               "steps_per_second": run.steps_per_second if run.start_step < config["steps"]
               else None,
               "headline": f"best-iterate value worst {run.best_values.min():.5f}, median "
                           f"{np.median(run.best_values):.5f}"}
    arrays = {"history": run.history, "best_values": run.best_values,
              "best_steps": run.best_steps, "best_tables": run.best_tables}
    return summary, arrays


def run_table2(configs, out, jobs=None, scheduler=None, no_recompute=False, log=print):
    """Run Table 2 cells through the sweep store ``out``; returns the sweep result."""
    from qpolicy import sweep
    return sweep.run("table2", table2_cell, configs, out, jobs=jobs, scheduler=scheduler,
                     no_recompute=no_recompute, log=log)


def merge_cells(result):
    """Group a Table 2 sweep's chunks back into cells: list of ``(config, best_values, history)``
    with ``config`` the first chunk's configuration (``seeds`` = total runs, ``seed`` = first
    master seed) and the runs of all chunks concatenated."""
    result.raise_if_failed()
    groups = {}
    for cell in result.cells:
        group = {k: v for k, v in cell.config.items() if k not in ("seed", "seeds")}
        key = json.dumps(group, sort_keys=True)
        arrays = cell.arrays()
        entry = groups.setdefault(key, [dict(cell.config), [], []])
        entry[1].append(arrays["best_values"])
        entry[2].append(arrays["history"])
    merged = []
    for config, values, histories in groups.values():
        best = np.concatenate(values)
        config["seeds"] = int(best.size)
        merged.append((config, best, np.concatenate(histories, axis=1)))
    return merged


def _names(games):
    names = [games] if isinstance(games, str) else list(games)
    for name in names:
        make_game(name)
    return names


def summarize(config, best_values, bounds):
    """Table 2 numbers of a cell (``config``, the best-iterate value of each of its runs):
    normalized advantage (%) of the worst / median / best run, runs beyond classical, etc."""
    classical, quantum = bounds["classical"], bounds["quantum"]
    best_values = np.asarray(best_values, dtype=float)
    advantage = 100.0 * (best_values - classical) / (quantum - classical)
    return {
        "game": config["game"], "policy": config["policy"], "entropy": config["entropy"],
        "seeds": int(best_values.size), "steps": config["steps"], "config": config,
        "worst": float(advantage.min()), "median": float(np.median(advantage)),
        "best": float(advantage.max()),
        "worst_value": float(best_values.min()), "best_value": float(best_values.max()),
        "runs_beyond_classical": int(np.sum(best_values > classical + ADVANTAGE_TOL)),
        "max_minus_classical": float(best_values.max() - classical),
        "advantages": advantage.tolist(), "best_values": best_values.tolist(),
    }


def markdown_table(cells):
    """The Table 2 markdown: one row per (class, entropy), one column per game: worst / median /
    best normalized advantage (%) and, for entangled policies, the paper's worst run."""
    games_present = [g for g in GAMES if any(c["game"] == g for c in cells)]
    header = "| class | entropy α | " + " | ".join(games_present) + " |"
    lines = [header, "|" + "---|" * (2 + len(games_present))]
    anneal = lambda c: c["config"].get("anneal_steps") or 0  # noqa: E731
    keys = sorted({(c["policy"], c["entropy"], anneal(c)) for c in cells},
                  key=lambda k: (k[0] != "entangled", k[0], -k[1], k[2]))
    for policy, entropy, anneal_steps in keys:
        row = [policy, f"{entropy:g}" + (f", annealed over {anneal_steps} steps" if anneal_steps
                                         else "")]
        for g in games_present:
            cell = next((c for c in cells if (c["game"], c["policy"], c["entropy"], anneal(c)) ==
                         (g, policy, entropy, anneal_steps)), None)
            row.append(_format_cell(cell, policy, entropy > 0))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Each cell: worst / median / best run's best iterate, as % of the maximal "
                 "advantage (value − classical)/(NPA bound − classical); *paper* = the paper's "
                 "worst of 30 runs. Classical classes: runs beyond the classical value (must be 0).")
    return "\n".join(lines)


def _format_cell(cell, policy, with_entropy):
    if cell is None:
        return "–"
    text = f"{cell['worst']:.2f} / {cell['median']:.2f} / {cell['best']:.2f} %"
    if policy == "entangled":
        text += f" (paper {PAPER_TABLE2[with_entropy][cell['game']]:.2f} %)"
    else:
        text += f"; {cell['runs_beyond_classical']} of {cell['seeds']} beyond classical"
    return text


def plot_training(histories, classical, quantum, path, title="CHSH"):
    """Fig. 3: win probability per step of every run, one panel per labelled set of runs.

    ``histories``: dict label → array ``(steps, seeds)``; horizontal lines at the classical value
    and the quantum value.  Saves a PNG at ``path`` (Agg backend) and returns ``path``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(histories), figsize=(5.5 * len(histories), 4), sharey=True,
                             squeeze=False)
    for ax, (label, history) in zip(axes[0], histories.items()):
        steps = np.arange(1, history.shape[0] + 1)
        ax.plot(steps, history, lw=0.7, alpha=0.6)
        ax.axhline(classical, color="k", ls="--", lw=1, label=f"classical {classical:.4f}")
        ax.axhline(quantum, color="r", ls=":", lw=1.2, label=f"quantum {quantum:.4f}")
        ax.set_title(f"{title}: {label} ({history.shape[1]} runs × {history.shape[0]} steps)",
                     fontsize=10)
        ax.set_xlabel("training step")
        ax.set_xscale("log")
        ax.legend(loc="lower right", fontsize=8)
    axes[0][0].set_ylabel("win probability (exact, per run)")
    lo = min(np.nanmin(h) for h in histories.values())
    axes[0][0].set_ylim(max(lo, 2 * classical - quantum - 0.1), quantum + 0.25 * (quantum - classical))
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def read_json(path):
    if not path or not os.path.exists(path):
        return {}
    with open(path) as fh:
        return json.load(fh)


def write_json(path, data):
    """Write JSON atomically (temporary file + os.replace)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)


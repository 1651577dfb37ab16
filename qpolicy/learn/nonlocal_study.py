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
import time

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


def game_bounds(name, cache=None):
    """``{"classical", "quantum", "npa_level", "seconds"}`` for game ``name`` from our own bounds.

    ``cache``: optional JSON file; bounds already stored there are reused (the NPA SDPs of Tetra
    and Cube take a while), new ones are added.
    """
    from qpolicy.bounds import classical_value
    from qpolicy.bounds.npa import npa_upper_bound
    stored = read_json(cache) if cache else {}
    if name in stored:
        return stored[name]
    game = make_game(name)
    start = time.perf_counter()
    bounds = {"classical": classical_value(game).value,
              "quantum": npa_upper_bound(game, level=NPA_LEVEL).value,
              "npa_level": NPA_LEVEL, "seconds": time.perf_counter() - start}
    if cache:
        stored = read_json(cache)
        stored[name] = bounds
        write_json(cache, stored)
    return bounds


def train_cell(name, policy="entangled", entropy=0.2, folder=None, progress=True,
               **hyperparameters):
    """Train one cell; with ``folder`` it is checkpointed there and resumed if already present
    (cells with an annealed schedule are stored under their own name)."""
    checkpoint = None
    resume = False
    if folder is not None:
        os.makedirs(folder, exist_ok=True)
        anneal = hyperparameters.get("anneal_steps")
        suffix = f"-anneal{anneal}" if anneal else ""
        checkpoint = os.path.join(folder, cell_name(name, policy, entropy) + suffix + ".npz")
        resume = os.path.exists(checkpoint)
    return reinforce.train(make_game(name), policy=policy, entropy=entropy,
                           checkpoint=checkpoint, resume=resume, progress=progress,
                           **hyperparameters)


def cell_name(name, policy, entropy):
    return f"{name}-{policy}-entropy{entropy:g}"


def summarize(run, bounds):
    """Table 2 numbers of a cell: normalized advantage (%) of worst / median / best run, etc."""
    classical, quantum = bounds["classical"], bounds["quantum"]
    advantage = 100.0 * run.normalized_advantage(classical, quantum)
    steps_run = int(np.sum(np.all(np.isfinite(run.history), axis=1)))
    return {
        "game": run.game, "policy": run.hyperparameters.policy,
        "entropy": run.hyperparameters.entropy, "seeds": run.hyperparameters.seeds,
        "steps": steps_run, "hyperparameters": _jsonable(run.hyperparameters),
        "worst": float(advantage.min()), "median": float(np.median(advantage)),
        "best": float(advantage.max()),
        "worst_value": float(run.best_values.min()), "best_value": float(run.best_values.max()),
        "runs_beyond_classical": int(np.sum(run.best_values > classical + ADVANTAGE_TOL)),
        "max_minus_classical": float(run.best_values.max() - classical),
        "advantages": advantage.tolist(), "best_values": run.best_values.tolist(),
        "seconds": run.seconds, "steps_this_session": steps_run - run.start_step,
        "steps_per_second": run.steps_per_second if steps_run > run.start_step else None,
    }


def markdown_table(cells):
    """The Table 2 markdown: one row per (class, entropy), one column per game: worst / median /
    best normalized advantage (%) and, for entangled policies, the paper's worst run."""
    games_present = [g for g in GAMES if any(c["game"] == g for c in cells)]
    header = "| class | entropy α | " + " | ".join(games_present) + " |"
    lines = [header, "|" + "---|" * (2 + len(games_present))]
    anneal = lambda c: c["hyperparameters"].get("anneal_steps") or 0  # noqa: E731
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
        ax.set_title(f"{title}: {label}")
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


def _jsonable(hp):
    return dataclasses.asdict(hp)


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


"""Certify from samples: rounds needed and p-values reached, wins vs PBR, for every built-in game
and for policies learned by ``qpolicy train``; a figure of log10 p against rounds.

For each game, the best known quantum table (CHSH: Tsirelson's; GHZ: the GHZ-state table; Tetra
and Cube: the see-saw optimum at d = 3):

1. the planner (:func:`qpolicy.certify.samples_needed`, p < 1e-6): wins median and 95 % power
   (exact binomial), PBR 95 % power with the table's own factor (normal approximation);
2. one simulated experiment of N = the wins 95 % plan: the p-value reached by the wins test, by
   PBR with the table's factor (fixed in advance), and by PBR with factors fitted on past rounds
   (sequential; skipped for the Cube, whose fits take minutes each);
3. learned policies: ``reinforce.train`` (as ``qpolicy train``) on CHSH, GHZ and Tetra, saved as
   runs, then certified exactly as ``qpolicy certify RUN.npz --rounds N --seed 0`` does.

Writes ``certification.png`` and ``certification.md`` under ``--out``.

Usage:  python analysis/certification.py [--out results/certification] [--quick]
(--quick: smaller learners and no sequential PBR on Tetra; ~1 minute)
"""
import argparse
import json
import os
import time

import numpy as np

import qpolicy as qp
from qpolicy import games
from qpolicy.bounds import classical_value, seesaw_lower_bound
from qpolicy.certify import bell_test, pbr_factor, samples_needed
from qpolicy.learn import reinforce

START = time.perf_counter()


def progress(message):
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", flush=True)


def best_tables():
    """{name: (game, table)} of the best known quantum strategies."""
    out = {"chsh": (games.chsh(), qp.born(*games.chsh_quantum_strategy())),
           "ghz": (games.ghz(), games.ghz().predicate / 4.0)}
    for name in ("tetra", "cube"):
        game = getattr(games, name)()
        bound = seesaw_lower_bound(game, dim=3, restarts=4, seed=1)
        out[name] = (game, qp.born(bound.strategy["state"], bound.strategy["povms"]))
    return out


def sample(game, table, n, seed):
    questions = game.referee(seed).ask(n)
    answers, _ = reinforce.sample_answers(np.asarray(table)[None], questions[None],
                                          game.n_answers, np.random.default_rng([seed, 1]))
    return questions, answers[0]


def study_game(name, game, table, sequential):
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
    q, a = sample(game, table, n, seed=0)
    wins = bell_test(game, q, a)
    oracle = bell_test(game, q, a, method="pbr", factor=factor)
    row.update(n=n, p_wins=_log10(wins), p_pbr_table=_log10(oracle), traces={
        "wins": wins.running_log10_p, "pbr (table's factor)": oracle.running_log10_p})
    if sequential:
        t = time.perf_counter()
        fitted = bell_test(game, q, a, method="pbr")
        row["p_pbr_sequential"] = _log10(fitted)
        row["sequential_seconds"] = time.perf_counter() - t
        row["traces"]["pbr (fitted on past rounds)"] = fitted.running_log10_p
    progress(f"{name}: {json.dumps({k: v for k, v in row.items() if k != 'traces'})}")
    return row


def _log10(result):
    """log10 of a test's p-value (the p-value itself underflows for the Cube)."""
    return float(result.running_log10_p[-1])


def fmt(log10_p):
    return f"{10 ** log10_p:.2g}" if log10_p > -300 else f"10^{log10_p:.0f}"


def study_learned(name, game, options, folder):
    """Train as `qpolicy train` does, then certify the run as `qpolicy certify RUN.npz`."""
    from qpolicy.certify_command import add_arguments, certify
    path = os.path.join(folder, f"{name}-run.npz")
    t = time.perf_counter()
    run = reinforce.train(game, checkpoint=path, progress=False, **options)
    seconds = time.perf_counter() - t
    best = float(run.best_values.max())
    classical = classical_value(game).value
    row = {"game": name, "train": options, "train_seconds": seconds, "best_value": best,
           "classical": classical}
    if best <= classical + 1e-9:
        row["note"] = "not beyond classical"
        return row
    table = run.best_tables[int(np.argmax(run.best_values))]
    row["wins_95"] = samples_needed(game, best, power=0.95)
    row["pbr_95"] = samples_needed(game, table, power=0.95, method="pbr")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    n = row["wins_95"]
    report = certify(parser.parse_args([path, "--rounds", str(n), "--seed", "0"]))
    row.update(n=n, p_wins=report["tests"]["wins"]["log10_p_value"],
               p_pbr=report["tests"]["pbr"]["log10_p_value"])
    progress(f"learned {name}: {json.dumps(row)}")
    return row


def figure(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [r for r in rows if r["game"] in ("chsh", "tetra", "cube")]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.4))
    for ax, row in zip(axes, shown):
        for label, trace in row["traces"].items():
            ax.plot(np.arange(1, trace.size + 1), trace, label=label, lw=1.2)
        ax.axhline(-6, color="grey", ls=":", lw=1)
        ax.set_ylim(max(min(t.min() for t in row["traces"].values()), -60) - 2, 1)
        ax.set_title(f"{row['game']} (value {row['value']:.4f}, ω_c {row['classical']:.4f})",
                     fontsize=9)
        ax.set_xlabel("rounds")
        ax.set_ylabel("log10 p-value")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/certification")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name, (game, table) in best_tables().items():
        rows.append(study_game(name, game, table, sequential=name in ("chsh", "ghz") or
                               (name == "tetra" and not args.quick)))
    figure(rows, os.path.join(args.out, "certification.png"))
    steps = 150 if args.quick else 1000
    learned = [
        study_learned("chsh", games.chsh(), dict(seeds=4, steps=steps, batch=512, seed=0), args.out),
        study_learned("ghz", games.ghz(), dict(seeds=4, steps=steps, batch=512, seed=0), args.out),
        study_learned("tetra", games.tetra(), dict(seeds=4, steps=2 * steps, batch=512, dim=3,
                                                   seed=0), args.out),
    ]
    lines = ["| game | ω_c | value | wins: median / 95 % rounds | PBR 95 % rounds (table's factor) "
             "| N | p wins | p PBR (table) | p PBR (fitted) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        seq = fmt(r["p_pbr_sequential"]) if "p_pbr_sequential" in r else "not run"
        lines.append(f"| {r['game']} | {r['classical']:.4f} | {r['value']:.5f} | "
                     f"{r['wins_median']} / {r['wins_95']} | {r['pbr_95']} | {r['n']} | "
                     f"{fmt(r['p_wins'])} | {fmt(r['p_pbr_table'])} | {seq} |")
    lines += ["", "| learned (qpolicy train) | best value | wins 95 % rounds | PBR 95 % rounds | "
              "N | p wins | p PBR (table) |", "|---|---|---|---|---|---|---|"]
    for r in learned:
        if "note" in r:
            lines.append(f"| {r['game']} {r['train']} | {r['best_value']:.5f} | {r['note']} |||||")
            continue
        lines.append(f"| {r['game']} ({r['train']['steps']} steps) | {r['best_value']:.5f} | "
                     f"{r['wins_95']} | {r['pbr_95']} | {r['n']} | {fmt(r['p_wins'])} | "
                     f"{fmt(r['p_pbr'])} |")
    with open(os.path.join(args.out, "certification.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    progress("done")


if __name__ == "__main__":
    main()

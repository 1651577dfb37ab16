"""Learning under a realistic resource (App. F): learned value against visibility for CHSH, GHZ,
Tetra and Cube, with the see-saw curve and the classical line, and the visibility at which the
learned advantage vanishes.

For each game the shared state is the default entangled resource (Bell pair / GHZ state /
maximally entangled qutrits) under white noise, ``white_noise(rho, v)``, held fixed; REINFORCE
(entropy α, answers sampled from the referee) learns only the measurements.  The see-saw value
with that state (``qpolicy.resources.resource_value``) is the target; its threshold is
``critical_visibility``.  Every learned value is an exact Born-rule value of the best iterate,
so "learned ≤ see-saw" is checked without sampling noise (a violation would mean the see-saw
missed the optimum; the count is printed).

    python analysis/resources.py                      # quick: 4 seeds x 400 steps, ~5 min
    python analysis/resources.py --paper              # 30 seeds x 5000 steps, batch 512 (hours)

The queueing part of the issue (entangled routing frontier against visibility) needs the exact
entangled frontier of ``qpolicy.queueing.theory`` and is not done here.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import qpolicy as qp
from qpolicy import games
from qpolicy.bounds import classical_value
from qpolicy.learn import reinforce
from qpolicy.quantum import default_entangled_state
from qpolicy.resources import critical_visibility, resource_value, white_noise

#: (game, local dimension)
GAMES = {"chsh": (games.chsh, 2), "ghz": (games.ghz, 2), "tetra": (games.tetra, 3),
         "cube": (games.cube, 3)}
#: A learned value beats the classical value when above it by more than this (exact values).
ADVANTAGE_TOL = 1e-6


def visibilities(threshold, points):
    """A grid on [0.4, 1] with extra points around the see-saw threshold."""
    grid = set(np.round(np.linspace(0.4, 1.0, points), 4))
    grid |= {round(float(threshold + s), 4) for s in (-0.02, 0.01, 0.025)}
    return sorted(v for v in grid if 0 <= v <= 1)


def study_game(name, args):
    make, dim = GAMES[name]
    game = make()
    rho = default_entangled_state(game.n_players, dim)
    classical = classical_value(game).value
    started = time.perf_counter()
    th = critical_visibility(game, dim=dim, seed=args.seed, tol=1e-6)
    curve_v = np.linspace(0.0, 1.0, 41)
    curve = [resource_value(game, state=white_noise(rho, v), dim=dim, seed=args.seed,
                            restarts=2, upper=None, start=th.strategy_upper).value
             for v in curve_v]
    rows = []
    for v in visibilities(th.value, args.points):
        state = white_noise(rho, v)
        seesaw = resource_value(game, state=state, dim=dim, seed=args.seed, restarts=2,
                                upper=None, start=th.strategy_upper).value
        run = reinforce.train(game, state=state, dim=dim, seeds=args.seeds, steps=args.steps,
                              batch=args.batch, entropy=args.entropy, anneal_steps=args.steps,
                              seed=args.seed, progress=False)
        rows.append({"v": v, "seesaw": seesaw, "learned_best": float(run.best_values.max()),
                     "learned_median": float(np.median(run.best_values)),
                     "train_seconds": run.seconds})
        if not args.quiet:
            print(f"{name} v={v:.4f}: see-saw {seesaw:.6f}, learned best "
                  f"{rows[-1]['learned_best']:.6f} (median {rows[-1]['learned_median']:.6f})",
                  file=sys.stderr)
    winning = [r["v"] for r in rows if r["learned_best"] > classical + ADVANTAGE_TOL]
    losing = [r["v"] for r in rows if r["learned_best"] <= classical + ADVANTAGE_TOL
              and (not winning or r["v"] < min(winning))]
    return {"game": name, "dim": dim, "classical": classical, "seesaw_threshold": th.value,
            "seesaw_threshold_bracket": [th.lower, th.upper],
            "learned_threshold_bracket": [max(losing, default=0.0), min(winning, default=None)],
            "learned_above_seesaw": sum(r["learned_best"] > r["seesaw"] + 1e-9 for r in rows),
            "rows": rows, "curve": {"v": curve_v.tolist(), "value": curve},
            "seconds": time.perf_counter() - started}


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.4))
    for ax, res in zip(np.atleast_1d(axes), results):
        ax.plot(res["curve"]["v"], res["curve"]["value"], color="C0", label="see-saw (fixed state)")
        ax.axhline(res["classical"], color="gray", ls="--", label="classical")
        left = max(0.4, res["seesaw_threshold"] - 0.2)             # zoom on the threshold
        rows = [r for r in res["rows"] if r["v"] >= left]
        v = [r["v"] for r in rows]
        ax.plot(v, [r["learned_best"] for r in rows], "o", color="C3", label="learned (best seed)")
        ax.plot(v, [r["learned_median"] for r in rows], "x", color="C1", label="learned (median)")
        ax.axvline(res["seesaw_threshold"], color="C0", lw=0.8, ls=":")
        ax.set_title(f"{res['game']} (d = {res['dim']})")
        ax.set_xlabel("visibility v")
        top = max(res["curve"]["value"])
        lo = min([res["classical"]] + [r["learned_median"] for r in rows])
        ax.set_ylim(lo - 0.05 * (top - lo), top + 0.05 * (top - lo))
        ax.set_xlim(left, 1.0)
    np.atleast_1d(axes)[0].set_ylabel("win probability")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--paper", action="store_true", help="30 seeds x 5000 steps, batch 512")
    p.add_argument("--games", nargs="+", default=list(GAMES), choices=list(GAMES))
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--entropy", type=float, default=0.2)
    p.add_argument("--points", type=int, default=4, help="visibilities on the coarse grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/resources")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--replot", action="store_true", help="redraw the figure from --out's JSON")
    args = p.parse_args(argv)
    if args.replot:
        with open(os.path.join(args.out, "resources.json")) as fh:
            results = json.load(fh)["results"]
        print(f"wrote {plot(results, os.path.join(args.out, 'learned_vs_visibility.png'))}")
        return 0
    if args.paper:
        args.seeds, args.steps, args.batch, args.points = 30, 5000, 512, 7
    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    results = [study_game(name, args) for name in args.games]
    print(f"{'game':<6} {'classical':>9} {'see-saw v*':>11} {'learned advantage vanishes':>28} "
          f"{'learned > see-saw':>17} {'seconds':>8}")
    for r in results:
        lo, hi = r["learned_threshold_bracket"]
        where = "never beats classical" if hi is None else f"between {lo:.4f} and {hi:.4f}"
        print(f"{r['game']:<6} {r['classical']:>9.6f} {r['seesaw_threshold']:>11.6f} "
              f"{where:>28} {r['learned_above_seesaw']:>17d} {r['seconds']:>8.1f}")
    with open(os.path.join(args.out, "resources.json"), "w") as fh:
        json.dump({"settings": vars(args), "results": results}, fh, indent=1)
    path = plot(results, os.path.join(args.out, "learned_vs_visibility.png"))
    print(f"wrote {path} ({time.perf_counter() - started:.0f} s, qpolicy {qp.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

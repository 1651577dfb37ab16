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
    python analysis/resources.py --paper --jobs 2     # 30 seeds x 5000 steps, batch 512 (hours)
    python analysis/resources.py --paper --scheduler tcp://head:8786 --out /shared/resources
    python analysis/resources.py --parts routing      # the queueing part only (~1 min)
    python analysis/resources.py --parts hybrid       # heuristic search beyond that class (~20 s)

Every computation is a cell of a sweep study (:mod:`qpolicy.studies.resource_study`:
``resource_threshold`` per game, ``resource_learning`` per game × visibility,
``resource_routing`` per arrival rate) stored in ``OUT/store`` under its content key:
re-running reuses finished cells (same configuration and code), on ``--jobs`` local workers or a
Dask ``--scheduler``.

Queueing part (``--parts routing``): the routing frontier with a white-noise Bell pair of
visibility v (``qpolicy.queueing.theory.entangled_noisy``: mixtures of noisy planar strategies,
s_v = v cos²(φ_1 − φ_2) + (1 − v)/2, and threshold pairs; every wait attained by an explicit
strategy, with the proved bound of that class and the proved bound for any measurement on the
noisy pair) against the exact shared-randomness frontier, and the visibility below which
entanglement stops helping (``routing_critical_visibility``).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import qpolicy as qp
from qpolicy.queueing import theory
from qpolicy.studies import resource_study as study
from qpolicy.sweep import add_executor_arguments


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


def hybrid_check(lam, v, multipliers=23, starts=12, seed=0):
    """Heuristic search outside entangled_noisy's class: per job size, a router either answers
    deterministically (b_0 = ±1) or measures the noisy pair along a planar unit vector b, so the
    correlation is b_0c_0 + v⟨b, c⟩.  Alternating pointwise best responses (min of
    b_0 a(x) + ⟨b, w(x)⟩: deterministic iff |a| ≥ ‖w‖), moments by composite Gauss–Legendre
    quadrature (~1e-8 with the kinks), from random starts at each multiplier ν.  Returns the
    most negative (hybrid − class) Lagrangian: negative beyond ~1e-7 would mean the class misses
    better strategies (not found; no proof either way)."""
    C, Ec = theory._cost_matrix(lam, 1.0)
    grid = theory._classical_curve(1.0, 1000)
    edges = np.concatenate([np.linspace(0, 10, 4001), np.linspace(10, theory.X_TAIL, 501)[1:]])
    gx, gw = np.polynomial.legendre.leggauss(4)
    a, b = edges[:-1, None], edges[1:, None]
    x = (0.5 * (a + b) + 0.5 * (b - a) * gx).ravel()
    weight = (0.5 * (b - a) * gw).ravel() * np.exp(-x)
    Phi = np.stack([np.ones_like(x), x])

    def respond(Q, C0, Cm):
        lin, field = C0 @ Q.T @ Phi, v * Cm @ Q.T @ Phi
        norm = np.linalg.norm(field, axis=0)
        det = np.abs(lin) >= norm
        b0 = np.where(det, -np.sign(lin), 0.0)
        bv = np.where(det, 0.0, -field / np.maximum(norm, 1e-300))
        return (b0 * weight) @ Phi.T, (bv * weight) @ Phi.T

    rng = np.random.default_rng(seed)
    worst = np.inf
    for nu in Ec * np.linspace(0.3, 2.5, multipliers):
        Q = C - nu * np.diag([1.0, 0.0])
        mc, fc, _ = theory._shared_best_response(nu, C, Ec, 1.0, grid)
        mq, fq, _ = theory._entangled_best_response(nu, C, Ec, 1.0, [None, None])
        klass = min(fc - nu * mc, v * (fq - nu * mq) + (1 - v) * (Ec - nu) / 2)
        best = np.inf
        for _ in range(starts):
            C0, Cm, previous = rng.normal(size=2), rng.normal(size=(2, 2)), np.inf
            for _ in range(500):
                B0, B = respond(Q, C0, Cm)
                C0, Cm = respond(Q.T, B0, B)
                value = B0 @ Q @ C0 + v * np.sum(Q * (B.T @ Cm))
                if previous - value < 1e-14:
                    break
                previous = value
            best = min(best, 0.5 * (Ec - nu) + 0.5 * value)
        worst = min(worst, best - klass)
    return float(worst)


def plot_routing(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.4))
    for ax, res in zip(np.atleast_1d(axes), results):
        shared = np.array(res["shared"])
        for k, row in enumerate(res["rows"]):
            ax.plot(res["p"], shared - np.array(row["wait"]), "o-", ms=3, color=f"C{k}",
                    label=f"v = {row['v']:g}")
        ax.axhline(0.0, color="gray", ls="--", lw=0.8)
        crit = res["critical"]
        ax.set_title(f"λ = {res['arrival_rate']:g}: helps above {crit['upper']:.4f} (proved), "
                     f"not at or below {crit['lower']:.4f}")
        ax.set_xlabel("splitting probability p")
    np.atleast_1d(axes)[0].set_ylabel("wait saved over shared randomness")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def print_routing(results):
    for res in results:
        c = res["critical"]
        print(f"routing λ={res['arrival_rate']:g}: entanglement provably helps above v = "
              f"{c['upper']:.6f} and provably cannot help at or below {c['lower']:.6f} (any "
              f"measurements on the noisy pair); undecided in between (no explicit strategy "
              f"found helps below {c['estimate']:.6f}) [{res['seconds']:.0f} s]")
        print(f"  {'v':>7} " + " ".join(f"{'p=' + format(q, 'g'):>9}" for q in res["p"]))
        print(f"  {'shared':>7} " + " ".join(f"{w:9.5f}" for w in res["shared"]))
        for row in res["rows"]:
            print(f"  {row['v']:7.4f} " + " ".join(f"{w:9.5f}" for w in row["wait"]))
            print(f"  {'any ≥':>7} " + " ".join(f"{w:9.5f}" for w in row["lower_any"]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--paper", action="store_true", help="30 seeds x 5000 steps, batch 512")
    p.add_argument("--games", nargs="+", default=list(study.GAMES), choices=list(study.GAMES))
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--entropy", type=float, default=0.2)
    p.add_argument("--points", type=int, default=4, help="visibilities on the coarse grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/resources", help="results (store in OUT/store)")
    add_executor_arguments(p)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--replot", action="store_true", help="redraw the figure from --out's JSON")
    p.add_argument("--parts", nargs="+", default=["games", "routing"],
                   choices=["games", "routing", "hybrid"])
    args = p.parse_args(argv)
    store = os.path.join(args.out, "store")
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    where = dict(jobs=args.jobs, scheduler=args.scheduler, no_recompute=args.no_recompute,
                 log=log)
    if "hybrid" in args.parts:
        for v in (0.89, 0.95):
            print(f"hybrid search, λ=0.8, v={v}: most negative (hybrid − class) Lagrangian "
                  f"{hybrid_check(0.8, v):.2e}")
        if args.parts == ["hybrid"]:
            return 0
    if "routing" in args.parts and not args.replot:
        from qpolicy import sweep
        os.makedirs(args.out, exist_ok=True)
        cells = sweep.run("resource_routing", study.routing_cell, study.routing_grid((0.8, 0.5)),
                          store, **where)
        cells.raise_if_failed()
        routing = [c.summary["result"] for c in cells.cells]
        print_routing(routing)
        with open(os.path.join(args.out, "routing.json"), "w") as fh:
            json.dump({"results": routing}, fh, indent=1)
        print(f"wrote {plot_routing(routing, os.path.join(args.out, 'routing_vs_visibility.png'))}")
        if "games" not in args.parts:
            return 0
    if args.replot:
        with open(os.path.join(args.out, "resources.json")) as fh:
            results = json.load(fh)["results"]
        print(f"wrote {plot(results, os.path.join(args.out, 'learned_vs_visibility.png'))}")
        return 0
    if args.paper:
        args.seeds, args.steps, args.batch, args.points = 30, 5000, 512, 7
    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    results = study.run_games(args.games, args.points, args.seed, store, seeds=args.seeds,
                              steps=args.steps, batch=args.batch, entropy=args.entropy, **where)
    print(f"{'game':<6} {'classical':>9} {'see-saw v*':>11} {'learned advantage vanishes':>28} "
          f"{'learned > see-saw':>17}")
    for r in results:
        lo, hi = r["learned_threshold_bracket"]
        where_ = "never beats classical" if hi is None else f"between {lo:.4f} and {hi:.4f}"
        print(f"{r['game']:<6} {r['classical']:>9.6f} {r['seesaw_threshold']:>11.6f} "
              f"{where_:>28} {r['learned_above_seesaw']:>17d}")
    with open(os.path.join(args.out, "resources.json"), "w") as fh:
        json.dump({"settings": vars(args), "results": results}, fh, indent=1)
    path = plot(results, os.path.join(args.out, "learned_vs_visibility.png"))
    print(f"wrote {path} ({time.perf_counter() - started:.0f} s, qpolicy {qp.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

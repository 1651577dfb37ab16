"""Fig. 3 of the paper: CHSH win probability during training, with and without entropy
regularization — every run, with the classical value (3/4) and Tsirelson's bound cos²(π/8).

Cells are trained (or reused, if already present) under ``--out``/runs with the same names as
``analysis/table2.py``, so pointing both at one folder trains CHSH only once.

    python analysis/figure3.py                        # 30 seeds x 5000 steps, paper settings
    python analysis/figure3.py --seeds 10 --steps 500 --out results/quick
"""
import argparse
import os
import sys

import numpy as np

from qpolicy.learn import nonlocal_study as study


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=30)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--entropy", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/table2")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    options = dict(seeds=args.seeds, steps=args.steps, batch=args.batch, seed=args.seed,
                   progress=not args.quiet)
    folder = os.path.join(args.out, "runs")
    runs = {f"entropy α = {a:g}": study.train_cell("chsh", "entangled", a, folder=folder, **options)
            for a in (args.entropy, 0.0)}
    path = study.plot_training({k: r.history for k, r in runs.items()}, 0.75,
                               np.cos(np.pi / 8) ** 2, os.path.join(args.out, "figure3.png"))
    for label, run in runs.items():
        stuck = int(np.sum(run.best_values <= 0.75 + study.ADVANTAGE_TOL))
        print(f"{label}: best iterate worst {run.best_values.min():.6f}, median "
              f"{np.median(run.best_values):.6f}; {stuck} of {len(run.best_values)} runs never "
              f"beat 3/4")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

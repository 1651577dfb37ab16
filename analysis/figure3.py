"""Fig. 3 of the paper: CHSH win probability during training, with and without entropy
regularization — every run, with the classical value (3/4) and Tsirelson's bound cos²(π/8).

The runs are Table 2's CHSH entangled cells, run through the sweep store under --out (so
pointing analysis/table2.py and this script at one folder trains CHSH once), on a local pool
(--jobs) or a Dask cluster (--scheduler).

Sizes: QUICK by default (10 seeds x 600 steps, about 20 s on 2 cores at light load, an
estimate); --paper: 30 seeds x 5000 steps, constant alpha and lr (the alpha = 0.2 cell took
219 s on one core at load 15-20, about a minute idle).

    python analysis/figure3.py --jobs 2
    python analysis/figure3.py --paper --jobs 2 --out results/table2-paper
"""
import argparse
import os
import sys

import numpy as np

from qpolicy.studies import nonlocal_study as study
from qpolicy.sweep import add_executor_arguments

QUICK = (10, 600)
PAPER = (30, 5000)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paper", action="store_true",
                   help=f"{PAPER[0]} seeds x {PAPER[1]} steps (default: quick, {QUICK[0]} x "
                        f"{QUICK[1]})")
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--entropy", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help="sweep store and figure (default: results/table2-quick or -paper)")
    add_executor_arguments(p, jobs=None)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    seeds, steps = PAPER if args.paper else QUICK
    out = args.out or f"results/table2-{'paper' if args.paper else 'quick'}"
    configs = study.table2_grid(["chsh"], ["entangled"], [args.entropy, 0.0],
                                seeds=args.seeds or seeds, steps=args.steps or steps,
                                batch=args.batch, seed=args.seed)
    result = study.run_table2(configs, out, jobs=args.jobs, scheduler=args.scheduler,
                              no_recompute=args.no_recompute, log=None if args.quiet else print)
    merged = study.merge_cells(result)
    histories = {f"entropy α = {c['entropy']:g}, batch {c['batch']}": h for c, _, h in merged}
    path = study.plot_training(histories, 0.75, np.cos(np.pi / 8) ** 2,
                               os.path.join(out, "figure3.png"))
    for config, best, _ in merged:
        stuck = int(np.sum(best <= 0.75 + study.ADVANTAGE_TOL))
        print(f"entropy α = {config['entropy']:g}: best iterate worst {best.min():.6f}, median "
              f"{np.median(best):.6f}; {stuck} of {best.size} runs never beat 3/4")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Table 2 of the paper: learned quantum advantage of the worst run, with and without entropy
regularization, on CHSH, GHZ, Tetra and Cube — plus the shared-randomness and factorized classes
trained the same way (their best value must never exceed the classical value).

Every cell runs through the sweep store (qpolicy.sweep) under --out: a finished cell is reused
only with the same configuration and code, an interrupted one resumes from its checkpoint, and
cells run on a local pool (--jobs) or a Dask cluster (--scheduler).

Sizes: QUICK by default (10 seeds x 500 steps: 16 cells, about 2 min on 2 cores at light load,
an estimate from the 5000-step times); --paper for the paper's settings (30 seeds x 5000 steps,
constant alpha and lr: 16 cells of 30 runs, 13.5 min on 2 cores at light load, about 2 h under
heavy load; the 4 entangled alpha = 0.2 cells alone took 22 min on one core at load 15-20).
On a 100-core Dask cluster with --chunk 5, minutes: see benchmarks/RESULTS.md, "Sweep runner".

    python analysis/table2.py --jobs 2                          # quick
    python analysis/table2.py --paper --jobs 2 --out results/table2-paper
    python analysis/table2.py --paper --chunk 1 --scheduler tcp://head:8786 --out /shared/t2
    python analysis/table2.py --anneal 500 --state fixed --out results/table2-annealed
"""
import argparse
import os
import sys
import time

from qpolicy.studies import nonlocal_study as study
from qpolicy.sweep import add_executor_arguments

#: (seeds, steps) of the quick and the paper-size table.
QUICK = (10, 500)
PAPER = (30, 5000)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paper", action="store_true",
                   help=f"the paper's size: {PAPER[0]} seeds x {PAPER[1]} steps (default: quick, "
                        f"{QUICK[0]} x {QUICK[1]})")
    p.add_argument("--games", nargs="+", default=list(study.GAMES), choices=study.GAMES)
    p.add_argument("--classes", nargs="+", default=["entangled", "shared", "factorized"],
                   choices=["entangled", "shared", "factorized"])
    p.add_argument("--seeds", type=int, default=None, help="runs per cell (overrides the size)")
    p.add_argument("--steps", type=int, default=None, help="steps per run (overrides the size)")
    p.add_argument("--chunk", type=int, default=None,
                   help="runs per sweep cell (default: all runs of a cell in one batch); "
                        "smaller chunks spread over more workers")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=3e-2)
    p.add_argument("--entropy", type=float, default=0.2, help="α of the regularized cells")
    p.add_argument("--cells", choices=["both", "entropy", "no-entropy"], default="both",
                   help="entangled cells to train: with and/or without entropy (default: both)")
    p.add_argument("--anneal", type=int, default=None, metavar="STEPS",
                   help="cosine-anneal α → 0 and lr → lr·FRACTION over STEPS (default: constant, "
                        "paper)")
    p.add_argument("--final-lr-fraction", type=float, default=0.1, metavar="FRACTION")
    p.add_argument("--baseline", action="store_true",
                   help="leave-one-out baseline in the estimator (not in the paper)")
    p.add_argument("--state", choices=["learned", "fixed"], default="learned")
    p.add_argument("--dim", type=int, default=None, help="local dimension (default per game)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help="sweep store + JSON/markdown (default: results/table2-quick or -paper)")
    add_executor_arguments(p, jobs=None)
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    seeds, steps = PAPER if args.paper else QUICK
    seeds = args.seeds or seeds
    steps = args.steps or steps
    out = args.out or f"results/table2-{'paper' if args.paper else 'quick'}"
    log = None if args.quiet else (lambda line: print(line, flush=True))
    started = time.perf_counter()
    bounds = study.game_bounds(args.games, out=out, no_recompute=args.no_recompute, log=log)
    entropies = {"both": [args.entropy, 0.0], "entropy": [args.entropy],
                 "no-entropy": [0.0]}[args.cells]
    common = dict(seeds=seeds, chunk=args.chunk, steps=steps, batch=args.batch, lr=args.lr,
                  anneal_steps=args.anneal, final_lr_fraction=args.final_lr_fraction,
                  baseline=args.baseline, seed=args.seed)
    configs = []
    for policy in args.classes:
        options = dict(common, dim=args.dim, state=args.state) if policy == "entangled" else common
        configs += study.table2_grid(args.games, [policy],
                                     entropies if policy == "entangled" else [args.entropy],
                                     **options)
    result = study.run_table2(configs, out, jobs=args.jobs, scheduler=args.scheduler,
                              no_recompute=args.no_recompute, log=log)
    if not args.quiet:
        print(result.table())
    cells = [dict(study.summarize(config, best, bounds[config["game"]]),
                  bounds=bounds[config["game"]])
             for config, best, _ in study.merge_cells(result)]
    study.write_json(os.path.join(out, "table2.json"),
                     {"command": " ".join(sys.argv), "arguments": vars(args),
                      "seconds": time.perf_counter() - started, "cells": cells})
    with open(os.path.join(out, "table2.md"), "w") as fh:
        fh.write(study.markdown_table(cells) + "\n")
    print()
    print(study.markdown_table(cells))
    print(f"\nwrote {os.path.join(out, 'table2.json')} and table2.md "
          f"({time.perf_counter() - started:.0f} s)")
    violations = [c for c in cells if c["policy"] != "entangled" and c["runs_beyond_classical"]]
    if violations:
        print("ERROR: a classical class exceeded the classical value:", file=sys.stderr)
        for c in violations:
            print(f"  {c['game']} {c['policy']}: {c['max_minus_classical']:.3g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

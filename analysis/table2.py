"""Table 2 of the paper: learned quantum advantage of the worst of 30 runs, with and without
entropy regularization, on CHSH, GHZ, Tetra and Cube — plus the shared-randomness and factorized
classes trained the same way (their best value must never exceed the classical value).

Paper hyperparameters by default (batch 512, Adam lr 3e-2, α = 0.2, 5000 steps, 30 seeds,
learned state).  Every cell is checkpointed under ``--out`` and resumed when rerun, and the
JSON/markdown are rewritten after each cell, so the study can be stopped and continued.

    python analysis/table2.py                                   # the full paper-size table
    python analysis/table2.py --seeds 5 --steps 300 --out results/table2-quick
    python analysis/table2.py --anneal 5000 --state fixed --out results/table2-annealed
"""
import argparse
import os
import sys
import time

from qpolicy.learn import nonlocal_study as study


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--games", nargs="+", default=list(study.GAMES), choices=study.GAMES)
    p.add_argument("--classes", nargs="+", default=["entangled", "shared", "factorized"],
                   choices=["entangled", "shared", "factorized"])
    p.add_argument("--seeds", type=int, default=30)
    p.add_argument("--steps", type=int, default=5000)
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
    p.add_argument("--out", default="results/table2", help="folder for checkpoints, JSON, markdown")
    p.add_argument("--bounds", default=None, metavar="FILE.json",
                   help="bounds cache shared between studies (default: OUT/bounds.json)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    bounds_file = args.bounds or os.path.join(args.out, "bounds.json")
    entangled_entropies = {"both": [args.entropy, 0.0], "entropy": [args.entropy],
                           "no-entropy": [0.0]}[args.cells]
    common = dict(seeds=args.seeds, steps=args.steps, batch=args.batch, lr=args.lr,
                  anneal_steps=args.anneal, final_lr_fraction=args.final_lr_fraction,
                  baseline=args.baseline,
                  seed=args.seed, progress=not args.quiet)
    cells, started = [], time.perf_counter()
    for name in args.games:
        bounds = study.game_bounds(name, cache=bounds_file)
        print(f"{name}: classical {bounds['classical']:.6f}, NPA {bounds['npa_level']} "
              f"{bounds['quantum']:.6f}", flush=True)
        for policy in args.classes:
            options = dict(common, dim=args.dim, state=args.state) if policy == "entangled" \
                else dict(common)
            for entropy in (entangled_entropies if policy == "entangled" else [args.entropy]):
                run = study.train_cell(name, policy, entropy,
                                       folder=os.path.join(args.out, "runs"), **options)
                cell = study.summarize(run, bounds)
                cell["bounds"] = bounds
                cells.append(cell)
                print(f"  {policy:10s} α={entropy:<4g} worst {cell['worst']:7.2f} %  median "
                      f"{cell['median']:7.2f} %  best {cell['best']:7.2f} %  "
                      f"({cell['runs_beyond_classical']}/{cell['seeds']} beyond classical, "
                      f"{cell['seconds']:.0f} s, {cell['steps_per_second'] or 0:.1f} steps/s)",
                      flush=True)
                _write(args, cells, time.perf_counter() - started)
    print()
    print(study.markdown_table(cells))
    print(f"\nwrote {os.path.join(args.out, 'table2.json')} and table2.md "
          f"({time.perf_counter() - started:.0f} s)")
    violations = [c for c in cells if c["policy"] != "entangled" and c["runs_beyond_classical"]]
    if violations:
        print("ERROR: a classical class exceeded the classical value:", file=sys.stderr)
        for c in violations:
            print(f"  {c['game']} {c['policy']}: {c['max_minus_classical']:.3g}", file=sys.stderr)
        return 1
    return 0


def _write(args, cells, seconds):
    study.write_json(os.path.join(args.out, "table2.json"),
                     {"command": " ".join(sys.argv), "arguments": vars(args),
                      "seconds": seconds, "cells": cells})
    with open(os.path.join(args.out, "table2.md"), "w") as fh:
        fh.write(study.markdown_table(cells) + "\n")


if __name__ == "__main__":
    sys.exit(main())

"""``qpolicy sweep``: run a study's grid through the sweep store, or show a store's status.

    qpolicy sweep table2 --grid games=chsh,ghz seeds=4 steps=200 --jobs 2 --out results/sweep
    qpolicy sweep table2 --grid seeds=30 chunk=1 --scheduler tcp://head-node:8786 --out /shared/t2
    qpolicy sweep status results/sweep

``--grid key=value``: options of the study's grid function (see :data:`qpolicy.studies.STUDIES`;
``table2``: games, classes, entropies, seeds, chunk and any REINFORCE hyperparameter such as
steps, batch, lr, anneal_steps, seed; ``bounds``: games, npa_level; ``figure5``: scale
(quick/full), kinds and any field of routing_study.Study such as limits, seed, n_envs;
``frontier``: scale, rates, bins, points, sim_p, steps, n_envs, convergence_bins, seed;
``resource_threshold``: games, points, seed; ``resource_learning``: games, visibilities, seeds,
steps, batch, entropy, seed; ``resource_routing``: rates; ``certification``: quick, games,
learned, seed).  A value with commas is a
list; values are read as JSON when they parse (numbers, true/false, null), else as strings.
Exit status 1 when a cell failed.
"""
import argparse
import json
import sys

from qpolicy.studies import STUDIES, study
from qpolicy.sweep import add_executor_arguments


def add_arguments(parser):
    parser.add_argument("study", metavar="STUDY", choices=sorted(STUDIES) + ["status"],
                        help=f"one of {', '.join(sorted(STUDIES))}; or 'status DIR'")
    parser.add_argument("folder", nargs="?", metavar="DIR", help="(status) the sweep folder")
    parser.add_argument("--grid", nargs="+", default=[], metavar="KEY=VALUE",
                        help="options of the study's grid (see above)")
    add_executor_arguments(parser, jobs=None)
    parser.add_argument("--out", default="results/sweep",
                        help="store folder (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.epilog = __doc__.split("\n\n")[1]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def parse_grid(items):
    """``["a=1", "b=x,y"]`` → ``{"a": 1, "b": ["x", "y"]}`` (values JSON when they parse)."""
    options = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--grid entries must look like key=value, got {item!r}")
        values = [_value(v) for v in text.split(",")]
        options[key] = values if "," in text else values[0]
    return options


def _value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def run(args):
    from qpolicy import sweep
    if args.study == "status":
        if not args.folder:
            print("qpolicy sweep status: give the sweep folder, e.g. qpolicy sweep status "
                  "results/sweep", file=sys.stderr)
            return 2
        from qpolicy.sweep.status import format_status
        print(format_status(sweep.status(args.folder)))
        return 0
    if args.folder:
        print(f"qpolicy sweep {args.study}: unexpected argument {args.folder!r} (use --out DIR)",
              file=sys.stderr)
        return 2
    grid, cell = study(args.study)
    try:
        configs = grid(**parse_grid(args.grid))
    except (TypeError, ValueError) as exc:
        print(f"qpolicy sweep {args.study}: bad --grid: {exc}", file=sys.stderr)
        return 2
    try:
        result = sweep.run(args.study, cell, configs, args.out, jobs=args.jobs,
                           scheduler=args.scheduler, no_recompute=args.no_recompute,
                           log=None if args.quiet else lambda line: print(line, flush=True))
    except sweep.StaleResultError as exc:
        print(f"qpolicy sweep: {exc}", file=sys.stderr)
        return 1
    print()
    print(result.table())
    return 1 if result.failed else 0

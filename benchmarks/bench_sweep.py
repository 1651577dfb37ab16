"""Sweep runner overhead and scaling: a plain loop of Table 2 cells vs the same cells through
``qpolicy.sweep`` in this process, on the local pool (1 and 2 spawned workers) and on a Dask
LocalCluster (1 and 2 worker processes over TCP on 127.0.0.1); and the per-run cost of every
Table 2 cell at the paper's size, to project the full table onto a 100-core cluster.

Cells here are short (``--steps``; ~1-2 s each) so that the benchmark fits a shared 2-core
machine: the fixed costs (spawning workers, starting a cluster) are amortized over far less work
than with the paper's cells (minutes), so the overheads below are upper bounds for those.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sweep.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sweep.py --cells 8 --steps 150 --no-dask
"""
import argparse
import math
import tempfile
import time

from qpolicy import sweep
from qpolicy.studies import nonlocal_study as study


def timed(function):
    """Wall-clock seconds of ``function()``."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def overhead(args):
    configs = [study.table2_config("chsh", seeds=2, steps=args.steps, batch=256, seed=s)
               for s in range(args.cells)]
    rows = [("plain loop", timed(lambda: [study.table2_cell(c) for c in configs]))]

    def through(**where):
        with tempfile.TemporaryDirectory() as out:
            return timed(lambda: sweep.run("table2", study.table2_cell, configs, out, log=None,
                                           **where))

    rows.append(("sweep, in process (jobs=1)", through(jobs=1)))
    for workers in (1, 2):
        with sweep.local_pool(workers) as pool:
            rows.append((f"sweep, local pool, {workers} worker(s)", through(executor=pool)))
    if not args.no_dask:
        import distributed
        for workers in (1, 2):
            start = time.perf_counter()
            with distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                          host="127.0.0.1", dashboard_address=None) as cluster:
                startup = time.perf_counter() - start
                rows.append((f"sweep, Dask LocalCluster, {workers} worker(s) "
                             f"(+{startup:.1f} s cluster start)",
                             through(scheduler=cluster.scheduler_address)))
    loop = rows[0][1]
    print(f"{args.cells} cells of CHSH, 2 runs x {args.steps} steps, batch 256 "
          f"(plain loop {loop / args.cells:.2f} s per cell)")
    print(f"{'':52s} {'wall s':>8s} {'per cell':>9s} {'vs loop':>8s}")
    for name, seconds in rows:
        print(f"{name:52s} {seconds:8.2f} {seconds / args.cells:9.2f} {seconds / loop:8.2f}x")


def projection(args):
    """Seconds per 5000-step run of every Table 2 cell, one run per cell (chunk=1)."""
    total, longest = 0.0, 0.0
    print(f"\nper-run cost at the paper's size (1 run x {args.probe} steps measured, x "
          f"{5000 / args.probe:.0f}):")
    for name in study.GAMES:
        for policy, entropies in (("entangled", (0.2, 0.0)), ("shared", (0.2,)),
                                  ("factorized", (0.2,))):
            config = study.table2_config(name, policy=policy, seeds=1, steps=args.probe)
            study.table2_cell(dict(config, steps=5))                       # warm-up
            seconds = min(timed(lambda: study.table2_cell(config)) for _ in range(2)) \
                * 5000 / args.probe
            runs = 30 * len(entropies)
            total += seconds * runs
            longest = max(longest, seconds)
            print(f"  {name:6s} {policy:10s} {seconds:7.1f} s per run x {runs} runs")
    cores = 100
    print(f"full Table 2 as 480 one-run cells: {total / 3600:.2f} CPU-hours; on {cores} cores "
          f"at least max(total / cores, longest run) = {max(total / cores, longest) / 60:.1f} "
          f"min (list-scheduling bound: total / cores + longest = "
          f"{(total / cores + longest) / 60:.1f} min); {math.ceil(480 / cores)} rounds of cells")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, default=8)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--probe", type=int, default=100, help="steps measured per run (projection)")
    p.add_argument("--no-dask", action="store_true")
    p.add_argument("--no-projection", action="store_true")
    args = p.parse_args(argv)
    overhead(args)
    if not args.no_projection:
        projection(args)


if __name__ == "__main__":
    main()

"""Sweep runner overhead and scaling: a plain loop of Table 2 cells against the same cells through
``qpolicy.sweep`` in this process, on the local pool (1 and 2 spawned workers) and on a Dask
LocalCluster (1 and 2 worker processes over TCP on 127.0.0.1); and the per-run cost of every
Table 2 cell at the paper's size, to project the full table onto a 100-core cluster.

What is measured (each variant on fresh store folders, the variants interleaved ``--repeat``
times in round-robin order so that a change of machine load hits all of them; the minimum is
reported):

* **per-cell overhead** of each 1-worker variant: (its time − the plain loop's) / cells, and as a
  percentage of the loop (the issue's target: < 5 % on cells of ≥ 10 s).  Worker start-up is
  **not** in it: each pool / cluster is started and warmed up (workers spawned, qpolicy
  imported) before the timed sweep, and that start-up is reported separately as a fixed cost;
* **scaling** from 1 to 2 workers: time(1 worker) / time(2 workers) (ideal 2 on 2 idle cores)
  and the parallel efficiency loop / (2 × time(2 workers));
* **projection** of the paper's Table 2 (480 one-run cells of 5000 steps, ``--chunk 1``) on 100
  cores: Σ run times / 100 + 480 / 100 × the measured Dask per-cell overhead + the measured
  cluster start-up, and the lower bound max(Σ / 100, longest run).  The start-up of a real
  cluster (queue waits, container pulls) is not measurable here.

Cells: CHSH, 2 runs, batch 256; their length is ``--steps`` or, with ``--cell-seconds S``,
the number of steps that makes one cell take about S seconds in this process (calibrated on a
short probe).

Check that it runs (seconds):

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sweep.py --cells 2 --steps 20 --probe 10

The full measurement (on an idle machine; about 15 minutes: 8 cells of ~10 s × 6 variants × 2
rounds, plus the projection):

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sweep.py --cells 8 --cell-seconds 10 --repeat 2
"""
import argparse
import math
import tempfile
import time

from qpolicy import sweep
from qpolicy.studies import nonlocal_study as study

#: The paper's Table 2 as one-run cells: (class, entropies) per game, 30 runs each.
TABLE2_CLASSES = (("entangled", (0.2, 0.0)), ("shared", (0.2,)), ("factorized", (0.2,)))


def timed(function):
    """Wall-clock seconds of ``function()``."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def warm(seconds):
    """Import the Table 2 cell's modules in a worker and hold it ``seconds`` (so that every
    worker of a pool gets one)."""
    import qpolicy.studies.nonlocal_study  # noqa: F401
    time.sleep(seconds)
    return True


def cell_config(steps, seed):
    return study.table2_config("chsh", seeds=2, steps=steps, batch=256, seed=seed)


def calibrate(cell_seconds, probe=40):
    """Steps per cell for cells of about ``cell_seconds`` s in this process."""
    study.table2_cell(cell_config(5, 0))                                    # warm-up
    per_step = min(timed(lambda: study.table2_cell(cell_config(probe, 0))) for _ in range(2)) \
        / probe
    return max(1, round(cell_seconds / per_step))


class Executors:
    """The pools and clusters of the benchmark, started and warmed up once (fixed costs)."""

    def __init__(self, dask):
        self.startup, self.stack = {}, []
        for workers in (1, 2):
            self._start(f"local pool, {workers} worker(s)", lambda w=workers: self._pool(w),
                        workers)
        if dask:
            for workers in (1, 2):
                self._start(f"Dask LocalCluster, {workers} worker(s)",
                            lambda w=workers: self._dask(w), workers)

    def _start(self, name, make, workers):
        start = time.perf_counter()
        executor = make()
        list(executor.map(warm, [0.5] * workers))       # spawn every worker, import qpolicy
        self.startup[name] = time.perf_counter() - start - 0.5
        self.stack.append((name, executor))

    def _pool(self, workers):
        context = sweep.local_pool(workers)
        pool = context.__enter__()
        self._contexts = getattr(self, "_contexts", []) + [context]
        return pool

    def _dask(self, workers):
        import distributed
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           host="127.0.0.1", dashboard_address=":0")
        client = distributed.Client(cluster)
        self._contexts = getattr(self, "_contexts", []) + [cluster, client]
        return client.get_executor(pure=False)

    def close(self):
        for context in reversed(getattr(self, "_contexts", [])):
            if hasattr(context, "__exit__"):
                context.__exit__(None, None, None)
            else:
                context.close()


def overhead(args, steps):
    configs = [cell_config(steps, s) for s in range(args.cells)]
    study.table2_cell(cell_config(5, 0))                                    # warm-up

    def through(**where):
        with tempfile.TemporaryDirectory() as out:
            return timed(lambda: sweep.run("table2", study.table2_cell, configs, out, log=None,
                                           **where))

    executors = Executors(dask=not args.no_dask)
    try:
        variants = [("plain loop", lambda: timed(lambda: [study.table2_cell(c)
                                                          for c in configs])),
                    ("sweep, in process (jobs=1)", lambda: through(jobs=1))]
        variants += [(f"sweep, {name}", lambda ex=ex: through(executor=ex))
                     for name, ex in executors.stack]
        times = {name: [] for name, _ in variants}
        for _ in range(args.repeat):
            for name, run in variants:
                times[name].append(run())
    finally:
        executors.close()
    best = {name: min(t) for name, t in times.items()}
    loop = best["plain loop"]
    print(f"{args.cells} cells of CHSH, 2 runs x {steps} steps, batch 256: plain loop "
          f"{loop / args.cells:.2f} s per cell; minimum of {args.repeat} interleaved round(s)")
    print(f"{'':44s} {'wall s':>8s} {'per cell':>9s} {'vs loop':>8s} {'overhead/cell':>14s} "
          f"{'spread':>7s}")
    for name, seconds in best.items():
        spread = (max(times[name]) - min(times[name])) / min(times[name])
        over = "" if name == "plain loop" or "2 worker" in name else \
            f"{(seconds - loop) / args.cells:+.3f} s {100 * (seconds - loop) / loop:+.1f}%"
        print(f"{name:44s} {seconds:8.2f} {seconds / args.cells:9.2f} {seconds / loop:7.3f}x "
              f"{over:>14s} {100 * spread:6.1f}%")
    print("scaling 1 -> 2 workers (time 1 / time 2; ideal 2) and parallel efficiency "
          "(loop / (2 x time 2)):")
    for kind in ("local pool", "Dask LocalCluster"):
        one, two = best.get(f"sweep, {kind}, 1 worker(s)"), best.get(f"sweep, {kind}, 2 worker(s)")
        if one and two:
            print(f"  {kind:18s} {one / two:5.2f}x   efficiency {100 * loop / (2 * two):5.1f} %")
    print("fixed costs (start and warm up, not in the times above): " + ", ".join(
        f"{name} {seconds:.1f} s" for name, seconds in executors.startup.items()))
    dask_one = best.get("sweep, Dask LocalCluster, 1 worker(s)")
    return {"per_cell": ((dask_one if dask_one else best["sweep, local pool, 1 worker(s)"])
                         - loop) / args.cells,
            "startup": executors.startup.get("Dask LocalCluster, 2 worker(s)",
                                             executors.startup["local pool, 2 worker(s)"]),
            "via": "Dask" if dask_one else "local pool"}


def projection(args, measured):
    """Seconds per 5000-step run of every Table 2 cell, one run per cell (chunk=1)."""
    total, longest, cells = 0.0, 0.0, 0
    print(f"\nper-run cost at the paper's size (1 run x {args.probe} steps measured, x "
          f"{5000 / args.probe:.0f}):")
    for name in study.GAMES:
        for policy, entropies in TABLE2_CLASSES:
            config = study.table2_config(name, policy=policy, seeds=1, steps=args.probe)
            study.table2_cell(dict(config, steps=5))                       # warm-up
            seconds = min(timed(lambda: study.table2_cell(config)) for _ in range(2)) \
                * 5000 / args.probe
            runs = 30 * len(entropies)
            total += seconds * runs
            cells += runs
            longest = max(longest, seconds)
            print(f"  {name:6s} {policy:10s} {seconds:7.1f} s per run x {runs} runs")
    cores = 100
    overhead = cells / cores * max(measured["per_cell"], 0.0) + measured["startup"]
    print(f"full Table 2 as {cells} one-run cells: {total / 3600:.2f} CPU-hours "
          f"(mean run {total / cells:.0f} s, longest {longest:.0f} s)")
    print(f"on {cores} cores: {total / cores / 60:.1f} min of runs (cells x cell time / cores) "
          f"+ {overhead:.1f} s measured overhead ({cells} / {cores} x "
          f"{measured['per_cell']:+.3f} s per cell via {measured['via']} + "
          f"{measured['startup']:.1f} s start-up) = {(total / cores + overhead) / 60:.1f} min; "
          f"lower bound max(total / cores, longest run) = "
          f"{max(total / cores, longest) / 60:.1f} min; {math.ceil(cells / cores)} rounds of "
          f"cells (list scheduling: at most {(total / cores + longest + overhead) / 60:.1f} min)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, default=8, help="cells per variant (default 8)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--steps", type=int, default=None,
                      help="REINFORCE steps per cell (default 150)")
    size.add_argument("--cell-seconds", type=float, default=None,
                      help="choose the steps so that a cell takes about this many seconds")
    p.add_argument("--repeat", type=int, default=1,
                   help="interleaved rounds of all variants; the minimum is reported")
    p.add_argument("--probe", type=int, default=100, help="steps measured per run (projection)")
    p.add_argument("--no-dask", action="store_true")
    p.add_argument("--no-projection", action="store_true")
    args = p.parse_args(argv)
    for name in ("cells", "repeat", "probe"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.cell_seconds is not None and args.cell_seconds <= 0:
        p.error("--cell-seconds must be > 0")
    if args.cell_seconds is not None:
        steps = calibrate(args.cell_seconds)
        print(f"--cell-seconds {args.cell_seconds:g}: {steps} steps per cell")
    else:
        steps = 150 if args.steps is None else args.steps
    measured = overhead(args, steps)
    if not args.no_projection:
        projection(args, measured)


if __name__ == "__main__":
    main()

"""The README's MAPPO example under 1 and 2 OpenBLAS threads: wall and CPU time, and whether the
two runs agree bit for bit.

Each run is a fresh interpreter (OpenBLAS sizes its pool at start-up) with
``OPENBLAS_NUM_THREADS`` set; ``--updates`` shortens the example (the README runs 16);
``--pythonpath`` runs another checkout (e.g. the commit before the fix) for a before/after.

    python benchmarks/bench_mappo_threads.py --updates 16
    python benchmarks/bench_mappo_threads.py --updates 1 --pythonpath /path/to/old/checkout
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

RUN = """
import hashlib, time
import numpy as np
from qpolicy.queueing import RoutingEnv
from qpolicy.learn.mappo import MAPPOConfig, train
config = MAPPOConfig(coordinator="entangled", actor="pass", cost_limit=5.0, updates={updates},
                     critic="lstd", objective="average", gae_lambda=0.0, input_baseline=True,
                     n_steps=128, lr=1e-2, anneal_lr=True, entropy_coef=0.0)
wall, cpu = time.perf_counter(), time.process_time()
run = train(RoutingEnv(n_envs=1024), config, seed=0, log=None)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
h = hashlib.sha256()
for k in sorted(run.params):
    h.update(run.params[k].tobytes())
h.update(np.asarray(run.history["cost"]).tobytes())
print(f"{{wall:.1f}} {{cpu:.1f}} {{h.hexdigest()[:16]}}")
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=16)
    parser.add_argument("--pythonpath", default=str(Path(__file__).resolve().parents[1]))
    args = parser.parse_args()
    print(f"README MAPPO example, {args.updates} updates, qpolicy from {args.pythonpath}")
    print("threads  wall (s)  CPU (s)  digest")
    for threads in (1, 2):
        env = {**os.environ, "PYTHONPATH": args.pythonpath, "OPENBLAS_NUM_THREADS": str(threads)}
        out = subprocess.run([sys.executable, "-c", RUN.format(updates=args.updates)], env=env,
                             capture_output=True, text=True, check=True).stdout.split()
        print(f"{threads:7d}  {out[0]:>8}  {out[1]:>7}  {out[2]}")


if __name__ == "__main__":
    main()

"""Fig. 5 of the paper: learned entangled vs shared-randomness routing over the analytic frontiers.

    python analysis/figure5.py --quick --jobs 2   # ~4.5 min: 1 initial run, 2 limits
    python analysis/figure5.py --jobs 2           # the full study, ~15 min: 2 initial runs, 5 limits
    python analysis/figure5.py --scheduler tcp://head:8786 --out /shared/figure5   # on Dask

Trains MAPPO with the entangled coordinator (Bell state, qubit 2-outcome POVMs, pass-through
actors) and with the shared-randomness coordinator on the two-router queueing problem
(λ = 0.8, μ = 1, T = t²), following App. H.2 (best of several runs at the first wait limit, then a
warm-started chain of raised limits), evaluates every best and final model exactly (queueing
formulas) and by long simulation (95 % CIs), judges them against the exact shared-randomness
optimum (``qpolicy.studies.routing_study.judge``), and writes ``figure5.png``, ``figure5.json``,
``figure5.md`` under ``--out``.  Each chain (entangled, shared) is a cell of the sweep study
``figure5`` (:mod:`qpolicy.sweep`), stored in ``OUT/store`` under its content key (configuration,
seed, qpolicy version, source hash): re-running the same command reuses finished chains, resumes
an interrupted one run by run (and mid-run from MAPPO checkpoints), and recomputes a chain whose
configuration or code changed.  The procedure and the claims are documented in
:mod:`qpolicy.studies.routing_study`.
"""
import os

# Before NumPy loads: on a shared 2-core machine a multithreaded BLAS in every process thrashes
# (a 8192×16 matrix product was measured 160× slower than single-threaded).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402

from qpolicy.studies.routing_study import Study, run_study  # noqa: E402
from qpolicy.sweep import add_executor_arguments  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small study (a few minutes)")
    parser.add_argument("--out", default=None, help="results folder (default results/figure5[-quick])")
    add_executor_arguments(parser, what="chains")      # --jobs 2: both chains in parallel
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--initial-runs", type=int, default=None)
    parser.add_argument("--updates-initial", type=int, default=None)
    parser.add_argument("--updates-chain", type=int, default=None)
    parser.add_argument("--sim-steps", type=int, default=None)
    parser.add_argument("--limits", type=lambda text: tuple(float(v) for v in text.split(",")),
                        default=None, help="wait limits of the chain, e.g. 5.5,5.7,5.9")
    args = parser.parse_args(argv)
    changes = {k: v for k, v in dict(seed=args.seed, initial_runs=args.initial_runs,
                                      updates_initial=args.updates_initial,
                                      updates_chain=args.updates_chain,
                                      sim_steps=args.sim_steps, limits=args.limits).items()
               if v is not None}
    study = Study.quick(**changes) if args.quick else Study.full(**changes)
    out = args.out or ("results/figure5-quick" if args.quick else "results/figure5")
    summary = run_study(study, out, jobs=args.jobs, scheduler=args.scheduler,
                        no_recompute=args.no_recompute)
    print(f"\nFig. 5 study done in {summary['seconds']:.0f} s "
          f"({summary['train_env_steps']} training env-steps, "
          + (f"{summary['train_steps_per_second']:.0f} env-steps/s during training)"
             if summary['train_steps_per_second'] else "resumed runs: no rate)"))
    for kind, verdict in summary["judge"].items():
        print(f"{kind}: {verdict['final_below']} of {verdict['runs']} runs (final models) below "
              f"the exact shared-randomness optimum with 95 % CI "
              f"({verdict['final_throughputs_below']} distinct throughputs; "
              f"{verdict['final_below_conservative']} also at the low end of the throughput CI); "
              f"best-of-run models: {verdict['best_below']}; by exact evaluation: "
              f"{verdict['exact_final_below']} final models"
              + ("  [target: ≥ 3 throughputs]" if kind == "entangled" else "  [must be 0]"))
    print(f"closest learned entangled point to the entanglement frontier: "
          f"{summary['closest_to_entangled_frontier']:.4f} excess wait above it (exact)")
    print(f"exact mean wait inside the simulated 95 % CI for {summary['exact_inside_sim_ci']} of "
          f"{summary['evaluated_models']} models; largest table interpolation error "
          f"{summary['max_table_error']:.1e}")
    print(f"figure: {summary['figure']}; chains: " + ", ".join(
        f"{c['kind']} {c['status']}" for c in summary["cells"]) + f" (store {out}/store)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

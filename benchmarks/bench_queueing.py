"""Speed and memory of the vectorized RoutingEnv, against the customer-level event simulation.

Measures, in one run:

* env-steps per second of :class:`qpolicy.queueing.RoutingEnv` at n_envs ∈ {1, 64, 4096, 65536}
  with a uniformly random policy (the policy call is included: ``rng.integers`` per step), and
  without the policy (pre-drawn actions) to isolate the environment;
* arrivals per second of :func:`qpolicy.queueing.customer_sim.replay` (heap of events, one
  Python step per customer) on the same number of arrivals, and the ratio;
* memory per environment copy: the state arrays, and the state plus the step's scratch buffers
  and the pre-drawn random block.

Rates are per second of **CPU time of this process** (``time.process_time``), which is robust
to other jobs sharing the machine (wall-clock rates would measure the contention); single
threaded NumPy, so CPU time ≈ wall time on an idle core.  Each rate is the best of
``--repeats`` repetitions (each env measurement is split into that many
chunks; the event simulation is rerun that many times on the same inputs), the usual way to
suppress the noise of a shared machine; both sides get the same treatment.

The peer is our own independent simulator (no external package simulates this system).

Usage:  python benchmarks/bench_queueing.py [--seconds 2] [--arrivals 200000] [--repeats 5]
"""
import argparse
import time

import numpy as np

from qpolicy.queueing import RoutingEnv
from qpolicy.queueing.customer_sim import replay

N_ENVS = (1, 64, 4096, 65536)


def env_rate(n_envs, seconds, with_policy, repeats):
    """Env-steps per CPU second of a warm env: the best of ``repeats`` chunks of at least
    ``seconds / repeats`` CPU seconds each."""
    env = RoutingEnv(n_envs=n_envs)
    env.reset(seed=0)
    rng = np.random.default_rng(1)
    fixed = rng.integers(0, 2, (n_envs, 2))
    for _ in range(20):                                     # warm-up
        env.step(fixed)
    rates = []
    for _ in range(repeats):
        steps, start = 0, time.process_time()
        while True:
            for _ in range(10):
                env.step(rng.integers(0, 2, (n_envs, 2)) if with_policy else fixed)
            steps += 10
            elapsed = time.process_time() - start
            if elapsed >= seconds / repeats:
                rates.append(steps * n_envs / elapsed)
                break
    return max(rates), env


def memory_per_copy(env):
    state = sum(a.nbytes for a in (env._q, env._T_idle, env._dt_prev, env._t))
    scratch = sum(a.nbytes for a in (env._buffer, env._to_1, env._got_work))
    block = sum(a.nbytes for a in (env._jobs, env._gaps, env._flips, env._second_is_0,
                                   env._half_first_size))
    return state / env.n_envs, (state + scratch + block) / env.n_envs


def event_rate(arrivals, repeats):
    """Arrivals per CPU second of the customer-level event simulation on random-policy inputs,
    the best of ``repeats`` runs."""
    rng = np.random.default_rng(2)
    sizes = rng.standard_exponential((arrivals, 2))
    gaps = rng.standard_exponential(arrivals) / 0.8
    servers = rng.integers(0, 2, (arrivals, 2))
    second_is_0 = rng.random(arrivals) < 0.5
    rates = []
    for _ in range(repeats):
        start = time.process_time()
        replay(sizes, gaps, servers, second_is_0)
        rates.append(arrivals / (time.process_time() - start))
    return max(rates)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--arrivals", type=int, default=200_000,
                        help="arrivals for the customer-level simulation")
    parser.add_argument("--repeats", type=int, default=5,
                        help="best of this many repetitions per measurement")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    des = event_rate(args.arrivals, args.repeats)
    print(f"customer-level event simulation: {des:,.0f} arrivals/s ({args.arrivals:,} arrivals)")
    print(f"{'n_envs':>7} {'steps/s (random policy)':>24} {'steps/s (env only)':>19} "
          f"{'× event sim':>11} {'bytes/copy state':>16} {'+ scratch, random block':>23}")
    for n in N_ENVS:
        with_policy, _ = env_rate(n, args.seconds, True, args.repeats)
        env_only, env = env_rate(n, args.seconds, False, args.repeats)
        state, total = memory_per_copy(env)
        print(f"{n:>7} {with_policy:>24,.0f} {env_only:>19,.0f} {with_policy / des:>11.1f} "
              f"{state:>16.0f} {total:>23.0f}", flush=True)


if __name__ == "__main__":
    main()

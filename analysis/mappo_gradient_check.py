"""How well does MAPPO's coordinator policy gradient estimate the true gradient on the routing
problem?  A diagnostic for Fig. 5, and the measurement behind the estimator choices of
:func:`qpolicy.studies.routing_study.mappo_config`.

For the entangled coordinator (pass-through actors) the long-run reward per step R = Θ/λ and the
mean wait W of a policy follow exactly from its co-routing probability (queueing formulas), so
∇R, ∇W and the gradient of the Lagrangian J = R − μW are computed exactly with autograd.  For a
fixed policy (the random initialization of a Fig. 5 run) this script collects ``--reps`` fresh
batches and compares the eq. 9 estimate E[∇log q · A] of each gradient with the exact one: cosine
and error norm relative to |∇R|.  A = A_r, A_c or the combined (A_r − μA_c), as MAPPO computes
them with the chosen critic, objective and baseline.  ∇R and ∇W are nearly parallel (cosine
~0.95), so the Lagrangian gradient is a small difference of two large vectors: it is the hard
one to estimate and the one that matters.

    python analysis/mappo_gradient_check.py --critic network --objective discounted --gae-lambda 0.95
    python analysis/mappo_gradient_check.py --critic lstd --objective average --gae-lambda 0 --input-baseline
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import sys  # noqa: E402

import autograd.numpy as anp  # noqa: E402
import numpy as np  # noqa: E402
from autograd import grad  # noqa: E402

from qpolicy.learn.adam import Adam  # noqa: E402
from qpolicy.learn.mappo import (Agent, _collect, _loss, advantage_parts, central_state,  # noqa: E402
                                 input_baseline)
from qpolicy.queueing import RoutingEnv, theory  # noqa: E402
from qpolicy.studies.routing_study import mappo_config  # noqa: E402

LAM, MU, GRID = 0.8, 1.0, 64


def exact_gradients(agent, params, keys, multiplier):
    """∇R, ∇W and ∇(R − μW) w.r.t. the coordinator parameters, exactly (R = reward per step)."""
    m = theory.bin_means(GRID, MU)
    X1, X2 = np.meshgrid(m, m, indexing="ij")
    obs = np.stack([X1.ravel(), X2.ravel()], axis=1)[:, :, None]
    costs = theory.binned_costs(GRID, LAM, MU).ravel()

    def co_routing(p):
        q = agent.coordinator.joint(p, obs)
        return q[:, 0, 0] + q[:, 1, 1]

    reward = lambda p: theory.throughput(0.0, LAM, MU) / LAM / (2 - anp.mean(co_routing(p)))  # noqa: E731
    wait = lambda p: anp.mean(co_routing(p) * costs)                                         # noqa: E731
    lagrangian = lambda p: reward(p) - multiplier * wait(p)                                   # noqa: E731
    flat = lambda g: np.concatenate([g[k].ravel() for k in keys])                             # noqa: E731
    return [flat(grad(f)(params)) for f in (reward, wait, lagrangian)]


def train_network_critics(agent, params, roll, parts, keys, rng, steps=64):
    """SGD on the network critics only (the policy stays fixed) on one batch."""
    flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in roll.items()}
    batch = dict(flat, advantage=np.zeros(len(flat["reward"])), target=parts["target"].ravel(),
                 cost_target=parts["cost_target"].ravel())
    optimizer = Adam(lr=agent.config.lr)
    state = optimizer.init(params)
    for _ in range(steps):
        idx = rng.permutation(len(batch["reward"]))[:2048]
        g = grad(_loss)(params, agent, {k: v[idx] for k, v in batch.items()}, agent.config)
        g = {k: (np.zeros_like(v) if k in keys else v) for k, v in g.items()}
        params, state = optimizer.step(params, g, state)
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--critic", choices=("network", "lstd"), default="lstd")
    parser.add_argument("--objective", choices=("discounted", "average"), default="average")
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--gae-lambda", type=float, default=0.0)
    parser.add_argument("--input-baseline", action="store_true")
    parser.add_argument("--multiplier", type=float, default=0.4, help="μ of J = R − μW")
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--n-envs", type=int, default=1024)
    parser.add_argument("--n-steps", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = dataclasses.replace(mappo_config("entangled", 5.5, 1, 0.0), critic=args.critic,
                                 objective=args.objective, gamma=args.gamma,
                                 gae_lambda=args.gae_lambda, input_baseline=args.input_baseline,
                                 entropy_coef=0.0)
    env = RoutingEnv(n_envs=args.n_envs, arrival_rate=LAM, service_rate=MU)
    rng = np.random.default_rng(args.seed)
    obs = env.reset(seed=args.seed)
    state = central_state(env, obs)
    agent = Agent(config, 2, 1, state.shape[1], 2)
    params = agent.init(rng)
    keys = [k for k in params if k.startswith("coord")]
    exact = exact_gradients(agent, params, keys, args.multiplier)
    _, obs, state = _collect(env, agent, params, obs, state, rng, 300)     # warm-up
    cosine = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))   # noqa: E731
    scale = np.linalg.norm(exact[0])
    print(f"{args.critic} critic, {args.objective} objective, GAE λ = {args.gae_lambda}, input "
          f"baseline {'on' if args.input_baseline else 'off'}, batch {args.n_envs * args.n_steps}"
          f"; cos(∇R, ∇W) = {cosine(exact[0], exact[1]):.3f}, "
          f"|∇(R − {args.multiplier}W)| / |∇R| = {np.linalg.norm(exact[2]) / scale:.3f}")
    errors = []
    for rep in range(args.reps + (args.critic == "network")):
        roll, obs, state = _collect(env, agent, params, obs, state, rng, args.n_steps)
        parts = advantage_parts(agent, params, roll)
        if args.critic == "network" and rep == 0:         # fit the critics first, then measure
            params = train_network_critics(agent, params, roll, parts, keys, rng)
            continue
        T, N = roll["reward"].shape
        o, a = roll["obs"].reshape(T * N, 2, 1), roll["advice"].reshape(T * N, 2)
        line = f"batch {len(errors) + 1}:"
        lagrangian = parts["A_r"] - args.multiplier * parts["A_c"]
        for name, A, g in (("R", parts["A_r"], exact[0]), ("W", parts["A_c"], exact[1]),
                           ("J", lagrangian, exact[2])):
            if config.input_baseline:
                A = input_baseline(A, roll["state"], roll["exogenous"])
            surrogate = lambda p, A=A.ravel(): anp.mean(agent.coordinator.evaluate(p, o, a)[0] * A)  # noqa: E731
            estimate = np.concatenate([v.ravel() for k, v in grad(surrogate)(params).items()
                                       if k in keys])
            error = np.linalg.norm(estimate - g) / scale
            line += f"  {name}: cos {cosine(estimate, g):+.3f} |err|/|∇R| {error:.3f}"
        errors.append(error)                                  # the last one: the Lagrangian's
        print(line, flush=True)
    print(f"Lagrangian gradient: mean |err|/|∇R| = {np.mean(errors):.3f} over {len(errors)} "
          f"batches (|∇J|/|∇R| = {np.linalg.norm(exact[2]) / scale:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How well does MAPPO's coordinator policy gradient estimate the true gradient on the routing
problem?  A diagnostic for Fig. 5.

For the entangled coordinator (pass-through actors) the long-run reward per step R = Θ/λ and the
mean wait W of a policy follow exactly from its co-routing probability
(:func:`qpolicy.routing_study.exact_performance`), so ∇R and ∇W are computed exactly with autograd.
This script trains only the critics for a few iterations (policy fixed), and after each
iteration compares, on one fresh batch, the eq. 9 policy-gradient estimates
E[∇log q · A_r] and E[∇log q · A_c] (GAE advantages) with ∇R and ∇W: cosine similarity and norm
ratio.  A norm ratio far below 1 means the discounted advantage misses part of the effect (bias);
a cosine far below 1 at a large batch means noise.

    python analysis/mappo_gradient_check.py --gamma 0.99 --gae-lambda 0.95 --iterations 8
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
from qpolicy.learn.mappo import Agent, _collect, _loss, central_state, gae  # noqa: E402
from qpolicy.queueing import RoutingEnv, theory  # noqa: E402
from qpolicy.routing_study import mappo_config  # noqa: E402

LAM, MU, GRID = 0.8, 1.0, 64


def exact_gradients(agent, params, keys):
    """∇R and ∇W (reward per step, mean wait) w.r.t. the coordinator parameters, exactly."""
    m = theory.bin_means(GRID, MU)
    X1, X2 = np.meshgrid(m, m, indexing="ij")
    obs = np.stack([X1.ravel(), X2.ravel()], axis=1)[:, :, None]
    costs = theory.binned_costs(GRID, LAM, MU).ravel()

    def co_routing(p):
        q = agent.coordinator.joint(p, obs)
        return q[:, 0, 0] + q[:, 1, 1]

    reward = lambda p: theory.throughput(0.0, LAM, MU) / LAM / (2 - anp.mean(co_routing(p)))  # noqa: E731
    wait = lambda p: anp.mean(co_routing(p) * costs)                                         # noqa: E731
    flat = lambda g: np.concatenate([g[k].ravel() for k in keys])                             # noqa: E731
    return flat(grad(reward)(params)), flat(grad(wait)(params))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--gae-lambda", type=float, default=0.95)
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--n-envs", type=int, default=512)
    parser.add_argument("--n-steps", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = dataclasses.replace(mappo_config("entangled", 5.5, 1, 0.0), gamma=args.gamma,
                                 gae_lambda=args.gae_lambda, entropy_coef=0.0)
    env = RoutingEnv(n_envs=args.n_envs, arrival_rate=LAM, service_rate=MU)
    rng = np.random.default_rng(args.seed)
    obs = env.reset(seed=args.seed)
    state = central_state(env, obs)
    agent = Agent(config, 2, 1, state.shape[1], 2)
    params = agent.init(rng)
    keys = [k for k in params if k.startswith("coord")]
    grad_R, grad_W = exact_gradients(agent, params, keys)     # R = Θ/λ = 2.5/(1+p) here
    _, obs, state = _collect(env, agent, params, obs, state, rng, 200)     # warm-up
    optimizer, opt_state = Adam(lr=config.lr), None
    cosine = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))   # noqa: E731
    print(f"γ = {args.gamma}, GAE λ = {args.gae_lambda}, batch {args.n_envs * args.n_steps}; "
          f"cos(∇R, ∇W) = {cosine(grad_R, grad_W):.3f}")
    for it in range(args.iterations + 1):
        roll, obs, state = _collect(env, agent, params, obs, state, rng, args.n_steps)
        flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in roll.items()}
        A_r, target = gae(roll["reward"], roll["value"], roll["next_value"], roll["terminated"],
                          roll["truncated"], args.gamma, args.gae_lambda)
        A_c, cost_target = gae(roll["cost"], roll["cost_value"], roll["next_cost_value"],
                               roll["terminated"], roll["truncated"], args.gamma, args.gae_lambda)
        estimates = []
        for A in (A_r, A_c):
            def surrogate(p, A=A.ravel()):
                logq, _, _ = agent.coordinator.evaluate(p, flat["obs"], flat["advice"])
                return anp.mean(logq * A)
            g = grad(surrogate)(params)
            estimates.append(np.concatenate([g[k].ravel() for k in keys]))
        print(f"iteration {it}: cos(PG_r, ∇R) = {cosine(estimates[0], grad_R):+.3f}  "
              f"|PG_r|/|∇R| = {np.linalg.norm(estimates[0]) / np.linalg.norm(grad_R):.2f}   "
              f"cos(PG_c, ∇W) = {cosine(estimates[1], grad_W):+.3f}  "
              f"|PG_c|/|∇W| = {np.linalg.norm(estimates[1]) / np.linalg.norm(grad_W):.2f}",
              flush=True)
        batch = dict(flat, advantage=np.zeros(len(flat["reward"])), target=target.ravel(),
                     cost_target=cost_target.ravel())
        for _ in range(16):                                     # critics only (zero advantage)
            idx = rng.permutation(len(batch["reward"]))[:2048]
            g = grad(_loss)(params, agent, {k: v[idx] for k, v in batch.items()}, config)
            g = {k: (np.zeros_like(v) if k in keys else v) for k, v in g.items()}
            opt_state = optimizer.init(params) if opt_state is None else opt_state
            params, opt_state = optimizer.step(params, g, opt_state)
    return 0


if __name__ == "__main__":
    sys.exit(main())

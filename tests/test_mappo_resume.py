"""A resumed MAPPO run is the same run or is refused (naming what differs); results do not depend
on the BLAS thread count."""
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from qpolicy.learn.checkpoint import save_checkpoint
from qpolicy.learn.mappo import MAPPOConfig, train
from qpolicy.queueing import RoutingEnv

SMALL = MAPPOConfig(coordinator="entangled", actor="pass", hidden=(4,), updates=1, n_steps=2,
                    epochs=1, minibatches=1, cost_limit=5.0)


def first_half(path, config=SMALL, seed=0, env=None):
    train(env or RoutingEnv(n_envs=4), config, seed=seed, checkpoint=path, log=None)


@pytest.mark.parametrize("change, field", [
    (dict(config=dataclasses.replace(SMALL, lr=1e-2)), "lr"),
    (dict(config=dataclasses.replace(SMALL, cost_limit=4.0)), "cost_limit"),
    (dict(config=dataclasses.replace(SMALL, hidden=(8,))), "hidden"),
    (dict(config=dataclasses.replace(SMALL, critic="lstd")), "critic"),
    (dict(config=dataclasses.replace(SMALL, coordinator="shared", actor="network")), "coordinator"),
    (dict(seed=1), "seed"),
    (dict(env=RoutingEnv(n_envs=4, arrival_rate=0.7)), "env.arrival_rate"),
    (dict(env=RoutingEnv(n_envs=4, observe=("job", "dt"))), "env.observe"),
])
def test_resume_refuses_a_checkpoint_of_another_run(tmp_path, change, field):
    path = tmp_path / "run.npz"
    first_half(path)
    config = dataclasses.replace(change.get("config", SMALL), updates=2)
    with pytest.raises(ValueError, match=rf"cannot resume .*{field} \(saved"):
        train(change.get("env", RoutingEnv(n_envs=4)), config, seed=change.get("seed", 0),
              checkpoint=path, resume=True, log=None)


def test_resume_refuses_a_checkpoint_that_already_ran_further(tmp_path):
    path = tmp_path / "run.npz"
    first_half(path, dataclasses.replace(SMALL, updates=3))
    with pytest.raises(ValueError, match="already run 3 updates"):
        train(RoutingEnv(n_envs=4), dataclasses.replace(SMALL, updates=2), seed=0,
              checkpoint=path, resume=True, log=None)


def test_resume_refuses_a_file_that_is_not_a_mappo_checkpoint(tmp_path):
    path = tmp_path / "other.npz"
    save_checkpoint(path, params={"x": np.zeros(2)}, step=3)
    with pytest.raises(ValueError, match="not a MAPPO checkpoint"):
        train(RoutingEnv(n_envs=4), SMALL, seed=0, checkpoint=path, resume=True, log=None)


def test_resume_with_a_generator_seed_continues_bit_for_bit_and_refuses_another(tmp_path):
    longer = dataclasses.replace(SMALL, updates=2)
    straight = train(RoutingEnv(n_envs=4), longer, seed=np.random.default_rng(7), log=None)
    path = tmp_path / "run.npz"
    first_half(path, seed=np.random.default_rng(7))
    resumed = train(RoutingEnv(n_envs=4), longer, seed=np.random.default_rng(7), checkpoint=path,
                    resume=True, log=None)
    for k in straight.params:
        assert np.array_equal(resumed.params[k], straight.params[k]), k
    with pytest.raises(ValueError, match="seed"):
        train(RoutingEnv(n_envs=4), longer, seed=np.random.default_rng(8), checkpoint=path,
              resume=True, log=None)


def test_resume_refuses_another_warm_start(tmp_path):
    path = tmp_path / "run.npz"
    warm = train(RoutingEnv(n_envs=4), SMALL, seed=3, log=None).params
    train(RoutingEnv(n_envs=4), SMALL, seed=0, init_params=warm, checkpoint=path, log=None)
    with pytest.raises(ValueError, match="init_params"):
        train(RoutingEnv(n_envs=4), dataclasses.replace(SMALL, updates=2), seed=0,
              checkpoint=path, resume=True, log=None)


#: Run under a given OPENBLAS_NUM_THREADS in a fresh interpreter (the thread pool is sized at
#: start-up) with this worktree's qpolicy; prints a digest of the results.
KERNELS = """
import hashlib, numpy as np
from qpolicy.learn.mappo import Agent, MAPPOConfig, input_baseline
rng = np.random.default_rng(0)
T, N = 32, 512      # 16384 rows: OpenBLAS splits the batch reductions between threads
state, exo, adv = rng.exponential(size=(T, N, 5)), rng.exponential(size=(T, N, 4)), rng.normal(size=(T, N))
h = hashlib.sha256(input_baseline(adv, state, exo).tobytes())
roll = dict(reward=adv, cost=adv ** 2, state=state, next_state=np.roll(state, 1, axis=0),
            terminated=np.zeros((T, N), bool))
for v in Agent(MAPPOConfig(critic="lstd", hidden=(4,)), 2, 1, 5, 2).critic.values({}, roll):
    h.update(v.tobytes())
print(h.hexdigest())
"""

FIG5_RUN = """
import hashlib, numpy as np
from qpolicy.learn.mappo import MAPPOConfig, train
from qpolicy.queueing import RoutingEnv
config = MAPPOConfig(coordinator="entangled", actor="pass", cost_limit=5.0, updates=3,
                     critic="lstd", objective="average", gae_lambda=0.0, input_baseline=True,
                     n_steps=32, lr=1e-2, entropy_coef=0.0, hidden=(8,), epochs=1, minibatches=1)
run = train(RoutingEnv(n_envs=512), config, seed=0, log=None)
h = hashlib.sha256()
for k in sorted(run.params):
    h.update(run.params[k].tobytes())
for k in ("reward", "cost", "multiplier", "explained_var"):
    h.update(np.asarray(run.history[k]).tobytes())
print(h.hexdigest())
"""


def digests_under_one_and_two_blas_threads(code):
    root = Path(__file__).resolve().parents[1]
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(root),
                                              "OPENBLAS_NUM_THREADS": str(threads),
                                              "OMP_NUM_THREADS": str(threads)})
             for threads in (1, 2)]
    outputs = [proc.communicate(timeout=300)[0].strip() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    return outputs


def test_lstd_critic_and_input_baseline_do_not_depend_on_the_blas_thread_count():
    """On 16384 rows, 1 and 2 OpenBLAS threads used to give different LSTD values and baselines
    (and the Fig. 5 training trajectory diverged after 3 updates)."""
    one, two = digests_under_one_and_two_blas_threads(KERNELS)
    assert len(one) == 64 and one == two


@pytest.mark.slow
def test_fig5_configuration_trains_bit_identically_under_one_and_two_blas_threads():
    one, two = digests_under_one_and_two_blas_threads(FIG5_RUN)
    assert len(one) == 64 and one == two


def test_train_restores_the_callers_blas_thread_count():
    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        train(RoutingEnv(n_envs=4), SMALL, seed=0, log=None)
        assert blas_threads() == before

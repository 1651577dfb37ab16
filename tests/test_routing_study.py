"""Fig. 5 evaluation machinery: exact evaluation vs closed forms, the tabulated policy used for
simulation, and the excess-wait bookkeeping."""
import numpy as np
import pytest

from qpolicy.learn.mappo import Agent
from qpolicy.queueing import theory
from qpolicy.studies.routing_study import Study, TabulatedPolicy, exact_performance, excess, mappo_config

LAM, MU = 0.8, 1.0


def uniform_shared_agent():
    """Shared-randomness agent whose actors ignore everything and pick servers uniformly:
    co-routing probability exactly 1/2 for every pair."""
    agent = Agent(mappo_config("shared", 5.5, 1, 0.5), 2, 1, 5, 2)
    params = agent.init(0)
    for i in range(2):
        params[f"actor{i}.W2"] = np.zeros_like(params[f"actor{i}.W2"])
        params[f"actor{i}.b2"] = np.zeros_like(params[f"actor{i}.b2"])
    return agent, params


def test_exact_evaluation_of_uniform_routing_matches_the_closed_form():
    agent, params = uniform_shared_agent()
    p, throughput, wait = exact_performance(agent, params, LAM, MU)
    rho = LAM / MU
    assert p == pytest.approx(0.5, abs=1e-12)
    assert throughput == pytest.approx(8 * (1 - rho) / (LAM * 1.5), abs=1e-12)
    # independent uniform routing: W = 1.25 ρ/(μ−λ) + 1/(4μ), exact for constant s
    assert wait == pytest.approx(1.25 * rho / (MU - LAM) + 0.25 / MU, abs=1e-10)


def test_exact_evaluation_converges_for_a_learned_entangled_policy():
    agent = Agent(mappo_config("entangled", 5.5, 1, 0.5), 2, 1, 5, 2)
    params = agent.init(7)
    coarse = exact_performance(agent, params, LAM, MU)
    fine = exact_performance(agent, params, LAM, MU, grid=300)
    # tolerance: 1e-3 in wait is 2 % of the shared-randomness/entanglement gap (~0.05)
    assert coarse[0] == pytest.approx(fine[0], abs=2e-4)
    assert coarse[2] == pytest.approx(fine[2], abs=1e-3)


def test_tabulated_policy_is_exact_at_nodes_and_close_between():
    agent = Agent(mappo_config("entangled", 5.5, 1, 0.5), 2, 1, 5, 2)
    params = agent.init(3)
    policy = TabulatedPolicy(agent, params)
    nodes = np.array([[0.0, 0.1], [1.3, 2.7], [16.0, 0.0]])
    exact = agent.action_probs(params, nodes[:, :, None]).reshape(3, 4)
    np.testing.assert_allclose(policy.probs(nodes), exact, atol=1e-12)
    assert policy.max_error(agent, params) < 1e-3
    # sampled joint actions follow the interpolated table
    rng = np.random.default_rng(0)
    x = np.full((50_000, 2), [0.7, 1.9])
    actions = policy(x, rng)
    joint = np.bincount(actions[:, 0] * 2 + actions[:, 1], minlength=4) / len(x)
    target = policy.probs(x[:1])[0]
    assert np.all(np.abs(joint - target) < 5 * np.sqrt(target * (1 - target) / len(x)))


def test_excess_against_a_brute_force_communication_optimum():
    """excess() = wait − (continuous communication optimum at p); the optimum re-derived here
    by brute force: the cheapest half of 1500² equiprobable cells, c at the cell means."""
    study = Study()
    m = theory.bin_means(1500, MU)
    c = np.sort(theory.pair_cost(m[:, None], m[None, :], LAM, MU).ravel())
    comm_extra = c[: c.size // 2].sum() / c.size                    # p = 0.5
    uniform = 1.25 * LAM / (MU - LAM) + 0.25 / MU                    # s = ½ closed form
    expected = uniform - LAM / (MU - LAM) - comm_extra
    assert excess(study, 0.5, uniform) == pytest.approx(expected, abs=2e-3)
    assert expected > 0.3                                            # not a trivial zero


def record(p, wait, ci_half, model="final", kind="entangled", throughput_half=0.0):
    """A synthetic run record at splitting probability p with a simulated wait CI."""
    theta = float(theory.throughput(p, LAM, MU))
    evaluation = {"exact_p": p, "exact_throughput": theta, "exact_wait": wait,
                  "sim_throughput": theta,
                  "sim_throughput_ci": [theta - throughput_half, theta + throughput_half],
                  "sim_wait": wait, "sim_wait_ci": [wait - ci_half, wait + ci_half],
                  "table_error": 0.0}
    other = dict(evaluation, sim_wait_ci=[wait + 1.0, wait + 2.0])    # never below
    return {"kind": kind, "limit": 5.0, "seed": 0,
            "final": evaluation if model == "final" else other,
            "best": evaluation if model == "best" else other}


def test_judge_counts_runs_against_an_explicit_classical_rule():
    """The review's rule (each router to server 1 iff its size > 3.85, p = 0.0417) is a
    shared-randomness strategy, so a run whose CI reaches its wait (computed here in closed
    form) cannot count; one whose CI lies 0.002 below the exact optimum does; best-of-run
    models are counted separately, the conservative count uses the throughput CI."""
    from qpolicy.studies.routing_study import judge, point_rows
    study = Study()
    u = np.exp(-3.85)
    p = 1 - (u ** 2 + (1 - u) ** 2)
    A = LAM / (2 * (1 - LAM))
    low = (1 - 4.85 * u, 1 - u)                  # (E[x; x ≤ a], P(x ≤ a)) for Exp(1)
    high = (4.85 * u, u)
    cost = sum(A * e * e + (e * q + q * e) / 4 for e, q in (low, high))   # E[s c], by parts
    rule_wait = LAM / (MU - LAM) + cost
    assert rule_wait - LAM / (MU - LAM) - theory.communication_extra([p], LAM, MU)[0][0] == \
        pytest.approx(0.238, abs=5e-4)
    optimum = theory.frontier("shared", LAM, MU, p=[p]).lower[0]
    assert optimum <= rule_wait
    records = [record(p, rule_wait - 0.01, 0.01),                  # CI touches the rule: no
               record(p, optimum - 0.012, 0.01),                   # CI below the optimum: yes
               record(p, optimum - 0.012, 0.01, model="best"),     # best model only
               record(p, optimum - 0.012, 0.01, throughput_half=0.02),   # yes, not conservative
               record(p, optimum - 0.012, 0.01, kind="shared")]
    rows = point_rows(study, records)
    verdict = judge(rows)
    assert (verdict["runs"], verdict["final_below"], verdict["best_below"]) == (4, 2, 1)
    assert verdict["final_below_conservative"] == 1
    assert judge(rows, "shared")["final_below"] == 1
    with pytest.raises(ValueError, match="kind"):
        judge(rows, "quantum")


@pytest.mark.slow
def test_one_mappo_run_learns_entangled_routing_below_the_shared_frontier():
    """The Fig. 5 claim on one run (~3 min): a fresh entangled run at wait limit 5.0, evaluated
    exactly, waits less than the exact shared-randomness optimum at its own throughput."""
    from qpolicy.learn.mappo import train
    from qpolicy.queueing import RoutingEnv
    from qpolicy.studies.routing_study import frontier_waits
    study = Study.quick()
    run = train(RoutingEnv(n_envs=study.n_envs), mappo_config("entangled", 5.0, 16, 0.5),
                seed=1000, log=None)
    p, _, wait = exact_performance(run.agent, run.params, LAM, MU)
    shared = frontier_waits(study, "shared", [p])[p][1]             # exact, certified lower
    entangled = frontier_waits(study, "entangled", [p])[p][0]
    assert wait < shared - 0.02, (p, wait, shared, entangled)


#: A tiny Fig. 5 chain: one initial run and one warm-started chain run of one update each.
TINY = dict(limits=[5.5, 5.75], kinds="entangled", initial_runs=1, updates_initial=1,
            updates_chain=1, n_envs=64, sim_steps=20_000)


def test_a_stored_chain_is_reused_only_under_the_same_content_key(tmp_path):
    """Review finding: finished Fig. 5 runs were reloaded whatever the code version.  Now a
    chain is a sweep cell: reused only for the same configuration, seed, version and source."""
    from qpolicy import sweep
    from qpolicy.studies.routing_study import figure5_cell, figure5_grid
    code_a = sweep.Store(tmp_path, source="code-A")
    one_run = dict(TINY, limits=[5.5])
    grid = figure5_grid(**one_run)
    first = sweep.run("figure5", figure5_cell, grid, tmp_path, jobs=1, log=None, store=code_a)
    again = sweep.run("figure5", figure5_cell, grid, tmp_path, jobs=1, log=None, store=code_a)
    assert [c.status for c in first.cells] == ["computed"]
    assert [c.status for c in again.cells] == ["reused"]
    assert again.cells[0].summary == first.cells[0].summary
    records = first.cells[0].summary["records"]
    assert [(r["limit"], r["seed"]) for r in records] == [(5.5, 1000)]
    other_seed = sweep.run("figure5", figure5_cell, figure5_grid(**one_run, seed=1), tmp_path,
                           jobs=1, log=None, store=code_a)
    assert [c.status for c in other_seed.cells] == ["computed"]
    assert other_seed.cells[0].summary["records"][0]["seed"] == 1001
    code_b = sweep.Store(tmp_path, source="code-B")
    with pytest.raises(sweep.StaleResultError, match="source hash"):
        sweep.run("figure5", figure5_cell, grid, tmp_path, jobs=1, log=None, store=code_b,
                  no_recompute=True)
    recomputed = sweep.run("figure5", figure5_cell, grid, tmp_path, jobs=1, log=None,
                           store=code_b)
    assert [c.status for c in recomputed.cells] == ["computed"]
    # a run is a pure function of its configuration: same parameters bit for bit
    a, b = first.cells[0].arrays(), recomputed.cells[0].arrays()
    assert a.keys() == b.keys() and any(k.startswith("run0/params/") for k in a)
    for name in a:
        if not name.endswith("steps_per_second"):            # wall-clock rates differ
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_chain_resumes_from_its_checkpoint_run_by_run(tmp_path):
    """The chain state saved after each run is reloaded, not retrained; the next run is
    warm-started from the reloaded model and multiplier exactly as without interruption."""
    from qpolicy.studies.routing_study import make_study, train_chain, train_run
    checkpoint = str(tmp_path / "chain.npz")
    first = train_chain(make_study(**dict(TINY, limits=[5.5], kinds=None)), "entangled",
                        checkpoint)                       # "interrupted" after its first run
    study = make_study(**dict(TINY, kinds=None))
    runs = train_chain(study, "entangled", checkpoint)
    assert runs[0]["record"].get("from_chain_checkpoint") and \
        not runs[1]["record"].get("from_chain_checkpoint")
    assert runs[0]["record"]["final"] == first[0]["record"]["final"]
    direct = train_run(study, "entangled", 5.75, 1, 1000,
                       (first[0]["params"], first[0]["record"]["multiplier"]))
    for name, value in direct["params"].items():
        np.testing.assert_array_equal(runs[1]["params"][name], value, err_msg=name)
    assert runs[1]["record"]["final"] == direct["record"]["final"]
    assert not (tmp_path / "chain.run1.npz").exists()          # a finished run's checkpoint


def test_a_run_resumes_from_its_mappo_checkpoint(tmp_path):
    """train_run picks up the MAPPO checkpoint of an interrupted run (here: one extended from 1
    to 2 updates) and continues it instead of starting over."""
    from qpolicy.studies.routing_study import make_study, train_run
    study = make_study(**dict(TINY, kinds=None))
    part = str(tmp_path / "run.npz")
    short = train_run(study, "entangled", 5.5, 1, 1000, None, part)
    longer = train_run(study, "entangled", 5.5, 2, 1000, None, part)
    assert not short["record"]["resumed"] and longer["record"]["resumed"]
    assert longer["record"]["steps_per_second"] is None          # a part of a run: no rate
    assert len(longer["history"]["update"]) == 2
    for name, values in short["history"].items():
        if name != "steps_per_second":
            assert longer["history"][name][0] == values[0], name


@pytest.mark.slow   # a killed driver, a resumed chain and a clean one: ~20 s under load
def test_an_interrupted_chain_resumes_run_by_run_and_equals_an_uninterrupted_one(tmp_path):
    """SIGKILL the driver after the chain's first run is checkpointed; the re-run trains only
    the second run (warm-started from the saved first) and gives the same models."""
    import glob
    import os
    import signal
    import subprocess
    import sys
    import time
    from qpolicy import sweep
    from qpolicy.studies.routing_study import figure5_cell, figure5_grid
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tiny = dict(TINY, updates_chain=4)
    code = (f"from qpolicy import sweep\nfrom qpolicy.studies import routing_study as r\n"
            f"sweep.run('figure5', r.figure5_cell, r.figure5_grid(**{tiny!r}), "
            f"{str(tmp_path / 'killed')!r}, jobs=1, log=None)\n")
    driver = subprocess.Popen([sys.executable, "-c", code], cwd=root, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, PYTHONPATH=root, OPENBLAS_NUM_THREADS="1"))
    # the chain's state (saved after each finished run), not a run's MAPPO checkpoint beside it
    pattern = str(tmp_path / "killed" / "checkpoints" / f"figure5-{'?' * 16}-{'?' * 16}.npz")
    try:
        end = time.time() + 120
        while not glob.glob(pattern) and driver.poll() is None and time.time() < end:
            time.sleep(0.01)
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.communicate()
    assert glob.glob(pattern), "the driver finished before the first run was checkpointed"
    assert not glob.glob(str(tmp_path / "killed" / "figure5-*.npz"))
    grid = figure5_grid(**tiny)
    resumed = sweep.run("figure5", figure5_cell, grid, tmp_path / "killed", jobs=1, log=None)
    clean = sweep.run("figure5", figure5_cell, grid, tmp_path / "clean", jobs=1, log=None)
    assert resumed.cells[0].summary["resumed_runs"] >= 1
    assert clean.cells[0].summary["resumed_runs"] == 0
    assert not glob.glob(str(tmp_path / "killed" / "checkpoints" / "*.npz"))
    a, b = resumed.cells[0].arrays(), clean.cells[0].arrays()
    assert a.keys() == b.keys()
    for name in a:
        if not name.endswith("steps_per_second"):            # wall-clock rates differ
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    records = [c.summary["records"] for c in (resumed, clean)[0].cells + clean.cells]
    assert [(r["limit"], r["seed"]) for r in records[0]] == [(5.5, 1000), (5.75, 1000)]
    for r, s in zip(*records):                 # the second run was warm-started from the first
        assert r["final"] == s["final"] and r["best"] == s["best"]


def test_figure5_grid_validates_its_options():
    from qpolicy.studies import study
    from qpolicy.studies.routing_study import figure5_grid
    grid, cell = study("figure5")
    assert [c["kind"] for c in grid()] == ["entangled", "shared"]
    assert grid(limits=5.5, kinds="shared")[0]["limits"] == [5.5]
    with pytest.raises(ValueError, match="scale"):
        figure5_grid(scale="huge")
    with pytest.raises(ValueError, match="kinds"):
        figure5_grid(kinds="quantum")
    with pytest.raises(ValueError, match="n_envs"):
        figure5_grid(n_envs=0)
    with pytest.raises(TypeError, match="bogus"):
        figure5_grid(bogus=1)

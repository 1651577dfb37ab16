"""The frontier, resource and certification studies run through qpolicy.sweep: real cells on tiny
settings, reused on a re-run, results checked against closed forms."""
import math

import numpy as np
import pytest

from qpolicy import sweep
from qpolicy.studies import STUDIES, study


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_registered_study_has_a_grid_and_an_importable_cell(name):
    grid, cell = study(name)
    configs = grid()
    assert configs and all(isinstance(c, dict) for c in configs) and callable(cell)
    assert len({sweep.config_key(name, c) for c in configs}) == len(configs)


def test_frontier_simulation_and_convergence_cells(tmp_path):
    from qpolicy.studies import frontier_study as fs
    grid = [c for c in fs.frontier_grid("quick", rates=[0.8], sim_p=[0.5], steps=20_000,
                                        n_envs=64, convergence_bins=[4, 8])
            if c["part"] != "frontiers"]                 # the exact frontiers take ~30 s
    results, first = fs.run_frontier(grid, tmp_path, jobs=1, log=None)
    _, again = fs.run_frontier(grid, tmp_path, jobs=1, log=None)
    assert [c.status for c in first.cells] == ["computed"] * 2
    assert [c.status for c in again.cells] == ["reused"] * 2
    (res,) = results
    assert {s["kind"] for s in res["simulated"]} == {"communication", "shared", "entangled"}
    for s in res["simulated"]:                           # formula inside the simulation's CI
        assert s["sim_wait_ci"][0] <= s["theory_wait"] <= s["sim_wait_ci"][1], s
    for p in fs.CONVERGENCE_P:      # achievable binned waits: above the exact, refining helps
        rows = {r["bins"]: r for r in res["convergence"] if r["p"] == p}
        for kind in ("shared", "entangled"):
            assert rows[4][kind] >= rows[8][kind] - 1e-9 >= rows[None][kind] - 2e-6
    with pytest.raises(ValueError, match="rates"):
        fs.frontier_grid(rates=[1.5])
    with pytest.raises(TypeError, match="bogus"):
        fs.frontier_grid(bogus=1)


def test_resource_thresholds_and_learners_through_the_store(tmp_path):
    from qpolicy.studies import resource_study as rs
    options = dict(games=["chsh"], points=2, seed=0, out=str(tmp_path), jobs=1, log=None,
                   seeds=2, steps=20, batch=64)
    (chsh,) = rs.run_games(**options)
    # CHSH with a white-noise Bell pair: optimum max(3/4, 1/2 + v/(2√2)) (deterministic
    # answers still reach 3/4), above 3/4 iff v > 1/√2
    assert chsh["seesaw_threshold"] == pytest.approx(1 / math.sqrt(2), abs=1e-5)
    assert len(chsh["rows"]) == 5 and min(r["v"] for r in chsh["rows"]) < 1 / math.sqrt(2)
    for row in chsh["rows"]:
        optimum = max(0.75, 0.5 + row["v"] / (2 * math.sqrt(2)))
        assert row["seesaw"] == pytest.approx(optimum, abs=1e-6)
        assert row["learned_best"] <= optimum + 1e-12         # exact values, never above
    lines = []
    again = rs.run_games(**dict(options, log=lines.append))
    assert again == [chsh]
    assert all("already stored" in line for line in lines) and len(lines) == 2
    with pytest.raises(ValueError, match="v must"):
        rs.learning_config("chsh", 1.5)
    with pytest.raises(ValueError, match="games"):
        rs.threshold_grid(["quantum"])


def test_certification_cells_match_the_closed_form_for_ghz(tmp_path):
    from qpolicy.studies.certification_study import certification_cell, certification_grid
    grid = certification_grid(quick=True, games=["ghz"], learned=["chsh"])
    result = sweep.run("certification", certification_cell, grid, tmp_path, jobs=1, log=None)
    best, learned = (c.summary for c in result.cells)
    # the GHZ table wins every round: the wins p-value is (3/4)^N exactly
    assert best["value"] == 1.0
    assert best["p_wins"] == pytest.approx(best["n"] * math.log10(0.75), rel=1e-9)
    trace = result.cells[0].arrays()["trace0"]
    np.testing.assert_allclose(trace, np.arange(1, best["n"] + 1) * math.log10(0.75), rtol=1e-9)
    assert learned["best_value"] > learned["classical"] and learned["p_wins"] < -6
    again = sweep.run("certification", certification_cell, grid, tmp_path, jobs=1, log=None)
    assert [c.status for c in again.cells] == ["reused", "reused"]
    assert not list((tmp_path / "checkpoints").glob("*.npz"))   # the run file was removed
    with pytest.raises(ValueError, match="learned"):
        certification_grid(learned=["cube"])


def test_command_line_runs_a_new_study(tmp_path, capsys):
    from qpolicy.cli import main
    args = ["sweep", "certification", "--grid", "games=ghz", "learned=ghz", "quick=true",
            "--jobs", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    assert "2 computed" in capsys.readouterr().out
    assert main(args + ["--no-recompute"]) == 0
    assert "2 reused" in capsys.readouterr().out


def _script(name):
    import importlib.util
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(name, os.path.join(root, "analysis",
                                                                     name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_analysis_resources_runs_through_the_store(tmp_path, capsys):
    args = ["--parts", "games", "--games", "chsh", "--seeds", "2", "--steps", "20", "--points",
            "2", "--jobs", "1", "--quiet", "--out", str(tmp_path)]
    assert _script("resources").main(args) == 0
    assert "chsh    0.750000    0.707107" in capsys.readouterr().out
    assert (tmp_path / "learned_vs_visibility.png").stat().st_size > 10_000
    stored = sorted(p.name.split("-")[0] for p in (tmp_path / "store").glob("*.npz"))
    assert stored == ["resource_learning"] * 5 + ["resource_threshold"]
    assert _script("resources").main(args + ["--no-recompute"]) == 0


@pytest.mark.slow   # the Cube's see-saw table: ~40 s
def test_analysis_certification_quick_runs_through_the_store(tmp_path, capsys):
    args = ["--quick", "--jobs", "1", "--out", str(tmp_path)]
    assert _script("certification").main(args) == 0
    first = capsys.readouterr().out
    assert (tmp_path / "certification.png").stat().st_size > 10_000
    assert _script("certification").main(args + ["--no-recompute"]) == 0
    assert "7 of 7 cells already stored" in capsys.readouterr().out
    assert (tmp_path / "certification.md").read_text().strip() in first


def _untimed(value):
    """``value`` without its wall-clock entries (keys naming seconds or rates)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items()
                if "seconds" not in k and "per_second" not in k}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


@pytest.mark.slow   # a LocalCluster and a Fig. 5 chain: ~20 s
def test_new_studies_on_a_dask_cluster_equal_the_sequential_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    from qpolicy.studies import frontier_study as fs
    from qpolicy.studies.certification_study import certification_cell, certification_grid
    from qpolicy.studies.routing_study import figure5_cell, figure5_grid
    sweeps = [("figure5", figure5_cell, figure5_grid(limits=[5.5], initial_runs=1,
                                                     updates_initial=1, n_envs=64,
                                                     sim_steps=20_000)),
              ("certification", certification_cell,
               certification_grid(quick=True, games=["ghz"], learned=["chsh"])),
              ("frontier", fs.frontier_cell, [c for c in fs.frontier_grid(
                  "quick", rates=[0.8], steps=20_000, n_envs=64) if c["part"] == "simulate"])]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0") as cluster:
        for name, cell, grid in sweeps:
            on_dask = sweep.run(name, cell, grid, tmp_path / "dask", log=None,
                                scheduler=cluster.scheduler_address)
            local = sweep.run(name, cell, grid, tmp_path / "local", jobs=1, log=None)
            for a, b in zip(on_dask.cells, local.cells):
                assert a.status == b.status == "computed" and a.key == b.key
                assert _untimed(a.summary) == _untimed(b.summary)
                x, y = a.arrays(), b.arrays()
                assert x.keys() == y.keys()
                for k in x:
                    if not k.endswith("steps_per_second"):
                        np.testing.assert_array_equal(x[k], y[k], err_msg=f"{name} {k}")

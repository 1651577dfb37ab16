"""qpolicy.sweep on real components: REINFORCE Table 2 cells, spawned pools, a Dask LocalCluster
over TCP, SIGKILLed drivers and workers, concurrent sweeps on one folder."""
import glob
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from qpolicy import sweep
from qpolicy.studies import nonlocal_study as study

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: A small Table 2 grid: 2 games × 2 entropies, 2 runs per cell, short runs.
SMALL = dict(games=["chsh", "ghz"], classes=["entangled"], entropies=[0.2, 0.0], seeds=2,
             steps=12, batch=32)


def small_grid(**changes):
    return study.table2_grid(**dict(SMALL, **changes))


def arrays_of(result):
    """{config key: arrays} of a finished sweep."""
    assert not result.failed, [c.error for c in result.failed]
    return {c.key: c.arrays() for c in result.cells}


def assert_same_results(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            np.testing.assert_array_equal(a[key][name], b[key][name], err_msg=f"{key} {name}")


def python(code, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT, OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small grid computed sequentially in this process."""
    out = tmp_path_factory.mktemp("sequential")
    return arrays_of(sweep.run("table2", study.table2_cell, small_grid(), out, jobs=1, log=None))


def test_local_pool_and_dask_cluster_give_bit_identical_results(reference, tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="Dask is not installed (pip install 'qpolicy[cluster]')")
    pooled = sweep.run("table2", study.table2_cell, small_grid(), tmp_path / "pool", jobs=2,
                       log=None)
    assert_same_results(arrays_of(pooled), reference)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", protocol="tcp",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        with distributed.Client(cluster) as client:
            workers = client.run(lambda: (os.getpid(), __import__("qpolicy").__file__))
            assert len(workers) == 2 and all(os.getpid() != pid for pid, _ in workers.values())
            assert all(path.startswith(ROOT) for _, path in workers.values())
            on_dask = sweep.run("table2", study.table2_cell, small_grid(), tmp_path / "dask",
                                scheduler=client, log=None)
        # the scheduler address works as well (a new client per sweep)
        lines = []
        again = sweep.run("table2", study.table2_cell, small_grid(), tmp_path / "dask",
                          scheduler=cluster.scheduler_address, log=lines.append)
    assert [c.status for c in on_dask.cells] == ["computed"] * 4
    assert_same_results(arrays_of(on_dask), reference)
    assert [c.status for c in again.cells] == ["reused"] * 4 and "4 of 4" in lines[0]


def test_rerun_reuses_and_changed_configuration_or_code_recomputes_exactly_those(tmp_path):
    store = sweep.Store(tmp_path, source="code-A")
    first = sweep.run("table2", study.table2_cell, small_grid(), tmp_path, jobs=1, log=None,
                      store=store)
    assert [c.status for c in first.cells] == ["computed"] * 4
    changed = small_grid()
    changed[1] = dict(changed[1], lr=0.05)            # one configuration value of one cell
    again = sweep.run("table2", study.table2_cell, changed, tmp_path, jobs=1, log=None,
                      store=store)
    assert [c.status for c in again.cells] == ["reused", "computed", "reused", "reused"]
    with pytest.raises(sweep.StaleResultError, match="source hash.*code changed"):
        sweep.run("table2", study.table2_cell, changed, tmp_path, jobs=1, log=None,
                  store=sweep.Store(tmp_path, source="code-B"), no_recompute=True)
    other_code = sweep.run("table2", study.table2_cell, changed, tmp_path, jobs=1, log=None,
                           store=sweep.Store(tmp_path, source="code-B"))
    assert [c.status for c in other_code.cells] == ["computed"] * 4
    # status as seen by yet other code: every stored cell is stale, naming the source hash
    rows = sweep.status(tmp_path, store=sweep.Store(tmp_path, source="code-C"))
    assert {r["status"] for r in rows} == {"stale"} and len(rows) == 5
    assert all("source hash" in r["detail"] for r in rows)
    # same code, results identical: a run is a pure function of its configuration
    assert_same_results(arrays_of(other_code), arrays_of(again))


def test_no_recompute_names_what_differs(tmp_path):
    sweep.run("table2", study.table2_cell, small_grid(games=["chsh"], entropies=[0.2]), tmp_path,
              jobs=1, log=None)
    other_seed = small_grid(games=["chsh"], entropies=[0.2], seed=7)
    with pytest.raises(sweep.StaleResultError, match=r"no stored result.*seed: stored 0, "
                                                     r"requested 7"):
        sweep.run("table2", study.table2_cell, other_seed, tmp_path, jobs=1, log=None,
                  no_recompute=True)
    assert len(glob.glob(str(tmp_path / "*.npz"))) == 1        # nothing was computed


def test_corrupt_or_hand_edited_results_are_never_loaded(tmp_path):
    grid = small_grid(games=["chsh"], entropies=[0.2])
    first = sweep.run("table2", study.table2_cell, grid, tmp_path, jobs=1, log=None)
    path = first.cells[0].path
    good = first.cells[0].arrays()
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as fh:                  # truncated file
        fh.write(data[: len(data) // 2])
    with pytest.raises(sweep.StaleResultError, match="corrupt"):
        sweep.run("table2", study.table2_cell, grid, tmp_path, jobs=1, log=None,
                  no_recompute=True)
    second = sweep.run("table2", study.table2_cell, grid, tmp_path, jobs=1, log=None)
    assert second.cells[0].status == "computed"
    assert_same_results({"k": second.cells[0].arrays()}, {"k": good})
    # the JSON beside the result is a copy for readers: editing it changes nothing
    side = path[:-4] + ".json"
    with open(side) as fh:
        record = json.load(fh)
    record["summary"]["best_values"] = [0.9, 0.9]
    with open(side, "w") as fh:
        json.dump(record, fh)
    third = sweep.run("table2", study.table2_cell, grid, tmp_path, jobs=1, log=None)
    assert third.cells[0].status == "reused"
    assert third.cells[0].summary["best_values"] == second.cells[0].summary["best_values"]


def test_a_failing_cell_is_reported_and_the_others_finish(tmp_path):
    grid = small_grid(games=["chsh"], entropies=[0.2])
    broken = dict(grid[0], steps=0)                # rejected by reinforce.Hyperparameters
    lines = []
    result = sweep.run("table2", study.table2_cell, [broken] + grid, tmp_path, jobs=1,
                       log=lines.append)
    assert [c.status for c in result.cells] == ["failed", "computed"]
    assert "steps must be" in result.cells[0].error
    assert any("FAILED" in line and result.cells[0].key in line for line in lines)
    assert "1 failed" in result.table()
    statuses = {r["stem"].split("-")[1]: r["status"] for r in sweep.status(tmp_path)}
    assert statuses == {result.cells[0].key: "failed", result.cells[1].key: "done"}


LONG = dict(games=["chsh"], classes=["entangled"], entropies=[0.2, 0.0], seeds=2, steps=80,
            batch=16, chunk=1)


def _wait_for(predicate, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        found = predicate()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError("timed out")


def test_sigkill_driver_then_rerun_completes_only_missing_cells(tmp_path):
    grid = study.table2_grid(**LONG)
    driver = python(f"""
        from qpolicy.studies import nonlocal_study as study
        from qpolicy import sweep
        sweep.run("table2", study.table2_cell, study.table2_grid(**{LONG!r}), {str(tmp_path)!r},
                  jobs=1, log=None)
    """)
    def unfinished_checkpoint():
        stored = {os.path.basename(p)[:-4] for p in glob.glob(str(tmp_path / "*.npz"))}
        return stored and [p for p in glob.glob(str(tmp_path / "checkpoints" / "*.npz"))
                           if os.path.basename(p).rsplit("-", 1)[0] not in stored]

    try:   # kill when a cell is stored and an unfinished one has a checkpoint, i.e. half-way
        _wait_for(unfinished_checkpoint)
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.communicate()
    statuses = sorted(r["status"] for r in sweep.status(tmp_path))
    assert "interrupted" in statuses and "done" in statuses
    stored_before = len(glob.glob(str(tmp_path / "*.npz")))
    resumed = sweep.run("table2", study.table2_cell, grid, tmp_path, jobs=1, log=None)
    statuses = [c.status for c in resumed.cells]
    assert statuses.count("reused") == stored_before
    assert statuses.count("computed") == 4 - stored_before
    assert any(c.summary["resumed_from_step"] > 0 for c in resumed.cells if c.status == "computed")
    assert not glob.glob(str(tmp_path / "checkpoints" / "*.npz"))
    uninterrupted = sweep.run("table2", study.table2_cell, grid, tmp_path / "clean", jobs=1,
                              log=None)
    assert_same_results(arrays_of(resumed), arrays_of(uninterrupted))
    assert {r["status"] for r in sweep.status(tmp_path)} == {"done"}


@pytest.mark.slow   # a driver and two generations of spawned workers: ~10 s idle, 30 s under load
def test_sigkill_a_worker_its_cell_resumes_and_results_equal_uninterrupted(tmp_path):
    grid = study.table2_grid(**LONG)
    driver = python(f"""
        from qpolicy.studies import nonlocal_study as study
        from qpolicy import sweep
        r = sweep.run("table2", study.table2_cell, study.table2_grid(**{LONG!r}),
                      {str(tmp_path)!r}, jobs=2)
        print(r.table())
    """)
    try:   # a worker with a checkpoint written: kill it (its pid is in the running marker)
        def checkpointed_worker():
            for marker in glob.glob(str(tmp_path / "*.running.json")):
                stem = os.path.basename(marker)[:-len(".running.json")]
                if glob.glob(str(tmp_path / "checkpoints" / (stem + "-*.npz"))):
                    try:
                        with open(marker) as fh:
                            return json.load(fh)["pid"]
                    except (OSError, ValueError):
                        pass
            return None
        pid = _wait_for(checkpointed_worker)
        os.kill(pid, signal.SIGKILL)
        out, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
    assert driver.returncode == 0, err
    assert "worker lost" in out and "retrying" in out
    again = sweep.run("table2", study.table2_cell, grid, tmp_path, jobs=1, log=None)
    assert [c.status for c in again.cells] == ["reused"] * 4
    uninterrupted = sweep.run("table2", study.table2_cell, grid, tmp_path / "clean", jobs=1,
                              log=None)
    assert_same_results(arrays_of(again), arrays_of(uninterrupted))


def test_two_sweeps_writing_one_folder_at_once_never_corrupt_a_result(tmp_path, reference):
    code = f"""
        from qpolicy.studies import nonlocal_study as study
        from qpolicy import sweep
        r = sweep.run("table2", study.table2_cell, study.table2_grid(**{SMALL!r}),
                      {str(tmp_path)!r}, jobs=1, log=None)
        assert not r.failed
    """
    drivers = [python(code) for _ in range(2)]
    for d in drivers:
        _, err = d.communicate(timeout=120)
        assert d.returncode == 0, err
    assert not glob.glob(str(tmp_path / "*.tmp"))
    after = sweep.run("table2", study.table2_cell, small_grid(), tmp_path, jobs=1, log=None,
                      no_recompute=True)
    assert_same_results(arrays_of(after), reference)


def test_arguments_are_validated(tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        sweep.run("table2", study.table2_cell, small_grid(), tmp_path, jobs=0, log=None)
    with pytest.raises(ValueError, match="study"):
        sweep.run("table 2", study.table2_cell, small_grid(), tmp_path, log=None)
    with pytest.raises(TypeError, match=r"config\['steps'\]"):
        sweep.config_key("table2", {"steps": np.int64(10)})
    with pytest.raises(ValueError, match="same configuration twice"):
        sweep.run("table2", study.table2_cell, small_grid() * 2, tmp_path, jobs=1, log=None)
    with pytest.raises(ValueError, match="either executor or scheduler"):
        sweep.run("table2", study.table2_cell, small_grid(), tmp_path, log=None,
                  scheduler="tcp://127.0.0.1:1", executor=sweep.executors.InProcess())


def test_source_hash_covers_every_module(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.py").write_text("y = 2\n")
    before = sweep.source_hash(str(package))
    sweep.store._SOURCE_HASH.clear()
    (package / "sub" / "b.py").write_text("y = 3\n")
    assert sweep.source_hash(str(package)) != before


def test_command_line_sweep_and_status(tmp_path, capsys):
    from qpolicy.cli import main
    grid = ["--grid", "games=chsh", "classes=entangled", "entropies=0.2,0.0", "seeds=2",
            "steps=8", "batch=16"]
    assert main(["sweep", "table2", *grid, "--jobs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("table2-") >= 2 and "2 computed" in out
    assert main(["sweep", "table2", *grid, "seed=5", "--no-recompute", "--out",
                 str(tmp_path)]) == 1
    assert "seed: stored 0, requested 5" in capsys.readouterr().err
    assert main(["sweep", "status", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().endswith("2 done")
    assert main(["sweep", "table2", "--grid", "bogus=1", "--out", str(tmp_path)]) == 2


def test_local_pool_workers_are_spawned_with_single_threaded_blas(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    with sweep.local_pool(2) as pool:
        assert list(pool.map(os.getenv, sweep.BLAS_THREAD_VARIABLES)) == ["1", "1", "1"]
    with sweep.local_pool(1) as pool:
        assert pool.submit(os.getpid).result() != os.getpid()
        assert pool._mp_context.get_start_method() == "spawn"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "8"            # the parent's is restored
    assert "MKL_NUM_THREADS" not in os.environ


def test_analysis_table2_and_figure3_run_through_the_store(tmp_path, capsys):
    import importlib.util
    scripts = {}
    for name in ("table2", "figure3"):
        spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "analysis",
                                                                         name + ".py"))
        scripts[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(scripts[name])
    args = ["--seeds", "2", "--steps", "8", "--batch", "16", "--jobs", "1", "--out",
            str(tmp_path), "--quiet"]
    assert scripts["table2"].main(["--games", "chsh", *args]) == 0
    cells = json.loads((tmp_path / "table2.json").read_text())["cells"]
    assert {(c["policy"], c["entropy"]) for c in cells} == {
        ("entangled", 0.2), ("entangled", 0.0), ("shared", 0.2), ("factorized", 0.2)}
    assert all(c["policy"] == "entangled" or c["runs_beyond_classical"] == 0 for c in cells)
    stored = len(glob.glob(str(tmp_path / "table2-*.npz")))
    assert scripts["figure3"].main(args) == 0      # the CHSH entangled cells are reused
    assert len(glob.glob(str(tmp_path / "table2-*.npz"))) == stored
    assert os.path.getsize(tmp_path / "figure3.png") > 10_000


def test_a_worker_running_other_code_is_refused(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor
    grid = small_grid(games=["chsh"], entropies=[0.2])
    # the worker's report of its code (a thread here) differs from the driver's
    monkeypatch.setattr(sweep.runner, "_running_code", lambda: ("0.0.0", "another-source"))
    with ThreadPoolExecutor(1) as pool:
        result = sweep.run("table2", study.table2_cell, grid, tmp_path, executor=pool, log=None)
    assert [c.status for c in result.cells] == ["failed"]
    assert "the worker runs other qpolicy code" in result.cells[0].error
    assert not glob.glob(str(tmp_path / "*.npz"))


def test_stored_files_get_the_umask_mode_not_0600(tmp_path):
    """Review finding: results written through mkstemp were 0600 while JSON/PNG were 0644."""
    old = os.umask(0o022)
    try:
        store = sweep.Store(tmp_path)
        store.write("modes", {"seed": 0}, {"value": 1.0}, {"x": np.zeros(2)})
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o777 == 0o644 for p in files), \
        {p.name: oct(p.stat().st_mode & 0o777) for p in files}


def test_every_front_end_declares_where_it_runs_the_same_way():
    import argparse
    from qpolicy.sweep import add_executor_arguments
    parser = argparse.ArgumentParser()
    add_executor_arguments(parser, jobs=None)
    args = parser.parse_args([])
    assert (args.jobs, args.scheduler, args.no_recompute) == (None, None, False)
    assert parser.parse_args(["--jobs", "2", "--no-recompute"]).jobs == 2
    with pytest.raises(SystemExit):                         # a pool and a cluster at once
        parser.parse_args(["--jobs", "2", "--scheduler", "tcp://127.0.0.1:8786"])

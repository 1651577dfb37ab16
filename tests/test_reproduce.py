"""`qpolicy reproduce`: the CI run (--smoke) is green, rows fail when they should, and stored
results carry provenance (reused only for the same configuration and code, re-verified)."""
import json
import os

import numpy as np
import pytest

from qpolicy import sweep
from qpolicy.cli import main
from qpolicy.studies import nonlocal_study
from qpolicy.studies import reproduce


def test_reproduce_smoke_is_green_labels_its_rows_and_fits_100_columns(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["reproduce", "--smoke", "--quiet", "--jobs", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "== paper reproduction" in text and "== beyond the paper" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "0 failed" in text and "error:" not in text
    rows = json.loads((out / "claims.json").read_text())["rows"]
    assert all(r["rule"] for r in rows)                        # every row states its rule
    assert {r["kind"] for r in rows} == {reproduce.PAPER, reproduce.BEYOND}
    by_claim = {r["claim"]: r for r in rows}
    for name in ("CHSH classical value", "CHSH quantum value (NPA upper bound)",
                 "GHZ quantum value (NPA upper bound)"):
        assert by_claim[name]["agree"] is True                   # exact comparisons
    assert os.path.getsize(out / "figure3_chsh_training.png") > 10_000
    assert (out / "table2.md").read_text().startswith("| class")
    assert (out / "claims.md").read_text().startswith("| kind")
    # file names carry the configuration key; provenance beside every result
    stored = sorted(p for p in os.listdir(out / "store") if p.endswith(".json"))
    assert stored and all(p.split("-")[0] in ("table2", "bounds", "figure5") for p in stored)
    assert any(p.startswith("figure5-") for p in stored)       # Fig. 5 chains in the store too
    record = json.loads((out / "store" / stored[0]).read_text())
    assert {"config", "seed", "qpolicy_version", "source_hash", "content_key"} <= set(record)


def _only(monkeypatch, *claims):
    monkeypatch.setattr(reproduce, "CLAIMS", list(claims))


def test_a_failing_claim_makes_the_command_fail_and_the_others_still_run(tmp_path, capsys,
                                                                         monkeypatch):
    def broken(ctx):
        raise RuntimeError("boom")

    def fine(ctx):
        return [reproduce.Row(reproduce.PAPER, "fine claim", "1", "1", "equal", True)]

    _only(monkeypatch, broken, fine)
    assert main(["reproduce", "--smoke", "--quiet", "--out", str(tmp_path)]) == 1
    text = capsys.readouterr().out
    assert "error: RuntimeError: boom" in text and "[PASS] fine claim" in text
    assert "1 passed, 1 failed" in text


def test_stored_runs_are_reused_only_with_the_same_configuration(tmp_path, capsys, monkeypatch):
    _only(monkeypatch, reproduce.claim_table2_annealed)
    args = ["reproduce", "--smoke", "--quiet", "--jobs", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    assert "1 computed, 0 reused" in capsys.readouterr().out
    assert main(args) == 0
    assert "0 computed, 1 reused" in capsys.readouterr().out
    # another seed is another configuration: refused with --no-recompute, naming the seed
    assert main(args + ["--seed", "1", "--no-recompute"]) == 2
    assert "seed: stored 0, requested 1" in capsys.readouterr().err


def test_tampered_stored_bounds_are_caught_by_re_verification(tmp_path, capsys, monkeypatch):
    _only(monkeypatch, reproduce.claim_game_bounds)
    args = ["reproduce", "--smoke", "--quiet", "--jobs", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    capsys.readouterr()
    # rewrite the stored CHSH bounds with a wrong classical value but valid provenance
    config = nonlocal_study.bounds_config("chsh")
    store = sweep.Store(tmp_path / "store")
    stored = store.load("bounds", config)
    store.write("bounds", config, dict(stored.summary, classical=0.9), stored.arrays())
    assert main(args) == 1
    assert "stored classical value of chsh (0.9) is not reproduced" in capsys.readouterr().out


def test_worst_of_interval_probability_matches_simulated_exchangeable_runs():
    rng = np.random.default_rng(3)
    ours, paper = rng.random((2, 200_000, 30))
    fifth = np.sort(ours, axis=1)[:, 4]
    simulated = np.mean(paper.min(axis=1) > fifth)          # ≈ C(30,5)/C(60,5) = 0.02609
    lo, hi, j, prob = reproduce.worst_of_interval(np.arange(30.0))
    assert j == 5 and (lo, hi) == (-4.0, 4.0)
    assert simulated == pytest.approx(prob, abs=0.002)
    with pytest.raises(ValueError, match="advantages"):
        reproduce.worst_of_interval([1.0], level=0.01)     # 1/31 > 1 %


def test_the_paper_table2_rule_is_two_sided():
    runs = np.linspace(98.8, 99.0, 30)
    lo, hi, j, _ = reproduce.worst_of_interval(runs)
    tol = reproduce.TABLE2_TOLERANCE_PP
    assert hi == runs[j - 1] and lo == pytest.approx(2 * 98.8 - hi)
    # a paper value far below or above our runs fails, one among them passes
    assert not lo - tol <= 98.5 <= hi + tol and not lo - tol <= 99.0 <= hi + tol
    assert lo - tol <= 98.8 <= hi + tol


@pytest.mark.parametrize("scale", ["smoke", "quick", "full"])
def test_every_scale_has_sizes_for_every_claim(scale):
    assert scale in reproduce.FIGURE3_RUNS and scale in reproduce.ANNEALED_RUNS
    assert scale in reproduce.PAPER_RUNS and scale in reproduce.FIGURE5_RULE
    assert reproduce.PAPER_RUNS["full"] == (30, 5000)      # the paper's settings at --full


def test_tampered_stored_npa_bound_is_caught(tmp_path):
    out = tmp_path / "store"
    nonlocal_study.game_bounds(["ghz"], out=out)
    config = nonlocal_study.bounds_config("ghz")
    store = sweep.Store(out)
    stored = store.load("bounds", config)
    store.write("bounds", config, dict(stored.summary, quantum=0.99), stored.arrays())
    with pytest.raises(ValueError, match=r"stored NPA bound of ghz \(quantum 0.99\)"):
        nonlocal_study.game_bounds(["ghz"], out=out)

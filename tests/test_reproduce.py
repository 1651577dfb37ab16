"""`qpolicy reproduce --smoke`: the README's main job runs end to end and writes its outputs."""
import json
import os

from qpolicy.studies import reproduce
from qpolicy.cli import main


def test_reproduce_smoke_prints_one_claims_table_and_saves_figures(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["reproduce", "--smoke", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| claim" in text and "CHSH classical value" in text and "claims agree" in text
    assert "error:" not in text
    rows = json.loads((out / "claims.json").read_text())["rows"]
    by_claim = {r["claim"]: r for r in rows}
    # the bound rows are exact comparisons and must agree even at smoke scale
    assert by_claim["CHSH classical value"]["agree"] is True
    assert by_claim["CHSH quantum value (upper bound)"]["agree"] is True
    assert by_claim["GHZ quantum value (upper bound)"]["agree"] is True
    assert os.path.getsize(out / "figure3_chsh_training.png") > 10_000
    assert (out / "table2.md").read_text().startswith("| class")


def test_a_failing_claim_is_reported_and_the_others_still_run(tmp_path, capsys, monkeypatch):
    def broken(ctx):
        raise RuntimeError("boom")

    def fine(ctx):
        return [reproduce.Row("fine claim", "1", "", "1", True)]

    monkeypatch.setattr(reproduce, "CLAIMS", [broken, fine])
    assert main(["reproduce", "--smoke", "--quiet", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "error: RuntimeError: boom" in text and "fine claim" in text
    assert "1 of 2 claims agree" in text

"""``qpolicy bounds GAME --visibility V [--efficiency E]``: the value with a realistic resource.

Oracles: the Horodecki closed form for CHSH with a white-noised Bell state (1/2 + v√2/4 above
1/√2, else the classical 3/4), and the documented upper bound classical + P(2 clicks)·v·(NPA −
classical) recomputed from the NPA row of the same table.
"""
import json

import numpy as np
import pytest

from qpolicy.cli import main


def _run_json(argv, capsys):
    code = main(argv + ["--json"])
    return code, json.loads(capsys.readouterr().out)


def _row(out, proves):
    return next(row for row in out["rows"] if row["proves"] == proves)


@pytest.mark.parametrize("v", [0.9, 0.5])
def test_visibility_rows_match_horodecki_and_the_noise_weighted_npa_bound(v, capsys):
    code, out = _run_json(["bounds", "chsh", "--visibility", str(v), "--restarts", "2"], capsys)
    assert code == 0
    lower, upper = _row(out, "resource lower")["value"], _row(out, "resource upper")["value"]
    assert abs(lower - max(0.75, 0.5 + v * np.sqrt(2) / 4)) < 1e-9
    npa = _row(out, "upper")["value"]                       # the NPA level-1 row (dual bound)
    assert abs(upper - (0.75 + v * (npa - 0.75))) < 1e-9
    assert lower <= upper <= npa
    summary = out["summary"]
    assert summary["resource_lower"] == lower and summary["resource_upper"] == upper
    assert summary["upper_from"] == "NPA level 1"          # resource rows stay out of it


def test_efficiency_only_and_the_text_table(capsys):
    assert main(["bounds", "chsh", "--efficiency", "0.8", "--restarts", "2"]) == 0
    text = capsys.readouterr().out
    assert "resource v=1 eta=0.8 see-saw" in text and "resource: " in text
    code, out = _run_json(["bounds", "chsh", "--efficiency", "0.8", "--restarts", "2"], capsys)
    lower, upper = _row(out, "resource lower")["value"], _row(out, "resource upper")["value"]
    assert abs(lower - 0.75) < 1e-12                       # 0.8 < 2(√2 − 1): no violation
    npa = _row(out, "upper")["value"]
    assert abs(upper - (0.75 + 0.8 ** 2 * (npa - 0.75))) < 1e-9


@pytest.mark.parametrize("flag, value", [("--visibility", "1.5"), ("--visibility", "-0.1"),
                                         ("--visibility", "nan"), ("--efficiency", "0"),
                                         ("--efficiency", "1.2")])
def test_out_of_range_resource_is_refused_with_the_flag_named(flag, value, capsys):
    assert main(["bounds", "chsh", flag, value]) == 2
    assert f"{flag} must lie in" in capsys.readouterr().out
    code, out = _run_json(["bounds", "chsh", flag, value], capsys)
    assert code == 2 and flag in out["error"]

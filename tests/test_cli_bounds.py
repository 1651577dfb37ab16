"""Tests of the ``qpolicy bounds`` command."""
import importlib.util
import json
import os
import re
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest

from qpolicy import games
from qpolicy.bounds import command
from qpolicy.bounds.command import JSON_SCHEMA, parse_edges
from qpolicy.cli import main

HAS_NPA = importlib.util.find_spec("qpolicy.bounds.npa") is not None
HAS_SEESAW = importlib.util.find_spec("qpolicy.bounds.seesaw") is not None


def rows(output):
    """{label: value string} of the printed table."""
    table = {}
    for line in output.splitlines():
        match = re.match(r"^(.+?)\s{2,}(\S+)\s", line)
        if match and not line.startswith(("bound", "-", "summary")):
            table[match.group(1).strip()] = match.group(2)
    return table


def test_chsh_table(capsys):
    assert main(["bounds", "chsh", "--lp-check"]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert float(table["classical (enumeration)"]) == 0.75
    assert float(table["classical (LP)"]) == pytest.approx(0.75, abs=1e-6)
    assert float(table["non-signaling"]) == pytest.approx(1.0, abs=1e-6)
    if HAS_NPA:
        assert float(table["NPA level 1"]) == pytest.approx(0.8535533906, abs=1e-6)
        assert "<= quantum value <=" in out
    else:
        assert table["NPA level 1"] == "n/a"


def test_rendezvous_with_edges(capsys):
    # 4-cycle: players can meet only when their start vertices have the same parity (prob 1/2),
    # and they always can then: classical = non-signaling = 1/2
    assert main(["bounds", "rendezvous", "--edges", "0-1, 1-2,2-3,3-0"]) == 0
    table = rows(capsys.readouterr().out)
    assert float(table["classical (enumeration)"]) == 0.5
    assert float(table["non-signaling"]) == pytest.approx(0.5, abs=1e-6)


def test_saved_game_file(tmp_path, capsys):
    path = tmp_path / "k3.npz"
    games.rendezvous([(0, 1), (1, 2), (0, 2)], name="triangle").save(path)
    assert main(["bounds", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("triangle: 2 players")
    assert "classical (enumeration)" in rows(out)
    assert "classical (LP)" not in rows(out)          # only with --lp-check


@pytest.mark.parametrize("argv, message", [
    (["bounds", "chess"], "unknown game"),
    (["bounds", "rendezvous"], "needs --edges"),
    (["bounds", "rendezvous", "--edges", "0-1;1-2"], "must look like"),
    (["bounds", "rendezvous", "--edges", "0-1,1-1"], "loops"),
    (["bounds", "chsh", "--edges", "0-1"], "only for the rendezvous"),
])
def test_bad_games_exit_2_with_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().out


def test_parse_edges():
    assert parse_edges("0-1,2-3") == [(0, 1), (2, 3)]
    with pytest.raises(ValueError, match="--edges"):
        parse_edges("0-a")


@pytest.mark.skipif(not HAS_NPA, reason="qpolicy.bounds.npa not present")
def test_unknown_level_fails_its_row(capsys):
    assert main(["bounds", "chsh", "--level", "1+XY"]) == 1
    assert rows(capsys.readouterr().out)["NPA level 1+XY"] == "failed"


@pytest.mark.skipif(HAS_SEESAW, reason="checks the message shown without the see-saw module")
def test_missing_module_is_reported(capsys):
    assert main(["bounds", "chsh", "--seesaw-dim", "2"]) == 0
    assert "module not available" in capsys.readouterr().out


def test_console_entry_point():
    result = subprocess.run([sys.executable, "-m", "qpolicy", "bounds", "ghz"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(rows(result.stdout)["classical (enumeration)"]) == 0.75


@pytest.mark.skipif(not (HAS_SEESAW and HAS_NPA), reason="see-saw / NPA modules not present")
def test_seesaw_row_and_bracketing_summary(capsys):
    assert main(["bounds", "chsh", "--seesaw-dim", "2", "--restarts", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert float(rows(out)["see-saw (d=2, 3 restarts)"]) == pytest.approx(0.8535533906, abs=1e-4)
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("summary:") and "quantum advantage over classical" in summary


def solver_column(output):
    """{label: solver string} of the printed table (the column after the value)."""
    table = {}
    for line in output.splitlines():
        match = re.match(r"^(.+?)\s{2,}(\S+)\s+(\S+)", line)
        if match and not line.startswith(("bound", "-", "summary")):
            table[match.group(1).strip()] = match.group(3)
    return table


@pytest.mark.skipif(not (HAS_SEESAW and HAS_NPA), reason="see-saw / NPA modules not present")
def test_solver_column_names_how_each_row_was_computed(capsys):
    assert main(["bounds", "chsh", "--lp-check", "--seesaw-dim", "2", "--restarts", "1"]) == 0
    solvers = solver_column(capsys.readouterr().out)
    assert solvers["see-saw (d=2, 1 restarts)"] == "see-saw"
    assert solvers["classical (enumeration)"] == "enumeration"
    assert solvers["classical (LP)"] == "HIGHS"
    assert solvers["NPA level 1"] == "CLARABEL"
    assert solvers["non-signaling"] == "HIGHS"


# -- what is printed is what is proved (issue 11) ------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def json_output(argv, capsys):
    code = main(argv + ["--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["exit_code"] == code
    return data


def check_schema(value, schema, where="$"):
    """``value`` has exactly the keys of ``schema`` with the documented types."""
    if isinstance(schema, dict):
        assert isinstance(value, dict) and set(value) == set(schema), where
        for key, sub in schema.items():
            check_schema(value[key], sub, f"{where}.{key}")
    elif isinstance(schema, list):
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            check_schema(item, schema[0], f"{where}[{i}]")
    else:
        assert isinstance(value, schema) and not (schema is int and isinstance(value, bool)), \
            f"{where}: {value!r}"


def test_json_follows_the_documented_schema(capsys):
    data = json_output(["bounds", "chsh", "--lp-check", "--seesaw-dim", "2", "--restarts", "2"],
                       capsys)
    check_schema(data, JSON_SCHEMA)
    for key in ("game", "rows", "summary", "exit_code", "label", "kind", "proves", "value",
                "raw_value", "solver", "status", "seconds", "error", "lower", "lower_from",
                "upper", "upper_from", "gap", "classical", "consistent"):
        assert f"``{key}``" in command.__doc__                      # documented
    rows = {row["label"]: row for row in data["rows"]}
    assert rows["classical (enumeration)"]["value"] == 0.75          # exact sum, proved
    assert rows["non-signaling"]["value"] >= 1.0 and rows["non-signaling"]["proves"] == "upper"
    assert data["summary"]["consistent"] is True
    assert data["summary"]["lower"] <= np.cos(np.pi / 8) ** 2 <= data["summary"]["upper"]


@pytest.mark.parametrize("argv", [["rendezvous", "--edges", "0-1,1-2,2-3,3-0"], ["ghz"],
                                  ["tetra"]])
def test_summary_never_shows_lower_above_upper(argv, capsys):
    # was: "0.5000 <= quantum value <= 0.49999999, gap -5.5e-09" (the solvers' primal values)
    data = json_output(["bounds"] + argv, capsys)
    summary = data["summary"]
    assert summary["consistent"] is True and summary["gap"] >= 0
    rows = {row["label"]: row for row in data["rows"]}
    if HAS_NPA:                       # the printed NPA number is the dual bound, not the primal
        npa = rows["NPA level 1"]
        assert npa["value"] >= npa["raw_value"] - 1e-9
    assert main(["bounds"] + argv) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    low, high = re.match(r"summary: (\S+) .*<= quantum value <= (\S+) ", line).groups()
    assert float(low) <= summary["lower"] <= summary["upper"] <= float(high)   # outward


def write_bytes(path, data):
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("make, message", [
    (lambda d: write_bytes(d / "empty.npz", b""), "is empty"),
    (lambda d: write_bytes(d / "junk.npz", b"PK\x03\x04 not really a zip"), "not a game"),
    (lambda d: write_bytes(d / "text.npz", b"hello"), "not a game"),
    (lambda d: (np.save(d / "array.npy", np.ones(3)), str(d / "array.npy"))[1], "not a game"),
    (lambda d: (np.savez(d / "other.npz", x=np.ones(3)), str(d / "other.npz"))[1],
     "missing"),
    (lambda d: str(d / "missing.npz"), "does not exist"),
])
def test_bad_game_files_give_one_clear_error(make, message, tmp_path, capsys):
    path = make(tmp_path)
    assert main(["bounds", path]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: game file") and message in out and "Traceback" not in out


def test_no_solver_banners_or_warnings_are_printed():
    result = subprocess.run([sys.executable, "-m", "qpolicy", "bounds", "chsh", "--lp-check"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and result.stderr == ""
    assert "HiGHS" not in result.stdout and "inaccurate" not in result.stdout
    assert result.stdout.startswith("chsh: 2 players")

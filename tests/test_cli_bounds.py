"""Tests of the ``qpolicy bounds`` command."""
import importlib.util
import re
import subprocess
import sys

import pytest

from qpolicy import games
from qpolicy.bounds.command import parse_edges
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
    assert solvers["classical (LP)"] == "CLARABEL"
    assert solvers["NPA level 1"] == "CLARABEL"
    assert solvers["non-signaling"] == "CLARABEL"

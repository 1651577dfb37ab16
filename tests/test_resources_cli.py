"""``qpolicy resources GAME``: the thresholds table (text and JSON) and its errors."""
import json

import numpy as np

from qpolicy.cli import main


def test_resources_json_reports_the_chsh_thresholds(capsys):
    assert main(["resources", "chsh", "--json", "--tol", "1e-5", "--restarts", "1"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows["classical"] == 0.75
    assert abs(rows["quantum_lower"] - (2 + np.sqrt(2)) / 4) < 1e-9
    assert rows["quantum_lower"] <= rows["quantum_upper"]
    assert abs(rows["critical_visibility"]["value"] - 1 / np.sqrt(2)) < 1e-4
    assert abs(rows["critical_efficiency"]["value"] - 2 * (np.sqrt(2) - 1)) < 1e-4
    assert abs(rows["table_threshold"]["value"] - 1 / np.sqrt(2)) < 1e-6
    proved = rows["efficiency_proved_lower"]                         # Massar–Pironio 2/3
    assert proved["value"] <= 2 / 3 <= proved["upper"] and proved["upper"] - proved["value"] < 1e-5


def test_resources_text_table_and_mermin_names(capsys):
    assert main(["resources", "mermin3", "--dim", "2", "--tol", "1e-4", "--restarts", "1"]) == 0
    out = capsys.readouterr().out
    assert "critical visibility             0.50000" in out
    assert "classical value                 0.750000" in out


def test_resources_reports_bad_input_and_exits_2(capsys):
    assert main(["resources", "nosuchgame"]) == 2
    assert "unknown game" in capsys.readouterr().err
    assert main(["resources", "chsh", "--no-click", "5"]) == 2
    assert "no_click" in capsys.readouterr().err


def test_resources_json_stays_parseable_when_a_solver_prints(tmp_path):
    # HiGHS (used by the column-generation LP) prints a banner from C++ on first use: the
    # subcommand must keep stdout pure JSON.  A fresh process, importing this worktree's code.
    import os
    import subprocess
    import sys
    import qpolicy
    root = os.path.dirname(os.path.dirname(qpolicy.__file__))
    env = {**os.environ, "PYTHONPATH": root, "OPENBLAS_NUM_THREADS": "1"}
    code = ("import sys; from qpolicy._io import solver_output_to_stderr\n"
            "import cvxpy as cp\n"
            "with solver_output_to_stderr():\n"
            "    x = cp.Variable(); cp.Problem(cp.Maximize(x), [x <= 1]).solve(solver='HIGHS')\n"
            "print('{\"ok\": 1}')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"ok": 1}

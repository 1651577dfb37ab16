"""The teaching example runs in seconds and prints what it promises."""
import importlib.util
import pathlib
import re

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "quantum_softmax_tour.py"


def test_tour_runs_and_reports(capsys):
    spec = importlib.util.spec_from_file_location("quantum_softmax_tour", EXAMPLE)
    tour = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tour)
    tour.main(["--seed", "3"])
    out = capsys.readouterr().out
    assert re.search(r"is_povm\s+True", out)
    violation = float(re.search(r"violation of eq\. \(5\).*?\s(\S+)$", out, re.M).group(1))
    assert violation < 1e-12
    wins = [float(w) for w in re.findall(r"win probability (\S+)", out)]
    assert wins[0] < 0.75 < wins[-1] and abs(wins[-1] - 0.853553) < 1e-4

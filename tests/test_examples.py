"""Every teaching example runs as a script and prints the numbers it promises.

The examples are started together as subprocesses (most of their time is importing cvxpy), then
each test reads one example's output.  ``quantum_softmax_tour.py`` has its own test.
"""
import math
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
OWN_TEST = {"quantum_softmax_tour.py"}
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in OWN_TEST)
TIMEOUT = 300
TSIRELSON = math.cos(math.pi / 8) ** 2


@pytest.fixture(scope="module")
def outputs():
    """Run every example once, concurrently: name -> (returncode, stdout, stderr)."""
    running = {name: subprocess.Popen([sys.executable, str(EXAMPLES / name)], cwd=EXAMPLES,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name in SCRIPTS}
    results = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=TIMEOUT)
        results[name] = (process.returncode, out, err)
    return results


def number(pattern, text):
    match = re.search(pattern, text, re.M)
    assert match, f"no line matching {pattern!r} in:\n{text}"
    return float(match.group(1))


def check_chsh(out):
    assert number(r"classical value \(shared randomness\)\s+(\S+)", out) == pytest.approx(0.75)
    assert number(r"NPA level 1 \(quantum upper bound\)\s+(\S+)", out) == pytest.approx(
        TSIRELSON, abs=1e-6)
    assert number(r"non-signaling value\s+(\S+)\s+\(the PR box\)", out) == pytest.approx(1.0)
    learned = number(r"learned win probability \(exact, best iterate\)\s+(\S+)", out)
    assert 0.75 < learned <= TSIRELSON + 1e-9
    # verify prints the value rounded *down* to 6 decimals (a lower bound), the example prints
    # the learned value rounded to nearest: value − 1e-6 < printed ≤ value, |learned − value| ≤ 5e-7
    printed = number(r"value of p\s+(\S+)", out)
    assert learned - 1.5e-6 - 1e-12 <= printed <= learned + 5e-7 + 1e-12
    violation = number(r"violation (\S+)$", out)
    assert violation > 0 and "p is beyond shared randomness (certified" in out
    assert "class                            quantum (Q:" in out
    assert number(r"local bound (\S+),", out) == pytest.approx(2.0, abs=1e-6)


def check_ghz(out):
    wins = [float(w) for w in re.findall(r"questions \(.*\): win probability (\S+)", out)]
    assert len(wins) == 4 and all(w == pytest.approx(1.0, abs=1e-12) for w in wins)
    assert number(r"best of 64 deterministic strategies\s+(\S+)", out) == 0.75
    assert number(r"qpolicy.bounds.classical_value\s+(\S+)", out) == 0.75
    changes = [float(c) for c in re.findall(r"largest marginal change (\S+)", out)]
    assert len(changes) == 6 and max(changes) < 1e-12
    assert number(r"nonsignaling_violation\(p\) = (\S+)", out) < 1e-12


def check_rendezvous(out):
    enumerated = number(r"by enumeration\s+(\S+)", out)
    assert enumerated == 0.625                                   # 5/8 on K4
    assert number(r"by LP\s+(\S+)", out) == pytest.approx(enumerated, abs=1e-7)
    npa = number(r"NPA upper bound, level 1\+AB\s+(\S+)", out)
    assert npa == pytest.approx(0.64506, abs=1e-5)               # the published value
    assert number(r"NPA upper bound, level 1 \s+(\S+)", out) >= npa - 1e-7
    seesaw = number(r"see-saw lower bound, qutrit pair\s+(\S+)", out)
    assert enumerated < seesaw <= npa + 1e-6 and npa - seesaw < 1e-5
    assert "(maximally entangled)" in out
    assert number(r"non-signaling value (\S+)", out) == pytest.approx(0.75, abs=1e-6)


def check_coordinator(out):
    diffs = [float(d) for d in re.findall(r"max \|π_coordinator - π_entangled\| = (\S+)", out)]
    assert len(diffs) == 2 and max(diffs) < 1e-12
    assert "effective POVMs are POVMs: True" in out
    match = re.search(r"max \|frequency - π\| = (\S+)\s+\(4 standard errors: (\S+)\)", out)
    assert match and float(match.group(1)) < float(match.group(2))
    assert number(r"largest commutator \|\|\[M\(a\), M\(b\)\]\|\| = (\S+)", out) > 0.1
    assert number(r"random 2-outcome advice POVMs \+ actors: largest commutator (\S+)", out) < 1e-12


def check_routing(out):
    rows = re.findall(r"^(always split|always together|shared threshold|entangled angles)\s+"
                      r"(\S+)\s+(\S+)\s+(\S+)\s+(\S+) \[.*?\]\s+(\S+)\s+(\S+) \[.*?\]\s+(\S+)%$",
                      out, re.M)
    assert len(rows) == 4, out
    theory_waits = {}
    for name, p_theory, p_sim, w_theory, w_sim, th_theory, th_sim, rel in rows:
        assert abs(float(p_sim) - float(p_theory)) < 0.01, name
        assert abs(float(w_sim) - float(w_theory)) / float(w_theory) < 0.04, name
        assert abs(float(th_sim) - float(th_theory)) / float(th_theory) < 0.04, name
        theory_waits[name] = float(w_theory)
    # closed forms at λ = 0.5, μ = 1: two M/M/1 queues wait ρ/(μ-λ) = 1; together 1.5ρ/(μ-λ) + 1/2
    assert theory_waits["always split"] == pytest.approx(1.0)
    assert theory_waits["always together"] == pytest.approx(2.0)
    match = re.search(r"p\(same server\) = (\S+), cos²\(θ_1 - θ_2\) = (\S+)", out)
    assert float(match.group(1)) == pytest.approx(float(match.group(2)), abs=1e-6)
    shared = number(r"shared\s+frontier\s+W = (\S+)", out)
    assert number(r"entangled\s+frontier\s+W = (\S+)", out) < shared


CHECKS = {"chsh_end_to_end.py": check_chsh, "ghz_pseudotelepathy.py": check_ghz,
          "rendezvous_on_a_graph.py": check_rendezvous, "coordinator_advice.py": check_coordinator,
          "routing_with_entanglement.py": check_routing}


def test_every_example_has_checks():
    assert set(SCRIPTS) == set(CHECKS), "add checks for new examples to tests/test_examples.py"


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs_and_prints_its_results(name, outputs):
    returncode, out, err = outputs[name]
    assert returncode == 0, f"{name} failed:\n{err}"
    CHECKS[name](out)

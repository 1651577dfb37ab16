"""Every code block of README.md and the docs' tutorials runs as written.

Python blocks run one after another in a fresh namespace each, in a temporary folder; bash blocks
run line by line in the same folder (so ``qpolicy train ... --out chsh.npz`` followed by
``qpolicy verify chsh.npz`` works as a reader would type it).  Commands that the text itself calls
long run here at a small size: :data:`SMALL` lists each substitution, and a substitution that no
longer matches its block fails the test, so the list cannot drift from the text.
"""
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "index.md",
             *sorted((ROOT / "docs" / "tutorials").glob("*.md"))]

#: (document, text in a block, what runs instead) — the long runs the text labels as long.
SMALL = [
    ("README.md", "qpolicy reproduce\n", "qpolicy reproduce --smoke --out reproduce-smoke\n"),
    ("README.md", "python -m pytest\n", "python -m pytest --version\n"),
    ("README.md", "seeds=30, steps=5000, entropy=0.2,\n                      anneal_steps=5000)",
     "seeds=2, steps=30, entropy=0.2,\n                      anneal_steps=30)"),
    ("README.md", "updates=16,", "updates=2,"),
    ("README.md", "--seeds 10 --steps 1000 --out chsh10.npz", "--seeds 2 --steps 100 --out chsh10.npz"),
    ("README.md", "--steps 2000 --out chsh10.npz --resume", "--steps 200 --out chsh10.npz --resume"),
    ("README.md", "python analysis/table2.py --jobs 2",
     "python analysis/table2.py --games chsh --classes entangled --seeds 2 --steps 10 --jobs 1"),
    ("README.md", "python analysis/figure3.py --jobs 2",
     "python analysis/figure3.py --seeds 2 --steps 10 --jobs 1"),
    ("README.md", "python analysis/queueing_frontier.py --out results/queueing",
     "python analysis/queueing_frontier.py --quick --rates 0.8 --out results/queueing"),
]

#: Commands that are not run here: installing is what CI's first step does with the same
#: command, and CI's .ci/run builds the docs with the README's command after the tests.
NOT_RUN = ("python -m pip install", "python -m sphinx")

_BLOCK = re.compile(r"^```(python|bash)\n(.*?)^```", re.S | re.M)


def blocks(path):
    text = path.read_text()
    found = [(m.group(1), m.group(2), text[:m.start()].count("\n") + 1)
             for m in _BLOCK.finditer(text)]
    small = [(old, new) for name, old, new in SMALL if name == path.relative_to(ROOT).as_posix()]
    used = set()
    for i, (language, code, line) in enumerate(found):
        for old, new in small:
            if old in code:
                code = code.replace(old, new)
                used.add(old)
        found[i] = (language, code, line)
    missing = [old for old, _ in small if old not in used]
    assert not missing, f"{path.name}: SMALL substitutions match no block: {missing}"
    return found


def _command(line):
    words = shlex.split(line)
    if words[0] == "qpolicy":
        words = [sys.executable, "-m", "qpolicy", *words[1:]]
    elif words[0] == "python":
        words = [sys.executable, *words[1:]]
    # Scripts of the repository are named relative to its root in the text.
    return [str(ROOT / w) if (ROOT / w).is_file() and w.split("/")[0] in
            ("analysis", "examples", "benchmarks") else w for w in words]


def run_bash(code, cwd, env):
    for raw in code.splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        assignments = {}
        while re.match(r"^[A-Z_]+=\S+ ", line):
            name, line = line.split(" ", 1)
            key, value = name.split("=", 1)
            assignments[key] = value
        for part in line.split(" && "):
            if part.startswith(NOT_RUN):
                continue
            result = subprocess.run(_command(part), cwd=cwd, env={**env, **assignments},
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, (f"`{part}` exited {result.returncode}:\n"
                                            f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}")


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_code_block_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    for language, code, line in blocks(path):
        where = f"{path.name}, block at line {line}"
        if language == "python":
            try:
                exec(compile(code, where, "exec"), {"__name__": "__main__"})
            except Exception as exc:  # re-raised with the block's place, so a failure is found
                raise AssertionError(f"{where} failed: {exc!r}") from exc
        else:
            run_bash(code, tmp_path, env)

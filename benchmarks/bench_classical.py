"""Classical (shared-randomness) and non-signaling values: qpolicy vs toqito, in one run.

    python benchmarks/bench_classical.py [--peer-python PYTHON] [--peer-timeout 300] [--repeats 3]

For each game it times qpolicy's exact enumeration with best response, its compact
local-polytope LP and its non-signaling LP (best of ``--repeats``, peak Python memory by
tracemalloc), and — when toqito is installed — toqito's ``classical_value`` and
``nonsignaling_value`` on the same arrays (via ``NonlocalGame.to_toqito``), each in a fresh
subprocess with a time limit (``--peer-python``: the interpreter that has toqito, e.g. a
separate benchmark venv; default this one).  Prints values, times and the ratio peer time / our time.
toqito handles two players only, so GHZ is timed for qpolicy alone.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

from qpolicy import games
from qpolicy.bounds import classical_value, nonsignaling_value

GAMES = {"chsh": games.chsh, "ghz": games.ghz, "tetra": games.tetra, "cube": games.cube}

OURS = {
    "classical": ("enumeration", lambda g: classical_value(g)),
    "classical LP": ("local-polytope LP", lambda g: classical_value(g, method="lp")),
    "non-signaling": ("LP", lambda g: nonsignaling_value(g)),
}

# run in a subprocess: argv = npz path, method; prints {"value": v, "seconds": s}
PEER_SCRIPT = """
import json, sys, time
import numpy as np
from toqito.nonlocal_games.nonlocal_game import NonlocalGame
data = np.load(sys.argv[1])
game = NonlocalGame(data["prob_mat"], data["pred_mat"])
start = time.perf_counter()
value = getattr(game, sys.argv[2])()
seconds = time.perf_counter() - start
if isinstance(value, dict):
    value = value["classical_value"]
print(json.dumps({"value": float(value), "seconds": seconds}))
"""
PEER_METHOD = {"classical": "classical_value", "non-signaling": "nonsignaling_value"}


def time_ours(function, game, repeats):
    best, value = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function(game).value
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    function(game)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return value, best, peak


def toqito_version(python):
    out = subprocess.run([python, "-c", "import importlib.metadata as m, toqito; "
                                        "print(m.version('toqito'))"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def time_peer(python, game, method, timeout):
    prob_mat, pred_mat = game.to_toqito()
    with tempfile.NamedTemporaryFile(suffix=".npz") as fh:
        np.savez(fh.name, prob_mat=prob_mat, pred_mat=pred_mat)
        try:
            out = subprocess.run([python, "-c", PEER_SCRIPT, fh.name, method],
                                 capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"> {timeout:.0f} s (stopped)"
    if out.returncode != 0:
        return None, "error: " + out.stderr.strip().splitlines()[-1][:60]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["value"], result["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", default=sys.executable,
                        help="Python interpreter with toqito installed (default: this one)")
    parser.add_argument("--peer-timeout", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    peer = toqito_version(args.peer_python)
    print(f"toqito: {peer or 'not installed (peer columns skipped)'}")
    header = (f"{'game':<6} {'bound':<14} {'qpolicy':>12} {'time s':>8} {'peak MB':>8} "
              f"{'toqito':>12} {'time s':>12} {'ratio':>8} {'|diff|':>9}")
    print(header)
    print("-" * len(header))
    for name, make in GAMES.items():
        game = make()
        for bound, (_, function) in OURS.items():
            value, seconds, peak = time_ours(function, game, args.repeats)
            row = f"{name:<6} {bound:<14} {value:>12.8f} {seconds:>8.3f} {peak / 2**20:>8.1f}"
            if peer and bound in PEER_METHOD and game.n_players == 2:
                peer_value, peer_seconds = time_peer(args.peer_python, game, PEER_METHOD[bound],
                                                     args.peer_timeout)
                if peer_value is None:
                    row += f" {'-':>12} {peer_seconds:>12}"
                else:
                    row += (f" {peer_value:>12.8f} {peer_seconds:>12.3f} "
                            f"{peer_seconds / seconds:>8.1f} {abs(peer_value - value):>9.1e}")
            print(row, flush=True)


if __name__ == "__main__":
    main()

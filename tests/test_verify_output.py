"""``qpolicy verify``: three-valued NPA membership, certified numbers, level "auto", --json
against its documented schema, --expect exit codes, short reprs, checks before the work."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import qpolicy
import qpolicy as qp
from qpolicy import games
from qpolicy.bounds import Membership, npa_upper_bound
from qpolicy.bounds.results import Bound
from qpolicy.cli import main
from qpolicy.policies import pr_box
import qpolicy.verify as verify_module
from qpolicy.verify import CLAIMS, EXIT_CODES, check_claim, verify

ROOT = os.path.dirname(os.path.dirname(qpolicy.__file__))


def tsirelson_table():
    return qp.born(*games.chsh_quantum_strategy())


def undecided(p, level=1, solver=None, atol=1e-6, **kwargs):
    """A membership answer whose rigorous bounds straddle the tolerance (as issue 11 saw on the
    Cube see-saw table at "1+AB")."""
    return Membership(status="undecided", lower=-7.3e-5, upper=4.8e-6, atol=atol,
                      reason="the rigorous bounds on t* straddle atol", level=str(level),
                      solver="SCS", solver_status="optimal_inaccurate")


# ---- 1. three-valued membership -------------------------------------------------------------

def test_undecided_membership_is_reported_as_undecided_not_as_passing(monkeypatch, capsys):
    monkeypatch.setattr(verify_module, "npa_membership", undecided)
    report = verify(tsirelson_table())
    assert report.npa_status == "undecided" and report.in_npa is None
    assert report.classification == "undecided"
    assert report.npa_interval == (-7.3e-5, 4.8e-6) and report.npa_atol == 1e-6
    text = str(report)
    assert "undecided (rigorous interval [-7.3e-05, 4.8e-06] around tolerance 1e-06)" in text
    assert "passes" not in text and "fails (" not in text
    assert check_claim(report, "npa") is None and check_claim(report, "quantum") is None
    assert check_claim(report, "post-quantum") is None
    # the certificate still proves non-locality
    assert check_claim(report, "beyond-shared-randomness") is True


def test_cli_undecided_exits_3(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(verify_module, "npa_membership", undecided)
    path = tmp_path / "p.npy"
    np.save(path, tsirelson_table())
    assert main(["verify", str(path), "--expect", "npa"]) == 3
    assert "claim 'npa'" in capsys.readouterr().out
    assert main(["verify", str(path), "--expect", "nonsignaling"]) == 0


def test_membership_interval_is_reported_for_a_decided_sdp():
    report = verify(pr_box(), level=1)
    lower, upper = report.npa_interval
    assert report.npa_status == "non_member" and report.in_npa is False
    assert lower > report.npa_atol and lower <= upper
    # PR box at NPA level 1: the smallest PSD shift is positive (it is not quantum)
    assert report.classification == "nonsignaling"


# ---- 2. what is printed is what is proved --------------------------------------------------

def test_printed_npa_bound_is_the_certified_upper_bound_rounded_up():
    game = games.chsh()
    report = verify(tsirelson_table(), game=game, level=1)
    certified = npa_upper_bound(game, level=1)
    assert report.npa_bound == certified.upper >= np.cos(np.pi / 8) ** 2
    printed = float(str(report).split("NPA bound, level 1")[1].split()[0])
    assert printed >= np.cos(np.pi / 8) ** 2          # never rounded below the quantum value
    value = float(str(report).split("value of p")[1].split()[0])
    assert value <= printed                            # never lower > upper on the page
    assert "certified upper bound on the quantum value" in str(report)


def test_lp_bound_without_upper_is_labelled_not_certified(monkeypatch):
    def uncertified(game, solver=None):
        return Bound(value=1.0, kind="nonsignaling", solver="CLARABEL", status="optimal")

    def certified(game, solver=None):
        return Bound(value=0.9999999, kind="nonsignaling", solver="CLARABEL", status="optimal",
                     upper=1.0000001)
    monkeypatch.setattr(verify_module, "nonsignaling_value", uncertified)
    report = verify(pr_box(), game=games.chsh(), level=1)
    assert report.nonsignaling_certified is False and "LP solver value, not certified" in str(
        report)
    monkeypatch.setattr(verify_module, "nonsignaling_value", certified)
    report = verify(pr_box(), game=games.chsh(), level=1)
    assert report.nonsignaling_value == 1.0000001 and report.nonsignaling_certified
    assert "1.000001  (certified upper bound)" in str(report)


@pytest.mark.parametrize("x", [0.75, 0.8535533905932737, -0.1234567, 1.0, 2 / 3, 1e-9])
def test_rounded_display_is_on_the_safe_side(x):
    up, down = float(verify_module._up(x)), float(verify_module._down(x))
    assert down <= x <= up and up - down <= 1e-6 + 1e-15
    if x == round(x, 6):
        assert up == down == x


# ---- 3. level "auto" -----------------------------------------------------------------------

def test_auto_level_choice_from_predicted_sizes():
    chsh, tetra, cube, ghz = games.chsh(), games.tetra(), games.cube(), games.ghz()
    resolve, blocks = verify_module._resolve_level, verify_module._game_blocks
    assert resolve("auto", blocks(chsh), (2, 2)) == "2"
    assert resolve("auto", blocks(tetra), (3, 3)) == "1+AB"          # level 2 has 177 > 100
    assert blocks(cube) == [(4, 4), (4, 4)]                          # even / odd start vertices
    assert resolve("auto", blocks(cube), (3, 3)) == "1+AB"           # 2 blocks of 81
    assert resolve("auto", [(8, 8)], (3, 3)) == "1"                  # joint membership: 289
    assert resolve("auto", blocks(ghz), (2, 2, 2)) == "1+AB"
    assert resolve("1+ab", blocks(chsh), (2, 2)) == "1+AB"
    with pytest.raises(ValueError, match="level"):
        resolve("1+AC", blocks(chsh), (2, 2))                        # no player C


def test_optimal_tetra_strategy_scores_100_percent_by_default():
    from qpolicy.bounds import seesaw_lower_bound
    game = games.tetra()
    found = seesaw_lower_bound(game, dim=3, restarts=1, seed=0)
    strategy = (found.strategy["state"], found.strategy["povms"])
    report = verify(qp.born(*strategy), game=game, strategy=strategy)
    assert report.bound_level == "1+AB" and report.npa_level == "1+AB"
    # literature: Tetra's quantum value 209/324 (see-saw and NPA "1+AB" meet)
    assert report.npa_bound == pytest.approx(209 / 324, abs=1e-7)
    assert report.normalized_advantage == pytest.approx(1.0, abs=1e-4)
    assert "NPA bound, level 1+AB" in str(report)
    low = verify(qp.born(*strategy), game=game, strategy=strategy, level=1)
    assert low.normalized_advantage < 0.9                # the level-1 bound is looser


# ---- 4. --json and --expect ------------------------------------------------------------------

SCHEMA = {
    "schema": str, "source": str, "shape": list, "n_players": int, "min_entry": float,
    "max_normalization_error": float, "nonsignaling_violation": float, "local_distance": float,
    "seconds": float, "nonsignaling": bool, "local": bool, "beyond_shared_randomness": bool,
    "certificate": (type(None), dict), "certificate_file": (type(None), str),
    "npa": dict, "classification": str, "strategy_gap": (type(None), float),
    "game": (type(None), dict), "expect": (type(None), dict), "exit_code": int,
}
CERTIFICATE = {"local_bound": float, "value": float, "violation": float}
NPA = {"level": str, "status": str, "in_npa": (bool, type(None)), "reason": str,
       "interval": (type(None), list), "atol": (type(None), float)}
GAME = {"name": str, "value": float, "classical_value": float, "npa_bound": float,
        "nonsignaling_value": float, "npa_level": str, "nonsignaling_certified": bool,
        "normalized_advantage": (float, type(None))}
EXPECT = {"claim": str, "holds": (bool, type(None))}


def check_keys(obj, schema):
    assert set(obj) == set(schema), set(obj) ^ set(schema)
    for key, kind in schema.items():
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds:
            kinds = kinds + (int,)                        # JSON writes 2.0 as 2.0, 0 as 0.0 ...
        assert isinstance(obj[key], kinds) and not (bool not in kinds
                                                     and isinstance(obj[key], bool)), key


def test_docstring_documents_every_json_key():
    doc = verify_module.__doc__
    for key in [*SCHEMA, *CERTIFICATE, *NPA, *GAME, *EXPECT]:
        assert f"``{key}``" in doc, key
    for code in EXIT_CODES:
        assert f"{code} —" in doc
    for claim in CLAIMS:
        assert f"``{claim}``" in doc


def run_cli(*argv):
    env = {**os.environ, "PYTHONPATH": ROOT, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "qpolicy", "verify", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_json_in_a_fresh_process_is_pure_and_matches_the_schema(tmp_path):
    path, cert = tmp_path / "tsirelson.npy", tmp_path / "bell.npz"
    np.save(path, tsirelson_table())
    out = run_cli(str(path), "--game", "chsh", "--json", "--expect", "beyond-shared-randomness",
                  "--certificate-out", str(cert))
    assert out.returncode == 0, out.stderr
    assert "HiGHS" not in out.stdout and "inaccurate" not in out.stdout
    data = json.loads(out.stdout)                      # the whole of stdout is one object
    check_keys(data, SCHEMA)
    check_keys(data["certificate"], CERTIFICATE)
    check_keys(data["npa"], NPA)
    check_keys(data["game"], GAME)
    check_keys(data["expect"], EXPECT)
    assert data["schema"] == "qpolicy.verify/1" and data["exit_code"] == 0
    assert data["expect"] == {"claim": "beyond-shared-randomness", "holds": True}
    assert data["npa"]["status"] == "member" and data["npa"]["level"] == "2"
    assert data["classification"] == "npa2" and data["certificate_file"] == str(cert)
    assert data["game"]["npa_bound"] >= np.cos(np.pi / 8) ** 2
    assert data["certificate"]["violation"] == pytest.approx(2 * np.sqrt(2) - 2, abs=1e-6)
    assert cert.exists()


@pytest.mark.parametrize("table, claim, code", [
    (pr_box(), "quantum", 1),                       # certified outside NPA
    (pr_box(), "post-quantum", 0),
    (pr_box(), "local", 1),
    ("tsirelson", "quantum", 3),                    # inside NPA, no strategy: not proved
    ("tsirelson", "npa", 0),
    ("tsirelson", "post-quantum", 1),
    (np.full((2, 2, 2, 2), 0.25), "quantum", 0),    # local tables are quantum
    (np.full((2, 2, 2, 2), 0.25), "factorized", 0),
    (np.full((2, 2, 2, 2), 0.25), "beyond-shared-randomness", 1),
])
def test_expect_exit_codes(tmp_path, capsys, table, claim, code):
    path = tmp_path / "p.npy"
    np.save(path, tsirelson_table() if isinstance(table, str) else table)
    assert main(["verify", str(path), "--expect", claim, "--json", "--level", "1"]) == code
    data = json.loads(capsys.readouterr().out)
    assert data["exit_code"] == code
    assert data["expect"]["holds"] == {0: True, 1: False, 3: None}[code]


def test_signaling_table_fails_every_quantum_claim(tmp_path, capsys):
    p = np.zeros((2, 2, 2, 2))
    for a, x, y in np.ndindex(2, 2, 2):
        p[a, x, x, y] = 0.5
    path = tmp_path / "p.npy"
    np.save(path, p)
    for claim in ("nonsignaling", "quantum", "local", "beyond-shared-randomness"):
        assert main(["verify", str(path), "--expect", claim]) == 1, claim
    capsys.readouterr()


def test_solver_failure_exits_3(monkeypatch, tmp_path, capsys):
    from qpolicy.bounds import SolverError

    def failing(*args, **kwargs):
        raise SolverError("HIGHS did not solve the LP", "infeasible")
    monkeypatch.setattr(verify_module, "local_distance", failing)
    path = tmp_path / "p.npy"
    np.save(path, pr_box())
    assert main(["verify", str(path)]) == 3
    assert "solver failed" in capsys.readouterr().err


# ---- 5. short reprs --------------------------------------------------------------------------

def test_reprs_are_short_and_summaries_few_lines():
    from qpolicy.bounds import bell_certificate, npa_membership, seesaw_lower_bound
    cube = npa_upper_bound(games.cube(), level=1)            # 2 blocks, each with its matrix
    chsh = npa_upper_bound(games.chsh(), level=2)            # one 13 × 13 moment matrix
    seesaw = seesaw_lower_bound(games.tetra(), dim=3, restarts=1, seed=0)
    membership = npa_membership(pr_box())
    report = verify(pr_box(), game=games.chsh(), level=1)
    for obj in (cube, chsh, seesaw, membership, bell_certificate(pr_box()), report):
        text = repr(obj)
        assert len(text) < 300 and "\n" not in text and "array" not in text, text
        assert 1 <= len(getattr(obj, "summary", lambda: "x")().splitlines()) <= 6
    assert "kind='npa'" in repr(cube) and "level='1'" in repr(cube)
    assert repr(cube.upper) in repr(cube)                      # the proved number, unrounded
    assert "status='non_member'" in repr(membership)
    assert "class='nonsignaling'" in repr(report)
    assert "proved: lower none, upper" in cube.summary()
    assert cube.moment_matrix is None and len(cube.details["blocks"]) == 2   # arrays still there
    assert chsh.moment_matrix.shape == (13, 13) and seesaw.strategy["povms"] is not None


# ---- 6. checks before the work, clear file errors -------------------------------------------

def test_unwritable_certificate_out_fails_before_any_work(monkeypatch, tmp_path, capsys):
    def forbidden(*args, **kwargs):
        raise AssertionError("verify ran although --certificate-out is unusable")
    monkeypatch.setattr(verify_module, "verify", forbidden)
    path = tmp_path / "p.npy"
    np.save(path, pr_box())
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    cases = [(str(tmp_path / "missing" / "c.npz"), "does not exist"),
             (str(tmp_path / "c.txt"), "must end with .npz"),
             (str(tmp_path), "must end with .npz")]
    if os.geteuid() != 0:                     # root may write anywhere
        cases.append((str(readonly / "c.npz"), "not writable"))
    for target, message in cases:
        assert main(["verify", str(path), "--certificate-out", target]) == 2
        err = capsys.readouterr().err
        assert err.startswith("qpolicy verify: error:") and message in err, err


def test_corrupt_and_wrong_kind_files(tmp_path, capsys):
    empty_npy, empty_npz = tmp_path / "e.npy", tmp_path / "e.npz"
    empty_npy.write_bytes(b"")
    empty_npz.write_bytes(b"")
    game_file = tmp_path / "game.npz"
    games.chsh().save(str(game_file))
    for path, message in [(empty_npy, "not a readable .npy"), (empty_npz, "not a readable"),
                          (game_file, "--game")]:
        assert main(["verify", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("qpolicy verify: error:") and message in err, err


def test_questions_first_table_gets_a_hint():
    p = tsirelson_table()
    # CHSH is square, so use a table whose answer and question counts differ: Tetra's
    tetra = games.tetra()
    q = np.full(tetra.shape, 1 / 9)
    swapped = np.moveaxis(q, (0, 1), (2, 3))                     # shape (4, 4, 3, 3)
    with pytest.raises(ValueError, match="did you store questions first"):
        verify(swapped)
    with pytest.raises(ValueError, match="did you store questions first"):
        verify(swapped, game=tetra)
    # a valid table of the wrong shape for the game, questions first: the shape hint
    with pytest.raises(ValueError, match="did you store questions first"):
        verify(np.full((4, 4, 3, 3), 1 / 16), game=tetra)
    with pytest.raises(ValueError) as info:                      # no hint when it would not help
        verify(np.full((2, 2, 2, 2), 0.3))
    assert "questions first" not in str(info.value)
    assert verify(p).nonsignaling


def test_output_guard_moves_fd1_and_silences_the_inaccurate_warning():
    """In a fresh process: C-level writes to fd 1 and print() land on stderr; the cvxpy warning
    is dropped; stdout works again afterwards."""
    code = ("import os, warnings\n"
            "from qpolicy._io import solver_output_to_stderr\n"
            "with solver_output_to_stderr():\n"
            "    os.write(1, b'banner\\n'); print('chatter')\n"
            "    warnings.warn('Solution may be inaccurate. Try another solver')\n"
            "print('clean')\n")
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "clean\n"
    assert "banner" in out.stderr and "chatter" in out.stderr and "inaccurate" not in out.stderr


def test_uniform_tetra_table_is_factorized_despite_the_compact_lp():
    """Clarabel ends the compact distance LP "optimal_inaccurate" on this table; verify falls
    back to the cutting-plane dual instead of failing on the first table a newcomer tries."""
    report = verify(np.full((3, 3, 4, 4), 1 / 9), game=games.tetra(), level=1)
    assert report.classification == "factorized" and report.local
    assert report.local_distance <= 1e-9
    assert report.value == pytest.approx(float(np.sum(games.tetra().question_dist
                                                      * games.tetra().predicate) / 9))

"""``qpolicy verify``: is this policy table really beyond shared randomness?

Given a joint policy ``p[a_1..a_n, o_1..o_n] = p(a | o)`` — written by hand, by
``qpolicy train``, or by any other code — :func:`verify` runs every test of the hierarchy
F ⊂ SR ⊂ Q ⊂ NS ⊂ C (paper §3, Prop. 2) that :mod:`qpolicy.bounds` provides and collects the
answers in one :class:`Report`:

1. validity as a conditional distribution (entries ≥ 0, each question tuple sums to 1);
2. non-signaling (eq. (5)): the largest change of a marginal when another player's question
   changes;
3. shared randomness (eq. (4)): the L1 distance to the local polytope, and for a non-local table
   a Bell inequality ``<B, q> ≤ local bound`` that every shared-randomness table satisfies and
   ``p`` violates — an independently checkable certificate, its local bound recomputed exactly
   by enumeration;
4. the NPA test at ``level`` (failing it proves ``p`` is not quantum);
5. the class :func:`qpolicy.bounds.classify` assigns;
6. with a game: ``p``'s value beside the classical value, the NPA upper bound and the
   non-signaling value, and the normalized advantage
   ``(value - classical) / (NPA bound - classical)`` (the paper's Table 2 measure).

The command line is a thin wrapper around the same function::

    qpolicy verify table.npy
    qpolicy verify chsh-entangled.npz                       # a file written by qpolicy train
    qpolicy verify p.npz --game chsh --certificate-out bell.npz
    qpolicy verify p.npz --game rendezvous --edges "0-1,1-2,2-0" --level 1+AB

Cost (measured under heavy load, ~12 jobs on 2 cores): CHSH-size tables take well under a second
after import; a Cube table (3×3×8×8) with ``--game cube`` at level 1 took 21 s (40 s wall for
the whole command), mostly the cutting-plane LPs of the local distance and the certificate.
The NPA *membership* SDP at level "1+AB" on a non-local Cube table is a joint 289-monomial SDP
solved by SCS (see
:func:`qpolicy.bounds.npa.in_npa`): measured with other jobs on the machine, 72 s for a quantum
(see-saw) table and 7 s for the non-signaling optimum (rejected by a rigorous dual certificate);
with a quantum strategy given no membership SDP runs.  The NPA *bound* of the game at "1+AB" is
cheap (~8 s, two question blocks).

Example
-------
>>> import numpy as np
>>> from qpolicy.verify import verify
>>> from qpolicy.policies import pr_box
>>> report = verify(pr_box())
>>> report.classification, report.in_npa
('nonsignaling', False)

Reference: N. Brunner et al., "Bell nonlocality", Rev. Mod. Phys. 86, 419 (2014).
"""
import os
import sys
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from qpolicy.bounds import (BellInequality, SolverError, bell_certificate, classical_value,
                            classify, local_distance, nonsignaling_value, npa_upper_bound)
from qpolicy.bounds.membership import LOCAL_ATOL
from qpolicy.games import NonlocalGame
from qpolicy.policies import check_policy_table, nonsignaling_violation
from qpolicy.quantum import born
from qpolicy.validation import ATOL

__all__ = ["Report", "verify", "load_table", "learned_strategy", "save_certificate"]

#: A table is called non-signaling when eq. (5) holds within this (the tolerance ``classify``
#: uses, so the report and the class agree).
NONSIGNALING_ATOL = ATOL


@dataclass(frozen=True)
class Report:
    """Everything :func:`verify` found out about a policy table; ``str(report)`` reads it out.

    ``min_entry`` / ``max_normalization_error``: validity (``p`` passed the conditional-
    distribution check within ``qpolicy.validation.ATOL``); ``nonsignaling_violation``: eq. (5);
    ``local_distance``: L1 distance to the local polytope; ``local``: distance ≤
    ``LOCAL_ATOL``; ``certificate``: a violated Bell inequality (its violation equals the distance
    by LP duality), ``None`` iff ``local``; ``in_npa``: ``p`` lies in the NPA relaxation at
    ``npa_level`` — decided by the SDP inside ``classify`` for non-local non-signaling tables
    without a strategy, otherwise implied by a theorem (``npa_reason`` says which);
    ``classification``: :func:`qpolicy.bounds.classify`'s answer;
    ``strategy_gap``: ``max |born(rho, povms) - p|`` of the quantum strategy given (else None).
    With a game: ``value``, ``classical_value``, ``npa_bound``, ``nonsignaling_value`` and
    ``normalized_advantage`` (``None`` when the NPA bound equals the classical value).
    """
    shape: tuple
    min_entry: float
    max_normalization_error: float
    nonsignaling_violation: float
    nonsignaling: bool
    local_distance: float
    local: bool
    certificate: Optional[BellInequality]
    npa_level: object
    in_npa: bool
    npa_reason: str
    classification: str
    strategy_gap: Optional[float] = None
    game: Optional[str] = None
    value: Optional[float] = None
    classical_value: Optional[float] = None
    npa_bound: Optional[float] = None
    nonsignaling_value: Optional[float] = None
    normalized_advantage: Optional[float] = None
    seconds: float = 0.0

    @property
    def beyond_shared_randomness(self):
        """True iff a violated Bell inequality certifies that no shared randomness produces p."""
        return self.certificate is not None

    def __str__(self):
        n = len(self.shape) // 2
        lines = [f"policy table p[a_1..a_{n}, o_1..o_{n}] of shape {self.shape} ({n} players)",
                 f"  valid conditional distribution   yes (min entry {self.min_entry:.3g}, "
                 f"max |sum_a p(a|o) - 1| {self.max_normalization_error:.3g})",
                 f"  non-signaling (eq. 5)            {_yes(self.nonsignaling)} (largest marginal "
                 f"change {self.nonsignaling_violation:.3g})"]
        lines.append(f"  shared randomness (local)        {_yes(self.local)} (L1 distance "
                     f"{self.local_distance:.6g})")
        if self.certificate is not None:
            c = self.certificate
            lines += [f"  Bell inequality certificate      <B, q> <= {c.local_bound:.6g} for every "
                      f"shared-randomness q",
                      f"    value <B, p>                   {c.value:.6g}",
                      f"    violation                      {c.violation:.6g}"]
        lines += [f"  NPA level {str(self.npa_level):<22} {'passes' if self.in_npa else 'fails'}"
                  f" ({self.npa_reason})",
                  *([] if self.strategy_gap is None else
                    [f"  explicit quantum strategy        reproduces p (max |born(rho, povms) - p| "
                     f"{self.strategy_gap:.3g})"]),
                  f"  class                            {self.classification} "
                  f"({CLASS_MEANING[_class_key(self.classification)]})"]
        if self.game is not None:
            lines += [f"  game {self.game}",
                      f"    value of p                     {self.value:.6f}",
                      f"    classical value                {self.classical_value:.6f}",
                      f"    {'NPA bound, level ' + str(self.npa_level):<31}{self.npa_bound:.6f}",
                      f"    non-signaling value            {self.nonsignaling_value:.6f}"]
            advantage = ("undefined (NPA bound = classical value)"
                         if self.normalized_advantage is None
                         else f"{100 * self.normalized_advantage:.2f} %")
            lines.append(f"    normalized advantage           {advantage}  "
                         f"[(value - classical) / (NPA - classical)]")
        if not self.nonsignaling:
            verdict = ("p signals: players who do not communicate cannot produce it, not even "
                       "with entanglement")
        elif self.beyond_shared_randomness:
            verdict = "p is beyond shared randomness (certified by the Bell inequality above)"
        else:
            verdict = "p is NOT beyond shared randomness: a shared-randomness strategy produces it"
        lines.append(f"verdict: {verdict}  [{self.seconds:.2f} s]")
        return "\n".join(lines)


#: What each answer of ``classify`` means, for the report.
CLASS_MEANING = {
    "factorized": "F: independent local policies",
    "shared_randomness": "SR: reproducible with shared randomness",
    "quantum": "Q: an explicit quantum strategy produces it",
    "npa": "non-local and inside the NPA relaxation: consistent with a quantum strategy, "
           "not a proof of one",
    "nonsignaling": "NS but post-quantum: non-local and outside the NPA relaxation",
    "signaling": "C only: violates eq. (5), needs communication",
}


def _class_key(classification):
    return "npa" if classification.startswith("npa") else classification


def _yes(flag):
    return "yes" if flag else "NO"


def verify(p, game=None, level=1, solver=None, strategy=None):
    """Check a policy table against every class of the hierarchy; a :class:`Report`.

    Parameters
    ----------
    p : array_like, shape ``n_answers + n_questions``
        The table ``p[a_1..a_n, o_1..o_n]``; must be a conditional distribution (else
        ``ValueError`` naming ``p``).
    game : NonlocalGame, optional
        Adds ``p``'s value and the game's classical value, NPA bound at ``level`` and
        non-signaling value; ``p`` must have the game's shape.
    level : NPA level of the membership test and the bound (``1``, ``"1+AB"``, ``2``, ...).
    solver : cvxpy solver for every LP/SDP (default: each test's own default).
    strategy : ``(rho, povms)``, optional
        A quantum strategy claimed to produce ``p`` (Born rule, :func:`qpolicy.born`); if it
        does (within ``qpolicy.validation.ATOL``, else ``ValueError``), a non-local ``p`` is
        classed ``"quantum"`` — proven, not just consistent with NPA.

    The L1 distance and the certificate solve dual LPs (their optima agree; a disagreement
    about locality raises ``SolverError``); the certificate is sought only for non-local ``p``.
    Large tables (the Cube's) use cutting planes (see :mod:`qpolicy.bounds.membership`).  The
    class comes from :func:`qpolicy.bounds.classify` with the same ``level`` and ``solver``.
    Raises :class:`~qpolicy.bounds.SolverError` when a solver fails.
    """
    start = time.perf_counter()
    p = check_policy_table(p)
    level = _check_level(level)
    n = p.ndim // 2
    if game is not None:
        if not isinstance(game, NonlocalGame):
            raise TypeError(f"game must be a NonlocalGame or None, got {type(game).__name__}")
        if p.shape != game.shape:
            raise ValueError(f"p has shape {p.shape} but game {game.name!r} needs tables of "
                             f"shape {game.shape} (answers, then questions)")
    sums = p.sum(axis=tuple(range(n)))
    violation = nonsignaling_violation(p)
    distance = local_distance(p, solver=solver).value
    local = distance <= LOCAL_ATOL
    certificate = None if local else bell_certificate(p, solver=solver)
    if not local and certificate is None:
        raise SolverError(f"the distance LP says p is non-local (L1 distance {distance:.3g}) but "
                          f"the certificate LP finds no violated Bell inequality; retry with "
                          f"another solver", "inconsistent")
    classification = classify(p, level=level, solver=solver, strategy=strategy,
                              distance=distance)   # the LP above, solved once
    fields = dict(shape=p.shape, min_entry=float(p.min()),
                  max_normalization_error=float(np.max(np.abs(sums - 1.0))),
                  nonsignaling_violation=violation, nonsignaling=violation <= NONSIGNALING_ATOL,
                  local_distance=distance, local=local, certificate=certificate, npa_level=level,
                  classification=classification, **_npa_fields(classification),
                  strategy_gap=None if strategy is None else _strategy_gap(p, strategy))
    if game is not None:
        fields.update(_game_fields(p, game, level, solver))
    return Report(**fields, seconds=time.perf_counter() - start)


def _check_level(level):
    """The NPA levels of :func:`qpolicy.bounds.npa_upper_bound`: an integer ≥ 1 or "1+AB".

    Checked up front because ``classify`` reaches the NPA test only for some tables."""
    if isinstance(level, str) and level.strip().upper() == "1+AB":
        return "1+AB"
    if isinstance(level, (int, np.integer)) and not isinstance(level, bool) and level >= 1:
        return int(level)
    raise ValueError(f"level must be a positive integer or '1+AB', got {level!r}")


def _npa_fields(classification):
    """NPA membership from ``classify``'s answer, which ran the NPA SDP exactly when needed
    (non-local, non-signaling, no strategy); the other cases follow from SR ⊂ Q ⊂ NPA."""
    if classification == "signaling":
        return dict(in_npa=False, npa_reason="signaling: not quantum, no SDP needed")
    if classification in ("factorized", "shared_randomness"):
        return dict(in_npa=True, npa_reason="implied: local tables are quantum")
    if classification == "quantum":
        return dict(in_npa=True, npa_reason="implied: the explicit quantum strategy")
    if classification == "nonsignaling":
        return dict(in_npa=False, npa_reason="SDP: p is not quantum")
    return dict(in_npa=True, npa_reason="SDP: consistent with a quantum strategy")


def _strategy_gap(p, strategy):
    rho, povms = strategy
    return float(np.max(np.abs(born(rho, povms) - p)))


def _game_fields(p, game, level, solver):
    value = game.value(p)
    classical = classical_value(game).value
    npa = npa_upper_bound(game, level=level, solver=solver).value
    gap = npa - classical
    return dict(game=game.name, value=value, classical_value=classical, npa_bound=npa,
                nonsignaling_value=nonsignaling_value(game, solver=solver).value,
                normalized_advantage=(value - classical) / gap if gap > LOCAL_ATOL else None)


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------

def load_table(path, run=None):
    """Read a policy table and what else the file holds: ``(table, game, strategy, note)``.

    * ``.npy``: the table itself;
    * ``.npz`` with a key ``table`` (and optionally ``predicate`` + ``question_dist``, a game);
    * ``.npz`` written by ``qpolicy train``: the best iterate of run ``run`` (default: the run
      with the highest ``best_values``), the game it was trained on and, for entangled
      policies, that iterate's quantum strategy ``(rho, povms)`` rebuilt from its parameters.

    ``game`` and ``strategy`` are None when the file has none.  Files are read without pickles.
    ``note`` says what was read, for the report.
    """
    from qpolicy.learn.checkpoint import load_checkpoint
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    if path.endswith(".npy"):
        try:
            return np.load(path, allow_pickle=False), None, None, f"table from {path}"
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path!r} is not a readable .npy array: {exc}") from None
    if not path.endswith(".npz"):
        raise ValueError(f"the table file must end with .npy or .npz, got {path!r}")
    data = load_checkpoint(path)
    game = None
    if "predicate" in data and "question_dist" in data:
        game = NonlocalGame(data["predicate"], data["question_dist"],
                            name=str(data.get("game", data.get("name", os.path.basename(path)))))
    if "table" in data:
        if run is not None:
            raise ValueError(f"--run applies to files written by qpolicy train; {path!r} holds "
                             f"a single table")
        return data["table"], game, None, f"table from {path}"
    if "hyperparameters" in data and game is not None:
        return _load_train_file(path, game, run)
    raise ValueError(f"{path!r} holds no policy table: expected a key 'table' or a file written "
                     f"by qpolicy train; found "
                     f"{sorted(data)}")


def _load_train_file(path, game, run):
    from qpolicy.learn.reinforce import load_run
    result = load_run(path)
    values = result.best_values
    if run is None:
        run = int(np.argmax(values))
    elif not 0 <= run < len(values):
        raise ValueError(f"run must be between 0 and {len(values) - 1} for {path!r}, got {run}")
    note = (f"best iterate of run {run} of {len(values)} in {path} (qpolicy train, "
            f"{result.hyperparameters.policy} policies; its recorded win probability "
            f"{values[run]:.6f})")
    return result.best_tables[run], game, learned_strategy(result, game, run), note


def learned_strategy(result, game, index):
    """``(rho, povms)`` of seed ``index``'s best iterate in a REINFORCE ``Run`` of entangled
    policies (rebuilt from its parameters), or None for the classical policy classes."""
    hp = result.hyperparameters
    if hp.policy != "entangled":
        return None
    policy = hp.make_policy(game)
    params = {k: v[index:index + 1] for k, v in result.best_params.items()}
    return policy.rho(params)[0], [M[0] for M in policy.povms(params)]


def save_certificate(certificate, path):
    """Write a :class:`~qpolicy.bounds.BellInequality` to ``path`` (.npz, atomically).

    Keys: ``coefficients`` ``B[a..., o...]``, ``local_bound``, ``value``, ``violation``, and
    ``strategy_k`` (player k's answer to each question in a deterministic strategy attaining
    the local bound).  Anyone can check it: ``<B, d> ≤ local_bound`` for every deterministic
    table ``d`` (:func:`qpolicy.bounds.classical.best_deterministic`) and ``<B, p> = value``.
    """
    from qpolicy.learn.checkpoint import save_checkpoint
    strategy = {f"strategy_{k}": np.asarray(f) for k, f in enumerate(certificate.optimal_strategy)}
    save_checkpoint(path, coefficients=certificate.coefficients,
                    local_bound=float(certificate.local_bound), value=float(certificate.value),
                    violation=float(certificate.violation), **strategy)


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------

def add_arguments(parser):
    parser.add_argument("table", help="policy table p[a..., o...]: FILE.npy, FILE.npz with a key "
                                      "'table', or a FILE.npz written by qpolicy train")
    parser.add_argument("--game", default=None,
                        help="compare with a game: chsh | ghz | tetra | cube | rendezvous (with "
                             "--edges) | FILE.npz from NonlocalGame.save (default: the game "
                             "stored in the table file, if any)")
    parser.add_argument("--edges", default=None, help='rendezvous graph, e.g. "0-1,1-2,2-0"')
    parser.add_argument("--level", default="1",
                        help="NPA level: 1, 1+AB, 2 (default: 1; see qpolicy.verify's docstring "
                             "for the cost of higher levels on large tables)")
    parser.add_argument("--run", type=int, default=None,
                        help="which run of a qpolicy train file (default: the best)")
    parser.add_argument("--solver", default=None, help="cvxpy solver for all LPs and SDPs")
    parser.add_argument("--certificate-out", default=None, metavar="FILE.npz",
                        help="save the Bell inequality certificate (if p is non-local)")


def run(args):
    from qpolicy.bounds.command import load_game
    try:
        if args.certificate_out is not None and not args.certificate_out.endswith(".npz"):
            raise ValueError(f"--certificate-out must end with .npz, got {args.certificate_out!r}")
        if args.edges is not None and args.game != "rendezvous":
            raise ValueError("--edges describes a rendezvous graph: use it with --game rendezvous")
        table, stored_game, strategy, note = load_table(args.table, args.run)
        game = load_game(args.game, args.edges) if args.game is not None else stored_game
        level = int(args.level) if args.level.isdigit() else args.level
        print(note)
        report = verify(table, game=game, level=level, solver=args.solver, strategy=strategy)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"qpolicy verify: error: {exc}", file=sys.stderr)
        return 2
    except SolverError as exc:
        print(f"qpolicy verify: solver failed: {exc}", file=sys.stderr)
        return 1
    print(report)
    if args.certificate_out is not None:
        if report.certificate is None:
            print(f"no certificate to save: p is local ({args.certificate_out} not written)")
        else:
            save_certificate(report.certificate, args.certificate_out)
            print(f"certificate saved to {args.certificate_out}")
    return 0

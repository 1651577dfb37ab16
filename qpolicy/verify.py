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
4. NPA membership (three-valued: certified member, certified non-member — ``p`` is not
   quantum — or undecided, with the rigorous interval; see :func:`qpolicy.bounds.npa_membership`);
5. the class :func:`qpolicy.bounds.classify` assigns (``"undecided"`` included);
6. with a game: ``p``'s value beside the classical value (exact), the certified NPA upper bound
   and the non-signaling value, and the normalized advantage
   ``(value - classical) / (NPA bound - classical)`` (the paper's Table 2 measure).

What is printed is what is proved: the NPA bound is the dual-certified, outward-rounded
``Bound.upper``; the non-signaling value is ``Bound.upper`` when the LP provides one, else the
LP solver's value, labelled "not certified"; solvers' raw numbers stay in the results' details.

The command line is a thin wrapper around the same function::

    qpolicy verify table.npy
    qpolicy verify chsh-entangled.npz                       # a file written by qpolicy train
    qpolicy verify p.npz --game chsh --certificate-out bell.npz
    qpolicy verify p.npz --game rendezvous --edges "0-1,1-2,2-0" --level 1+AB
    qpolicy verify p.npy --game tetra --json --expect beyond-shared-randomness

**Levels and cost.**  ``level="auto"`` (default) picks the tightest of 2 (two players) and
"1+AB" whose moment matrix has at most :data:`AUTO_MAX_SIZE` (100) monomials — for the game's
bound per independent question block, for the membership SDP jointly — else 1.  Measured with
``nice -n 10``, ``OPENBLAS_NUM_THREADS=1`` on the shared 2-core machine (see
benchmarks/RESULTS.md, issue 13): Tetra at "1+AB" (81 monomials) 3.1 s for the bound, 0.3 s
for the membership of a see-saw table (level 1: 0.6 s / 0.1 s; level 2, 177 monomials: 6.8 s /
3.9 s); the Cube's bound at "1+AB" (two blocks of 81) 3.5 s, so an optimal Cube strategy scores
100 % instead of the 80.25 % of level 1; the Cube's membership stays at level 1 (0.4 s) because
its joint "1+AB" SDP (289 monomials) took 431 s on a see-saw table — ask for it with
``--level 1+AB``.  The
local-distance and certificate LPs on a Cube table take ~10–20 s more (cutting planes).

**Exit codes** (:data:`EXIT_CODES`): 0 — the report was printed and the ``--expect`` claim, if
any, holds; 1 — the claim fails (refuted by a certificate); 2 — bad input (arguments, an
unreadable or wrong-kind file, a table that is not a conditional distribution, an unwritable
``--certificate-out``, checked before any work); 3 — a solver failed, or the claim is
undecided.  ``--expect`` claims (:data:`CLAIMS`): ``factorized``, ``local``,
``beyond-shared-randomness``, ``quantum`` (proved by locality or an explicit strategy in the
file; certified outside NPA fails; inside NPA without a strategy is undecided: consistent with
Q, not a proof), ``npa``, ``post-quantum``, ``nonsignaling``.

**JSON** (``--json``: one object on stdout, nothing else — solver banners go to stderr).  Keys
(``Report.to_dict`` plus the command's own):

* ``schema`` (str, ``"qpolicy.verify/1"``), ``source`` (str: what was read),
  ``shape`` (list of int), ``n_players`` (int), ``min_entry``, ``max_normalization_error``,
  ``nonsignaling_violation``, ``local_distance``, ``seconds`` (float);
  ``nonsignaling``, ``local``, ``beyond_shared_randomness`` (bool);
* ``certificate``: null or {``local_bound``, ``value``, ``violation``: float};
  ``certificate_file``: null or str (the .npz written);
* ``npa``: {``level``: str, ``status``: "member" | "non_member" | "undecided", ``in_npa``:
  bool or null (undecided), ``reason``: str, ``interval``: null (decided by a theorem) or
  [lower, upper] (floats, null if infinite), ``atol``: null or float};
* ``classification`` (str), ``strategy_gap`` (null or float);
* ``game``: null or {``name``: str, ``value``, ``classical_value``, ``npa_bound``,
  ``nonsignaling_value``: float, ``npa_level``: str, ``nonsignaling_certified``: bool,
  ``normalized_advantage``: float or null};
* ``expect``: null or {``claim``: str, ``holds``: bool or null}; ``exit_code`` (int).

When no report exists (exit 2, or 3 from a solver failure) stdout is empty and the message
is on stderr, as without ``--json``.

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
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import numpy as np

from qpolicy.bounds import (BellInequality, SolverError, bell_certificate, classical_value,
                            classify, local_distance, nonsignaling_value, npa_membership,
                            npa_upper_bound)
from qpolicy.bounds.membership import LOCAL_ATOL
from qpolicy.bounds.npa import parse_level, predicted_size, question_blocks
from qpolicy.bounds.results import MEMBER, NON_MEMBER, UNDECIDED
from qpolicy.games import NonlocalGame
from qpolicy.policies import check_policy_table, nonsignaling_violation
from qpolicy.quantum import born
from qpolicy.validation import ATOL

__all__ = ["Report", "verify", "check_claim", "CLAIMS", "AUTO_MAX_SIZE", "EXIT_CODES",
           "load_table", "learned_strategy", "save_certificate"]

#: A table is called non-signaling when eq. (5) holds within this (the tolerance ``classify``
#: uses, so the report and the class agree).
NONSIGNALING_ATOL = ATOL

#: ``level="auto"``: the largest moment matrix (monomials) an automatically chosen NPA level may
#: need — per question block for the game's bound, jointly for the membership test.  Measured
#: (nice'd, shared 2-core machine): 81 monomials (Tetra and each Cube block at "1+AB") cost 3 s
#: for the bound and 0.3 s for a membership; 177 (Tetra at level 2) 7 s / 4 s; the Cube's joint
#: 289-monomial membership of a see-saw table at "1+AB" 431 s (SCS needs its warm retry to
#: decide; 1100 s in benchmarks/RESULTS.md under heavier load), which "auto" avoids.
AUTO_MAX_SIZE = 100

#: The exit codes of ``qpolicy verify``.
EXIT_CODES = {0: "the report was printed and the --expect claim (if any) holds",
              1: "the --expect claim fails (certified)",
              2: "bad input: arguments, files, or a table that is not a conditional distribution",
              3: "a solver failed, or the --expect claim is undecided (NPA undecided at its "
                 "tolerance, or membership in Q not provable without a quantum strategy)"}


@dataclass(frozen=True)
class Report:
    """Everything :func:`verify` found out about a policy table; ``str(report)`` reads it out,
    ``repr`` is one line, :meth:`summary` a few, :meth:`to_dict` the documented JSON object.

    ``min_entry`` / ``max_normalization_error``: validity (``p`` passed the conditional-
    distribution check within ``qpolicy.validation.ATOL``); ``nonsignaling_violation``: eq. (5);
    ``local_distance``: L1 distance to the local polytope; ``local``: distance ≤
    ``LOCAL_ATOL``; ``certificate``: a violated Bell inequality (its violation equals the distance
    by LP duality), ``None`` iff ``local``.

    NPA membership at ``npa_level`` is three-valued: ``npa_status`` is ``"member"``,
    ``"non_member"`` or ``"undecided"``.  It comes from the membership SDP
    (:func:`qpolicy.bounds.npa_membership`) for non-local non-signaling tables without a strategy
    — then ``npa_interval`` is its rigorous interval on the smallest PSD shift ``t*`` and
    ``npa_atol`` its tolerance (member iff upper ≤ atol, non-member iff lower > atol) — and
    otherwise from a theorem (``npa_interval`` None; ``npa_reason`` says which).  ``in_npa`` is
    True / False for the decided answers and **None when undecided**.
    ``classification``: the class (:func:`qpolicy.bounds.classify`'s names, "undecided"
    included); ``strategy_gap``: ``max |born(rho, povms) - p|`` of the quantum strategy given.

    With a game: ``value`` (exact, of ``p``), ``classical_value`` (exact enumeration),
    ``npa_bound`` (the certified upper bound at ``bound_level``, outward rounded),
    ``nonsignaling_value`` (``Bound.upper`` when the LP certifies one — then
    ``nonsignaling_certified`` is True — else the LP solver's value, labelled as such) and
    ``normalized_advantage`` ``(value - classical) / (npa_bound - classical)`` (``None`` when the
    NPA bound equals the classical value).
    """
    shape: tuple
    min_entry: float
    max_normalization_error: float
    nonsignaling_violation: float
    nonsignaling: bool
    local_distance: float
    local: bool
    certificate: Optional[BellInequality]
    npa_level: str
    npa_status: str
    in_npa: Optional[bool]
    npa_reason: str
    classification: str
    npa_interval: Optional[tuple] = None
    npa_atol: Optional[float] = None
    strategy_gap: Optional[float] = None
    game: Optional[str] = None
    bound_level: Optional[str] = None
    value: Optional[float] = None
    classical_value: Optional[float] = None
    npa_bound: Optional[float] = None
    nonsignaling_value: Optional[float] = None
    nonsignaling_certified: Optional[bool] = None
    normalized_advantage: Optional[float] = None
    seconds: float = 0.0

    @property
    def beyond_shared_randomness(self):
        """True iff a violated Bell inequality certifies that no shared randomness produces p."""
        return self.certificate is not None

    def __repr__(self):
        game = "" if self.game is None else (f", game={self.game!r}, value={self.value!r}, "
                                             f"npa_bound={self.npa_bound!r}")
        return (f"Report(shape={self.shape}, class={self.classification!r}, "
                f"npa={self.npa_status!r} at level {self.npa_level!r}, "
                f"local_distance={self.local_distance:.3g}{game}, seconds={self.seconds:.2f})")

    def summary(self):
        """A few lines: the class, NPA membership, the certificate and (with a game) the values."""
        lines = [f"class {self.classification} ({_class_meaning(self.classification)})",
                 f"NPA level {self.npa_level}: {self._npa_text()}",
                 "local (shared randomness)" if self.local else
                 (f"non-local: Bell inequality violated by {self.certificate.violation:.6g}"
                  if self.certificate is not None else "non-local")]
        if self.game is not None:
            lines.append(f"game {self.game}: value {_down(self.value)}, classical "
                         f"{_down(self.classical_value)}, NPA bound (level {self.bound_level}) "
                         f"{_up(self.npa_bound)}, normalized advantage "
                         f"{self._advantage_text()}")
        return "\n".join(lines)

    def _npa_text(self):
        if self.npa_status == UNDECIDED:
            lower, upper = self.npa_interval
            return (f"undecided (rigorous interval [{lower:.3g}, {upper:.3g}] around tolerance "
                    f"{self.npa_atol:g})")
        verdict = "passes" if self.npa_status == MEMBER else "fails"
        interval = ("" if self.npa_interval is None else
                    f"; t* in [{self.npa_interval[0]:.3g}, {self.npa_interval[1]:.3g}], "
                    f"tolerance {self.npa_atol:g}")
        return f"{verdict} ({self.npa_reason}{interval})"

    def _advantage_text(self):
        if self.normalized_advantage is None:
            return "undefined (NPA bound = classical value)"
        return f"{100 * self.normalized_advantage:.2f} %"

    def to_dict(self):
        """The JSON object of ``qpolicy verify --json`` (schema in the module docstring)."""
        cert = self.certificate
        out = {"schema": JSON_SCHEMA_VERSION, "shape": [int(k) for k in self.shape],
               "n_players": len(self.shape) // 2, "min_entry": self.min_entry,
               "max_normalization_error": self.max_normalization_error,
               "nonsignaling": bool(self.nonsignaling),
               "nonsignaling_violation": self.nonsignaling_violation,
               "local": bool(self.local), "local_distance": self.local_distance,
               "beyond_shared_randomness": self.beyond_shared_randomness,
               "certificate": None if cert is None else {
                   "local_bound": cert.local_bound, "value": cert.value,
                   "violation": cert.violation},
               "npa": {"level": self.npa_level, "status": self.npa_status,
                       "in_npa": self.in_npa, "reason": self.npa_reason,
                       "interval": None if self.npa_interval is None
                       else [_finite(x) for x in self.npa_interval],
                       "atol": self.npa_atol},
               "classification": self.classification, "strategy_gap": self.strategy_gap,
               "game": None, "seconds": self.seconds}
        if self.game is not None:
            out["game"] = {"name": self.game, "value": self.value,
                           "classical_value": self.classical_value,
                           "npa_level": self.bound_level, "npa_bound": self.npa_bound,
                           "nonsignaling_value": self.nonsignaling_value,
                           "nonsignaling_certified": self.nonsignaling_certified,
                           "normalized_advantage": self.normalized_advantage}
        return out

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
        lines += [f"  NPA level {self.npa_level:<22} {self._npa_text()}",
                  *([] if self.strategy_gap is None else
                    [f"  explicit quantum strategy        reproduces p (max |born(rho, povms) - p| "
                     f"{self.strategy_gap:.3g})"]),
                  f"  class                            {self.classification} "
                  f"({_class_meaning(self.classification)})"]
        if self.game is not None:
            ns = ("certified upper bound" if self.nonsignaling_certified else
                  "LP solver value, not certified")
            lines += [f"  game {self.game}",
                      f"    value of p                     {_down(self.value)}",
                      f"    classical value                {_down(self.classical_value)}  "
                      f"(exact)",
                      f"    {'NPA bound, level ' + self.bound_level:<31}{_up(self.npa_bound)}  "
                      f"(certified upper bound on the quantum value)",
                      f"    non-signaling value            {_up(self.nonsignaling_value)}  ({ns})",
                      f"    normalized advantage           {self._advantage_text()}  "
                      f"[(value - classical) / (NPA - classical)]"]
        if not self.nonsignaling:
            verdict = ("p signals: players who do not communicate cannot produce it, not even "
                       "with entanglement")
        elif self.beyond_shared_randomness:
            verdict = "p is beyond shared randomness (certified by the Bell inequality above)"
        else:
            verdict = "p is NOT beyond shared randomness: a shared-randomness strategy produces it"
        lines.append(f"verdict: {verdict}  [{self.seconds:.2f} s]")
        return "\n".join(lines)


#: Version tag of the JSON object (``"schema"`` key); bumped when a key changes meaning.
JSON_SCHEMA_VERSION = "qpolicy.verify/1"

#: What each answer of ``classify`` means, for the report.
CLASS_MEANING = {
    "factorized": "F: independent local policies",
    "shared_randomness": "SR: reproducible with shared randomness",
    "quantum": "Q: an explicit quantum strategy produces it",
    "npa": "non-local and inside the NPA relaxation: consistent with a quantum strategy, "
           "not a proof of one",
    "nonsignaling": "NS but post-quantum: non-local and outside the NPA relaxation",
    "undecided": "non-local, non-signaling; NPA membership undecided at its tolerance",
    "signaling": "C only: violates eq. (5), needs communication",
}


def _class_meaning(classification):
    return CLASS_MEANING["npa" if classification.startswith("npa") else classification]


def _yes(flag):
    return "yes" if flag else "NO"


def _up(x, decimals=6):
    """``x`` printed with ``decimals`` decimals, rounded up: a printed upper bound stays one."""
    k = math.ceil(Fraction(x) * 10 ** decimals)          # exact arithmetic
    return f"{'-' if k < 0 else ''}{abs(k) // 10 ** decimals}.{abs(k) % 10 ** decimals:0{decimals}d}"


def _down(x, decimals=6):
    """``x`` printed rounded down (values and lower bounds), so a report never shows a lower
    number above an upper one that it is below."""
    k = math.floor(Fraction(x) * 10 ** decimals)
    return f"{'-' if k < 0 else ''}{abs(k) // 10 ** decimals}.{abs(k) % 10 ** decimals:0{decimals}d}"


def _finite(x):
    """JSON has no infinity: non-finite numbers become null."""
    return float(x) if np.isfinite(x) else None


def verify(p, game=None, level="auto", solver=None, strategy=None):
    """Check a policy table against every class of the hierarchy; a :class:`Report`.

    Parameters
    ----------
    p : array_like, shape ``n_answers + n_questions``
        The table ``p[a_1..a_n, o_1..o_n]`` (answers first); must be a conditional distribution
        (else ``ValueError`` naming ``p``, with a hint when the questions-first layout would be
        one).
    game : NonlocalGame, optional
        Adds ``p``'s value and the game's classical value, certified NPA bound and non-signaling
        value; ``p`` must have the game's shape.
    level : ``"auto"`` (default), or an NPA level (``1``, ``"1+AB"``, ``2``, ...; see
        :func:`qpolicy.bounds.npa.parse_level`) used for both the membership test and the bound.
        ``"auto"`` picks, separately for the membership SDP (joint moment matrix) and for the
        game's bound (per question block), the first of ``2`` (two players only), ``"1+AB"``
        whose predicted moment matrix (:func:`qpolicy.bounds.npa.predicted_size`) has at most
        :data:`AUTO_MAX_SIZE` monomials, else ``1``.  So CHSH gets level 2, Tetra "1+AB" for
        both (bound 3 s, membership 0.3 s measured), the Cube "1+AB" for its bound (two blocks
        of 81: an optimal Cube strategy scores 100 %, not the 80.25 % of level 1) and level 1
        for its membership test (the joint "1+AB" SDP has 289 monomials, 431 s measured on a
        see-saw table: pass ``level="1+AB"`` to pay for it).  The report names both levels.
    solver : cvxpy solver for every LP/SDP (default: each test's own default).
    strategy : ``(rho, povms)``, optional
        A quantum strategy claimed to produce ``p`` (Born rule, :func:`qpolicy.born`); if it
        does (within ``qpolicy.validation.ATOL``, else ``ValueError``), a non-local ``p`` is
        classed ``"quantum"`` — proven, not just consistent with NPA.

    Notes
    -----
    The L1 distance and the certificate solve dual LPs (their optima agree; a disagreement
    about locality raises ``SolverError``); the certificate is sought only for non-local ``p``.
    Large tables (the Cube's) use cutting planes (see :mod:`qpolicy.bounds.membership`).  The
    membership SDP runs only for non-local non-signaling tables without a strategy, once; the
    class follows :func:`qpolicy.bounds.classify`.  Raises
    :class:`~qpolicy.bounds.SolverError` when a solver fails.
    """
    start = time.perf_counter()
    p = _check_table(p)
    n = p.ndim // 2
    if game is not None:
        if not isinstance(game, NonlocalGame):
            raise TypeError(f"game must be a NonlocalGame or None, got {type(game).__name__}")
        if p.shape != game.shape:
            hint = ""
            if p.shape[n:] + p.shape[:n] == game.shape:
                hint = f"; did you store questions first? {_convention(n)}"
            raise ValueError(f"p has shape {p.shape} but game {game.name!r} needs tables of "
                             f"shape {game.shape} (answers, then questions){hint}")
    membership_level = _resolve_level(level, [p.shape[n:]], p.shape[:n])
    sums = p.sum(axis=tuple(range(n)))
    violation = nonsignaling_violation(p)
    distance = _local_distance(p, solver)
    local = distance <= LOCAL_ATOL
    certificate = None if local else bell_certificate(p, solver=solver)
    if not local and certificate is None:
        raise SolverError(f"the distance LP says p is non-local (L1 distance {distance:.3g}) but "
                          f"the certificate LP finds no violated Bell inequality; retry with "
                          f"another solver", "inconsistent")
    nonsignaling = violation <= NONSIGNALING_ATOL
    fields = dict(shape=p.shape, min_entry=float(p.min()),
                  max_normalization_error=float(np.max(np.abs(sums - 1.0))),
                  nonsignaling_violation=violation, nonsignaling=nonsignaling,
                  local_distance=distance, local=local, certificate=certificate,
                  strategy_gap=None if strategy is None else _strategy_gap(p, strategy))
    if nonsignaling and not local and strategy is None:
        fields.update(_npa_sdp_fields(npa_membership(p, level=membership_level, solver=solver)))
    else:                       # no SDP needed: classify answers from the LPs and theorems
        classification = classify(p, level=membership_level, solver=solver, strategy=strategy,
                                  distance=distance)
        fields.update(_npa_implied_fields(classification, membership_level))
    if game is not None:
        fields.update(_game_fields(p, game, level, solver))
    return Report(**fields, seconds=time.perf_counter() - start)


def _local_distance(p, solver):
    """:func:`local_distance`; with the default solver, a failed compact LP falls back to the
    cutting-plane dual (HiGHS), whose optimum is the same distance (measured: Clarabel ends
    "optimal_inaccurate" on the uniform Tetra table, the cutting planes give 3.6e-15)."""
    try:
        return local_distance(p, solver=solver).value
    except SolverError:
        if solver is not None:
            raise
        return local_distance(p, method="cutting_planes").value


def _check_table(p):
    """``check_policy_table(p)``, with a hint when the questions-first layout is a valid table."""
    try:
        return check_policy_table(p)
    except ValueError as exc:
        arr = np.asarray(p) if not isinstance(p, np.ndarray) else p
        n = arr.ndim // 2
        if arr.ndim >= 2 and arr.ndim % 2 == 0 and np.issubdtype(arr.dtype, np.number):
            swapped = np.moveaxis(arr, tuple(range(n)), tuple(range(n, 2 * n)))
            try:
                check_policy_table(swapped)
            except ValueError:
                raise exc from None
            raise ValueError(f"{exc}; did you store questions first? With the axes swapped it "
                             f"would be a valid table: {_convention(n)}") from None
        raise


def _convention(n):
    return (f"p must be p[a_1..a_{n}, o_1..o_{n}] (answers, then questions); "
            f"np.moveaxis(p, {tuple(range(n))}, {tuple(range(n, 2 * n))}) converts a "
            f"questions-first table")


def _resolve_level(level, question_blocks_sizes, n_answers):
    """The NPA level to use: ``level`` itself (canonical name), or for ``"auto"`` the first of
    2 (two players), "1+AB" whose moment matrix has ≤ AUTO_MAX_SIZE monomials on every block of
    questions, else 1."""
    if isinstance(level, str) and level.strip().lower() == "auto":
        candidates = ([2] if len(n_answers) == 2 else []) + ["1+AB"]
        for candidate in candidates:
            if all(predicted_size(n_answers, q, candidate)[1] <= AUTO_MAX_SIZE
                   for q in question_blocks_sizes):
                return parse_level(candidate).name
        return parse_level(1).name
    for q in question_blocks_sizes:        # checks the level's letters against the players
        predicted_size(n_answers, q, level)
    return parse_level(level).name


def _npa_sdp_fields(membership):
    """Report fields from the three-valued membership SDP; the class as ``classify`` names it."""
    classification = {MEMBER: f"npa{membership.level}", NON_MEMBER: "nonsignaling",
                      UNDECIDED: UNDECIDED}[membership.status]
    reason = {MEMBER: "SDP: consistent with a quantum strategy",
              NON_MEMBER: "SDP: p is not quantum",
              UNDECIDED: "SDP: the rigorous bounds straddle the tolerance"}[membership.status]
    return dict(npa_level=membership.level, npa_status=membership.status,
                in_npa=None if membership.status == UNDECIDED else membership.status == MEMBER,
                npa_reason=reason, npa_interval=membership.interval, npa_atol=membership.atol,
                classification=classification)


def _npa_implied_fields(classification, level):
    """NPA membership implied by a theorem (no SDP): SR ⊂ Q ⊂ NPA, signaling ⇒ not quantum."""
    if classification == "signaling":
        status, reason = NON_MEMBER, "signaling: not quantum, no SDP needed"
    elif classification == "quantum":
        status, reason = MEMBER, "implied: the explicit quantum strategy"
    else:
        status, reason = MEMBER, "implied: local tables are quantum"
    return dict(npa_level=level, npa_status=status, in_npa=status == MEMBER, npa_reason=reason,
                classification=classification)


def _strategy_gap(p, strategy):
    rho, povms = strategy
    return float(np.max(np.abs(born(rho, povms) - p)))


def _game_blocks(game):
    """Question counts per independent block of the game (as ``npa_upper_bound`` splits it)."""
    n = game.n_players
    weights = np.asarray(game.question_dist) * np.asarray(game.predicate)
    centred = weights - weights.mean(axis=tuple(range(n)), keepdims=True)
    blocks = question_blocks(centred)
    return [tuple(len(q) for q in block) for block in blocks] or [tuple(game.n_questions)]


def _certified_upper(bound):
    """``(number, certified)``: ``bound.upper`` when the result proves one, the exact value of an
    enumeration, else the solver's value (``certified`` False)."""
    if getattr(bound, "upper", None) is not None:
        return float(bound.upper), True
    return float(bound.value), bound.status == "exact"


def _game_fields(p, game, level, solver):
    bound_level = _resolve_level(level, _game_blocks(game), tuple(game.n_answers))
    value = game.value(p)
    classical = classical_value(game).value              # exact enumeration
    npa, _ = _certified_upper(npa_upper_bound(game, level=bound_level, solver=solver))
    ns, ns_certified = _certified_upper(nonsignaling_value(game, solver=solver))
    gap = npa - classical
    return dict(game=game.name, bound_level=bound_level, value=value, classical_value=classical,
                npa_bound=npa, nonsignaling_value=ns, nonsignaling_certified=ns_certified,
                normalized_advantage=(value - classical) / gap if gap > LOCAL_ATOL else None)


#: The claims ``--expect`` can check, and what makes each hold.
CLAIMS = {
    "factorized": "class F: a product of independent local policies",
    "local": "in SR: reproducible with shared randomness (L1 distance ≤ LOCAL_ATOL)",
    "beyond-shared-randomness": "non-signaling and certified non-local (a violated Bell "
                                "inequality)",
    "quantum": "in Q: local, or produced by the explicit quantum strategy in the file; "
               "certified outside the NPA relaxation fails; inside it without a strategy is "
               "undecided (consistent, not proved)",
    "npa": "inside the NPA relaxation at the report's level (certified member)",
    "post-quantum": "non-signaling and certified outside the NPA relaxation",
    "nonsignaling": "in NS: satisfies eq. (5)",
}


def check_claim(report, claim):
    """Does ``report`` prove ``claim`` (a key of :data:`CLAIMS`)?  True (proved), False
    (refuted by a certificate) or None (undecided)."""
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of {', '.join(CLAIMS)}, got {claim!r}")
    npa = None if report.npa_status == UNDECIDED else report.npa_status == MEMBER
    if claim == "factorized":
        return report.classification == "factorized"
    if claim == "local":
        return bool(report.local)
    if claim == "beyond-shared-randomness":
        return bool(report.nonsignaling and report.beyond_shared_randomness)
    if claim == "nonsignaling":
        return bool(report.nonsignaling)
    if claim == "npa":
        return npa
    if claim == "post-quantum":
        return None if npa is None else bool(report.nonsignaling and not npa)
    # quantum
    if report.local or report.classification == "quantum":
        return True
    if npa is False:
        return False
    return None



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
        except (OSError, ValueError, EOFError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ValueError(f"{path!r} is not a readable .npy array: {reason}") from None
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
    if game is not None:
        raise ValueError(f"{path!r} holds a game (predicate, question_dist) but no policy table: "
                         f"pass it with --game {path} and the table as the first argument")
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
    parser.add_argument("--level", default="auto",
                        help="NPA level: auto, 1, 1+AB, 2, ... (default: auto, the tightest "
                             f"level whose moment matrix has at most {AUTO_MAX_SIZE} monomials; "
                             "see qpolicy.verify's docstring for the cost)")
    parser.add_argument("--run", type=int, default=None,
                        help="which run of a qpolicy train file (default: the best)")
    parser.add_argument("--solver", default=None, help="cvxpy solver for all LPs and SDPs")
    parser.add_argument("--certificate-out", default=None, metavar="FILE.npz",
                        help="save the Bell inequality certificate (if p is non-local)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (schema in qpolicy.verify's docstring)")
    parser.add_argument("--expect", default=None, choices=list(CLAIMS), metavar="CLASS",
                        help="check a claim and exit 1 if it fails, 3 if undecided: "
                             + ", ".join(CLAIMS))


def _check_output_path(path):
    """Refuse an unusable ``--certificate-out`` before any work is done."""
    if not path.endswith(".npz"):
        raise ValueError(f"--certificate-out must end with .npz, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"--certificate-out {path!r} is a directory")
    if not os.path.isdir(folder):
        raise ValueError(f"--certificate-out: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(path)
                                                   and not os.access(path, os.W_OK)):
        raise ValueError(f"--certificate-out {path!r} is not writable")


def _level_argument(text):
    return int(text) if text.isdigit() else text


def run(args):
    from qpolicy._io import solver_output_to_stderr
    from qpolicy.bounds.command import load_game
    try:
        if args.certificate_out is not None:
            _check_output_path(args.certificate_out)
        if args.edges is not None and args.game != "rendezvous":
            raise ValueError("--edges describes a rendezvous graph: use it with --game rendezvous")
        table, stored_game, strategy, note = load_table(args.table, args.run)
        game = load_game(args.game, args.edges) if args.game is not None else stored_game
        if not args.json:
            print(note, flush=True)
        with solver_output_to_stderr():
            report = verify(table, game=game, level=_level_argument(args.level),
                            solver=args.solver, strategy=strategy)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"qpolicy verify: error: {exc}", file=sys.stderr)
        return 2
    except SolverError as exc:
        print(f"qpolicy verify: solver failed: {exc}", file=sys.stderr)
        return 3
    holds = None if args.expect is None else check_claim(report, args.expect)
    code = 0 if args.expect is None or holds else (1 if holds is False else 3)
    saved = None
    if args.certificate_out is not None and report.certificate is not None:
        save_certificate(report.certificate, args.certificate_out)
        saved = args.certificate_out
    if args.json:
        out = report.to_dict()
        out.update(source=note, certificate_file=saved, exit_code=code,
                   expect=None if args.expect is None else {"claim": args.expect,
                                                            "holds": holds})
        print(json.dumps(out, indent=2, allow_nan=False))
        return code
    print(report)
    if args.certificate_out is not None:
        print(f"certificate saved to {saved}" if saved is not None else
              f"no certificate to save: p is local ({args.certificate_out} not written)")
    if args.expect is not None:
        verdict = {True: "holds", False: "FAILS", None: "is undecided"}[holds]
        print(f"claim {args.expect!r} ({CLAIMS[args.expect]}) {verdict}  [exit {code}]")
    return code

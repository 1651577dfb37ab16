"""``qpolicy certify``: a p-value that a black box is beyond shared randomness, from rounds.

Two inputs::

    qpolicy certify RUN.npz --rounds 2000 --seed 7     # a run saved by `qpolicy train`: samples
                                                       # fresh rounds from its learned policy
    qpolicy certify SAMPLES.npz --game chsh            # recorded rounds: arrays `questions`,
    qpolicy certify SAMPLES.csv --game tetra           # `answers` (n, players); or CSV columns
                                                       # q_1..q_n, a_1..a_n (header optional)

From a run, the policy of ``--run`` (default: the run with the best exact value) answers
``--rounds`` questions drawn by ``game.referee(--seed)``; its answers are sampled with the
generator ``numpy.random.default_rng([seed, 1])``.  The questions' provenance is then checked by
:func:`qpolicy.certify.bell_test` (``referee_seed``).  ``--save-samples`` writes the rounds so the
claim can be re-checked as a SAMPLES file.

The report gives the mean payoff with a confidence interval, the p-value of each test (wins:
exact binomial tail at ω_c; pbr: for a RUN the test factor of the policy's own table — fixed
before the rounds are drawn — otherwise factors fitted on past rounds only), and the rounds a
strategy with this value needs for ``p < 1e-6`` with 95 % power.  With both tests and
``--alpha``, the decision uses the Bonferroni-corrected ``min(1, 2 min(p_wins, p_pbr))`` (the
smaller of two p-values is not itself a p-value).

``--json`` prints one object with these stable keys: ``game``, ``source`` ("run" | "samples"),
``input``, ``n``, ``mean_payoff``, ``classical_value``, ``null``, ``null_value``, ``tests``
(``{method: {p_value, log10_p_value, statistic, details}}``), ``combined_p_value``,
``value_interval`` (``lower``, ``upper``, ``confidence``, ``method``), ``rounds_needed``
(``p_value``, ``power``, ``at_value``, ``wins``, ``pbr`` — null where not applicable),
``alpha``, ``rejected``, ``run`` and ``seed`` (null for samples).
"""
import json
import os
import sys

import numpy as np

from qpolicy import games
from qpolicy.certify import bell_test, pbr_factor, play_rounds, samples_needed, value_interval

#: Target of the planner line of the report.
PLAN_P_VALUE, PLAN_POWER = 1e-6, 0.95


def add_arguments(parser):
    parser.add_argument("input", help="RUN.npz written by `qpolicy train`, or recorded rounds "
                                      "(.npz with arrays questions/answers, or .csv)")
    parser.add_argument("--game", default=None,
                        help="the game of recorded rounds: chsh, ghz, tetra, cube or a saved "
                             "game (.npz); a RUN file carries its own")
    parser.add_argument("--rounds", type=int, default=1000,
                        help="RUN input: rounds to sample (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="RUN input: referee seed; answers use default_rng([seed, 1]) "
                             "(default: %(default)s)")
    parser.add_argument("--run", type=int, default=None, metavar="INDEX",
                        help="RUN input: which seed's best policy (default: the best one)")
    parser.add_argument("--method", choices=("wins", "pbr", "both"), default="both",
                        help="test(s) to run (default: %(default)s)")
    parser.add_argument("--null", choices=("classical", "quantum"), default="classical",
                        help="classical: beyond shared randomness; quantum: beyond quantum "
                             "(NPA bound, wins test only) (default: %(default)s)")
    parser.add_argument("--npa-level", default="1", help="NPA level for --null quantum: 1, "
                                                         "1+AB or 2 (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=None,
                        help="significance level for a reject / do-not-reject verdict")
    parser.add_argument("--confidence", type=float, default=0.95,
                        help="level of the value interval (default: %(default)s)")
    parser.add_argument("--train-fraction", type=float, default=None,
                        help="pbr: fit the factor on this first fraction, test on the rest "
                             "(default: sequential fit on past rounds)")
    parser.add_argument("--save-samples", default=None, metavar="FILE.npz",
                        help="write the tested rounds (and the game) to FILE.npz")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args):
    try:
        report = certify(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"qpolicy certify: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_text(report))
    return 0


def _game_by_name(name):
    from qpolicy.bounds.command import load_game
    return load_game(name)


def _read_input(args):
    """``(game, questions, answers, source, run_index, table, referee_seed)``."""
    path = args.input
    if not os.path.isfile(path):
        raise FileNotFoundError(f"input {path!r} does not exist")
    if path.endswith(".csv"):
        if args.game is None:
            raise ValueError("--game is required for CSV input")
        game = _game_by_name(args.game)
        questions, answers = _read_csv(path, game.n_players)
        return game, questions, answers, "samples", None, None, None
    if not path.endswith(".npz"):
        raise ValueError(f"input must be a .npz or .csv file, got {path!r}")
    with np.load(path, allow_pickle=False) as data:
        keys = set(data.files)
        arrays = {k: data[k] for k in keys & {"questions", "answers", "predicate",
                                              "question_dist", "name", "game"}}
    if "best_tables" in keys:
        return _sample_run(args, path)
    if {"questions", "answers"} <= keys:
        if args.game is not None:
            game = _game_by_name(args.game)
        elif {"predicate", "question_dist"} <= keys:
            game = games.NonlocalGame(arrays["predicate"], arrays["question_dist"],
                                      name=str(arrays["name"]) if "name" in arrays else None)
        else:
            raise ValueError("--game is required: the samples file carries no game")
        return game, arrays["questions"], arrays["answers"], "samples", None, None, None
    raise ValueError(f"input {path!r} is neither a run of `qpolicy train` (best_tables) nor "
                     f"recorded rounds (questions, answers)")


def _read_csv(path, n_players):
    rows = []
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            fields = [f.strip() for f in line.split(",")]
            if number == 1 and not all(f.lstrip("-").isdigit() for f in fields):
                continue                                            # header
            if len(fields) != 2 * n_players or not all(f.lstrip("-").isdigit() for f in fields):
                raise ValueError(f"{path}:{number}: expected {2 * n_players} integers "
                                 f"(questions then answers), got {line!r}")
            rows.append([int(f) for f in fields])
    if not rows:
        raise ValueError(f"{path}: no rounds")
    table = np.array(rows, dtype=np.int64)
    return table[:, :n_players], table[:, n_players:]


def _sample_run(args, path):
    from qpolicy.learn.checkpoint import load_checkpoint
    if args.rounds < 1:
        raise ValueError(f"--rounds must be at least 1, got {args.rounds}")
    ck = load_checkpoint(path)
    if args.game is not None:
        raise ValueError("--game is for recorded rounds; a RUN file carries its own game")
    game = games.NonlocalGame(ck["predicate"], ck["question_dist"], name=str(ck["game"]))
    tables, values = ck["best_tables"], ck["best_values"]
    index = int(np.argmax(values)) if args.run is None else args.run
    if not 0 <= index < len(tables):
        raise ValueError(f"--run must lie in 0..{len(tables) - 1}, got {index}")
    questions, answers = play_rounds(game, tables[index], args.rounds, args.seed)
    return game, questions, answers, "run", index, tables[index], args.seed


def certify(args):
    """The report of ``qpolicy certify`` as a JSON-ready dict (see the module docstring)."""
    game, questions, answers, source, index, table, referee_seed = _read_input(args)
    level = int(args.npa_level) if args.npa_level.isdigit() else args.npa_level
    methods = ("wins", "pbr") if args.method == "both" else (args.method,)
    if args.null == "quantum":
        methods = ("wins",)
    tests = {}
    for method in methods:
        options = {}
        if method == "pbr" and args.train_fraction is not None:
            options["train_fraction"] = args.train_fraction
        elif method == "pbr" and table is not None:
            # the policy's own table, fixed before the rounds were sampled: a valid factor
            options["factor"] = pbr_factor(game, table)
        result = bell_test(game, questions, answers, method=method, null=args.null,
                           npa_level=level, referee_seed=referee_seed, **options)
        tests[method] = {"p_value": result.p_value,
                         "log10_p_value": float(result.running_log10_p[-1]),
                         "statistic": result.statistic,
                         "details": {k: v for k, v in result.details.items()
                                     if isinstance(v, (int, float, str))}}
    null_value = result.null_value
    combined = min(1.0, len(tests) * min(t["p_value"] for t in tests.values()))
    interval = value_interval(game, questions, answers, confidence=args.confidence)
    from qpolicy.bounds import classical_value
    classical = classical_value(game).value
    at_value = game.value(table) if table is not None else interval.estimate
    plan = {"p_value": PLAN_P_VALUE, "power": PLAN_POWER, "at_value": at_value,
            "wins": None, "pbr": None}
    if at_value > classical + 1e-9:
        try:
            plan["wins"] = samples_needed(game, at_value, PLAN_P_VALUE, PLAN_POWER)
        except ValueError:
            pass                                  # e.g. a game with more than two payoffs
        if table is not None:
            plan["pbr"] = samples_needed(game, table, PLAN_P_VALUE, PLAN_POWER, method="pbr")
    if args.save_samples:
        with open(args.save_samples, "wb") as handle:
            np.savez(handle, questions=questions, answers=answers, predicate=game.predicate,
                     question_dist=game.question_dist, name=np.array(game.name))
    alpha = args.alpha
    if alpha is not None and not 0 < alpha < 1:
        raise ValueError(f"--alpha must lie in (0, 1), got {alpha}")
    return {"game": game.name, "source": source, "input": args.input,
            "n": int(questions.shape[0]), "mean_payoff": interval.estimate,
            "classical_value": classical, "null": args.null, "null_value": null_value,
            "tests": tests, "combined_p_value": combined,
            "value_interval": {"lower": interval.lower, "upper": interval.upper,
                               "confidence": interval.confidence, "method": interval.method},
            "rounds_needed": plan, "alpha": alpha,
            "rejected": None if alpha is None else bool(combined <= alpha),
            "run": index, "seed": args.seed if source == "run" else None}


def _text(r):
    where = (f"sampled from run {r['run']} of {r['input']} (referee seed {r['seed']})"
             if r["source"] == "run" else f"recorded in {r['input']}")
    iv = r["value_interval"]
    lines = [f"qpolicy certify: {r['game']}, {r['n']} rounds {where}",
             f"  mean payoff {r['mean_payoff']:.4f}  ({100 * iv['confidence']:g}% CI "
             f"{iv['lower']:.4f}-{iv['upper']:.4f}, {iv['method']});  classical value "
             f"{r['classical_value']:.6f}"]
    if r["null"] == "quantum":
        lines.append(f"  null: beyond QUANTUM, NPA bound {r['null_value']:.6f}")
    fits = {"given": "factor of the policy's table", "sequential": "factors fitted on past rounds",
            "split": "factor fitted on a training split"}
    for method, t in r["tests"].items():
        name = ("wins test (exact binomial tail, Elkouss-Wehner)" if method == "wins" else
                f"PBR test ({fits[t['details']['fit']]}, Zhang-Glancy-Knill)")
        lines.append(f"  {name:66s} p = {_p(t['log10_p_value'])}")
    plan = r["rounds_needed"]
    if plan["wins"] is not None or plan["pbr"] is not None:
        parts = [f"{m} {plan[m]}" for m in ("wins", "pbr") if plan[m] is not None]
        basis = "this policy's exact value" if r["source"] == "run" else "the observed payoff"
        lines.append(f"  rounds for p < {plan['p_value']:g} with {100 * plan['power']:g}% power "
                     f"at {basis} {plan['at_value']:.4f}: {', '.join(parts)}")
    else:
        lines.append("  the payoff is not above the classical value: no number of rounds certifies")
    if len(r["tests"]) > 1:
        lines.append(f"  combined (Bonferroni) p = {r['combined_p_value']:.3g}")
    if r["alpha"] is not None:
        verdict = ("REJECTS shared randomness" if r["null"] == "classical" else
                   "REJECTS quantum") if r["rejected"] else "does not reject the null"
        lines.append(f"  at alpha = {r['alpha']:g}: {verdict}")
    lines.append("  assumes: questions drawn by the referee from the game's mu, independent of "
                 "the past")
    return "\n".join(lines)


def _p(log10_p):
    return f"{10 ** log10_p:.3g}" if log10_p > -300 else f"10^{log10_p:.1f}"

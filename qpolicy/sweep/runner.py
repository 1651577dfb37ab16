"""Run a grid of configurations through one cell function, storing each result under its key.

``run(study, function, configs, out)`` computes ``function(config, checkpoint) -> (summary,
arrays)`` for every configuration whose verified result is not already in the store ``out``
(:class:`~qpolicy.sweep.store.Store`), on an executor (:mod:`qpolicy.sweep.executors`), and
returns a :class:`SweepResult`.  ``function`` must be importable by the workers (a module-level
function of an installed module); ``summary`` is a JSON-able dict (its optional ``"headline"``
string is shown in progress lines), ``arrays`` a dict of numpy arrays.  ``checkpoint`` is a path
the function may use to save and resume its state (it is kept between runs of the same
configuration and code and deleted once the result is stored); a cell made of several runs may
also use paths ``checkpoint[:-4] + ".<name>.npz"`` beside it, deleted with it.

Each finished cell prints one plain line (with the overall count and an ETA); a cell whose
function raises is reported with its key and traceback (also in ``<stem>.failed.json``) and the
others go on; a worker that dies (killed, out of memory) has its cells retried ``retries`` times
on a fresh pool, resuming from their checkpoints.  Re-running the same sweep computes only what
is missing.
"""
import dataclasses
import os
import time
import traceback
from concurrent.futures import as_completed

from qpolicy.sweep.executors import InProcess, executor_for
from qpolicy.sweep.store import Store, canonical_json, config_key, source_hash


@dataclasses.dataclass
class CellResult:
    """One cell of a sweep: ``status`` is "reused", "computed" or "failed"."""
    study: str
    config: dict
    key: str
    status: str
    summary: dict | None = None
    seconds: float | None = None
    error: str | None = None
    path: str | None = None

    def arrays(self):
        """The stored arrays of a finished cell."""
        if self.path is None:
            raise ValueError(f"cell {self.key} has no stored result (status {self.status})")
        from qpolicy.sweep.store import StoredResult
        return StoredResult(self.path, {}).arrays()


@dataclasses.dataclass
class SweepResult:
    study: str
    out: str
    cells: list
    seconds: float

    def by_status(self, status):
        return [c for c in self.cells if c.status == status]

    @property
    def failed(self):
        return self.by_status("failed")

    @property
    def ok(self):
        return not self.failed

    def raise_if_failed(self):
        """Raise ``RuntimeError`` naming the failed cells (and the first one's traceback)."""
        if self.failed:
            first = self.failed[0]
            raise RuntimeError(f"{len(self.failed)} {self.study} cell(s) failed; first "
                               f"{first.key}:\n{first.error}")

    def table(self):
        """A readable summary table: one row per cell (varying configuration values only)."""
        axes = varying_axes([c.config for c in self.cells])
        header = ["key", "status", "seconds"] + axes + ["result"]
        rows = [[c.key, c.status, "" if c.seconds is None else f"{c.seconds:.1f}"]
                + [_short(c.config[a]) if a in c.config else "" for a in axes]
                + [(c.summary or {}).get("headline", "") if c.status != "failed"
                   else (c.error or "").strip().splitlines()[-1][:60]] for c in self.cells]
        widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
        lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()
                 for r in [header] + rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        counts = ", ".join(f"{len(self.by_status(s))} {s}"
                           for s in ("computed", "reused", "failed"))
        lines.append(f"{self.study}: {len(self.cells)} cells ({counts}) in {self.seconds:.1f} s; "
                     f"store {self.out}")
        return "\n".join(lines)


def varying_axes(configs):
    """Configuration keys whose values differ between ``configs``."""
    keys = sorted({k for c in configs for k in c})
    return [k for k in keys if len({canonical_json(c.get(k)) for c in configs}) > 1]


def _short(value):
    text = value if isinstance(value, str) else canonical_json(value)
    return text if len(text) <= 24 else text[:21] + "..."


def execute(function, study, config, checkpoint, store):
    """Worker side: compute one cell.

    Returns ``("ok", summary, arrays, seconds, code)`` — ``code`` the worker's (version, source
    hash), so that a result computed by other code than the driver's is never stored under the
    driver's — or ``("error", traceback text)``."""
    store.mark_running(study, config)
    start = time.perf_counter()
    try:
        summary, arrays = function(config, checkpoint)
    except Exception:  # noqa: BLE001 (reported with the cell's key, the sweep goes on)
        return ("error", traceback.format_exc())
    return ("ok", summary, arrays, time.perf_counter() - start, _running_code())


def _running_code():
    import qpolicy
    return qpolicy.__version__, source_hash()


def run(study, function, configs, out, *, jobs=None, scheduler=None, executor=None,
        no_recompute=False, retries=1, log=print, store=None):
    """Compute the cells of ``configs`` not yet stored in ``out``; returns a :class:`SweepResult`.

    ``jobs`` / ``scheduler`` / ``executor``: where cells run (:func:`executor_for`; default a
    local pool with one worker per CPU, ``jobs=1`` in this process).  ``no_recompute=True``:
    raise :class:`~qpolicy.sweep.store.StaleResultError` (naming what differs) instead of
    computing a cell that is missing or whose stored result does not match configuration and
    code — checked for every cell before anything runs.  ``retries``: times a cell is resubmitted
    after its worker died.  ``log``: called with each progress line (``None``: silent).
    ``store``: a :class:`Store` to use instead of ``Store(out)`` (e.g. a pinned code identity).

    >>> import tempfile
    >>> from qpolicy.studies.nonlocal_study import table2_config, table2_cell
    >>> configs = [table2_config("chsh", seeds=2, steps=20, batch=32, seed=s) for s in (0, 1)]
    >>> out = tempfile.mkdtemp()
    >>> result = run("table2", table2_cell, configs, out, jobs=1, log=None)
    >>> [c.status for c in result.cells]
    ['computed', 'computed']
    >>> [c.status for c in run("table2", table2_cell, configs, out, jobs=1, log=None).cells]
    ['reused', 'reused']
    """
    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
    store = Store(out) if store is None else store
    log = log or (lambda line: None)
    configs = list(configs)
    keys = [config_key(study, c) for c in configs]
    seen = {}
    for k, c in zip(keys, configs):
        if k in seen:
            raise ValueError(f"configs contains the same configuration twice: {canonical_json(c)}")
        seen[k] = c
    started = time.perf_counter()
    cells, todo = {}, []
    for k, c in zip(keys, configs):
        stored = store.load(study, c, no_recompute=no_recompute)
        if stored is not None:
            cells[k] = CellResult(study, c, k, "reused", stored.summary,
                                  stored.provenance.get("seconds"), path=stored.path)
            store.remove_checkpoint(study, c)    # left over if a driver died after storing
        else:
            todo.append(k)
    if cells:
        log(f"{study}: {len(cells)} of {len(configs)} cells already stored with this "
            f"configuration and code (reused)")
    axes = varying_axes(configs)
    progress = _Progress(study, len(configs), len(cells), len(todo), axes, log)
    attempts = dict.fromkeys(todo, 0)
    import qpolicy
    driver_code = (qpolicy.__version__, source_hash())

    def finish(k, outcome):
        config = seen[k]
        store.clear_running(study, config)
        if outcome[0] == "ok" and outcome[4] != driver_code:
            outcome = ("error", f"the worker runs other qpolicy code (version {outcome[4][0]}, "
                                f"source {outcome[4][1][:12]}…) than the driver (version "
                                f"{driver_code[0]}, source {driver_code[1][:12]}…): install the "
                                f"same qpolicy on the workers")
        if outcome[0] == "ok":
            _, summary, arrays, seconds, _ = outcome
            try:
                store.write(study, config, summary, arrays, seconds)
            except Exception:  # noqa: BLE001 (an unstorable result is a failed cell)
                outcome = ("error", traceback.format_exc())
            else:
                store.remove_checkpoint(study, config)
                cells[k] = CellResult(study, config, k, "computed", summary, seconds,
                                      path=store.file(study, config, ".npz"))
        if outcome[0] == "error":
            store.mark_failed(study, config, outcome[1])
            cells[k] = CellResult(study, config, k, "failed", error=outcome[1])
        progress.done(cells[k])

    while todo:
        with executor_for(jobs, scheduler, executor) as ex:
            if isinstance(ex, InProcess):        # a plain loop: each cell stored as it finishes
                for k in todo:
                    finish(k, execute(function, study, seen[k], store.checkpoint(study, seen[k]),
                                      store))
                break
            futures = {ex.submit(execute, function, study, seen[k],
                                 store.checkpoint(study, seen[k]), store): k for k in todo}
            todo = []
            for future in as_completed(futures):
                k = futures[future]
                try:
                    outcome = future.result()
                except BaseException as exc:  # noqa: BLE001 (the worker died, not the cell)
                    if attempts[k] < retries:
                        attempts[k] += 1
                        todo.append(k)
                        log(f"{study} {k}: worker lost ({type(exc).__name__}); retrying "
                            f"({attempts[k]}/{retries})")
                        continue
                    outcome = ("error", f"worker lost: {type(exc).__name__}: {exc}")
                finish(k, outcome)
    result = SweepResult(study, store.path, [cells[k] for k in keys],
                         time.perf_counter() - started)
    return result


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class _Progress:
    """One plain line per finished cell: count, percentage, ETA, key, status, varying values."""

    def __init__(self, study, total, reused, to_compute, axes, log):
        self.study, self.total, self.finished, self.log = study, total, reused, log
        self.to_compute, self.computed, self.axes = to_compute, 0, axes
        self.start = time.perf_counter()

    def done(self, cell):
        self.finished += 1
        self.computed += 1
        elapsed = time.perf_counter() - self.start
        left = self.to_compute - self.computed
        eta = f"ETA {_duration(elapsed / self.computed * left)}" if left else "done"
        values = " ".join(f"{a}={_short(cell.config[a])}" for a in self.axes
                          if a in cell.config)        # a study may mix kinds of cells
        if cell.status == "failed":
            detail = "FAILED: " + (cell.error or "").strip().splitlines()[-1][:80]
        else:
            detail = f"{cell.seconds:.1f} s  {(cell.summary or {}).get('headline', '')}"
        self.log(f"[{self.finished:>{len(str(self.total))}}/{self.total} "
                 f"{100 * self.finished // self.total:3d} % {eta}] {self.study}-{cell.key} "
                 f"{values}  {detail}".rstrip())


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"

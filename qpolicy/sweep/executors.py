"""Where sweep cells run: in-process, a local pool of spawned single-BLAS-thread workers, or any
``concurrent.futures.Executor`` — in particular a Dask cluster.

* ``jobs=1`` (and no scheduler): a plain loop in this process.
* ``jobs=N``: :func:`local_pool` — ``N`` fresh ("spawn") processes whose BLAS is single-threaded.
  Forked workers inherit the parent's multithreaded BLAS, and two of them on a 2-core machine ran
  the Fig. 5 entangled chain 3× slower (measured 4 700–5 300 vs 16 000 env-steps/s).
* ``scheduler="tcp://host:8786"`` or a ``dask.distributed.Client``: the client's
  ``get_executor()`` (Dask's nannies start workers with single-threaded BLAS by default).  Dask runs
  on Slurm, PBS, Kubernetes and clouds through its deployment packages (dask-jobqueue,
  dask-kubernetes, ...); install the extra: ``pip install qpolicy[cluster]``.
* any other ``concurrent.futures.Executor`` (Ray's, submitit's, a ``ThreadPoolExecutor``) plugs
  in unchanged: pass it as ``executor``.  Its workers must be able to import qpolicy; results
  travel back to the driver, which writes them (checkpoints of interrupted cells are written
  by the workers into the store folder, so resuming them needs a folder shared with the workers).
"""
import contextlib
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor

#: Thread-count variables set to 1 in worker processes.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def single_threaded_blas_environment():
    """Set :data:`BLAS_THREAD_VARIABLES` to 1 for processes started inside the block; the
    parent's environment is restored afterwards (its own BLAS, already loaded, is unaffected)."""
    saved = {var: os.environ.get(var) for var in BLAS_THREAD_VARIABLES}
    os.environ.update({var: "1" for var in BLAS_THREAD_VARIABLES})
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


@contextlib.contextmanager
def local_pool(jobs):
    """A ``ProcessPoolExecutor`` of ``jobs`` spawned workers with single-threaded BLAS."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    # Workers are started lazily as tasks are submitted, so the environment is held for the
    # pool's whole life.
    with single_threaded_blas_environment():
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool


class InProcess(Executor):
    """A sequential executor: ``submit`` runs the call at once in this process."""

    def submit(self, fn, /, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` now; a future holding its result or its exception."""
        from concurrent.futures import Future
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 (delivered through the future)
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def executor_for(jobs=None, scheduler=None, executor=None):
    """The executor a sweep runs on (see the module docstring), as a context manager.

    At most one of ``scheduler`` and ``executor`` may be given; ``jobs`` (default: the number of
    CPUs) sizes the local pool and is ignored for a cluster.
    """
    if executor is not None and scheduler is not None:
        raise ValueError("give either executor or scheduler, not both")
    if executor is not None:
        if not isinstance(executor, Executor):
            raise TypeError(f"executor must be a concurrent.futures.Executor, "
                            f"got {type(executor).__name__}")
        yield executor
        return
    if scheduler is not None:
        with _dask_executor(scheduler) as ex:
            yield ex
        return
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if jobs == 1:
        yield InProcess()
        return
    with local_pool(jobs) as pool:
        yield pool


@contextlib.contextmanager
def _dask_executor(scheduler):
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("scheduler needs Dask: pip install 'qpolicy[cluster]' "
                          "(dask and distributed)") from None
    if isinstance(scheduler, Client):
        yield scheduler.get_executor(pure=False)
        return
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address such as 'tcp://host:8786' or a "
                        f"distributed.Client, got {type(scheduler).__name__}")
    client = Client(scheduler)
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()


def add_executor_arguments(parser, jobs=1, what="cells"):
    """Add where a study runs to an ``argparse`` parser — one definition for ``qpolicy sweep``
    and every analysis script: ``--jobs N`` local workers or ``--scheduler ADDR`` (a Dask
    scheduler; exclusive), and ``--no-recompute`` (refuse, naming what differs, instead of
    computing missing or stale ``what``).  ``jobs`` is the default (None: one per CPU)."""
    where = parser.add_mutually_exclusive_group()
    default = ("one per CPU; 1: this process" if jobs is None else
               f"{jobs}: this process" if jobs == 1 else str(jobs))
    where.add_argument("--jobs", type=int, default=jobs,
                       help=f"local worker processes (default {default})")
    where.add_argument("--scheduler", metavar="ADDR", default=None,
                       help="a Dask scheduler, e.g. tcp://host:8786 (pip install "
                            "'qpolicy[cluster]'; the output folder shared with the workers)")
    parser.add_argument("--no-recompute", action="store_true",
                        help=f"refuse (naming what differs) instead of computing missing or "
                             f"stale {what}")

"""Content-keyed, resumable sweeps of independent runs, on a local pool or a Dask cluster.

A study is a grid of configurations (JSON-able dicts) and a cell function
``function(config, checkpoint) -> (summary, arrays)``; :func:`run` computes the cells that are not
already stored (with this configuration *and* this code) in a :class:`Store` folder, on a local
pool of spawned single-BLAS-thread workers (``jobs=N``), on a Dask cluster
(``scheduler="tcp://host:8786"`` or a ``distributed.Client``) or on any
``concurrent.futures.Executor``.  See :mod:`qpolicy.sweep.store` (keys, provenance, atomic
files), :mod:`qpolicy.sweep.executors` and :mod:`qpolicy.sweep.runner`.
"""
from qpolicy.sweep.executors import (  # noqa: F401
    BLAS_THREAD_VARIABLES, add_executor_arguments, executor_for, local_pool,
    single_threaded_blas_environment)
from qpolicy.sweep.runner import CellResult, SweepResult, run, varying_axes  # noqa: F401
from qpolicy.sweep.store import (  # noqa: F401
    StaleResultError, Store, StoredResult, config_key, content_key, source_hash)
from qpolicy.sweep.status import status  # noqa: F401

"""One BLAS thread inside the learning kernels, so results do not depend on the thread count.

A multi-threaded BLAS splits long reductions (``phi.T @ phi`` over a batch of 10⁵ rows, the
normal equations of :class:`~qpolicy.learn.critics.LSTDCritic` and
:func:`~qpolicy.learn.critics.input_baseline`) into per-thread partial sums, so the rounding — and,
after a few PPO updates, the whole trajectory — depends on ``OPENBLAS_NUM_THREADS``.  With one
BLAS thread the order of every sum is fixed.  It is also the fast choice here: the matrices are
small (k ≤ 100 features) and BLAS threads oversubscribe the cores of a busy machine (the README's
MAPPO example spent 3.7× the CPU time on its first update with 2 OpenBLAS threads on a shared
2-core VM; ``benchmarks/RESULTS.md``, "Issue 12").

:func:`single_blas_thread` uses threadpoolctl (the standard tool, pure Python; also what
scikit-learn uses), with one controller built on first use (~7 µs per entry afterwards).
"""
import functools

from threadpoolctl import ThreadpoolController

_controller = None


def single_blas_thread():
    """Context manager limiting every loaded BLAS library to one thread (restored on exit)."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def one_blas_thread(function):
    """Decorator: run ``function`` under :func:`single_blas_thread`."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with single_blas_thread():
            return function(*args, **kwargs)
    return wrapper

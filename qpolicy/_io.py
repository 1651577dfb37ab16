"""Output hygiene shared by the command-line tools (no qpolicy imports: usable from any layer).

Solvers write to the process's file descriptor 1 from C/C++ (HiGHS prints a licence banner on
first use) or through Python logging/warnings (cvxpy's "Solution may be inaccurate"), bypassing
``sys.stdout``.  A command whose stdout must stay machine-readable (``--json``) runs its
computation inside :func:`solver_output_to_stderr`.
"""
import contextlib
import os
import sys
import warnings

__all__ = ["solver_output_to_stderr"]


@contextlib.contextmanager
def solver_output_to_stderr():
    """Redirect file descriptor 1 (and ``sys.stdout``) to stderr while the block runs, and
    silence cvxpy's "Solution may be inaccurate" warning (qpolicy accepts an inaccurate solve
    only when its certificate holds, and results carry the solver status instead).

    Works at the descriptor level, so output written by compiled solver code goes to stderr as
    well; restored on exit, also after an exception.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)

"""Output hygiene shared by the library and its tools (no qpolicy imports: usable from any layer).

Solvers write to the process's file descriptor 1 from C/C++ (HiGHS prints a licence banner on
first use) or through Python logging/warnings (cvxpy's "Solution may be inaccurate"), bypassing
``sys.stdout``.  A command whose stdout must stay machine-readable (``--json``) runs its
computation inside :func:`solver_output_to_stderr`.
"""
import contextlib
import os
import sys
import warnings

__all__ = ["solver_output_to_stderr", "atomic_write"]


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


def atomic_write(path, write):
    """Write ``path`` through ``write(binary file)``: a uniquely named sibling temporary file,
    fsync, rename — a crash or a concurrent writer never leaves half a file.

    The file gets the mode any new file gets under the process umask (``0o666 & ~umask``, like
    ``open``); ``tempfile.mkstemp`` would force 0o600 on results that are meant to be shared.
    """
    path = os.path.abspath(os.fspath(path))
    tmp = f"{path}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise

"""Input validation shared by the whole package.

Every public function validates its arguments with these helpers, so a bad input always gives a
``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, wrong value) whose message
names the argument and what is wrong.  Nothing is silently coerced.
"""
import numbers

import numpy as np
from autograd.tracer import getval

#: Default absolute tolerance for "sums to one" and "is Hermitian / PSD" checks.
ATOL = 1e-8


def as_array(x, name, *, ndim=None, min_ndim=None, complex_ok=True, allow_traced=False):
    """Return ``x`` as a finite float/complex ndarray, or raise naming ``name``.

    Accepts ndarrays and nested sequences of numbers; rejects strings, objects and booleans.
    ``allow_traced``: accept an autograd ArrayBox (validated on its value, returned unchanged).
    """
    value = getval(x) if allow_traced else x
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists
        raise TypeError(f"{name} must be an array of numbers ({exc})") from None
    if arr.dtype == bool or arr.dtype.kind not in "iufc":
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "c" and not complex_ok:
        raise TypeError(f"{name} must be real, got a complex array")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    if allow_traced and x is not value:
        return x
    return arr.astype(np.complex128 if arr.dtype.kind == "c" else np.float64, copy=False)


def as_square_matrices(x, name, min_ndim=2, **kwargs):
    """Array of shape ``(..., d, d)`` with d ≥ 1."""
    arr = as_array(x, name, min_ndim=max(min_ndim, 2), **kwargs)
    shape = np.shape(getval(arr))
    if shape[-1] != shape[-2] or shape[-1] == 0:
        raise ValueError(f"{name} must be square in its last two axes, got shape {shape}")
    return arr


def check_hermitian(arr, name, atol=ATOL):
    """Raise unless every matrix in ``arr`` (..., d, d) is Hermitian within ``atol``."""
    gap = np.max(np.abs(arr - np.conj(np.swapaxes(arr, -1, -2))), initial=0.0)
    if gap > atol:
        raise ValueError(f"{name} must be Hermitian; max |A - A^H| = {gap:.3g} > {atol:g}")


def check_probabilities(p, name, axis=-1, atol=ATOL):
    """Raise unless ``p`` is non-negative and sums to one along ``axis`` (each slice)."""
    p = as_array(p, name, complex_ok=False)
    if p.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.min(p) < -atol:
        raise ValueError(f"{name} must be non-negative, has entry {np.min(p):.3g}")
    sums = p.sum(axis=axis)
    worst = np.max(np.abs(sums - 1.0))
    if worst > atol:
        raise ValueError(f"{name} must sum to 1 along axis {axis}, a sum is off by {worst:.3g}")
    return p


def as_index_array(x, name, sizes):
    """Integer array ``(batch, n)`` with ``0 ≤ x[:, i] < sizes[i]`` (questions or answers of n players)."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an integer array of shape (batch, {len(sizes)}), "
                        f"got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == bool or arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != len(sizes):
        raise ValueError(f"{name} must have shape (batch, {len(sizes)}), got {arr.shape}")
    if arr.size and (np.any(arr < 0) or np.any(arr >= np.asarray(sizes))):
        raise ValueError(f"{name}[:, i] must lie in 0..{tuple(s - 1 for s in sizes)}")
    return arr


def check_int(x, name, minimum=None):
    """A Python/NumPy integer (not bool) at least ``minimum``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}")
    if minimum is not None and x < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {x}")
    return int(x)


def check_positive(x, name):
    """A finite real number > 0."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    if not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {x}")
    return float(x)


def as_generator(rng, name="rng"):
    """A ``numpy.random.Generator`` from a Generator or an integer seed (never global state)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy.random.Generator or an integer seed, "
                    f"got {type(rng).__name__}")

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

#: Largest array (number of entries) a public function builds or accepts: 2**28 entries, i.e.
#: 4 GiB of complex128.  Functions whose output size follows from an integer argument
#: (``maximally_entangled(d)``, ``Referee.ask(n)``, ...) estimate it with :func:`check_size`
#: before allocating and refuse with the size in the message.
MAX_ARRAY_ELEMENTS = 2 ** 28


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
    if arr.size > MAX_ARRAY_ELEMENTS:
        raise ValueError(f"{name} has {arr.size} entries, more than the limit "
                         f"{MAX_ARRAY_ELEMENTS} (qpolicy.validation.MAX_ARRAY_ELEMENTS)")
    if not (allow_traced and x is not value):
        # float16/float32/longdouble (and their complex kinds) are computed in double precision:
        # convert first, then check, so a longdouble beyond the double range is reported as such.
        with np.errstate(over="ignore"):
            arr = arr.astype(np.complex128 if arr.dtype.kind == "c" else np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries (or entries beyond the "
                         f"double-precision range)")
    if allow_traced and x is not value:
        return x
    return arr


def as_square_matrices(x, name, min_ndim=2, **kwargs):
    """Array of shape ``(..., d, d)`` with d ≥ 1."""
    arr = as_array(x, name, min_ndim=max(min_ndim, 2), **kwargs)
    shape = np.shape(getval(arr))
    if shape[-1] != shape[-2] or shape[-1] == 0:
        raise ValueError(f"{name} must be square in its last two axes, got shape {shape}")
    return arr


def check_hermitian(arr, name, atol=ATOL):
    """Raise unless every matrix in ``arr`` (..., d, d) is Hermitian within ``atol``."""
    atol = check_tolerance(atol)
    gap = np.max(np.abs(arr - np.conj(np.swapaxes(arr, -1, -2))), initial=0.0)
    if gap > atol:
        raise ValueError(f"{name} must be Hermitian; max |A - A^H| = {gap:.3g} > {atol:g}")


def check_probabilities(p, name, axis=-1, atol=ATOL):
    """Raise unless ``p`` is non-negative and sums to one along ``axis`` (each slice)."""
    atol = check_tolerance(atol)
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


def check_int(x, name, minimum=None, maximum=None):
    """A Python/NumPy integer (not bool) in ``[minimum, maximum]`` (either end optional)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}")
    if minimum is not None and x < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {x}")
    if maximum is not None and x > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {x}")
    return int(x)


def check_positive(x, name):
    """A finite real number > 0."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    if not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {x}")
    return float(x)


def as_generator(rng, name="rng"):
    """A ``numpy.random.Generator`` from a Generator or an integer seed (never global state)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        return np.random.default_rng(check_seed(rng, name))
    raise TypeError(f"{name} must be a numpy.random.Generator or an integer seed, "
                    f"got {type(rng).__name__}")


# --- scalars, flags, seeds, sizes: one layer for every public argument ---------------------------

def check_real_scalar(x, name, lo=None, hi=None, *, lo_open=False, hi_open=False):
    """A real number (Python or NumPy int/float of any width; not bool, str or array) in the
    interval from ``lo`` to ``hi``: closed ends by default, ``lo_open``/``hi_open`` exclude an
    end, ``None`` leaves it unbounded.  NaN is always rejected; ±inf only if outside the bounds
    (use :func:`check_finite_real` to reject it always).  Returns a Python float.

    >>> check_real_scalar(0.95, "confidence", 0, 1, lo_open=True, hi_open=True)
    0.95
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    value = float(x)
    if np.isnan(value):
        raise ValueError(f"{name} must be a number, got NaN")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ValueError(f"{name} must be {_interval(lo, hi, lo_open, hi_open)}, got {value:g}")
    if hi is not None and (value >= hi if hi_open else value > hi):
        raise ValueError(f"{name} must be {_interval(lo, hi, lo_open, hi_open)}, got {value:g}")
    return value


def _interval(lo, hi, lo_open, hi_open):
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def check_finite_real(x, name, lo=None, hi=None, *, lo_open=False, hi_open=False):
    """:func:`check_real_scalar` that also rejects ±inf (a finite float)."""
    value = check_real_scalar(x, name, lo, hi, lo_open=lo_open, hi_open=hi_open)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_tolerance(x, name="atol"):
    """A tolerance: a finite real number ≥ 0 (NaN would make every ``gap > atol`` test pass)."""
    return check_finite_real(x, name, lo=0.0)


def check_bool(x, name):
    """``True``/``False`` (Python or NumPy bool) only: ``"no"``, 0 or 1 are not flags."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {x!r}")
    return bool(x)


def check_seed(seed, name="seed", *, allow_generator=False):
    """A seed: an integer in ``[0, 2**64)`` (NumPy's range), or — with ``allow_generator`` — a
    ``numpy.random.Generator`` (returned unchanged).  ``None`` (OS entropy) is never a seed."""
    if allow_generator and isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        kinds = "a numpy.random.Generator or an integer seed" if allow_generator else "an integer"
        raise TypeError(f"{name} must be {kinds}, got {type(seed).__name__}")
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{name} must be a non-negative integer below 2**64, got {seed}")
    return int(seed)


def check_choice(x, name, choices):
    """One of ``choices`` (compared with ``==``; strings are not matched case-insensitively)."""
    if isinstance(x, np.ndarray) or not any(type(x) is type(c) and x == c for c in choices):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {x!r}")
    return x


def check_size(n_elements, name, what="array", limit=MAX_ARRAY_ELEMENTS, itemsize=16):
    """Refuse, before anything is allocated, an ``n_elements``-entry ``what`` built from the
    argument ``name``: ``ValueError`` stating the size (entries and bytes at ``itemsize``).
    ``n_elements`` is a Python int (exact: compute it with ints, not floats, so nothing wraps)."""
    n_elements = int(n_elements)
    if n_elements > limit:
        raise ValueError(f"{name} is too large: the {what} would have {_approx(n_elements)} "
                         f"entries ({_approx(n_elements * itemsize // 2 ** 30)} GiB), the limit "
                         f"is {limit} (qpolicy.validation.MAX_ARRAY_ELEMENTS)")
    return n_elements


def _approx(n):
    """3 significant digits of a non-negative int of any size (floats overflow past 1e308)."""
    if n.bit_length() < 1000:
        return f"{float(n):.3g}"
    shift = n.bit_length() - 60
    exponent = np.log10(float(n >> shift)) + shift * np.log10(2.0)
    return f"{10 ** (exponent % 1):.2f}e+{int(exponent)}"


def check_nonempty(arr, name):
    """Raise ``ValueError`` if ``arr`` has an axis of length 0 (so no reduction meets an empty
    array later with NumPy's own error)."""
    shape = np.shape(getval(arr))
    if 0 in shape:
        raise ValueError(f"{name} must not have an empty axis, got shape {shape}")
    return arr

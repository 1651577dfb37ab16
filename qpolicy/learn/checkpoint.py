"""Atomic checkpoints: a (nested) dict of arrays and scalars in one ``.npz`` file.

A long run saves its full state now and then; if the machine stops mid-write the previous
checkpoint must survive intact.  So :func:`save_checkpoint` writes to a temporary file in the same
folder, flushes it to disk, and renames it over the target with :func:`os.replace` — atomic on
POSIX and Windows.  Nested dicts (e.g. an optimizer state ``{"m": {...}, "v": {...}}``) are
flattened to ``"outer/inner"`` keys and rebuilt by :func:`load_checkpoint`; 0-d entries come back
as Python scalars (``int``, ``float``, ``bool``, ``str``), everything else as ndarrays, bit for bit.
Files are read with ``allow_pickle=False``: a checkpoint can never execute code.

Example
-------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
>>> save_checkpoint(path, step=3, params={"x": np.arange(2.0)}, game="chsh")
>>> ck = load_checkpoint(path)
>>> ck["step"], ck["params"]["x"], ck["game"]
(3, array([0., 1.]), 'chsh')
"""
import os
import tempfile
import zipfile

import numpy as np

SEPARATOR = "/"


def save_checkpoint(path, **entries):
    """Write ``entries`` (arrays, scalars, strings, nested dicts of them) to ``path`` atomically."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"path must end with '.npz', got {path!r}")
    if not entries:
        raise ValueError("save_checkpoint needs at least one entry to save")
    flat = {}
    _flatten(entries, "", flat)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **flat)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint`; returns the nested dict."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            flat = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path!r} is not a readable checkpoint (.npz): {exc}") from None
    nested = {}
    for key, arr in flat.items():
        *outer, leaf = key.split(SEPARATOR)
        node = nested
        for part in outer:
            node = node.setdefault(part, {})
        node[leaf] = arr.item() if arr.ndim == 0 else arr
    return nested


def _flatten(entries, prefix, flat):
    for name, value in entries.items():
        if not isinstance(name, str) or not name or SEPARATOR in name:
            raise ValueError(f"checkpoint key {prefix + str(name)!r} must be a non-empty string "
                             f"without {SEPARATOR!r}")
        key = prefix + name
        if isinstance(value, dict):
            if not value:
                raise ValueError(f"checkpoint entry {key!r} is an empty dict, which cannot be stored")
            _flatten(value, key + SEPARATOR, flat)
            continue
        arr = np.asarray(value) if value is not None else None
        if arr is None or arr.dtype == object:
            raise TypeError(f"checkpoint entry {key!r} must be an array, number or string, "
                            f"got {type(value).__name__}")
        flat[key] = arr

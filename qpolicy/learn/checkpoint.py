"""Atomic checkpoints: a (nested) dict of arrays and scalars in one ``.npz`` file.

A long run saves its full state now and then; if the machine stops mid-write the previous
checkpoint must survive intact.  So :func:`save_checkpoint` writes to a temporary file in the same
folder, flushes it to disk, and renames it over the target with :func:`os.replace` — atomic on
POSIX and Windows.  A temporary left by a killed process is removed by the next save.  Nested dicts (e.g. an optimizer state ``{"m": {...}, "v": {...}}``) are
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
import re
import secrets
import time
import zipfile

import numpy as np

SEPARATOR = "/"

#: Why a file that NumPy could only read by unpickling it is refused.
NOT_NPZ = ("it is not a .npz archive of plain arrays (reading it would mean unpickling Python "
           "objects, which qpolicy never does)")


def save_checkpoint(path, **entries):
    """Write ``entries`` (arrays, scalars, strings, nested dicts of them) to ``path`` atomically.

    The file gets the permissions a new file gets under the process umask (like ``open``).  The
    temporary file is named ``<name>.tmp-<pid>-<random>``; one left behind by a killed process
    (its pid no longer running) is removed by the next save to the same path."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"path must end with '.npz', got {path!r}")
    if not entries:
        raise ValueError("save_checkpoint needs at least one entry to save")
    flat = {}
    _flatten(entries, "", flat)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_orphaned_temporaries(path)
    tmp = f"{os.path.abspath(path)}{TEMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}"
    # mode 0o666 & ~umask, as for any new file (mkstemp would force 0o600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
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


#: Temporary files of a save to ``x.npz`` are ``x.npz.tmp-<pid>-<hex>``.
TEMP_MARKER = ".tmp-"


def remove_orphaned_temporaries(path):
    """Delete temporaries of earlier saves to ``path`` whose writing process no longer runs (a
    ``kill -9`` mid-save); returns the removed paths.  Live writers' files are left alone."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    legacy = re.compile(re.escape(name) + r"\.[a-z0-9_]{8}\.tmp")
    removed = []
    for entry in os.listdir(folder):
        full = os.path.join(folder, entry)
        if entry.startswith(name + TEMP_MARKER):
            pid = entry[len(name + TEMP_MARKER):].split("-")[0]
            orphaned = pid.isdigit() and not _running(int(pid))
        else:   # tempfile.mkstemp names of earlier versions: no pid, so only when long stale
            orphaned = legacy.fullmatch(entry) is not None and _age(full) > LEGACY_STALE_SECONDS
        if orphaned:
            try:
                os.remove(full)
                removed.append(full)
            except FileNotFoundError:      # another process cleaned it first
                pass
    return removed


#: A temporary of an earlier qpolicy version (no pid in its name) untouched this long is orphaned.
LEGACY_STALE_SECONDS = 3600.0


def _age(path):
    try:
        return time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0


def _running(pid):
    if pid == os.getpid():
        return False         # this process is not saving to this path right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True          # exists (another user's) or cannot tell: keep its file
    return True


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint`; returns the nested dict.  Temporaries
    of killed writers beside it are removed (as by the next save)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    try:
        remove_orphaned_temporaries(path)
    except OSError:             # a read-only folder: reading still works
        pass
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array (.npy), not a set of entries")
        with data:
            flat = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        reason = str(exc) or type(exc).__name__
        if "pickle" in reason or "Object arrays" in reason:
            reason = NOT_NPZ
        raise ValueError(f"{path!r} is not a readable checkpoint (.npz): {reason}") from None
    if not flat:
        raise ValueError(f"{path!r} is not a readable checkpoint (.npz): it has no entries")
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
        try:
            arr = np.asarray(value) if value is not None else None
        except ValueError:              # a ragged nested list
            arr = None
        if arr is None or arr.dtype == object:
            raise TypeError(f"checkpoint entry {key!r} must be an array, number or string, "
                            f"got {type(value).__name__}")
        if arr.dtype.kind in "US" and not isinstance(value, (str, bytes, np.ndarray, np.generic)):
            # NumPy turns [1, "a"] into strings; a checkpoint stores what it was given or refuses
            leaves = np.asarray(value, dtype=object).ravel()
            if not all(isinstance(v, (str, bytes, np.str_, np.bytes_)) for v in leaves):
                raise TypeError(f"checkpoint entry {key!r} mixes strings and other values; it "
                                f"would be stored as strings (store them separately)")
        flat[key] = arr

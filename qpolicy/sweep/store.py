"""A content-keyed result store: one finished cell = one ``.npz`` (+ a ``.json`` copy beside it).

A *cell* is a pure function of its configuration (a JSON-able dict).  Its files are named by the
**configuration key** ``<study>-<sha256(study, configuration)[:16]>``, so different seeds or
settings never collide; inside, the provenance records the full configuration, the seed, the
qpolicy version and the **source hash** (sha256 of every ``.py`` file of the qpolicy package),
and the **content key** = sha256(configuration key, version, source hash).

A stored result is reused only when all of these match the current request and code; otherwise
it is recomputed (or, with ``no_recompute``, refused by :class:`StaleResultError`, whose message
names what differs).  The ``.npz`` is authoritative: it holds the arrays *and* the provenance
JSON (entry ``__sweep__``), is written to a uniquely named temporary file in the same folder and
renamed over the target (atomic on POSIX and Windows), and is read back with
``allow_pickle=False`` and zip CRC checks, so a truncated or corrupt file is detected and
recomputed, never loaded.  Two sweeps writing the same folder at once each rename a complete file
into place: the last one wins and either is correct.  The ``.json`` beside it is for readers
(and :func:`status`); editing it by hand changes nothing.

Besides results the folder holds, per cell, ``<stem>.running.json`` (a worker is computing it:
host, pid, start time), ``<stem>.failed.json`` (the last failure and its traceback) and
``checkpoints/<stem>-<content key>.npz`` (an interrupted run's checkpoint, resumed only by the
same content key, i.e. the same configuration and code; a cell made of several runs may add
files ``<that path without .npz>.<name>.npz``, removed with it).

Example
-------
>>> import tempfile, numpy as np
>>> store = Store(tempfile.mkdtemp())
>>> key = store.write("demo", {"seed": 1}, {"mean": 0.5}, {"x": np.arange(3.0)}, seconds=0.1)
>>> result = store.load("demo", {"seed": 1})
>>> result.summary["mean"], result.arrays()["x"]
(0.5, array([0., 1., 2.]))
>>> store.load("demo", {"seed": 2}) is None                   # never computed
True
"""
import dataclasses
import hashlib
import json
import math
import os
import socket
import time
import zipfile

import numpy as np

from qpolicy._io import atomic_write

#: Entry of the ``.npz`` holding the provenance JSON.
PROVENANCE_ENTRY = "__sweep__"

_SOURCE_HASH = {}


def source_hash(package_dir=None):
    """sha256 of the qpolicy package source: every ``.py`` file under it, by relative path.

    Any edit of any module changes it (a conservative notion of "the code changed").
    """
    if package_dir is None:
        import qpolicy
        package_dir = os.path.dirname(os.path.abspath(qpolicy.__file__))
    if package_dir not in _SOURCE_HASH:
        digest = hashlib.sha256()
        for root, dirs, files in os.walk(package_dir):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(root, name)
                digest.update(os.path.relpath(path, package_dir).replace(os.sep, "/").encode())
                digest.update(b"\0")
                with open(path, "rb") as fh:
                    digest.update(fh.read())
                digest.update(b"\0")
        _SOURCE_HASH[package_dir] = digest.hexdigest()
    return _SOURCE_HASH[package_dir]


def canonical_json(value, name="configuration"):
    """Deterministic JSON text of ``value`` (sorted keys, no spaces); only plain JSON types.

    Raises ``TypeError`` naming ``name`` for values JSON cannot hold exactly (numpy scalars,
    tuples are allowed as lists) and ``ValueError`` for non-finite floats.
    """
    _check_jsonable(value, name)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _check_jsonable(value, name):
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{name} keys must be strings, got {k!r}")
            _check_jsonable(v, f"{name}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_jsonable(v, f"{name}[{i}]")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    elif value is not None and not isinstance(value, (str, int, bool)):
        raise TypeError(f"{name} must be a JSON value (dict, list, str, int, float, bool, None), "
                        f"got {type(value).__name__}")


def config_key(study, config):
    """Key of a configuration: sha256 of the study name and the canonical configuration JSON."""
    if not isinstance(study, str) or not study or not study.replace("_", "").isalnum():
        raise ValueError(f"study must be a non-empty name of letters, digits and '_', "
                         f"got {study!r}")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    text = study + "\n" + canonical_json(config, "config")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def content_key(cfg_key, version, source):
    """The content key: configuration key + qpolicy version + source hash."""
    return hashlib.sha256(f"{cfg_key}\n{version}\n{source}".encode()).hexdigest()[:16]


class StaleResultError(RuntimeError):
    """A stored result does not match the request or the code, and recomputing is not allowed."""


@dataclasses.dataclass(frozen=True)
class StoredResult:
    """A verified stored cell: ``provenance`` (dict), ``summary`` (dict) and lazily its arrays."""
    path: str
    provenance: dict

    @property
    def summary(self):
        return self.provenance["summary"]

    @property
    def key(self):
        return self.provenance["config_key"]

    def arrays(self):
        """The stored arrays (dict name → ndarray), read with CRC checks."""
        with open(self.path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            return {k: data[k] for k in data.files if k != PROVENANCE_ENTRY}


class Store:
    """Results of sweep cells in folder ``path`` (see the module docstring).

    ``version`` and ``source``: the code identity recorded and required on reuse; default the
    running qpolicy's ``__version__`` and :func:`source_hash` (override them only to test or to
    deliberately pin a code identity).
    """

    def __init__(self, path, version=None, source=None):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a folder path, got {type(path).__name__}")
        self.path = os.fspath(path)
        if version is None:
            import qpolicy
            version = qpolicy.__version__
        self.version = version
        self.source = source_hash() if source is None else source
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"source must be a non-empty string, got {self.source!r}")

    # -- names ------------------------------------------------------------------------------------
    def stem(self, study, config):
        return f"{study}-{config_key(study, config)}"

    def file(self, study, config, suffix):
        return os.path.join(self.path, self.stem(study, config) + suffix)

    def checkpoint(self, study, config):
        """Checkpoint path of a cell for the current code:
        ``checkpoints/<stem>-<content key>.npz``."""
        key = config_key(study, config)
        return os.path.join(self.path, "checkpoints",
                            f"{study}-{key}-{content_key(key, self.version, self.source)}.npz")

    def remove_checkpoint(self, study, config):
        """Remove a cell's checkpoint and the ``<checkpoint stem>.<name>.npz`` files beside it."""
        path = self.checkpoint(study, config)
        folder = os.path.dirname(path)
        prefix = os.path.basename(path)[:-len(".npz")] + "."
        _remove(path)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name.startswith(prefix) and name.endswith(".npz"):
                    _remove(os.path.join(folder, name))

    def provenance(self, study, config, summary=None, seconds=None):
        key = config_key(study, config)
        return {"study": study, "config": config, "seed": config.get("seed"),
                "config_key": key, "content_key": content_key(key, self.version, self.source),
                "qpolicy_version": self.version, "source_hash": self.source,
                "summary": summary, "seconds": seconds, "host": socket.gethostname(),
                "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    # -- write ------------------------------------------------------------------------------------
    def write(self, study, config, summary, arrays, seconds=None):
        """Store a finished cell atomically; returns its configuration key."""
        if not isinstance(summary, dict):
            raise TypeError(f"summary must be a dict, got {type(summary).__name__}")
        if not isinstance(arrays, dict):
            raise TypeError(f"arrays must be a dict of arrays, got {type(arrays).__name__}")
        if PROVENANCE_ENTRY in arrays:
            raise ValueError(f"arrays must not contain the reserved name {PROVENANCE_ENTRY!r}")
        prov = self.provenance(study, config, summary, seconds)
        text = json.dumps(prov, sort_keys=True, allow_nan=True)
        entries = {k: np.asarray(v) for k, v in arrays.items()}
        for k, v in entries.items():
            if v.dtype == object:
                raise TypeError(f"arrays[{k!r}] must be a numeric or string array, not objects")
        entries[PROVENANCE_ENTRY] = np.array(text)
        os.makedirs(self.path, exist_ok=True)
        stem = self.stem(study, config)
        atomic_write(os.path.join(self.path, stem + ".npz"),
                      lambda fh: np.savez(fh, **entries))
        atomic_write(os.path.join(self.path, stem + ".json"),
                      lambda fh: fh.write(json.dumps(prov, indent=1, sort_keys=True).encode()))
        for suffix in (".failed.json",):
            _remove(os.path.join(self.path, stem + suffix))
        return prov["config_key"]

    def mark_failed(self, study, config, error):
        prov = self.provenance(study, config)
        prov["error"] = error
        os.makedirs(self.path, exist_ok=True)
        atomic_write(self.file(study, config, ".failed.json"),
                      lambda fh: fh.write(json.dumps(prov, indent=1, sort_keys=True).encode()))

    # -- read -------------------------------------------------------------------------------------
    def read(self, path):
        """``(provenance, None)`` of a result file, or ``(None, reason)`` if it is unreadable."""
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
                if PROVENANCE_ENTRY not in data.files:
                    return None, "no provenance entry"
                for k in data.files:          # reading every entry checks its zip CRC
                    data[k]
                prov = json.loads(str(data[PROVENANCE_ENTRY][()]))
        except FileNotFoundError:
            return None, "missing"
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError,
                json.JSONDecodeError) as exc:
            return None, f"corrupt ({type(exc).__name__}: {exc})"
        return prov, None

    def differences(self, prov, study, config):
        """What differs between a stored provenance and the request + current code (list of str)."""
        diffs = []
        if prov.get("study") != study:
            diffs.append(f"study {prov.get('study')!r} ≠ {study!r}")
        stored_cfg = prov.get("config") or {}
        for k in sorted(set(stored_cfg) | set(config)):
            if canonical_json(stored_cfg.get(k), k) != canonical_json(config.get(k), k):
                diffs.append(f"{k}: stored {stored_cfg.get(k)!r}, requested {config.get(k)!r}")
        if prov.get("qpolicy_version") != self.version:
            diffs.append(f"qpolicy version: stored {prov.get('qpolicy_version')}, "
                         f"running {self.version}")
        if prov.get("source_hash") != self.source:
            diffs.append(f"source hash: stored {str(prov.get('source_hash'))[:12]}…, "
                         f"running {self.source[:12]}… (the code changed)")
        return diffs

    def load(self, study, config, no_recompute=False):
        """The stored result of a cell if it matches configuration and code exactly, else None.

        With ``no_recompute=True`` a missing, corrupt or mismatched result raises
        :class:`StaleResultError` naming the reason (for a missing one, the closest stored
        configuration of the same study and what differs).
        """
        path = self.file(study, config, ".npz")
        prov, problem = self.read(path)
        if prov is not None:
            diffs = self.differences(prov, study, config)
            if not diffs:
                return StoredResult(path, prov)
            problem = "stored result differs: " + "; ".join(diffs)
        if no_recompute:
            if problem == "missing":
                problem = "no stored result" + self._closest(study, config)
            raise StaleResultError(f"{study} cell {config_key(study, config)} "
                                   f"({canonical_json(config)}): {problem}; not recomputing "
                                   f"(no_recompute)")
        return None

    def _closest(self, study, config):
        best = None
        for path in self.results(study):
            prov, _ = self.read(path)
            if prov is None:
                continue
            diffs = self.differences(prov, study, config)
            if best is None or len(diffs) < len(best):
                best = diffs
        return "" if best is None else "; closest stored cell differs in: " + "; ".join(best)

    def results(self, study=None):
        """Paths of the result files in the folder (of one study, or all)."""
        if not os.path.isdir(self.path):
            return []
        prefix = f"{study}-" if study else ""
        return sorted(os.path.join(self.path, f) for f in os.listdir(self.path)
                      if f.endswith(".npz") and f.startswith(prefix))

    # -- running markers --------------------------------------------------------------------------
    def mark_running(self, study, config):
        marker = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                  "config_key": config_key(study, config), "config": config}
        try:
            os.makedirs(self.path, exist_ok=True)
            atomic_write(self.file(study, config, ".running.json"),
                          lambda fh: fh.write(json.dumps(marker).encode()))
        except OSError:       # a worker without the shared folder: status just won't show it
            pass

    def clear_running(self, study, config):
        _remove(self.file(study, config, ".running.json"))


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass

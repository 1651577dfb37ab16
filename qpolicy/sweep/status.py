"""What a sweep folder holds, per cell: done / stale / running / interrupted / failed / corrupt.

* **done**: a verified result written by the running code (same version and source hash);
* **stale**: a readable result written by other code — it will be recomputed, never reused;
* **running**: a worker has started the cell and its process is alive (or on another host);
* **interrupted**: started, but its process is gone (driver or worker killed); a re-run resumes
  it from its checkpoint when there is one;
* **failed**: its last attempt raised (the error's last line is shown; the full traceback is in
  ``<stem>.failed.json``);
* **corrupt**: a result file that cannot be read (it will be recomputed).
"""
import json
import os
import socket
import time

from qpolicy.sweep.store import Store


def status(out, store=None):
    """One dict per cell of folder ``out``: ``stem``, ``study``, ``status``, ``detail``."""
    store = Store(out) if store is None else store
    if not os.path.isdir(store.path):
        raise ValueError(f"out must be an existing sweep folder, {store.path!r} does not exist")
    files = os.listdir(store.path)
    suffixes = (".running.json", ".failed.json", ".npz")
    stems = sorted({f[:-len(s)] for f in files for s in suffixes if f.endswith(s)
                    and not f.endswith(".tmp")})
    checkpoints = os.listdir(os.path.join(store.path, "checkpoints")) \
        if os.path.isdir(os.path.join(store.path, "checkpoints")) else []
    rows = []
    for stem in stems:
        base = os.path.join(store.path, stem)
        study = stem.rsplit("-", 1)[0]
        checkpoint = [c for c in checkpoints if c.startswith(stem + "-")]
        row = {"stem": stem, "study": study, "status": None, "detail": ""}
        prov, problem = store.read(base + ".npz")
        diffs = None if prov is None else store.differences(prov, prov.get("study"),
                                                              prov.get("config") or {})
        if prov is not None and not diffs:
            row["status"] = "done"
            row["detail"] = ((prov.get("summary") or {}).get("headline", "")
                             + (f"  ({prov['seconds']:.1f} s)" if prov.get("seconds") is not None
                                else ""))
        elif os.path.exists(base + ".running.json"):
            marker = _read_json(base + ".running.json") or {}
            alive = _alive(marker)
            row["status"] = "running" if alive else "interrupted"
            row["detail"] = (f"{marker.get('host')} pid {marker.get('pid')}, started "
                             f"{_ago(marker.get('started'))} ago"
                             + (f"; checkpoint {checkpoint[0]}" if checkpoint else ""))
        elif os.path.exists(base + ".failed.json"):
            record = _read_json(base + ".failed.json") or {}
            row["status"] = "failed"
            row["detail"] = (record.get("error") or "").strip().splitlines()[-1:][0][:100] \
                if record.get("error") else ""
        elif prov is None:
            row["status"], row["detail"] = "corrupt", problem
        else:
            row["status"], row["detail"] = "stale", "; ".join(diffs)
        rows.append(row)
    return rows


def format_status(rows):
    """The rows of :func:`status` as plain text, with counts per status."""
    if not rows:
        return "no cells"
    width = max(len(r["stem"]) for r in rows)
    lines = [f"{r['stem']:<{width}}  {r['status']:<11}  {r['detail']}".rstrip() for r in rows]
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines.append(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "\n".join(lines)


def _read_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _alive(marker):
    if marker.get("host") != socket.gethostname():
        return True           # another machine: cannot tell, assume it is still working
    pid = marker.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ago(started):
    if not isinstance(started, (int, float)):
        return "?"
    seconds = int(time.time() - started)
    return f"{seconds // 60}m{seconds % 60:02d}s"

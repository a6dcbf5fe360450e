"""Plan an adoption: what each found file is, where it will live, which files hold the same bytes.

Identical content is found by size first, then hash (only files that share a size with another
file or with a library model are read).  Actions per file:

* ``move``: the one copy of its content; renamed into the library (same file system), hashed in place;
* ``copy``: the same on another file system: copied, verified, then the original removed;
* ``link_duplicate``: the same bytes as a ``move``/``copy`` file; verified again, then replaced by a link;
* ``link_existing``: the library already has these bytes; verified, then replaced by a link;
* ``refuse``: not adopted (not a readable model, or pickle content without ``accept_pickle``); stays;
* ``skip``: already a Pumas link (or the user's own symlink); stays.

Every original path becomes a link with the same folder key, sub-folder and file name.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blake3 as _blake3

from ..errors import PumasError
from ..ingest.formats import sniff
from ..ingest.records import category_for, folder_name_for
from ..naming import clean_name
from ..vocab import ModelType, SecurityTier, Stage, UnitKind
from .fsutil import Progress, blake3_of
from .scan import Candidate, ScanResult

if TYPE_CHECKING:
    from ..facade import Library

SAMPLE_BYTES = 16 << 20
COPY_FACTOR = 2.0  # copy + verify reads and writes about twice the bytes of a hash in place


def measure_throughput(paths: list[str], budget: int = SAMPLE_BYTES) -> float:
    """Bytes per second of reading + SHA-256 + BLAKE3 over (up to ``budget`` bytes of) these files.

    Returns a conservative 100 MB/s when there is nothing to sample.
    """
    sha, b3, done = hashlib.sha256(), _blake3.blake3(), 0
    t0 = time.perf_counter()
    for p in paths:
        try:
            with open(p, "rb") as f:
                while done < budget and (chunk := f.read(1 << 20)):
                    sha.update(chunk)
                    b3.update(chunk)
                    done += len(chunk)
        except OSError:
            continue
        if done >= budget:
            break
    elapsed = time.perf_counter() - t0
    return done / elapsed if done and elapsed > 0 else 100e6


def _describe(path: str, accept_pickle: bool) -> dict[str, Any]:
    """``{"model_type", "family", "official_name", "library_dir", "reason"?}`` from a bounded sniff."""
    from ..identify import identify_file

    try:
        fmt = sniff(Path(path))
    except PumasError as exc:
        return {"reason": str(exc)}
    except OSError as exc:
        return {"reason": f"{path}: {exc.strerror or exc}"}
    if fmt.security_tier == SecurityTier.PICKLE and not accept_pickle:
        return {"reason": f"{path}: {fmt.file_format} content can run code when loaded; pass --accept-pickle"}
    ident = identify_file(Path(path), fmt)
    mtype = ident.model_type or ModelType.UNKNOWN
    fam = clean_name(ident.family or "unknown").lower()
    name = os.path.basename(path)
    return {"model_type": mtype, "family": fam, "file_format": fmt.file_format,
            "library_dir": os.path.join(category_for(mtype), fam, folder_name_for(name, UnitKind.SINGLE_FILE)),
            "file_name": clean_name(name)}


def build_plan(scan: ScanResult, lib: Library, *, accept_pickle: bool = False,
               progress: Progress | None = None) -> dict[str, Any]:
    """Turn a scan into the plan (the dry-run document plus the groups apply needs).

    Returns ``{"files": [{"path", "folder_key", "size", "action", "library_path", ...}],
    "duplicates": [[path, ...]], "reclaimable_bytes", "estimated_seconds", "groups": [...],
    "skipped": [...], "totals": {...}, "installs": [...]}``.  A group is ``{"paths": [{"path",
    "folder_key", "subdir", "app_root", "size"}], "action": "move"|"copy"|"link_existing",
    "model_id"?: existing model, "blake3"?, "sha256"?}``; its first path is the one kept.

    Raises:
        OSError: the library root cannot be stat'ed (unreadable candidates are refused, not raised).
    """
    root = Path(lib.root)
    lib_dev = os.stat(root).st_dev
    entries: list[tuple[Candidate, dict[str, Any]]] = []
    refused: list[tuple[Candidate, dict[str, Any]]] = []
    for i, c in enumerate(scan.candidates):
        if progress:
            progress({"stage": Stage.SCANNING, "file": c.path, "index": i, "count": len(scan.candidates)})
        d = _describe(c.path, accept_pickle)
        (refused if "reason" in d else entries).append((c, d))
    by_size: dict[int, list[tuple[Candidate, dict[str, Any]]]] = {}
    for c, d in entries:
        by_size.setdefault(c.size, []).append((c, d))
    lib_sizes: dict[int, list[dict[str, Any]]] = {}
    for m in lib.list_models():
        if m.get("format") == UnitKind.SINGLE_FILE:
            lib_sizes.setdefault(int(m["files"][0]["size"]), []).append(m)
    groups: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for size, members in by_size.items():
        need_hash = len(members) > 1 or size in lib_sizes
        for c, d in members:
            key = f"path:{c.path}"
            hashes: dict[str, str] = {}
            if need_hash:
                b3 = blake3_of(c.path)
                key, hashes = f"b3:{b3}", {"blake3": b3}
            g = groups.get(key)
            if g is None:
                g = groups[key] = {"paths": [], "describe": d, **hashes}
                existing = lib.index.find_by_hash(blake3=hashes["blake3"]) if hashes else None
                if existing is not None:
                    g["model_id"] = existing["model_id"]
                    g["library_path"] = os.path.join(existing["path"], existing["files"][0]["name"])
                order.append(key)
            g["paths"].append({"path": c.path, "folder_key": c.folder_key, "subdir": c.subdir,
                               "app_root": c.app_root, "size": c.size})
    return _assemble(scan, root, lib_dev, [groups[k] for k in order], refused)


def _assemble(scan: ScanResult, root: Path, lib_dev: int, groups: list[dict[str, Any]],
              refused: list[tuple[Candidate, dict[str, Any]]]) -> dict[str, Any]:
    files: list[dict[str, Any]] = []
    dups: list[list[str]] = []
    plan_groups: list[dict[str, Any]] = []
    reclaim = hash_bytes = 0.0
    for g in groups:
        d = g.pop("describe")
        first = g["paths"][0]
        if "model_id" in g:
            action = "link_existing"
        else:
            action = "move" if os.stat(first["path"]).st_dev == lib_dev else "copy"
            g["library_path"] = str(root / d["library_dir"] / d["file_name"])
        g["action"] = action
        g["model_type"] = d.get("model_type")
        for j, p in enumerate(g["paths"]):
            a = action if j == 0 or action == "link_existing" else "link_duplicate"
            files.append({"path": p["path"], "folder_key": p["folder_key"], "size": p["size"], "action": a,
                          "library_path": g["library_path"], "model_type": d.get("model_type"),
                          "subdir": p["subdir"]})
            if a in ("link_duplicate", "link_existing"):
                reclaim += p["size"]
                hash_bytes += p["size"]
            else:
                hash_bytes += p["size"] * (COPY_FACTOR if a == "copy" else 1.0)
        if len(g["paths"]) > 1 or action == "link_existing":
            dups.append([p["path"] for p in g["paths"]] + ([g["library_path"]] if action == "link_existing" else []))
        plan_groups.append(g)
    for c, d in refused:
        files.append({"path": c.path, "folder_key": c.folder_key, "size": c.size, "action": "refuse",
                      "library_path": None, "reason": d["reason"], "subdir": c.subdir})
    for s in scan.skipped:
        if s.get("action") == "skip":
            files.append({"path": s["path"], "folder_key": None, "size": 0, "action": "skip", "library_path": None,
                          "reason": s["reason"]})
    rate = measure_throughput([g["paths"][0]["path"] for g in plan_groups])
    adopted = [f for f in files if f["action"] not in ("refuse", "skip")]
    return {
        "files": files, "duplicates": dups, "reclaimable_bytes": int(reclaim),
        "estimated_seconds": round(hash_bytes / rate, 2), "throughput_bytes_per_second": int(rate),
        "totals": {"files": len(adopted), "bytes": sum(f["size"] for f in adopted), "models": len(plan_groups),
                   "duplicates": sum(len(d) - 1 for d in dups), "refused": len(refused),
                   "skipped": len([f for f in files if f["action"] == "skip"])},
        "skipped": [s for s in scan.skipped if s.get("action") != "skip"],
        "installs": [{"root": i["root"], "kind": i["kind"]} for i in scan.installs],
        "groups": plan_groups,
    }

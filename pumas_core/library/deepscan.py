"""Deep Scan: recreate ``models.db`` from the ``metadata.json`` files under the library root.

It never re-hashes: it reads each metadata file, checks that every listed file exists with
the recorded size (one ``stat`` each), indexes the good ones in batches, and reports
*phantom* models (metadata whose files are gone) without indexing them.  It never writes
metadata, so ``match_source: manual`` data is untouched by construction.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import CorruptFileError
from ..testhooks import phase
from .index import ModelIndex
from .metadata import METADATA_NAME, read_metadata

SKIP_DIRS = {".staging", ".trash", ".git", "__pycache__"}
BATCH = 2000


def iter_model_dirs(root: Path):
    """Yield (as ``str``) every folder below ``root`` that holds a ``metadata.json`` (not descending into it)."""
    stack = [str(root)]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError:
            continue
        if any(e.name == METADATA_NAME and e.is_file(follow_symlinks=False) for e in entries):
            yield d
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False) and e.name not in SKIP_DIRS:
                stack.append(e.path)


def missing_files(model_dir: Path, meta: Mapping[str, Any]) -> list[str]:
    """Names of the model's files that are absent or whose size differs from the metadata."""
    missing = []
    for f in meta["files"]:
        try:
            st = os.stat(os.path.join(model_dir, f["name"]))
        except OSError:
            missing.append(f["name"])
            continue
        if f.get("size") is not None and st.st_size != f["size"]:
            missing.append(f["name"])
    return missing


def rebuild(root: Path, index: ModelIndex, progress=None) -> dict:
    """Clear ``index`` and index every valid model folder under ``root``.

    Returns ``{"indexed": N, "phantoms": [{"model_id","path","missing"}], "errors": [{"path","error"}],
    "duplicates": [...], "seconds": s, "models_per_second": r}``.
    """
    t0 = time.perf_counter()
    index.clear()
    phase("rebuild.cleared")
    with index.bulk_load():
        result = _scan(root, index, progress)
    phase("rebuild.done")
    secs = time.perf_counter() - t0
    indexed = result["indexed"]
    return {**result, "seconds": round(secs, 4),
            "models_per_second": round(indexed / secs, 1) if secs > 0 else None}


def _scan(root: Path, index: ModelIndex, progress) -> dict:
    phantoms, errors, duplicates, batch = [], [], [], []
    seen: dict[str, Path] = {}
    indexed = 0
    for n, model_dir in enumerate(iter_model_dirs(root), 1):
        try:
            meta = read_metadata(model_dir)
        except (OSError, CorruptFileError) as exc:
            errors.append({"path": str(model_dir), "error": str(exc)})
            continue
        missing = missing_files(model_dir, meta)
        if missing:
            phantoms.append({"model_id": meta["model_id"], "path": str(model_dir), "missing": missing})
            continue
        if meta["model_id"] in seen:
            duplicates.append({"model_id": meta["model_id"], "path": str(model_dir), "kept": str(seen[meta["model_id"]])})
            continue
        seen[meta["model_id"]] = model_dir
        batch.append((meta, model_dir))
        if len(batch) >= BATCH:
            index.upsert_many(batch, fresh=True)
            phase("rebuild.batch")
            indexed += len(batch)
            batch = []
            if progress:
                progress({"stage": "scanning", "index": n})
    if batch:
        index.upsert_many(batch, fresh=True)
        indexed += len(batch)
    return {"indexed": indexed, "phantoms": phantoms, "errors": errors, "duplicates": duplicates}

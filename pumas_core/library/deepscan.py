"""Deep Scan: recreate ``models.db`` from the ``metadata.json`` files under the library root.

It never re-hashes: it reads each metadata file, checks that every listed file exists with
the recorded size (one ``stat`` each), indexes the good ones in batches, and reports
*phantom* models (metadata whose files are gone) without indexing them.  It never writes
metadata, so ``match_source: manual`` data is untouched by construction.

Its I/O is small random reads (one metadata file and a few ``stat`` calls per model folder), so it
follows the drive plan of :mod:`pumas_core.drives` like imports do: the folders found by the walk are
read in chunks of :data:`BATCH`, grouped by the device they are on; each group gets
``drive.workers`` readers (parallel on SSD/NVMe and network shares, where latency, not seeks, is the
cost; one sequential stream on a spinning disk, where a second reader only adds seeks), groups on
different drives run side by side, and results are indexed in walk order (so which of two folders
with one model id is kept does not depend on timing).  ``drive_overrides`` is the user's
``"drive_kind"`` setting.  ``bench/bench_deepscan.py`` compares the two plans.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from itertools import islice
from pathlib import Path
from typing import Any

from .. import drives
from ..errors import PumasError
from ..testhooks import phase
from ..vocab import Stage
from .index import ModelIndex
from .metadata import METADATA_NAME, read_metadata

SKIP_DIRS = {".staging", ".trash", ".git", "__pycache__"}
BATCH = 2000

Progress = Callable[[dict[str, Any]], None]
# one folder read: (model_dir, metadata or None, missing file names, error message or None)
Read = tuple[str, "Mapping[str, Any] | None", list[str], "str | None"]


def iter_model_dirs(root: str | os.PathLike[str]) -> Iterator[str]:
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


def missing_files(model_dir: str | os.PathLike[str], meta: Mapping[str, Any]) -> list[str]:
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


def _read(model_dir: str) -> Read:
    """Read one folder's metadata and check its files; a bad or unreadable metadata file is an error entry."""
    try:
        meta = read_metadata(Path(model_dir))
    except (OSError, PumasError) as exc:  # unreadable, corrupt, or from a newer Pumas: report, keep scanning
        return model_dir, None, [], str(exc)
    return model_dir, meta, missing_files(model_dir, meta), None


def read_all(dirs: list[str], overrides: dict[str, str] | None = None) -> list[Read]:
    """:func:`_read` every folder of ``dirs`` with the drive plan (:func:`pumas_core.drives.group_by_drive`,
    ``overrides`` = the ``drive_kind`` setting); results in the order of ``dirs``."""
    results: list[Read | None] = [None] * len(dirs)
    groups = drives.group_by_drive(range(len(dirs)), dirs.__getitem__, overrides)

    def run_group(group: tuple[drives.Drive, list[int]]) -> None:
        drive, idx = group
        if drive.workers <= 1 or len(idx) == 1:
            for i in idx:
                results[i] = _read(dirs[i])
            return
        with ThreadPoolExecutor(max_workers=drive.workers) as pool:
            for i, r in zip(idx, pool.map(lambda j: _read(dirs[j]), idx), strict=True):
                results[i] = r

    if len(groups) == 1:
        run_group(groups[0])
    else:
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            list(pool.map(run_group, groups))
    return [r for r in results if r is not None]


def rebuild(root: str | os.PathLike[str], index: ModelIndex, progress: Progress | None = None, *,
            drive_overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Clear ``index`` and index every valid model folder under ``root``.

    ``drive_overrides``: ``{mount point: kind}`` (the ``drive_kind`` setting) for the read plan.
    Returns ``{"indexed": N, "phantoms": [{"model_id","path","missing"}], "errors": [{"path","error"}],
    "duplicates": [...], "seconds": s, "models_per_second": r}``.
    """
    t0 = time.perf_counter()
    index.clear()
    phase("rebuild.cleared")
    bulk_load: Callable[[], AbstractContextManager[object]] = index.bulk_load
    with bulk_load():
        result = _scan(root, index, progress, drive_overrides)
    phase("rebuild.done")
    secs = time.perf_counter() - t0
    indexed = result["indexed"]
    return {**result, "seconds": round(secs, 4),
            "models_per_second": round(indexed / secs, 1) if secs > 0 else None}


def _scan(root: str | os.PathLike[str], index: ModelIndex, progress: Progress | None,
          overrides: dict[str, str] | None) -> dict[str, Any]:
    phantoms: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    duplicates: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    indexed = n = 0
    walk = iter_model_dirs(root)
    while chunk := list(islice(walk, BATCH)):
        batch: list[tuple[Mapping[str, Any], Path]] = []
        for model_dir, meta, missing, error in read_all(chunk, overrides):
            if meta is None:
                errors.append({"path": model_dir, "error": error})
                continue
            if missing:
                phantoms.append({"model_id": meta["model_id"], "path": model_dir, "missing": missing})
                continue
            if meta["model_id"] in seen:
                duplicates.append({"model_id": meta["model_id"], "path": model_dir, "kept": seen[meta["model_id"]]})
                continue
            seen[meta["model_id"]] = model_dir
            batch.append((meta, Path(model_dir)))
        n += len(chunk)
        if batch:
            index.upsert_many(batch, fresh=True)
            indexed += len(batch)
        if len(chunk) == BATCH:
            phase("rebuild.batch")
            if progress:
                progress({"stage": Stage.SCANNING, "index": n})
    return {"indexed": indexed, "phantoms": phantoms, "errors": errors, "duplicates": duplicates}

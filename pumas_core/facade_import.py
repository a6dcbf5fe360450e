"""The import half of the :class:`~pumas_core.facade.Library` facade: paths, streams and uploads.

Functions take the library first and are bound as ``Library`` methods (``lib.import_paths(...)``); the
pipeline itself is :mod:`pumas_core.ingest` and the commit is the :class:`~pumas_core.library.store.ModelStore`'s.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from . import facade_adopt
from .errors import BadInputError, PumasError
from .security.confine import escaping
from .testhooks import phase


def import_paths(lib, paths, *, mode: str = "auto", model_type: str | None = None, family: str | None = None,
                 tags=(), accept_pickle: bool = False, progress=None, cancel=None, sync: bool = True,
                 lookup: bool = True, within_roots=None, sidecars: bool = True) -> dict:
    """Import files and folders; returns ``{"imported": [model], "skipped": [...], "failed": [...]}``.

    Each unit (file, Diffusion Folder, Sharded Set) succeeds or fails on its own; failures are
    reported with the path and a one-line reason, never raised.  New models are then linked
    into every registered install (incremental) and queued for an offline-first lookup.
    ``within_roots`` (the HTTP routes pass :meth:`allowed_roots`) confines every file the walk
    reaches: a unit with a file whose real path (symlinks resolved) is outside those roots fails
    with code ``path_not_allowed`` and is not read.
    Raises :class:`BadInputError` only for a bad ``mode``.
    """
    from .ingest.grouping import plan_import
    from .ingest.importer import ImportOptions

    if mode not in ("auto", "copy", "move"):
        raise BadInputError(f"mode must be auto, copy or move, not {mode!r}")
    opts = ImportOptions(mode=mode, model_type=model_type, family=family, tags=list(tags),
                         accept_pickle=accept_pickle, cancel=cancel)
    plan = plan_import([Path(p).expanduser() for p in paths])
    report = {"imported": [], "skipped": [], "failed": [{"path": str(p), "error": e if str(p) in e else f"{p}: {e}",
                                                         "code": "bad_input"} for p, e in plan.errors]}
    report["skipped"] += [{"path": str(p), "reason": why} for p, why in plan.skipped]
    root = os.path.realpath(lib.root) + os.sep
    staging = root + ".staging" + os.sep  # downloads land there and are imported from there
    todo: list = []
    for i, unit in enumerate(plan.units):
        inside = [f for f in unit.files if os.path.realpath(f).startswith(root)
                  and not os.path.realpath(f).startswith(staging)]
        if inside:  # e.g. one of our own links in a ComfyUI folder: never copy or move the library onto itself
            report["skipped"].append({"path": str(inside[0]), "reason": "already in the library",
                                      "official_name": unit.name})
            continue
        escaped = escaping(unit.files, within_roots) if within_roots is not None else []
        if escaped:
            report["failed"].append({"path": str(escaped[0][0]), "code": "path_not_allowed", "error": (
                f"{escaped[0][0]}: resolves to {escaped[0][1]}, outside the library, the registered installs "
                "and the import roots; not imported")})
            continue
        if progress:
            progress({"stage": "validating", "file": unit.name, "index": i, "count": len(plan.units)})
        label = unit.files[0] if unit.kind == "single-file" else unit.source_root
        subdir = lib.adoption_subdir(label)
        unit_opts = dataclasses.replace(opts, extra={"link_subdir": subdir}) if subdir else opts
        todo.append((str(label), unit.files[0], lambda prog, u=unit, o=unit_opts: lib._importer.import_unit(u, o, prog)))
    run_units(lib, report, todo, progress)
    if sidecars:  # other tools' sidecars and previews next to the sources (pumas_core.adopt.sidecars)
        facade_adopt.import_sidecars(lib, report, mode)
    return after_import(lib, report, progress, sync, lookup)


def import_stream(lib, name: str, reader, *, size: int | None = None, model_type: str | None = None,
                  family: str | None = None, tags=(), accept_pickle: bool = False, progress=None,
                  cancel=None, sync: bool = True, lookup: bool = True) -> dict:
    """Import one file received as a stream (``reader.read(n) -> bytes``), hashed while received.

    Same result shape as :meth:`import_paths`.
    """
    from .ingest.importer import ImportOptions

    opts = ImportOptions(mode="copy", model_type=model_type, family=family, tags=list(tags),
                         accept_pickle=accept_pickle, cancel=cancel)
    report = {"imported": [], "skipped": [], "failed": []}
    run_unit(report, name, lambda: lib._importer.import_stream(name, reader, opts, size=size,
                                                                     progress=progress))
    return after_import(lib, report, progress, sync, lookup)


def begin_upload(lib, name: str, *, size: int | None = None, model_type: str | None = None,
                 family: str | None = None, tags=(), accept_pickle: bool = False, progress=None,
                 sync: bool = True, lookup: bool = True):
    """Start receiving one file chunk by chunk (the HTTP upload route owns the waiting).

    Returns a :class:`~pumas_core.ingest.stream_import.Upload`: ``write(chunk)`` (short blocking write + hash), ``finish()`` →
    the :meth:`import_paths` report, ``abort()`` (removes the staging).

    Raises:
        BadInputError: ``name`` is not a file name.
        InsufficientSpaceError: ``size`` bytes do not fit on the library's disk.
    """
    from .ingest.importer import ImportOptions
    from .ingest.stream_import import StreamImport, Upload

    opts = ImportOptions(mode="copy", model_type=model_type, family=family, tags=list(tags),
                         accept_pickle=accept_pickle)
    sink = StreamImport(lib._importer, name, opts, size=size, progress=progress)
    return Upload(lib, name, sink, progress, sync, lookup)


def run_units(lib, report: dict, todo: list, progress) -> None:
    """Run the units of one import, ``todo = [(label, source path, fn(progress))]``, drive-aware.

    Units are grouped by the drive their first source file is read from (:mod:`pumas_core.drives`):
    groups on different drives run side by side, and each group gets ``drive.workers`` workers —
    one sequential stream per spinning disk, several on SSD/NVMe.  The user can force a drive's kind
    with ``"drive_kind": {"<mount point>": "hdd"}`` in ``config.json``.  Outcomes are filed in the
    order of ``todo`` whatever order the units finish in; the commit itself is serialised by the
    :class:`~pumas_core.library.store.ModelStore`'s lock, so two units of identical content still give
    one model.  ``progress`` is called from one thread at a time.
    """
    from .drives import group_by_drive

    groups = group_by_drive(todo, lambda t: t[1], _drive_overrides(lib)) if len(todo) > 1 else []
    if not groups or (len(groups) == 1 and groups[0][0].workers == 1):
        for label, _src, fn in todo:
            run_unit(report, label, lambda f=fn: f(progress))
        return
    import threading
    from concurrent.futures import ThreadPoolExecutor

    parts: dict[int, dict] = {}
    position = {id(t): k for k, t in enumerate(todo)}
    lock = threading.Lock()
    if progress is not None:
        inner = progress

        def progress(ev: dict) -> None:  # noqa: F811 - one caller at a time
            with lock:
                inner(ev)

    def one(t, sem) -> None:
        with sem:
            part = {"imported": [], "skipped": [], "failed": []}
            run_unit(part, t[0], lambda: t[2](progress))
            parts[position[id(t)]] = part

    workers = sum(min(d.workers, len(items)) for d, items in groups)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pumas-import") as pool:
        futures = [pool.submit(one, t, sem) for d, items in groups
                   for sem in [threading.BoundedSemaphore(d.workers)] for t in items]
        for f in futures:
            f.result()
    for k in sorted(parts):
        for key, items in parts[k].items():
            report[key] += items


def _drive_overrides(lib) -> dict | None:
    from .config import load_config

    value = load_config(lib.state_dir).get("drive_kind")
    return value if isinstance(value, dict) else None


def run_unit(report: dict, label: str, fn) -> None:
    """Run one unit's import ``fn() -> (status, info)`` and file its outcome in ``report``: a handled
    error, an OS error (naming the file that failed) or a bug each fail this unit only."""
    try:
        status, info = fn()
    except PumasError as exc:
        report["failed"].append({"path": label, "error": str(exc), "code": exc.code})
        return
    except OSError as exc:  # name the file that actually failed (a staging copy, the library...)
        where = exc.filename or label
        report["failed"].append({"path": label, "error": f"{where}: {exc.strerror or exc}", "code": "os_error"})
        return
    except Exception as exc:  # a bug must fail this unit only, never the whole import (issue 8)
        why = (str(exc).splitlines() or [""])[0][:200]
        report["failed"].append({"path": label, "error": f"{label}: internal error ({type(exc).__name__}: {why})",
                                 "code": "internal"})
        return
    report[status].append(info)


def after_import(lib, report: dict, progress, sync: bool, lookup: bool) -> dict:
    """Link the imported models into every registered install, queue their lookups; returns ``report``."""
    ids = [m["model_id"] for m in report["imported"]]
    if ids and sync:
        if progress:
            progress({"stage": "syncing", "count": len(ids)})
        report["sync"] = lib.sync_new_models(ids)
        phase("import.linked")
    if ids and lookup:
        lib._lookups.enqueue(ids)
    return report

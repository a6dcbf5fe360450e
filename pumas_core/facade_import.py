"""The import half of the :class:`~pumas_core.facade.Library` facade: paths, streams and uploads.

Functions take the library first and are bound as ``Library`` methods (``lib.import_paths(...)``).  They
only compose: the pipeline — land, validate, identify, commit, and the "already in the library" decision —
is :class:`~pumas_core.ingest.importer.Importer`'s, the same for a path and for a stream; the commit is
the :class:`~pumas_core.library.store.ModelStore`'s.  Each unit's outcome is filed in an
:class:`~pumas_core.ingest.report.ImportReport` by :func:`run_unit`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from . import drives, facade_adopt
from .errors import BadInputError, PathNotAllowedError, PumasError
from .ingest.report import ImportReport, Outcome, SkippedEntry, new_report
from .security.confine import escaping
from .settings import IMPORT_MODES
from .testhooks import phase
from .vocab import Stage, UnitKind

if TYPE_CHECKING:
    from .facade import Library
    from .ingest.importer import ImportOptions, Progress
    from .ingest.stream_import import StreamImport

#: one unit to run: ``(label for the report, source path that decides the drive, fn(progress) -> outcome)``
Todo = tuple[str, Path, Callable[["Progress | None"], Outcome]]


def _options(*, mode: str, model_type: str | None, family: str | None, tags: Iterable[str], accept_pickle: bool,
             cancel: threading.Event | None) -> ImportOptions:
    from .ingest.importer import ImportOptions

    return ImportOptions(mode=mode, model_type=model_type, family=family, tags=list(tags),
                         accept_pickle=accept_pickle, cancel=cancel)


def import_paths(lib: Library, paths: Iterable[str | os.PathLike[str]], *, mode: str = "auto",
                 model_type: str | None = None, family: str | None = None, tags: Iterable[str] = (),
                 accept_pickle: bool = False, progress: Progress | None = None,
                 cancel: threading.Event | None = None, sync: bool = True, lookup: bool = True,
                 within_roots: Iterable[str | os.PathLike[str]] | None = None,
                 sidecars: bool = True) -> ImportReport:
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

    if mode not in IMPORT_MODES:
        raise BadInputError(f"mode must be auto, copy or move, not {mode!r}")
    opts = _options(mode=mode, model_type=model_type, family=family, tags=tags, accept_pickle=accept_pickle,
                    cancel=cancel)
    roots = list(within_roots) if within_roots is not None else None
    plan = plan_import([Path(p).expanduser() for p in paths])
    report = new_report()
    report["failed"] += [{"path": str(p), "error": e if str(p) in e else f"{p}: {e}", "code": BadInputError.code}
                         for p, e in plan.errors]
    report["skipped"] += [{"path": str(p), "reason": why} for p, why in plan.skipped]
    importer = lib.importer
    todo: list[Todo] = []
    install_roots = lib.links.adoption_roots() if plan.units else []
    for i, unit in enumerate(plan.units):
        escaped = escaping(unit.files, roots) if roots is not None else []
        if escaped:
            report["failed"].append({"path": str(escaped[0][0]), "code": PathNotAllowedError.code, "error": (
                f"{escaped[0][0]}: resolves to {escaped[0][1]}, outside the library, the registered installs "
                "and the import roots; not imported")})
            continue
        if progress:
            progress({"stage": Stage.VALIDATING, "file": unit.name, "index": i, "count": len(plan.units)})
        label = unit.files[0] if unit.kind == UnitKind.SINGLE_FILE else unit.source_root
        subdir = lib.links.adoption_subdir(label, install_roots)
        unit_opts = dataclasses.replace(opts, extra={"link_subdir": subdir}) if subdir else opts
        todo.append((str(label), unit.files[0], functools.partial(importer.import_unit, unit, unit_opts)))
    run_units(lib, report, todo, progress)
    if sidecars:  # other tools' sidecars and previews next to the sources (pumas_core.adopt.sidecars)
        facade_adopt.import_sidecars(lib, cast(dict[str, Any], report), mode)  # reads "imported" only
    return after_import(lib, report, progress, sync, lookup)


def import_stream(lib: Library, name: str, reader: BinaryIO, *, size: int | None = None,
                  model_type: str | None = None, family: str | None = None, tags: Iterable[str] = (),
                  accept_pickle: bool = False, progress: Progress | None = None,
                  cancel: threading.Event | None = None, sync: bool = True, lookup: bool = True) -> ImportReport:
    """Import one file received as a stream (``reader.read(n) -> bytes``), hashed while received.

    Same pipeline and result shape as :meth:`import_paths` (a refused file is in ``failed``, never raised).
    """
    opts = _options(mode="copy", model_type=model_type, family=family, tags=tags, accept_pickle=accept_pickle,
                    cancel=cancel)
    report = new_report()
    importer = lib.importer
    run_unit(report, name, lambda: importer.import_stream(name, reader, opts, size=size, progress=progress))
    return after_import(lib, report, progress, sync, lookup)


def begin_upload(lib: Library, name: str, *, size: int | None = None, model_type: str | None = None,
                 family: str | None = None, tags: Iterable[str] = (), accept_pickle: bool = False,
                 progress: Progress | None = None, sync: bool = True, lookup: bool = True) -> Upload:
    """Start receiving one file chunk by chunk (the HTTP upload route owns the waiting).

    Returns an :class:`Upload`: ``write(chunk)`` (short blocking write + hash), ``finish()`` →
    the :meth:`import_paths` report, ``abort()`` (removes the staging).

    Raises:
        BadInputError: ``name`` is not a file name.
        InsufficientSpaceError: ``size`` bytes do not fit on the library's disk.
    """
    from .ingest.stream_import import StreamImport

    opts = _options(mode="copy", model_type=model_type, family=family, tags=tags, accept_pickle=accept_pickle,
                    cancel=None)
    sink = StreamImport(lib.importer, name, opts, size=size, progress=progress)
    return Upload(lib, name, sink, progress, sync, lookup)


class Upload:
    """A file being received (from :func:`begin_upload`); see
    :class:`~pumas_core.ingest.stream_import.StreamImport` for what each step does."""

    def __init__(self, lib: Library, name: str, sink: StreamImport, progress: Progress | None, sync: bool,
                 lookup: bool) -> None:
        self._lib, self.name, self._sink = lib, name, sink
        self._progress, self._sync, self._lookup = progress, sync, lookup

    @property
    def received(self) -> int:
        """Bytes written so far."""
        return self._sink.received

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (blocking, short: one write and two hash updates).

        Raises InsufficientSpaceError (the disk is full), WriteFailedError, OperationCancelledError;
        call :meth:`abort` then."""
        self._sink.write(chunk)

    def finish(self) -> ImportReport:
        """Validate and commit the received file; returns the :func:`import_paths` report
        (a refused file is in ``failed``, never raised)."""
        report = new_report()
        run_unit(report, self.name, self._sink.finish)
        return after_import(self._lib, report, self._progress, self._sync, self._lookup)

    def abort(self) -> None:
        """Drop what was received (idempotent)."""
        self._sink.abort()


def run_units(lib: Library, report: ImportReport, todo: list[Todo], progress: Progress | None) -> None:
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

    groups = group_by_drive(todo, lambda t: t[1], drives.config_overrides(lib.state_dir)) if len(todo) > 1 else []
    if not groups or (len(groups) == 1 and groups[0][0].workers == 1):
        for label, _src, fn in todo:
            run_unit(report, label, functools.partial(fn, progress))
        return
    from concurrent.futures import ThreadPoolExecutor

    parts: dict[int, ImportReport] = {}
    position = {id(t): k for k, t in enumerate(todo)}
    lock = threading.Lock()
    serial = None
    if progress is not None:
        inner = progress

        def serial(ev: dict[str, Any]) -> None:  # one caller at a time
            with lock:
                inner(ev)

    def one(t: Todo, sem: threading.BoundedSemaphore) -> None:
        with sem:
            part = new_report()
            run_unit(part, t[0], lambda: t[2](serial))
            parts[position[id(t)]] = part

    workers = sum(min(d.workers, len(items)) for d, items in groups)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pumas-import") as pool:
        futures = [pool.submit(one, t, sem) for d, items in groups
                   for sem in [threading.BoundedSemaphore(d.workers)] for t in items]
        for f in futures:
            f.result()
    for k in sorted(parts):
        report["imported"] += parts[k]["imported"]
        report["skipped"] += parts[k]["skipped"]
        report["failed"] += parts[k]["failed"]


def run_unit(report: ImportReport, label: str, fn: Callable[[], Outcome]) -> None:
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
    if status == "imported":
        report["imported"].append(info)
    else:
        report["skipped"].append(cast(SkippedEntry, info))  # built by the pipeline or the store


def after_import(lib: Library, report: ImportReport, progress: Progress | None, sync: bool,
                 lookup: bool) -> ImportReport:
    """Link the imported models into every registered install, queue their lookups; returns ``report``."""
    ids = [m["model_id"] for m in report["imported"]]
    if ids and sync:
        if progress:
            progress({"stage": Stage.SYNCING, "count": len(ids)})
        report["sync"] = lib.sync_new_models(ids)
        phase("import.linked")
    if ids and lookup:
        lib.lookups.enqueue(ids)
    return report

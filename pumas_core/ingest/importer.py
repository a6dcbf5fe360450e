"""The import pipeline, one for paths and for streams: land the bytes → validate → identify → commit.

Each step is implemented once, in :class:`Importer`, and both entry points call the same methods:

* **land** (:meth:`Importer.open_stage`, :meth:`Importer.land`, or a
  :class:`~pumas_core.ingest.stream_import.StreamImport`): the unit's bytes are assembled in
  ``<root>/.staging/<id>.tmp/`` — copied, moved (journaled first, so a crash or a refusal puts them
  back, see ``staging``) or written as they arrive — and hashed in the same pass (SHA-256 + BLAKE3,
  :mod:`~pumas_core.ingest.hashing`: the same hashers and BLAKE3 threading for all three).
* **validate** (:meth:`Importer.validate`): content sniffing of every weight file and the pickle gate.
* **identify** (:meth:`Importer.identify`): model type, family, base model from the headers.
* **commit** (:meth:`Importer.commit`): ``metadata.json`` is built and the
  :class:`~pumas_core.library.store.ModelStore` renames the stage into
  ``<root>/<category>/<family>/<cleaned_name>/`` and indexes it, under the writer lock.

Validation and identification read the bytes where they already are: a path unit's at its source,
before anything is copied or moved (a refused file costs no copy, and the messages name the user's
file); a stream's in staging, the only place its bytes exist.  "Already in the library" is decided
here and nowhere else (:meth:`Importer.already_in_library` for a unit whose files are the library's
own; the commit for content that is already a model).  A full disk met at any step becomes one
:class:`~pumas_core.errors.InsufficientSpaceError` naming the unit (:func:`space_errors`).

A unit (one Single-File Model, Diffusion Folder or Sharded Set; see ``grouping``) lands whole or not
at all: sources are never touched in copy mode, nothing is indexed when a step raises.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..atomic import SPACE_ERRNOS
from ..errors import (
    BadInputError,
    InsufficientSpaceError,
    PickleNotAcceptedError,
    UnsafePickleError,
    UnsupportedFormatError,
)
from ..identify import identify_file, identify_folder
from ..identify.result import Identification
from ..naming import clean_name
from ..security.pickle_gate import check_pickle_file
from ..security.pickle_scan import scan_pickle
from ..testhooks import phase
from ..vocab import WEIGHT_SUFFIXES, FileFormat, SecurityTier, Stage, UnitKind
from .formats import FormatInfo, sniff
from .hashing import FileHashes, check_free_space, copy_and_hash, hash_file
from .records import build_metadata, stored_name
from .report import ALREADY_IN_LIBRARY, Outcome, SkippedEntry
from .staging import STAGING, discard_stage, journal_moves, new_stage
from .staging import Stage as StagingArea
from .units import ImportUnit

if TYPE_CHECKING:
    from ..library.store import ModelStore

__all__ = ["WEIGHT_SUFFIXES", "Checked", "ImportOptions", "Importer", "Landed", "Progress", "space_errors"]

#: ``progress(event)``: ``{"stage", "file", "bytes_done", "bytes_total", "index", "count"}`` (see ``vocab.Stage``)
Progress = Callable[[dict[str, Any]], None]


@dataclass
class ImportOptions:
    """What the user asked for: ``mode`` (``auto``=copy, ``copy``, ``move``), a ``model_type`` and
    ``family`` override, extra ``tags``, whether pickle-based files are accepted, a ``cancel`` event,
    and ``extra`` metadata keys for the unit (``link_subdir`` when adopting from a ComfyUI folder)."""

    mode: str = "auto"
    model_type: str | None = None
    family: str | None = None
    tags: list[str] = field(default_factory=list)
    accept_pickle: bool = False
    cancel: threading.Event | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more metadata keys for this unit (e.g. link_subdir)


@dataclass
class Checked:
    """What validation and identification learned: ``fmts`` (a FormatInfo per weight file read, None for
    companions), ``scan`` (the pickle report, None without pickles) and ``ident``."""

    fmts: dict[Path, FormatInfo | None]
    scan: dict[str, Any] | None
    ident: Identification

    @property
    def primary(self) -> FormatInfo | None:
        """The first file's FormatInfo, else the first known one (None when no file was sniffed)."""
        first = next(iter(self.fmts.values()), None)
        return first or next((f for f in self.fmts.values() if f is not None), None)


@dataclass
class Landed:
    """The landed unit: ``files`` (``[{name, size, sha256, blake3}]``, primary first), sources to delete
    once committed (a move across file systems), one-line ``notices`` and the metadata ``source``."""

    files: list[dict[str, Any]]
    source: str
    to_delete: list[Path] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def file_entry(name: str, hashes: FileHashes) -> dict[str, Any]:
    """One ``metadata.json`` ``files`` entry: ``{"name", "size" (bytes), "sha256", "blake3"}``."""
    return {"name": name, "size": hashes.size, "sha256": hashes.sha256, "blake3": hashes.blake3}


def _is_weight(path: Path) -> bool:
    return path.suffix.lower() in WEIGHT_SUFFIXES or ".safetensors.part" in path.name or ".gguf.part" in path.name


class Importer:
    """Runs the pipeline for one library; ``store`` (a :class:`~pumas_core.library.store.ModelStore`)
    owns the commit.  The long copy/hash runs without any lock; only the commit takes the writer lock."""

    def __init__(self, store: ModelStore) -> None:
        self.store = store
        self.root = Path(store.root)
        self.index = store.index

    # -- already in the library ---------------------------------------------------------------
    def already_in_library(self, unit: ImportUnit) -> SkippedEntry | None:
        """The skip entry when a unit's files are the library's own (one of our links in a ComfyUI folder,
        resolved): never copy or move the library onto itself.  Content that is already a model is
        found by :meth:`commit` (under the writer lock, so two imports of one content give one model).
        Files in ``.staging`` (downloads land there) are not the library's."""
        root = os.path.realpath(self.root) + os.sep
        staging = root + STAGING + os.sep
        inside = [f for f in unit.files if os.path.realpath(f).startswith(root)
                  and not os.path.realpath(f).startswith(staging)]
        if not inside:
            return None
        return {"path": str(inside[0]), "reason": ALREADY_IN_LIBRARY, "official_name": unit.name}

    # -- validate -----------------------------------------------------------------------------
    def validate(self, unit: ImportUnit, opts: ImportOptions) -> tuple[dict[Path, FormatInfo | None],
                                                                        dict[str, Any] | None]:
        """Sniff every weight file of ``unit`` and run the pickle gate; returns ``(fmts, pickle_scan)``.

        Raises:
            BadInputError: a file is not readable.
            UnsupportedFormatError, CorruptHeaderError: a weight file is not a readable model.
            PickleNotAcceptedError, UnsafePickleError: see :meth:`check_pickles`.
        """
        fmts: dict[Path, FormatInfo | None] = {}
        for src in unit.files:
            if not os.access(src, os.R_OK) or not src.is_file():
                raise BadInputError(f"{src}: not a readable file", path=src)
            is_part = src.name.rsplit(".", 1)[-1].lower().startswith("part")
            if unit.kind == UnitKind.SINGLE_FILE or (_is_weight(src) and (not is_part or src == unit.files[0])):
                fmts[src] = sniff(src)  # raw .partN pieces after the first have no header of their own
            else:
                fmts[src] = None
        return fmts, self.check_pickles(fmts, opts)

    def check_pickles(self, fmts: dict[Path, FormatInfo | None], opts: ImportOptions) -> dict[str, Any] | None:
        """The pickle gate: ``{file name: {"allowlist", "globals", "dangerous", "suspicious", "error"}}`` for
        the pickle-based files (None when there are none).

        Raises:
            PickleNotAcceptedError: pickle content without ``opts.accept_pickle``.
            UnsafePickleError: a pickle importing globals outside the allow-list (named in the message),
                or one picklescan rates dangerous.
        """
        pickles = {p: f for p, f in fmts.items() if f is not None and f.security_tier == SecurityTier.PICKLE}
        if not pickles:
            return None
        first = next(iter(pickles))
        if not opts.accept_pickle:
            kinds = ", ".join(sorted({f.file_format for f in pickles.values()}))
            raise PickleNotAcceptedError(
                f"{first}: {kinds} files can run code when loaded; pass --accept-pickle to import anyway", path=first)
        report: dict[str, Any] = {}
        for p in pickles:
            verdict = check_pickle_file(p)  # the gate: allow-list of state-dict globals
            if not verdict.allowed:
                raise UnsafePickleError(f"{p}: pickle refused: {verdict.reason()}", path=p)
            scan = scan_pickle(p)  # second opinion, recorded
            if scan.dangerous:
                raise UnsafePickleError(f"{p}: pickle refused: picklescan rates these imports dangerous: "
                                        f"{', '.join(scan.dangerous[:12])}", path=p)
            report[p.name] = {"allowlist": "passed", "globals": verdict.globals, "dangerous": scan.dangerous,
                              "suspicious": scan.suspicious, "error": scan.error}
        return report

    # -- identify -----------------------------------------------------------------------------
    def identify(self, unit: ImportUnit, fmts: dict[Path, FormatInfo | None]) -> Identification:
        """Identify the unit from its headers (nothing is re-read for a single file)."""
        if unit.kind == UnitKind.SINGLE_FILE:
            fmt = fmts[unit.files[0]]
            if fmt is None:  # validate() refuses a single file it cannot sniff; kept for a direct caller
                raise UnsupportedFormatError(f"{unit.files[0]}: not a model format Pumas knows", path=unit.files[0])
            return identify_file(unit.files[0], fmt)
        return identify_folder(unit.source_root, list(unit.files), {p: f for p, f in fmts.items() if f})

    def check(self, unit: ImportUnit, opts: ImportOptions) -> Checked:
        """:meth:`validate`, then :meth:`identify` (raises like :meth:`validate`)."""
        fmts, scan = self.validate(unit, opts)
        return Checked(fmts, scan, self.identify(unit, fmts))

    # -- land ---------------------------------------------------------------------------------
    def open_stage(self, needed_bytes: int | None = None) -> StagingArea:
        """A new owned staging folder, after checking that ``needed_bytes`` fit (None: not checked).

        Raises:
            InsufficientSpaceError: the library's disk cannot hold ``needed_bytes`` (plus margin).
        """
        if needed_bytes is not None:
            check_free_space(self.root, needed_bytes)
        stage = new_stage(self.root)
        phase("import.staged")
        return stage

    def land(self, unit: ImportUnit, stage: StagingArea, opts: ImportOptions, progress: Progress | None) -> Landed:
        """Copy (or move, then hash) the unit's files into ``stage``.

        A move is journaled before the first rename; across file systems it is a copy whose sources
        are deleted after the commit (``Landed.to_delete``, with a notice).
        """
        pairs = self._names(unit)
        same_fs = os.stat(unit.files[0]).st_dev == os.stat(self.root).st_dev
        move = opts.mode == "move" and same_fs
        notices = []
        if opts.mode == "move" and not same_fs:
            notices.append("source is on another file system: copied, sources removed after indexing")
        if move:
            journal_moves(stage.path, [(src, rel) for src, rel in pairs])
            phase("import.journaled")
        files = []
        for i, (src, rel) in enumerate(pairs):
            dst = stage / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            cb = _scoped(progress, rel, i, len(pairs))
            if move:
                os.rename(src, dst)
                phase("import.moved")
                h = hash_file(dst, progress=_restage(cb, Stage.HASHING), cancel=opts.cancel)
            else:
                h = copy_and_hash(src, dst, progress=cb, cancel=opts.cancel)
            phase("import.hashed")
            files.append(file_entry(rel, h))
        to_delete = [src for src, _ in pairs] if opts.mode == "move" and not same_fs else []
        source = str(unit.source_root if unit.kind != UnitKind.SINGLE_FILE else unit.files[0])
        return Landed(files, source, to_delete, notices)

    def _names(self, unit: ImportUnit) -> list[tuple[Path, str]]:
        if unit.kind == UnitKind.SINGLE_FILE:
            return [(unit.files[0], clean_name(unit.name))]
        return [(src, stored_name(src.relative_to(unit.source_root).as_posix())) for src in unit.files]

    # -- commit -------------------------------------------------------------------------------
    def commit(self, stage: StagingArea, unit: ImportUnit, checked: Checked, landed: Landed, opts: ImportOptions,
               progress: Progress | None) -> Outcome:
        """Build ``metadata.json`` and hand the stage to :meth:`ModelStore.commit` (dedupe by content —
        ``("skipped", {"reason": "already in the library", ...})`` —, phantom restore, rename into place,
        index); then delete the sources of a move across file systems.  Returns ``(status, info)``.
        The stage is discarded (moved files put back) when this raises."""
        try:
            meta = self.metadata(unit, checked, landed, opts)
            status, info = self.store.commit(stage, meta, progress)
        except BaseException:
            discard_stage(stage, self.root)
            raise
        if status == "imported":
            for src in landed.to_delete:
                with contextlib.suppress(OSError):
                    src.unlink()
        return status, info

    def metadata(self, unit: ImportUnit, checked: Checked, landed: Landed, opts: ImportOptions) -> dict[str, Any]:
        """The new model's ``metadata.json`` dict (see :func:`~pumas_core.ingest.records.build_metadata`)."""
        primary = checked.primary
        known = [f for f in checked.fmts.values() if f is not None]
        meta = build_metadata(
            kind=unit.kind, official_name=unit.name, files=landed.files,
            primary_format=primary.file_format if primary else FileFormat.OTHER,
            file_formats=[f.file_format for f in known], ident=checked.ident, family=opts.family,
            model_type=opts.model_type, tags=opts.tags, unit_complete=unit.complete,
            missing=list(unit.missing), format_details=_details(primary), pickle_scan=checked.scan,
            source=landed.source)
        if landed.notices:
            meta["import_notices"] = landed.notices
        meta.update(opts.extra)
        if unit.warnings:
            meta["warnings"] = list(unit.warnings)
        return meta

    # -- the two entry points -----------------------------------------------------------------
    def import_unit(self, unit: ImportUnit, opts: ImportOptions, progress: Progress | None = None) -> Outcome:
        """Import one planned unit; returns ``("imported", model)`` or ``("skipped", info)``.

        Raises:
            UnsupportedFormatError, CorruptHeaderError: a file is not a readable model.
            PickleNotAcceptedError: pickle content without ``accept_pickle``.
            UnsafePickleError: a pickle importing globals outside the allow-list (named in the message).
            BadInputError: unreadable source.
            InsufficientSpaceError: the library's disk is too full (names the unit).
            WriteFailedError: another write failure in the library.
        Nothing is indexed and no source is lost when it raises.
        """
        skip = self.already_in_library(unit)
        if skip is not None:
            return "skipped", dict(skip)
        with space_errors(unit.name):
            checked = self.check(unit, opts)
            copies = opts.mode != "move" or os.stat(unit.files[0]).st_dev != os.stat(self.root).st_dev
            stage = self.open_stage(sum(src.stat().st_size for src in unit.files) if copies else None)
            try:
                landed = self.land(unit, stage, opts, progress)
            except BaseException:
                discard_stage(stage, self.root)
                raise
            return self.commit(stage, unit, checked, landed, opts, progress)

    def import_stream(self, name: str, reader: BinaryIO, opts: ImportOptions, *, size: int | None = None,
                      progress: Progress | None = None, chunk_size: int = 4 << 20) -> Outcome:
        """Import a file received as a byte stream (``reader.read(n)``) through a
        :class:`~pumas_core.ingest.stream_import.StreamImport` (callers that own the waiting use that
        directly): landed and hashed while received, then validated, identified and committed.

        Raises the errors of :meth:`import_unit`, and ``BadInputError`` when fewer bytes than ``size`` arrive.
        """
        from .stream_import import StreamImport

        sink = StreamImport(self, name, opts, size=size, progress=progress)
        try:
            while chunk := reader.read(chunk_size):
                sink.write(chunk)
        except BaseException:
            sink.abort()
            raise
        return sink.finish()


@contextlib.contextmanager
def space_errors(name: str) -> Iterator[None]:
    """Turn a full disk met anywhere in one unit's import (the space check, the copy or stream, the staging
    folder, the move journal, ``metadata.json``, the index) into one :class:`InsufficientSpaceError`:
    ``"<name>: not imported, the library's disk is full (<where>); ..."``.  Other errors pass unchanged."""
    try:
        yield
    except InsufficientSpaceError as exc:
        raise _unit_space_error(name, str(exc), exc.path) from None
    except OSError as exc:
        if exc.errno not in SPACE_ERRNOS:
            raise
        where = exc.filename or "library"
        raise _unit_space_error(name, f"{where}: {exc.strerror or exc}", exc.filename) from None


def _unit_space_error(name: str, reason: str, path: object) -> InsufficientSpaceError:
    return InsufficientSpaceError(f"{name}: not imported, the library's disk is full ({reason}); "
                                  "nothing was changed, free some space and import again", path=path)


def _details(fmt: FormatInfo | None) -> dict[str, Any] | None:
    """A small, JSON-safe summary of a FormatInfo for metadata (no full tensor lists)."""
    if fmt is None:
        return None
    d = dict(fmt.details or {})
    tensors = d.pop("tensors", None)
    if isinstance(tensors, dict):
        d["tensor_count"] = len(tensors)
    kv = d.pop("kv", None)
    if isinstance(kv, dict):
        d["kv"] = {k: v for k, v in kv.items() if not isinstance(v, (list, dict)) or k.startswith("general.")}
    return d


def _scoped(progress: Progress | None, name: str, index: int, count: int) -> Progress | None:
    if progress is None:
        return None
    report = progress
    return lambda ev: report({**ev, "file": name, "index": index, "count": count})


def _restage(progress: Progress | None, stage: Stage) -> Progress | None:
    if progress is None:
        return None
    report = progress
    return lambda ev: report({**ev, "stage": stage})

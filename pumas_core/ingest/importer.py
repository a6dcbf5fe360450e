"""The import pipeline: validate → stage → copy+hash (or move, then hash) → identify →
write ``metadata.json`` → atomic rename into place → index.

A unit (one Single-File Model, Diffusion Folder or Sharded Set; see ``grouping``) either
lands whole or not at all: every file is assembled in ``<root>/.staging/<id>.tmp/`` and the
folder is renamed into ``<root>/<category>/<family>/<cleaned_name>/`` only after every
hash is known and the metadata is durable.  Sources are never touched in copy mode; in
move mode they are journaled first so a crash or a refusal puts them back (``staging``).
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

from ..errors import BadInputError, InsufficientSpaceError, PickleNotAcceptedError, UnsafePickleError
from ..identify import identify_file, identify_folder
from ..naming import clean_name
from ..security.pickle_gate import check_pickle_file
from ..security.pickle_scan import scan_pickle
from ..testhooks import phase
from .formats import sniff
from .hashing import check_free_space, copy_and_hash, hash_file
from .records import build_metadata, stored_name
from .staging import discard_stage, journal_moves, new_stage

WEIGHT_SUFFIXES = {".safetensors", ".sft", ".gguf", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".pkl", ".onnx",
                   ".jit", ".pickle"}
Progress = Callable[[dict], None]


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
    extra: dict = field(default_factory=dict)  # more metadata keys for this unit (e.g. link_subdir)


def _is_weight(path: Path) -> bool:
    return path.suffix.lower() in WEIGHT_SUFFIXES or ".safetensors.part" in path.name or ".gguf.part" in path.name


class Importer:
    """Runs the pipeline for one library; ``store`` (a :class:`~pumas_core.library.store.ModelStore`)
    owns the commit.  The long copy/hash runs without any lock; only the commit takes the writer lock."""

    def __init__(self, store):
        self.store = store
        self.root = Path(store.root)
        self.index = store.index

    # -- validation -------------------------------------------------------------------------
    def _sniff_unit(self, unit) -> dict:
        """FormatInfo (or None for non-weight companions) per source path; raises on bad input."""
        fmts = {}
        for src in unit.files:
            if not os.access(src, os.R_OK) or not src.is_file():
                raise BadInputError(f"{src}: not a readable file")
            is_part = src.name.rsplit(".", 1)[-1].lower().startswith("part")
            if unit.kind == "single-file" or (_is_weight(src) and (not is_part or src == unit.files[0])):
                fmts[src] = sniff(src)  # raw .partN pieces after the first have no header of their own
            else:
                fmts[src] = None
        return fmts

    def _check_pickles(self, fmts: dict, opts: ImportOptions) -> dict | None:
        pickles = [p for p, f in fmts.items() if f is not None and f.security_tier == "pickle"]
        if not pickles:
            return None
        if not opts.accept_pickle:
            kinds = ", ".join(sorted({fmts[p].file_format for p in pickles}))
            raise PickleNotAcceptedError(
                f"{pickles[0]}: {kinds} files can run code when loaded; pass --accept-pickle to import anyway")
        report = {}
        for p in pickles:
            verdict = check_pickle_file(p)  # the gate: allow-list of state-dict globals
            if not verdict.allowed:
                raise UnsafePickleError(f"{p}: pickle refused: {verdict.reason()}")
            scan = scan_pickle(p)  # second opinion, recorded
            if scan.dangerous:
                raise UnsafePickleError(f"{p}: pickle refused: picklescan rates these imports dangerous: "
                                        f"{', '.join(scan.dangerous[:12])}")
            report[p.name] = {"allowlist": "passed", "globals": verdict.globals, "dangerous": scan.dangerous,
                              "suspicious": scan.suspicious, "error": scan.error}
        return report

    # -- landing ----------------------------------------------------------------------------
    def _names(self, unit) -> list[tuple[Path, str]]:
        if unit.kind == "single-file":
            return [(unit.files[0], clean_name(unit.name))]
        return [(src, stored_name(src.relative_to(unit.source_root).as_posix())) for src in unit.files]

    def _land(self, unit, stage: Path, opts: ImportOptions,
              progress: Progress | None) -> tuple[list[dict], list[Path], list[str]]:
        """Copy (or move, then hash) the unit's files into ``stage``.

        Returns ``(files, sources_to_delete_after_commit, notices)``.
        """
        pairs = self._names(unit)
        same_fs = os.stat(unit.files[0]).st_dev == os.stat(self.root).st_dev
        move = opts.mode == "move" and same_fs
        notices = []
        if opts.mode == "move" and not same_fs:
            notices.append("source is on another file system: copied, sources removed after indexing")
        if not move:
            check_free_space(self.root, sum(src.stat().st_size for src, _ in pairs))
        if move:
            journal_moves(stage, [(src, rel) for src, rel in pairs])
            phase("import.journaled")
        files = []
        for i, (src, rel) in enumerate(pairs):
            dst = stage / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            cb = _scoped(progress, rel, i, len(pairs))
            if move:
                os.rename(src, dst)
                phase("import.moved")
                h = hash_file(dst, progress=_restage(cb, "hashing"), cancel=opts.cancel)
            else:
                h = copy_and_hash(src, dst, progress=cb, cancel=opts.cancel)
            phase("import.hashed")
            files.append({"name": rel, "size": h.size, "sha256": h.sha256, "blake3": h.blake3})
        to_delete = [src for src, _ in pairs] if opts.mode == "move" and not same_fs else []
        return files, to_delete, notices

    # -- commit -----------------------------------------------------------------------------
    def _commit(self, stage, meta: dict, progress: Progress | None) -> tuple[str, dict]:
        """Hand the assembled stage to the :class:`~pumas_core.library.store.ModelStore` (dedupe, phantom
        restore, rename into place and index, under the library's writer lock)."""
        return self.store.commit(stage, meta, progress)

    def import_unit(self, unit, opts: ImportOptions, progress: Progress | None = None) -> tuple[str, dict]:
        """Import one unit; returns ``("imported", model)`` or ``("skipped", info)``.

        Raises:
            UnsupportedFormatError, CorruptFileError: a file is not a readable model.
            PickleNotAcceptedError: pickle content without ``accept_pickle``.
            UnsafePickleError: a pickle importing globals outside the allow-list (named in the message).
            BadInputError: unreadable source.
            InsufficientSpaceError: the library's disk is too full.
        Nothing is indexed and no source is lost when it raises.
        """
        fmts = self._sniff_unit(unit)
        scan = self._check_pickles(fmts, opts)
        primary = unit.files[0]
        primary_fmt = fmts[primary] or next((f for f in fmts.values() if f is not None), None)
        if unit.kind == "single-file":
            ident = identify_file(primary, fmts[primary])
        else:
            ident = identify_folder(unit.source_root, list(unit.files), {p: f for p, f in fmts.items() if f})
        try:
            return self._import_unit(unit, opts, progress, fmts, scan, ident, primary_fmt)
        except (OSError, InsufficientSpaceError) as exc:
            raise _space_error(exc, unit.name) or exc

    def _import_unit(self, unit, opts, progress, fmts, scan, ident, primary_fmt) -> tuple[str, dict]:
        primary = unit.files[0]
        stage = new_stage(self.root)
        phase("import.staged")
        try:
            files, to_delete, notices = self._land(unit, stage, opts, progress)
            known = [f for f in fmts.values() if f is not None]
            meta = build_metadata(
                kind=unit.kind, official_name=unit.name, files=files,
                primary_format=primary_fmt.file_format if primary_fmt else "other",
                file_formats=[f.file_format for f in known], ident=ident, family=opts.family,
                model_type=opts.model_type, tags=opts.tags, unit_complete=unit.complete,
                missing=list(unit.missing), format_details=_details(primary_fmt), pickle_scan=scan,
                source=str(unit.source_root if unit.kind != "single-file" else primary))
            if notices:
                meta["import_notices"] = notices
            meta.update(opts.extra)
            if unit.warnings:
                meta["warnings"] = list(unit.warnings)
            status, info = self._commit(stage, meta, progress)
        except BaseException:
            discard_stage(stage, self.root)
            raise
        if status == "imported":
            for src in to_delete:
                try:
                    src.unlink()
                except OSError:
                    pass
        return status, info

    def import_stream(self, name: str, reader: BinaryIO, opts: ImportOptions, *, size: int | None = None,
                      progress: Progress | None = None, chunk_size: int = 4 << 20) -> tuple[str, dict]:
        """Import a file received as a byte stream (``reader.read(n)``): hashed while received,
        landed in staging, then validated and committed like a path import (see
        :class:`~pumas_core.ingest.stream_import.StreamImport`, which callers that own the waiting use directly).

        Raises the same errors as :meth:`import_unit`, and ``BadInputError`` when fewer bytes
        than ``size`` arrive.
        """
        from .stream_import import StreamImport

        try:
            sink = StreamImport(self, name, opts, size=size, progress=progress)
            phase("import.staged")
            try:
                while chunk := reader.read(chunk_size):
                    sink.write(chunk)
            except BaseException:
                sink.abort()
                raise
            return sink.finish()
        except (OSError, InsufficientSpaceError) as exc:
            raise _space_error(exc, os.path.basename(name.replace("\\", "/")) or name) or exc


_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _space_error(exc: BaseException, name: str) -> InsufficientSpaceError | None:
    """One line naming the unit for a full disk met anywhere in an import (the space check, the copy,
    the staging folder, the move journal, metadata.json, the index): an ``InsufficientSpaceError``
    or an ``OSError`` with ENOSPC/EDQUOT/EFBIG.  None for any other error."""
    if isinstance(exc, InsufficientSpaceError):
        reason = str(exc)
    elif isinstance(exc, OSError) and exc.errno in _SPACE_ERRNOS:
        reason = f"{exc.filename or 'library'}: {exc.strerror or exc}"
    else:
        return None
    return InsufficientSpaceError(f"{name}: not imported, the library's disk is full ({reason}); "
                                  "nothing was changed, free some space and import again")


def _details(fmt) -> dict | None:
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
    return lambda ev: progress({**ev, "file": name, "index": index, "count": count})


def _restage(progress: Progress | None, stage: str) -> Progress | None:
    if progress is None:
        return None
    return lambda ev: progress({**ev, "stage": stage})


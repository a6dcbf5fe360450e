"""Receiving one file chunk by chunk (an HTTP upload): stage, hash while received, then commit.

:class:`StreamImport` lets the caller own the waiting: each :meth:`~StreamImport.write` is one short
blocking write + hash of bytes that have already arrived, so a server can read the network on its
event loop and use a worker thread only for the write itself (never while a slow client trickles).
:meth:`~StreamImport.finish` validates the staged file exactly like a path import (content sniffing,
the pickle gate, identification) and commits it; :meth:`~StreamImport.abort` removes the staging.
"""

from __future__ import annotations

import hashlib
import os

import blake3 as _blake3

from ..errors import BadInputError, OperationCancelledError
from ..identify import identify_file
from ..naming import clean_name
from .formats import sniff
from .hashing import check_free_space
from .records import build_metadata
from .staging import discard_stage, new_stage


class StreamImport:
    """One file being received into ``<root>/.staging/<id>.tmp/``.

    Args:
        importer: the library's :class:`~pumas_core.ingest.importer.Importer`.
        name: the file name the sender gave (only its base name is used).
        opts: :class:`~pumas_core.ingest.importer.ImportOptions` (type, family, tags, pickle consent, cancel).
        size: the announced size in bytes (Content-Length), checked at :meth:`finish`; None if unknown.
        progress: optional ``progress(event)`` callback (``stage: "copying"``, bytes done/total).

    Raises (from the constructor):
        BadInputError: ``name`` is not a file name.
        InsufficientSpaceError: ``size`` does not fit on the library's disk.
    """

    def __init__(self, importer, name: str, opts, *, size: int | None = None, progress=None):
        official = os.path.basename(name.replace("\\", "/")).strip()
        if not official or official in (".", ".."):
            raise BadInputError(f"{name!r}: not a file name")
        if size:
            check_free_space(importer.root, size)
        self.importer, self.official, self.opts, self.size, self.progress = importer, official, opts, size, progress
        self.rel = clean_name(official)
        self.stage = new_stage(importer.root)
        self.received = 0
        self._sha, self._b3 = hashlib.sha256(), _blake3.blake3()
        self._out = open(self.stage / self.rel, "wb")
        self._closed = False

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` to the staged file and to both hashes (blocking, short).

        Raises:
            OperationCancelledError: the options' cancel event is set.
        """
        if self.opts.cancel is not None and self.opts.cancel.is_set():
            raise OperationCancelledError(f"{self.official}: upload cancelled")
        self._out.write(chunk)
        self._sha.update(chunk)
        self._b3.update(chunk)
        self.received += len(chunk)
        if self.progress:
            self.progress({"stage": "copying", "file": self.official, "bytes_done": self.received,
                           "bytes_total": self.size or 0})

    def finish(self) -> tuple[str, dict]:
        """Close, check the size, validate and commit; return ``("imported"|"skipped", info)``.

        Raises the errors of :meth:`Importer.import_unit` and ``BadInputError`` when fewer bytes
        than the announced size arrived.  The staging is removed when it raises.
        """
        try:
            self._close(sync=True)
            if self.size is not None and self.received != self.size:
                raise BadInputError(f"{self.official}: upload ended after {self.received} of {self.size} bytes")
            path = self.stage / self.rel
            fmt = sniff(path)
            scan = self.importer._check_pickles({path: fmt}, self.opts)
            ident = identify_file(path, fmt)
            files = [{"name": self.rel, "size": self.received, "sha256": self._sha.hexdigest(),
                      "blake3": self._b3.hexdigest()}]
            opts = self.opts
            from .importer import _details

            meta = build_metadata(
                kind="single-file", official_name=self.official, files=files, primary_format=fmt.file_format,
                file_formats=[fmt.file_format], ident=ident, family=opts.family, model_type=opts.model_type,
                tags=opts.tags, format_details=_details(fmt), pickle_scan=scan, source="upload")
            return self.importer._commit(self.stage, meta, self.progress)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop everything received: close the file and remove the staging folder (idempotent)."""
        self._close(sync=False)
        discard_stage(self.stage, self.importer.root)

    def _close(self, sync: bool) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if sync:
                self._out.flush()
                os.fsync(self._out.fileno())
        finally:
            self._out.close()


class Upload:
    """A file being received (from :meth:`pumas_core.facade.Library.begin_upload`); see :class:`StreamImport` for what each step does."""

    def __init__(self, lib, name: str, sink, progress, sync: bool, lookup: bool):
        self._lib, self.name, self._sink = lib, name, sink
        self._progress, self._sync, self._lookup = progress, sync, lookup

    @property
    def received(self) -> int:
        """Bytes written so far."""
        return self._sink.received

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (blocking, short: one write and two hash updates)."""
        self._sink.write(chunk)

    def finish(self) -> dict:
        """Validate and commit the received file; returns ``{"imported", "skipped", "failed"}``
        (a refused file is in ``failed``, never raised)."""
        report = {"imported": [], "skipped": [], "failed": []}
        self._lib._run_unit(report, self.name, self._sink.finish)
        return self._lib._after_import(report, self._progress, self._sync, self._lookup)

    def abort(self) -> None:
        """Drop what was received (idempotent)."""
        self._sink.abort()

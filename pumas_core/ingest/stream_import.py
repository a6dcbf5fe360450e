"""Receiving one file chunk by chunk (an HTTP upload): the *stream* way of landing bytes.

:class:`StreamImport` lets the caller own the waiting: each :meth:`~StreamImport.write` is one short
blocking write + hash of bytes that have already arrived, so a server can read the network on its
event loop and use a worker thread only for the write itself (never while a slow client trickles).
Everything else is the path import's pipeline (:mod:`pumas_core.ingest.importer`): the stage comes from
:meth:`Importer.open_stage`, the bytes are written and hashed by
:class:`~pumas_core.ingest.hashing.HashingWriter` (the copy's destination handling and hashers), and
:meth:`~StreamImport.finish` runs the same :meth:`Importer.check` (validate + identify) and
:meth:`Importer.commit` on the staged file; a full disk at any step is the same
:class:`~pumas_core.errors.InsufficientSpaceError` (:func:`~pumas_core.ingest.importer.space_errors`).
:meth:`~StreamImport.abort` removes the staging.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import BadInputError, OperationCancelledError, PumasError
from ..naming import clean_name
from ..vocab import Stage, UnitKind
from .hashing import HashingWriter
from .importer import Landed, file_entry, space_errors
from .staging import discard_stage
from .units import ImportUnit

if TYPE_CHECKING:
    from .importer import Importer, ImportOptions, Progress
    from .report import Outcome

#: the ``import_source`` of an uploaded model (``metadata.json``)
UPLOAD_SOURCE = "upload"


def upload_file_name(name: str) -> str:
    """The base name of a file name a sender gave (``C:\\x\\a.pt`` → ``a.pt``).

    Raises:
        BadInputError: nothing usable is left (empty, ``.``, ``..``).
    """
    official = os.path.basename(name.replace("\\", "/")).strip()
    if not official or official in (".", ".."):
        raise BadInputError(f"{name!r}: not a file name")
    return official


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

    def __init__(self, importer: Importer, name: str, opts: ImportOptions, *, size: int | None = None,
                 progress: Progress | None = None) -> None:
        self.official = upload_file_name(name)
        self.importer, self.opts, self.size, self.progress = importer, opts, size, progress
        self.rel = clean_name(self.official)
        with space_errors(self.official):
            self.stage = importer.open_stage(size or None)  # an unknown (or zero) size is not checked
            try:
                self._file = HashingWriter(self.stage / self.rel)
            except BaseException:
                discard_stage(self.stage, importer.root)
                raise

    @property
    def received(self) -> int:
        """Bytes written so far."""
        return self._file.size

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` to the staged file and to both hashes (blocking, short).

        Raises:
            OperationCancelledError: the options' cancel event is set.
            InsufficientSpaceError: the library's disk is full (names the file); WriteFailedError.
        The caller aborts after an error.
        """
        if self.opts.cancel is not None and self.opts.cancel.is_set():
            raise OperationCancelledError(f"{self.official}: upload cancelled")
        with space_errors(self.official):
            self._file.write(chunk)
        if self.progress:
            self.progress({"stage": Stage.COPYING, "file": self.official, "bytes_done": self.received,
                           "bytes_total": self.size or 0})

    def finish(self) -> Outcome:
        """Close, check the size, validate, identify and commit; return ``("imported"|"skipped", info)``.

        Raises the errors of :meth:`Importer.import_unit` and ``BadInputError`` when fewer bytes
        than the announced size arrived.  The staging is removed when it raises.
        """
        try:
            with space_errors(self.official):
                hashes = self._file.finish()
                if self.size is not None and hashes.size != self.size:
                    raise BadInputError(f"{self.official}: upload ended after {hashes.size} of {self.size} bytes")
                unit = ImportUnit(UnitKind.SINGLE_FILE, self.official, self.stage.path, [self.stage / self.rel])
                try:
                    checked = self.importer.check(unit, self.opts)
                except PumasError as exc:  # the user never saw the staging path: name the upload
                    _name_the_upload(exc, str(self.stage / self.rel), self.official)
                    raise
                landed = Landed([file_entry(self.rel, hashes)], UPLOAD_SOURCE)
                return self.importer.commit(self.stage, unit, checked, landed, self.opts, self.progress)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop everything received: close the file and remove the staging folder (idempotent)."""
        self._file.discard()
        discard_stage(self.stage, self.importer.root)


def _name_the_upload(exc: PumasError, staged: str, name: str) -> None:
    """Rewrite an error about the staged copy (``<lib>/.staging/<hex>.tmp/x.safetensors: ...``) to name the
    uploaded file instead, in its message and :attr:`~pumas_core.errors.PumasError.path`."""
    if exc.args and isinstance(exc.args[0], str) and staged in exc.args[0]:
        exc.args = (exc.args[0].replace(staged, name), *exc.args[1:])
    if exc.path == staged:
        exc.path = name

"""Hash-while-copy: BLAKE3 and SHA-256 of a model file in the same pass that copies it.

* :func:`copy_and_hash` — copy mode: read the source once, write the destination, hash both
  ways, ``fsync`` the destination.
* :func:`hash_file` — move mode: the file is already in place; hash it in one pass.
* :class:`HashingWriter` — stream mode (an upload): bytes arrive chunk by chunk; each chunk is written
  and hashed at once.  Same destination handling (``O_EXCL``, early writeback, ``fsync``), same
  hashers (BLAKE3 threading) and same full-disk mapping (:func:`write_error`) as the copy.
* :func:`check_free_space` — refuse early when the destination cannot hold the file.

Reading, writing and the two hashes overlap on separate threads through the bounded ring of
:mod:`pumas_core.ingest.hash_pipeline` (``RING_BUFFERS`` x ``chunk_size`` bytes, 32 MiB by
default), so memory stays flat for a file of any size.

Algorithms: SHA-256 is FIPS 180-4 (``hashlib``); BLAKE3 is the BLAKE3 specification
(https://github.com/BLAKE3-team/BLAKE3-specs) via the ``blake3`` package.  Digests are lowercase
hex, as stored in ``metadata.json``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import blake3

from pumas_core.ingest.hash_pipeline import Cancelled, Pipeline
from pumas_core.testhooks import phase

from ..atomic import SPACE_ERRNOS
from ..errors import BadInputError, InsufficientSpaceError, OperationCancelledError, WriteFailedError
from ..vocab import Stage

MiB = 1024 * 1024
DEFAULT_CHUNK = 8 * MiB
RING_BUFFERS = 4
# Writeback of the destination is started every this many bytes, so the final fsync has
# little left to do (Linux: POSIX_FADV_DONTNEED starts writeback of dirty pages in the range).
WRITEBACK_STEP = 64 * MiB
# check_free_space keeps this much room beyond the file itself (plus 1 % of its size).
SPACE_MARGIN = 64 * MiB

# On machines with few cores SHA-256 already occupies a whole core; extra BLAKE3 threads would
# only compete with it.  With 4+ cores BLAKE3's own thread pool pays off.
_BLAKE3_THREADS = blake3.blake3.AUTO if (os.cpu_count() or 1) >= 4 else 1

ProgressFn = Optional[Callable[[dict[str, Any]], None]]

#: errnos that mean "the destination is full" (no space, quota, file too large for the file system)


@dataclass
class FileHashes:
    """The identity of a file's bytes.

    Attributes:
        sha256: SHA-256 digest, 64 lowercase hex characters.
        blake3: BLAKE3 digest (32 bytes), 64 lowercase hex characters.
        size: the file's length in bytes.
    """

    sha256: str
    blake3: str
    size: int


def write_error(dst: Path, exc: OSError, doing: str = "write failed") -> InsufficientSpaceError | WriteFailedError:
    """The error for an ``OSError`` met while writing ``dst``: :class:`InsufficientSpaceError` for a
    full disk (:data:`SPACE_ERRNOS`), else :class:`WriteFailedError`; both name ``dst`` (``.path``)."""
    if exc.errno in SPACE_ERRNOS:
        reason = "file too large for the destination" if exc.errno == errno.EFBIG else "no space left"
        return InsufficientSpaceError(f"{dst}: {reason} ({exc.strerror or exc})", path=dst)
    return WriteFailedError(f"{dst}: {doing} ({exc.strerror or exc})", path=dst)


class _Source:
    """The source file opened unbuffered, with the size and mtime seen at open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.f = open(path, "rb", buffering=0)  # noqa: SIM115 - kept open across calls, closed by close()
        except OSError as exc:
            raise BadInputError(f"{path}: cannot read source ({exc.strerror or exc})", path=path) from None
        st = os.fstat(self.f.fileno())
        if not stat.S_ISREG(st.st_mode):
            self.f.close()
            raise BadInputError(f"{path}: not a regular file", path=path)
        self.size = st.st_size
        self.mtime_ns = st.st_mtime_ns
        self.read = 0
        _advise(self.f.fileno(), 0, 0, "POSIX_FADV_SEQUENTIAL")

    def read_into(self, view: memoryview) -> int:
        """Fill ``view`` (short only at EOF); BadInputError if the file grows past its size."""
        got = 0
        while got < len(view):
            try:
                n = self.f.readinto(view[got:])
            except OSError as exc:
                raise BadInputError(f"{self.path}: read failed ({exc.strerror or exc})", path=self.path) from None
            if not n:
                break
            got += n
        self.read += got
        phase("import.read_chunk")
        if self.read > self.size:
            raise BadInputError(f"{self.path}: source grew while being read (was {self.size} bytes)", path=self.path)
        return got

    def check_unchanged(self) -> None:
        """Raise BadInputError if the bytes read or the file's size/mtime differ from the start."""
        st = os.fstat(self.f.fileno())
        if self.read != self.size or st.st_size != self.size:
            raise BadInputError(
                f"{self.path}: source changed size while being read "
                f"(was {self.size} bytes, read {self.read}, now {st.st_size})", path=self.path)
        if st.st_mtime_ns != self.mtime_ns:
            raise BadInputError(f"{self.path}: source was modified while being read", path=self.path)

    def close(self) -> None:
        """Close the source file."""
        self.f.close()


def _advise(fd: int, offset: int, length: int, advice: str) -> None:
    """``os.posix_fadvise`` where it exists; a hint only, so failures are ignored."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, offset, length, getattr(os, advice))


def _hashers() -> tuple[Any, blake3.blake3]:
    """A fresh SHA-256 and BLAKE3 hasher pair (BLAKE3 threaded per :data:`_BLAKE3_THREADS`)."""
    sha = hashlib.sha256()
    b3 = blake3.blake3(max_threads=_BLAKE3_THREADS)
    return sha, b3


def _progress_adapter(progress: ProgressFn, stage: Stage, path: Path, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    report, name = progress, str(path)
    return lambda done: report({"stage": stage, "file": name, "bytes_done": done, "bytes_total": total})


def _run(src: _Source, consumers: list[Callable[[memoryview], object]], names: list[str], chunk_size: int,
         cancel: Optional[threading.Event], progress: ProgressFn, stage: Stage) -> None:
    pipe = Pipeline(consumers, chunk_size=chunk_size, n_buffers=RING_BUFFERS, names=names)
    on_progress = _progress_adapter(progress, stage, src.path, src.size)
    if on_progress is not None:
        on_progress(0)
    try:
        pipe.run(src.read_into, cancel=cancel, on_progress=on_progress)
    except Cancelled:
        raise OperationCancelledError(f"{src.path}: {stage} cancelled", path=src.path) from None
    src.check_unchanged()


def hash_file(
    path: Path,
    *,
    progress: ProgressFn = None,
    cancel: Optional[threading.Event] = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> FileHashes:
    """SHA-256 and BLAKE3 of ``path`` in one read (move mode: hash the file in place).

    Args:
        path: a regular file.
        progress: called with ``{"stage": "hashing", "file", "bytes_done", "bytes_total"}``
            (bytes) at most ~10 times a second, and at start and end.
        cancel: a ``threading.Event``; when set, hashing stops.
        chunk_size: bytes per read buffer.
    Returns:
        :class:`FileHashes`.
    Raises:
        BadInputError: unreadable, not a regular file, or changed while being hashed.
        OperationCancelledError: ``cancel`` was set.
    """
    path = Path(path)
    src = _Source(path)
    sha, b3 = _hashers()
    try:
        _run(src, [sha.update, b3.update], ["pumas-sha256", "pumas-blake3"],
             chunk_size, cancel, progress, Stage.HASHING)
    finally:
        src.close()
    return FileHashes(sha256=sha.hexdigest(), blake3=b3.hexdigest(), size=src.size)


class _Dest:
    """The destination, created exclusively; writes with ``os.write`` and starts writeback early."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            self.fd = os.open(path, flags, 0o666)  # the umask decides (0644 under 022)
        except FileExistsError:
            raise BadInputError(f"{path}: destination already exists", path=path) from None
        except OSError as exc:
            raise write_error(path, exc, "cannot create destination") from None
        self.written = 0
        self._flushed = 0

    def write(self, view: memoryview) -> None:
        """Write all of ``view``; OSError (ENOSPC, EFBIG, EIO) propagates to the pipeline."""
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
            self.written += n
        phase("import.copy_chunk")
        if self.written - self._flushed >= WRITEBACK_STEP:
            # Linux starts writeback of the dirty range; pages still under writeback stay cached.
            _advise(self.fd, self._flushed, self.written - self._flushed, "POSIX_FADV_DONTNEED")
            self._flushed = self.written

    def finish(self) -> None:
        """fsync and close; the data is on disk when this returns."""
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1

    def discard(self) -> None:
        """Close (if open) and remove the partial destination."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def copy_and_hash(
    src: Path,
    dst: Path,
    *,
    progress: ProgressFn = None,
    cancel: Optional[threading.Event] = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> FileHashes:
    """Copy ``src`` to a new file ``dst`` and return SHA-256 + BLAKE3 of the bytes written.

    The source is read once; the hashes are of exactly the bytes written.  ``dst`` must not
    exist (it is created with ``O_EXCL``; write to a staging ``*.tmp`` path and rename it
    yourself, then fsync the directory).  ``dst`` is fsynced before this returns.  On any error
    or cancel, ``dst`` is removed and nothing is left behind.

    Args:
        src: a regular, readable file.
        dst: the new file's path; its directory must exist.
        progress: called with ``{"stage": "copying", "file": str(src), "bytes_done",
            "bytes_total"}`` (bytes) at most ~10 times a second, and at start and end.
        cancel: a ``threading.Event``; when set, the copy stops.
        chunk_size: bytes per buffer (the ring holds ``RING_BUFFERS`` of them).
    Returns:
        :class:`FileHashes` (``size`` = bytes copied).
    Raises:
        BadInputError: ``src`` unreadable / not a regular file / changed size or was modified
            during the copy, or ``dst`` already exists.
        InsufficientSpaceError: the destination ran out of space (ENOSPC, EDQUOT) or refused the
            file size (EFBIG); names ``dst``.
        OperationCancelledError: ``cancel`` was set.
        WriteFailedError: any other write failure, naming ``dst``.
    """
    src, dst = Path(src), Path(dst)
    source = _Source(src)
    try:
        out = _Dest(dst)
    except BaseException:
        source.close()
        raise
    sha, b3 = _hashers()
    try:
        _run(source, [out.write, sha.update, b3.update],
             ["pumas-write", "pumas-sha256", "pumas-blake3"],
             chunk_size, cancel, progress, Stage.COPYING)
        out.finish()
    except OSError as exc:
        out.discard()
        if isinstance(exc, WriteFailedError):  # already mapped (a PumasError that is also an OSError)
            raise
        raise write_error(dst, exc) from None
    except BaseException:
        out.discard()
        raise
    finally:
        source.close()
    return FileHashes(sha256=sha.hexdigest(), blake3=b3.hexdigest(), size=source.size)


class HashingWriter:
    """Stream mode: write a new file ``dst`` from chunks that arrive one at a time, hashing them as written.

    The destination is handled like :func:`copy_and_hash`'s (created with ``O_EXCL``, writeback started
    early, ``fsync`` at :meth:`finish`) and hashed with the same hashers; a full disk raises the same
    :class:`InsufficientSpaceError` (:func:`write_error`).  Each :meth:`write` is one short blocking call.

    Raises (constructor): BadInputError (``dst`` exists), InsufficientSpaceError / WriteFailedError.
    """

    def __init__(self, dst: Path) -> None:
        self.path = Path(dst)
        self._out = _Dest(self.path)
        self._sha, self._b3 = _hashers()
        self._open = True

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._out.written

    def write(self, chunk: bytes) -> None:
        """Write and hash ``chunk``.

        Raises:
            InsufficientSpaceError: the destination is full; WriteFailedError: any other write failure.
        """
        try:
            self._out.write(memoryview(chunk))
        except OSError as exc:
            raise write_error(self.path, exc) from None
        self._sha.update(chunk)
        self._b3.update(chunk)

    def finish(self) -> FileHashes:
        """``fsync`` and close the file; returns its :class:`FileHashes` (raises like :meth:`write`)."""
        try:
            self._out.finish()
        except OSError as exc:
            raise write_error(self.path, exc) from None
        self._open = False
        return FileHashes(sha256=self._sha.hexdigest(), blake3=self._b3.hexdigest(), size=self._out.written)

    def discard(self) -> None:
        """Close and remove the partial file (idempotent; a finished file is kept)."""
        if self._open:
            self._open = False
            self._out.discard()


def check_free_space(dst_dir: Path, needed_bytes: int) -> None:
    """Raise InsufficientSpaceError unless ``dst_dir``'s file system has room for ``needed_bytes``.

    Room means ``needed_bytes`` + ``SPACE_MARGIN`` (64 MiB) + 1 % of ``needed_bytes`` free, as
    reported by ``shutil.disk_usage`` (space available to this user).  A ``dst_dir`` that does
    not exist yet is measured at its nearest existing ancestor.

    Raises:
        InsufficientSpaceError: naming ``dst_dir``, the bytes needed and the bytes free.
        BadInputError: no ancestor of ``dst_dir`` can be inspected.
    """
    probe = Path(dst_dir)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError as exc:
        reason = exc.strerror or exc
        raise BadInputError(f"{dst_dir}: cannot measure free space ({reason})", path=dst_dir) from None
    want = needed_bytes + SPACE_MARGIN + needed_bytes // 100
    if free < want:
        raise InsufficientSpaceError(
            f"{dst_dir}: not enough free space (need {_human(want)} incl. margin, "
            f"{_human(free)} free)", path=dst_dir)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"

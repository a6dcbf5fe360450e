"""Durable atomic file writes (temp file in the same folder, fsync, rename, fsync the folder) and a
forgiving reader for small JSON settings files.

A failed write raises :class:`~pumas_core.errors.WriteFailedError` naming the file (``.path``); it is
an ``OSError`` whose ``errno``/``strerror``/``filename`` are those of the failure, so handlers written
for ``OSError`` keep working.  A missing folder raises :class:`~pumas_core.errors.FileMissingError`
(also a ``FileNotFoundError``).  A full disk (ENOSPC, EDQUOT, EFBIG) is left as the plain ``OSError``
for the caller to report as :class:`~pumas_core.errors.InsufficientSpaceError` in its own words.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, NoReturn

from .errors import FileMissingError, PumasError, WriteFailedError

_UMASK_LOCK = threading.Lock()
#: errno values that mean "the disk (or the user's quota) is full", not "this file cannot be written".
SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def raise_write_failed(exc: OSError, path: str | os.PathLike[str]) -> NoReturn:
    """Re-raise ``exc`` (an error met while writing ``path``) as :class:`WriteFailedError`
    (``"<path>: cannot write (<strerror>)"``, ``path=``, ``errno``/``strerror`` copied, ``filename``
    = ``path``), or as :class:`FileMissingError` when the folder is missing (ENOENT); a full-disk
    error (:data:`SPACE_ERRNOS`) and an error that already is a ``PumasError`` are re-raised unchanged."""
    if isinstance(exc, PumasError) or exc.errno in SPACE_ERRNOS:
        raise exc
    why = exc.strerror or str(exc)
    err: WriteFailedError | FileMissingError
    if isinstance(exc, FileNotFoundError):
        err = FileMissingError(f"{path}: cannot write, its folder is missing ({why})", path=path)
    else:
        err = WriteFailedError(f"{path}: cannot write ({why})", path=path)
    err.errno, err.strerror, err.filename = exc.errno, exc.strerror, os.fspath(path)
    raise err from exc


def current_umask() -> int:
    """The process umask (e.g. ``0o022``), read without changing it where the OS allows
    (Linux ``/proc/self/status`` ``Umask:`` line), else by a set-and-restore under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        old = os.umask(0o022)
        os.umask(old)
    return old


def file_mode() -> int:
    """The mode a plain ``open()`` would give a new file: ``0o666 & ~umask`` (0644 under umask 022)."""
    return 0o666 & ~current_umask()


def discard(path: str | os.PathLike[str]) -> None:
    """Remove a temp file left by a failed write; a missing file or a failed unlink is not an error."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory so a rename inside it is durable (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file.

    The new file gets ``0o666 & ~umask`` like any file the user creates (``mkstemp`` alone gives
    0600, which makes a library shared on a NAS unreadable to other users).

    Raises:
        WriteFailedError: the folder is not writable, or an I/O error (``path=`` the file; an
            ``OSError``; the temp file is removed and the old file stays as it was).
        FileMissingError: the folder does not exist (a ``FileNotFoundError``).
        OSError: ENOSPC/EDQUOT/EFBIG, the disk is full (same clean-up).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise_write_failed(exc, path)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                with contextlib.suppress(OSError):  # a file system without modes (FAT, some shares) refuses it
                    os.fchmod(f.fileno(), file_mode())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        discard(tmp)
        raise_write_failed(exc, path)
    except BaseException:
        discard(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text (same errors)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json_object(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a small JSON object file; a missing, unreadable or non-object file gives ``{}`` (never raises)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}

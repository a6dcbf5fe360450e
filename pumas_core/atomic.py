"""Durable atomic file writes (temp file in the same folder, fsync, rename, fsync the folder) and a
forgiving reader for small JSON settings files."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

_UMASK_LOCK = threading.Lock()


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


def discard(path: str | os.PathLike) -> None:
    """Remove a temp file left by a failed write; a missing file or a failed unlink is not an error."""
    try:
        os.unlink(path)
    except OSError:
        pass


def fsync_dir(path: Path) -> None:
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file.

    The new file gets ``0o666 & ~umask`` like any file the user creates (``mkstemp`` alone gives
    0600, which makes a library shared on a NAS unreadable to other users).

    Raises:
        OSError: the folder is not writable or the disk is full (the temp file is removed).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), file_mode())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json_object(path: Path) -> dict:
    """Read a small JSON object file; a missing, unreadable or non-object file gives ``{}`` (never raises)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}

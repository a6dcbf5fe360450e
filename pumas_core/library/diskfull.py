"""SQLite on a full disk: recognise the failure and open the database read-only without writing.

A database in WAL mode needs its ``-shm`` file (32 KiB, created and sized at open) even to read.
When the disk is 100 % full that file cannot be sized and every open fails with ``disk I/O error``
(``SQLITE_IOERR_SHMSIZE``) or ``database or disk is full``.  SQLite does not touch the ``-shm``
file at all when ``PRAGMA locking_mode = EXCLUSIVE`` is set before the first read (the WAL index
is then kept in heap memory; https://www.sqlite.org/wal.html, "Use of WAL Without Shared-Memory"),
so :func:`connect_read_only` opens such a connection with ``PRAGMA query_only``: it reads the
database *and* its WAL (nothing committed is missed) and cannot write.  If even that fails it falls
back to ``immutable=1`` (https://www.sqlite.org/uri.html), which reads the main file only.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from ..errors import InsufficientSpaceError

#: below this many free bytes an I/O error while opening or writing is taken as "disk full".
LOW_SPACE = 16 << 20


def free_bytes(path: Path) -> int | None:
    """Free bytes on ``path``'s file system (its nearest existing ancestor), or None if unknown."""
    p = Path(path)
    while not p.exists() and p.parent != p:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def is_disk_full(exc: BaseException, path: Path) -> bool:
    """True when ``exc`` (an ``sqlite3`` error about the database at ``path``) means the disk is full:
    ``SQLITE_FULL``, or an I/O error while the file system has less than :data:`LOW_SPACE` free."""
    if not isinstance(exc, sqlite3.Error):
        return False
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_FULL") or "disk is full" in str(exc):
        return True
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in str(exc):
        free = free_bytes(Path(path).parent)
        return free is not None and free < LOW_SPACE
    return False


def space_error(path: Path) -> InsufficientSpaceError:
    """The one-line error for a write refused because the disk holding ``path`` is full."""
    return InsufficientSpaceError(f"{path}: the disk is full; nothing was written (free some space and retry)",
                                  path=path)


def connect_read_only(path: Path, *, timeout: float = 10.0) -> sqlite3.Connection:
    """Open ``path`` for reading without creating or growing any file (see the module doc).

    Raises:
        sqlite3.DatabaseError: the file cannot be read at all.
    """
    conn = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("PRAGMA query_only = 1")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.Error:
        conn.close()
    uri = Path(path).resolve().as_uri() + "?immutable=1"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False, isolation_level=None)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn

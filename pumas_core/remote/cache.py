"""Persisted remote-metadata cache: ``<state_dir>/remote_cache.db`` (SQLite, WAL).

Keys are strings such as ``hf:repo:<repo_id>``, ``hf:search:<term>``, ``civitai:sha256:<hex>``;
values are JSON documents; every row has an absolute expiry (epoch seconds).  Negative answers
("not on CivitAI", "repo not found") are cached like positive ones.  SQLite gives atomic,
crash-safe writes and lets several processes (ComfyUI + the CLI) share the file.

The cache is disposable: an unreadable or corrupt database file is moved aside
(``remote_cache.db.corrupt-<time>``) and a fresh one is created, so nothing else is lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HOUR = 3600.0
DAY = 24 * HOUR

_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)"


class RemoteCache:
    """Key → JSON value with time-to-live, stored in SQLite.

    Args:
        path: the database file (its folder is created).
        clock: returns epoch seconds (tests pass a fake clock to age entries).
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
            conn.execute("SELECT count(*) FROM entries").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            log.warning("%s: unreadable remote cache (%s); moved to %s and starting empty", self.path, exc, aside)
            with contextlib.suppress(OSError):
                self.path.replace(aside)
            for suffix in ("-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=5.0, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_SCHEMA)
        return conn

    def get(self, key: str, default: Any = None) -> Any:
        """Return the cached value of ``key`` or ``default`` when absent or expired."""
        with self._lock:
            row = self._conn.execute("SELECT value, expires FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None or row[1] <= self._clock():
            return default
        try:
            return json.loads(row[0])
        except json.JSONDecodeError:  # a damaged row reads as absent
            return default

    def put(self, key: str, value: Any, ttl: float) -> None:
        """Store ``value`` (JSON-serialisable) under ``key`` for ``ttl`` seconds (one atomic statement)."""
        text = json.dumps(value, separators=(",", ":"), default=str)
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                               (key, text, self._clock() + ttl))

    def purge_expired(self) -> int:
        """Delete expired rows; return how many were removed."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM entries WHERE expires <= ?", (self._clock(),))
            return cur.rowcount

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

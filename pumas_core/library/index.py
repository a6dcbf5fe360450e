"""``models.db``: the disposable SQLite index over the library's metadata files.

WAL mode, a busy timeout, indexes on sha256/blake3, and an FTS5 table (``unicode61``
tokenizer, prefix indexes) kept in sync with ``models`` by triggers.  A ``generation``
counter (also bumped by triggers) changes whenever a model is added, removed, or its
linking-relevant fields change; the boot sync compares it to skip no-op work.

Paths are stored relative to the library root so a moved library still indexes right.
Every method is safe to call from several threads (one connection behind a lock).

A full disk never leaves a half-written index nor hides the library: a write that runs out of
space is rolled back and raises :class:`~pumas_core.errors.InsufficientSpaceError`, and when the
index cannot even be opened for writing because the disk is full it is opened read-only
(:mod:`.diskfull`; ``ModelIndex.read_only`` is then True), so ``list``/``show``/``health`` still answer.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import BadInputError
from ..testhooks import phase
from . import diskfull
from .fts import fts_query
from .index_schema import COLUMNS, SCHEMA

__all__ = ["COLUMNS", "SCHEMA", "ModelIndex", "fts_query"]

#: A model as the index answers it: the ``metadata.json`` content plus ``"path"`` (absolute folder).
Model = dict[str, Any]
#: ``(model_id, rel_path, model_type, format, meta_json)``, see :meth:`ModelIndex.iter_link_rows`.
LinkRow = tuple[str, str, str, str, str]
#: ``(model_id, rel_path, model_type, format, official_name, cleaned_name)``, see :meth:`ModelIndex.name_rows`.
NameRow = tuple[str, str, str, str, str, str]
_NAME_ROWS = "SELECT model_id, rel_path, model_type, format, official_name, cleaned_name FROM models"
RANK_LIMIT = 1000  # at most this many matches are ranked by BM25 (bounded search cost)


class _BulkLoad:
    """The context manager of :meth:`ModelIndex.bulk_load`."""

    def __init__(self, index: ModelIndex) -> None:
        self.index = index

    def __enter__(self) -> ModelIndex:
        with self.index._lock, self.index._writing():
            self.index._conn.execute("UPDATE index_meta SET value = 1 WHERE key = 'bulk'")
            # the index is disposable and a killed scan is redone, so durability waits until the end
            self.index._conn.execute("PRAGMA synchronous = OFF")
            self.index._conn.execute("PRAGMA wal_autocheckpoint = 0")
        return self.index

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self.index._lock, self.index._writing():
            self.index._conn.execute("BEGIN IMMEDIATE")
            self.index._conn.execute("INSERT INTO models_fts(models_fts) VALUES ('rebuild')")
            self.index._conn.execute("UPDATE index_meta SET value = 0 WHERE key = 'bulk'")
            self.index._conn.execute("UPDATE index_meta SET value = value + 1 WHERE key = 'generation'")
            self.index._conn.execute("COMMIT")
            self.index._conn.execute("PRAGMA synchronous = NORMAL")
            self.index._conn.execute("PRAGMA wal_autocheckpoint = 1000")
            self.index._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class ModelIndex:
    """The SQLite index at ``db_path`` for the library at ``root``.

    Raises ``sqlite3.DatabaseError`` when the file is not a database (the caller may delete
    it and run Deep Scan: the index is disposable).
    """

    def __init__(self, db_path: Path, root: Path, *, timeout: float = 10.0) -> None:
        self.db_path = Path(db_path)
        self.root = Path(root)
        self._root_str = os.path.realpath(self.root)
        self._root_prefix = self._root_str + os.sep
        self._lock = threading.RLock()
        self.read_only = False
        try:
            self._conn = self._open_writable(timeout)
        except sqlite3.OperationalError as exc:
            if not (self.db_path.exists() and diskfull.is_disk_full(exc, self.db_path)):
                raise
            # the disk is full: answer reads from what is there, refuse writes with a clear error
            self._conn = diskfull.connect_read_only(self.db_path, timeout=timeout)
            self.read_only = True
            self._conn.execute("SELECT value FROM index_meta WHERE key = 'generation'").fetchone()

    def _open_writable(self, timeout: float) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.db_path), timeout=timeout, check_same_thread=False, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: indexes of 100k models stay in memory
            conn.execute("PRAGMA foreign_keys = ON")
            if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'models_au_link'").fetchone()[0] == 0:
                conn.executescript(SCHEMA)  # new (or older) index: nothing is written when it is complete
            if conn.execute("SELECT value FROM index_meta WHERE key = 'bulk'").fetchone()[0]:
                self._conn = conn
                _BulkLoad(self).__exit__(None, None, None)  # a Deep Scan was killed mid-way: finish the FTS index
        except BaseException:
            conn.close()
            raise
        return conn

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Wrap one write: refused on a read-only index; on failure the open transaction is rolled back
        (SQLite may already have rolled it back itself, e.g. after SQLITE_FULL) and a full disk becomes
        :class:`InsufficientSpaceError`."""
        if self.read_only:
            raise diskfull.space_error(self.db_path)
        try:
            yield
        except BaseException as exc:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            if diskfull.is_disk_full(exc, self.db_path):
                raise diskfull.space_error(self.db_path) from None
            raise

    # -- writing -------------------------------------------------------------------------
    def _row(self, meta: Mapping[str, Any], model_dir: Path) -> tuple[Any, ...]:
        path = str(model_dir)
        if not path.startswith(self._root_prefix) or os.sep + ".." in path:
            path = os.path.realpath(path)
        rel = os.path.relpath(path, self._root_str).replace(os.sep, "/")
        if rel.startswith("../") or rel == "..":
            raise BadInputError(f"{model_dir} is outside the library {self.root}", path=model_dir)
        hashes = meta.get("hashes") or {}
        values = {
            **{k: meta.get(k) for k in COLUMNS},
            "rel_path": rel,
            "sha256": hashes.get("sha256"),
            "blake3": hashes.get("blake3"),
            "pending_online_lookup": 1 if meta.get("pending_online_lookup") else 0,
            "tags": " ".join(meta.get("tags") or []),
            "meta_json": json.dumps(meta, ensure_ascii=False),
        }
        return tuple(values[c] for c in COLUMNS)

    def upsert(self, meta: Mapping[str, Any], model_dir: Path) -> None:
        """Insert or replace one model (``meta`` = its metadata.json content, a
        :class:`~pumas_core.library.metadata.ModelMetadata`) and its file rows.

        Raises:
            BadInputError: ``model_dir`` is outside the library.
            InsufficientSpaceError: the disk is full (nothing written); also on a read-only index.
        """
        self.upsert_many([(meta, model_dir)])

    def upsert_many(self, items: Iterable[tuple[Mapping[str, Any], Path]], *, fresh: bool = False) -> None:
        """Insert or replace many ``(metadata, model folder)`` pairs in one transaction (errors as
        :meth:`upsert`).

        ``fresh=True`` (Deep Scan after :meth:`clear`) skips the per-model cleanup of old rows.
        """
        items = builtins.list(items)
        placeholders = ",".join("?" for _ in COLUMNS)
        updates = ",".join(f"{c}=excluded.{c}" for c in COLUMNS if c != "model_id")
        sql = (f"INSERT INTO models({','.join(COLUMNS)}) VALUES ({placeholders}) "
               f"ON CONFLICT(model_id) DO UPDATE SET {updates}")
        rows = [self._row(meta, model_dir) for meta, model_dir in items]
        files = [(meta["model_id"], f["name"], f.get("sha256"), f.get("blake3"), f.get("size"))
                 for meta, _ in items for f in meta.get("files", [])]
        with self._lock, self._writing():
            self._conn.execute("BEGIN IMMEDIATE")
            if not fresh:
                self._conn.executemany("DELETE FROM model_files WHERE model_id = ?",
                                       [(meta["model_id"],) for meta, _ in items])
            self._conn.executemany(sql, rows)
            self._conn.executemany(
                "INSERT OR REPLACE INTO model_files(model_id, name, sha256, blake3, size) VALUES (?,?,?,?,?)", files)
            phase("index.commit")
            self._conn.execute("COMMIT")

    def delete(self, model_id: str) -> bool:
        """Remove a model from the index; True when it was there."""
        with self._lock, self._writing():
            self._conn.execute("BEGIN IMMEDIATE")
            cur = self._conn.execute("DELETE FROM models WHERE model_id = ?", (model_id,))
            self._conn.execute("DELETE FROM model_files WHERE model_id = ?", (model_id,))
            self._conn.execute("COMMIT")
            return cur.rowcount > 0

    def clear(self) -> None:
        """Drop every row (Deep Scan rebuilds from scratch)."""
        with self._lock, self._writing():
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("UPDATE index_meta SET value = 1 WHERE key = 'bulk'")
            self._conn.execute("DELETE FROM model_files")
            self._conn.execute("DELETE FROM models")
            self._conn.execute("UPDATE index_meta SET value = value + 1 WHERE key = 'generation'")
            self._conn.execute("INSERT INTO models_fts(models_fts) VALUES ('delete-all')")
            self._conn.execute("COMMIT")

    def bulk_load(self) -> _BulkLoad:
        """Context manager for Deep Scan: rows inserted inside skip the per-row FTS triggers, and the
        FTS index is rebuilt once at the end (also when the load fails half-way)."""
        return _BulkLoad(self)

    # -- reading -------------------------------------------------------------------------
    def _to_model(self, meta_json: str, rel_path: str) -> Model:
        meta: Model = json.loads(meta_json)
        meta["path"] = str(self.root / rel_path)
        return meta

    def get(self, model_id: str) -> Model | None:
        """The model dict (metadata + absolute ``path``) or None."""
        with self._lock:
            row = self._conn.execute("SELECT meta_json, rel_path FROM models WHERE model_id = ?",
                                     (model_id,)).fetchone()
        return self._to_model(*row) if row else None

    def find_by_hash(self, *, sha256: str | None = None, blake3: str | None = None) -> Model | None:
        """The model whose primary/composite hash or any of whose files has this hash, or None."""
        col, val = ("sha256", sha256) if sha256 else ("blake3", blake3)
        if not val:
            return None
        with self._lock:
            row = self._conn.execute(f"SELECT meta_json, rel_path FROM models WHERE {col} = ?", (val,)).fetchone()
            if row is None:
                row = self._conn.execute(
                    "SELECT m.meta_json, m.rel_path FROM model_files f JOIN models m USING(model_id) "
                    f"WHERE f.{col} = ?", (val,)).fetchone()
        return self._to_model(*row) if row else None

    def list(self, model_type: str | None = None, limit: int | None = None, offset: int = 0) -> builtins.list[Model]:
        """Models sorted by name (case-insensitive), optionally of one ``model_type``; ``limit`` None = all."""
        sql = "SELECT meta_json, rel_path FROM models"
        args: builtins.list[str | int] = []
        if model_type:
            sql += " WHERE model_type = ?"
            args.append(model_type)
        sql += " ORDER BY official_name COLLATE NOCASE, model_id LIMIT ? OFFSET ?"
        args += [-1 if limit is None else int(limit), int(offset)]
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [self._to_model(*r) for r in rows]

    def search(self, query: str, limit: int = 50,
               model_type: str | None = None) -> tuple[builtins.list[Model], float]:
        """Full-text prefix search ranked by BM25; returns ``(models, query_time_ms)``.

        An empty query lists models by name.
        """
        t0 = time.perf_counter()
        match = fts_query(query or "")
        if match is None:
            models = self.list(model_type=model_type, limit=limit)
        else:
            with self._lock:
                rows = self._search_rows(query, match, int(limit), model_type)
            models = [self._to_model(*r) for r in rows]
        return models, (time.perf_counter() - t0) * 1000.0

    def _search_rows(self, query: str, match: str, limit: int,
                     model_type: str | None) -> builtins.list[tuple[str, str]]:
        """Ranked rows for a MATCH expression, bounded in cost whatever the library size.

        When at most :data:`RANK_LIMIT` models match, they are ranked by BM25 (name columns
        weigh most).  A broader query (a one- or two-letter prefix at 100k models) would make
        BM25 score every match, so instead names that *start* with the query come first (an
        index range scan on ``official_name``), then further matches in index order.
        """
        type_sql, type_args = (" AND m.model_type = ?", [model_type]) if model_type else ("", [])
        n = int(self._conn.execute("SELECT count(*) FROM (SELECT rowid FROM models_fts WHERE models_fts MATCH ? "
                                   "LIMIT ?)", (match, RANK_LIMIT + 1)).fetchone()[0])
        base = ("SELECT m.meta_json, m.rel_path FROM models_fts JOIN models m ON m.rowid = models_fts.rowid "
                "WHERE models_fts MATCH ?" + type_sql)
        if n <= RANK_LIMIT:
            ranked: builtins.list[tuple[str, str]] = self._conn.execute(
                base + " ORDER BY bm25(models_fts, 10.0, 5.0, 2.0, 2.0, 2.0, 1.0, 0.5) LIMIT ?",
                [match, *type_args, limit]).fetchall()
            return ranked
        prefix = query.strip()
        rows = self._conn.execute(
            "SELECT m.meta_json, m.rel_path, m.rowid FROM models m WHERE m.official_name COLLATE NOCASE >= ? "
            "AND m.official_name COLLATE NOCASE < ?" + type_sql + " ORDER BY m.official_name COLLATE NOCASE LIMIT ?",
            [prefix, prefix + "\uffff", *type_args, limit]).fetchall()
        seen = {r[2] for r in rows}
        out: builtins.list[tuple[str, str]] = [(r[0], r[1]) for r in rows]
        if len(out) < limit:
            for meta_json, rel, rowid in self._conn.execute(base.replace("SELECT m.meta_json, m.rel_path",
                                                                         "SELECT m.meta_json, m.rel_path, m.rowid")
                                                            + " LIMIT ?", [match, *type_args, limit * 2]):
                if rowid not in seen:
                    out.append((meta_json, rel))
                    if len(out) >= limit:
                        break
        return out

    def _rows(self, sql: str, args: Sequence[object] = ()) -> builtins.list[Any]:
        """Every row of one read query (tuples), under the lock."""
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def count(self) -> int:
        """Number of indexed models."""
        return int(self._rows("SELECT count(*) FROM models")[0][0])

    def iter_link_rows(self) -> builtins.list[LinkRow]:
        """``(model_id, rel_path, model_type, format, meta_json)`` for every model (sync input)."""
        return self._rows("SELECT model_id, rel_path, model_type, format, meta_json FROM models")

    def name_rows(self) -> builtins.list[NameRow]:
        """``(model_id, rel_path, model_type, format, official_name, cleaned_name)`` for every model (no JSON)."""
        return self._rows(_NAME_ROWS)

    def name_rows_where(self, column: str, value: str) -> builtins.list[NameRow]:
        """Like :meth:`name_rows` for models whose ``official_name`` / ``cleaned_name`` (case-insensitive)
        or ``rel_path`` (exact) equals ``value``."""
        if column not in ("official_name", "cleaned_name", "rel_path"):
            raise ValueError(f"cannot look models up by {column!r}")
        op = "= ?" if column == "rel_path" else "= ? COLLATE NOCASE"
        return self._rows(f"{_NAME_ROWS} WHERE {column} {op}", (value,))

    def generation(self) -> int:
        """A counter that changes whenever linking-relevant index content changes."""
        return int(self._rows("SELECT value FROM index_meta WHERE key = 'generation'")[0][0])

    def pending_ids(self) -> builtins.list[str]:
        """Ids of models whose remote lookup is still pending."""
        return [r[0] for r in self._rows("SELECT model_id FROM models WHERE pending_online_lookup = 1")]

    def ids_with_prefix(self, prefix: str, limit: int = 3) -> builtins.list[str]:
        """Model ids starting with ``prefix`` (at most ``limit``)."""
        return [r[0] for r in self._rows("SELECT model_id FROM models WHERE model_id >= ? AND model_id < ? LIMIT ?",
                                         (prefix, prefix + "\uffff", limit))]

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()


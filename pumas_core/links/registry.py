"""``registry.db``: the registered ComfyUI installs, every link Pumas made, and small settings.

SQLite in WAL mode with a busy timeout, one short-lived connection per operation (always closed,
also on exceptions), exact-match queries only (no ``LIKE`` on names or paths).

Tables (schema version 2; creation and migrations in :mod:`.registry_schema`):

* ``apps(app_id PK, kind, root UNIQUE, models_dir, version, folder_paths JSON {key: [abs dirs]},
  mount, added, last_sync_at, last_sync_generation, last_sync_stamp JSON)``
* ``links(link_path PK, target_path, model_id, app_id, folder_key, kind 'file'|'dir', created)``
* ``settings(key PK, value)`` and ``schema_version(version)``.
* ``pins(link_path, reason, app_id, folder_key, rel_name, model_id, created)``, key ``(link_path, reason)``:
  links that must stay at exactly this path.  ``reason`` ``workflow`` (:data:`PIN_WORKFLOW`): a name a
  workflow asked for (``<folder_key>/<rel_name>``, see :mod:`pumas_core.links.pins`); every sync plans
  it, so it is re-created when missing.  ``adopt:<journal_id>``: a link that replaced a user's own file;
  a sync never removes it as stale, only a model delete or the adoption's undo does.

Times are Unix seconds (float).  Paths are stored absolute, as strings.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import BadInputError, InsufficientSpaceError, NotFoundError
from ..library import diskfull
from .registry_schema import PIN_WORKFLOW, SCHEMA_VERSION, migrate

__all__ = ["PIN_WORKFLOW", "SCHEMA_VERSION", "Registry", "make_app_id"]

BUSY_TIMEOUT_MS = 10_000
Row = dict[str, Any]  # one row as a dict of its columns (JSON-shaped)

_LINK_COLS = ("link_path", "target_path", "model_id", "app_id", "folder_key", "kind", "created", "strategy")
_PIN_COLS = ("link_path", "reason", "app_id", "folder_key", "rel_name", "model_id", "created")
_APP_COLS = ("app_id", "kind", "root", "models_dir", "version", "folder_paths", "mount", "added",
             "last_sync_at", "last_sync_generation", "last_sync_stamp")


def make_app_id(root: str) -> str:
    """Short stable id of an install: first 10 hex of SHA-256 over its absolute root path."""
    return hashlib.sha256(os.path.abspath(root).encode("utf-8", "surrogatepass")).hexdigest()[:10]


def _app_row(row: tuple[Any, ...]) -> Row:
    d = dict(zip(_APP_COLS, row, strict=True))
    d["folder_paths"] = json.loads(d["folder_paths"] or "{}")
    d["last_sync_stamp"] = json.loads(d["last_sync_stamp"]) if d["last_sync_stamp"] else None
    return d


class Registry:
    """The link registry over ``path`` (usually ``<state_dir>/registry.db``).

    Raises:
        BadInputError: the file exists but is not a registry database (names the file).
        SchemaTooNewError: a newer Pumas wrote it (left untouched).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.state_dir = self.path.parent
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._tx() as con:
                migrate(con, self.path)
        except InsufficientSpaceError:
            if not self.path.exists():
                raise
            # the disk is full: the existing registry is still readable (health, show); writes will say why they fail
        except sqlite3.DatabaseError as exc:
            raise BadInputError(f"{self.path}: not a usable registry database ({exc})", path=self.path) from exc

    # -- connection handling -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.OperationalError as exc:
            con.close()
            if not (self.path.exists() and diskfull.is_disk_full(exc, self.path)):
                raise
            # a full disk cannot hold the WAL's -shm file: read without it (writes fail in _tx)
            self.disk_full = True
            return diskfull.connect_read_only(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        return con

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``; committed on success, rolled back and closed always."""
        with closing(self._connect()) as con:
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                    con.execute("COMMIT")
                except BaseException:
                    if con.in_transaction:  # SQLite rolls back by itself after SQLITE_FULL
                        con.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                if diskfull.is_disk_full(exc, self.path) or getattr(self, "disk_full", False):
                    raise diskfull.space_error(self.path) from None
                raise

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(self._connect()) as con:
            return con.execute(sql, args).fetchall()

    # -- apps ----------------------------------------------------------------------------------
    def add_app(self, root: str, models_dir: str, version: str | None, folder_paths: dict[str, list[str]],
                kind: str = "comfyui", mount: str | None = None) -> Row:
        """Register (or update) an install by its absolute ``root``; returns the app dict.

        Re-adding the same root keeps its ``app_id`` and ``added`` time and refreshes the rest.
        """
        root = os.path.abspath(root)
        fp = json.dumps(folder_paths, sort_keys=True)
        with self._tx() as con:
            row = con.execute("SELECT app_id FROM apps WHERE root = ?", (root,)).fetchone()
            if row:
                app_id = row[0]
                con.execute("UPDATE apps SET models_dir=?, version=?, folder_paths=?, mount=?, kind=?, "
                            "last_sync_stamp=NULL WHERE app_id=?",
                            (os.path.abspath(models_dir), version, fp, mount, kind, app_id))
            else:
                app_id = make_app_id(root)
                n = 10
                while con.execute("SELECT 1 FROM apps WHERE app_id = ?", (app_id,)).fetchone():
                    n += 2  # a hash-prefix clash with another root: lengthen deterministically
                    app_id = hashlib.sha256(root.encode("utf-8", "surrogatepass")).hexdigest()[:n]
                con.execute("INSERT INTO apps(app_id, kind, root, models_dir, version, folder_paths, mount, added)"
                            " VALUES (?,?,?,?,?,?,?,?)",
                            (app_id, kind, root, os.path.abspath(models_dir), version, fp, mount, time.time()))
        return self.get_app(app_id)

    def get_app(self, app_id: str) -> Row:
        """The app dict (columns above, ``folder_paths`` decoded); :class:`NotFoundError` if unknown."""
        rows = self._query(f"SELECT {','.join(_APP_COLS)} FROM apps WHERE app_id = ?", (app_id,))
        if not rows:
            raise NotFoundError(f"app {app_id}: not registered")
        return _app_row(rows[0])

    def find_app_by_root(self, root: str) -> Row | None:
        """The app registered at exactly this absolute root, or None."""
        rows = self._query(f"SELECT {','.join(_APP_COLS)} FROM apps WHERE root = ?", (os.path.abspath(root),))
        return _app_row(rows[0]) if rows else None

    def list_apps(self) -> list[Row]:
        """All registered apps, oldest first."""
        return [_app_row(r) for r in self._query(f"SELECT {','.join(_APP_COLS)} FROM apps ORDER BY added, app_id")]

    def remove_app(self, app_id: str) -> int:
        """Delete the app row, its link rows and its pins (exact ``app_id``); returns the number of link rows dropped.

        The links on disk are not touched here (see :func:`pumas_core.links.unlink.unlink_app`).
        """
        with self._tx() as con:
            if not con.execute("SELECT 1 FROM apps WHERE app_id = ?", (app_id,)).fetchone():
                raise NotFoundError(f"app {app_id}: not registered")
            n = con.execute("DELETE FROM links WHERE app_id = ?", (app_id,)).rowcount
            con.execute("DELETE FROM pins WHERE app_id = ?", (app_id,))
            con.execute("DELETE FROM apps WHERE app_id = ?", (app_id,))
        return n

    def update_app_paths(self, app_id: str, root: str, models_dir: str, folder_paths: dict[str, list[str]],
                         mount: str | None) -> None:
        """Rewrite an app's paths (relocation); clears its sync stamp."""
        with self._tx() as con:
            con.execute("UPDATE apps SET root=?, models_dir=?, folder_paths=?, mount=?, last_sync_stamp=NULL "
                        "WHERE app_id=?", (root, models_dir, json.dumps(folder_paths, sort_keys=True), mount, app_id))

    # -- sync stamp (fast path) ----------------------------------------------------------------
    def set_stamp(self, app_id: str, generation: int | None, stamp: Row | None) -> None:
        """Store the fast-path stamp of the last full sync (``None`` clears it)."""
        with self._tx() as con:
            con.execute("UPDATE apps SET last_sync_at=?, last_sync_generation=?, last_sync_stamp=? WHERE app_id=?",
                        (time.time(), generation, json.dumps(stamp) if stamp is not None else None, app_id))

    def get_stamp(self, app_id: str) -> tuple[int | None, Row | None]:
        """``(generation, stamp)`` of the last full sync, ``(None, None)`` if none."""
        rows = self._query("SELECT last_sync_generation, last_sync_stamp FROM apps WHERE app_id = ?", (app_id,))
        if not rows or rows[0][1] is None:
            return None, None
        return rows[0][0], json.loads(rows[0][1])

    def clear_stamps(self, app_ids: Iterable[str] | None = None) -> None:
        """Forget the fast-path stamps (of the given apps, or all) so the next boot sync runs fully."""
        with self._tx() as con:
            if app_ids is None:
                con.execute("UPDATE apps SET last_sync_stamp = NULL")
            else:
                con.executemany("UPDATE apps SET last_sync_stamp = NULL WHERE app_id = ?", [(a,) for a in app_ids])

    # -- links ---------------------------------------------------------------------------------
    def upsert_links(self, rows: Iterable[Row]) -> int:
        """Insert or replace link rows (dicts with the ``links`` columns; ``created`` defaults to now)."""
        now = time.time()
        data = [(r["link_path"], r["target_path"], r["model_id"], r["app_id"], r["folder_key"], r["kind"],
                 r.get("created") or now, r.get("strategy") or "relative") for r in rows]
        if not data:
            return 0
        with self._tx() as con:
            con.executemany(f"INSERT OR REPLACE INTO links({','.join(_LINK_COLS)}) VALUES (?,?,?,?,?,?,?,?)", data)
        return len(data)

    def delete_links(self, link_paths: Iterable[str]) -> int:
        """Delete link rows by exact ``link_path``; returns the number deleted."""
        data = [(p,) for p in link_paths]
        if not data:
            return 0
        with self._tx() as con:
            cur = con.executemany("DELETE FROM links WHERE link_path = ?", data)
            return cur.rowcount

    def _links(self, where: str = "", args: tuple[Any, ...] = ()) -> list[Row]:
        return [dict(zip(_LINK_COLS, r, strict=True))
                for r in self._query(f"SELECT {','.join(_LINK_COLS)} FROM links {where} ORDER BY link_path", args)]

    def get_link(self, link_path: str) -> Row | None:
        """The row of exactly this link path, or None."""
        rows = self._links("WHERE link_path = ?", (link_path,))
        return rows[0] if rows else None

    def links_for_app(self, app_id: str) -> list[Row]:
        """Every link row of one app (exact ``app_id``)."""
        return self._links("WHERE app_id = ?", (app_id,))

    def links_for_model(self, model_id: str) -> list[Row]:
        """Every link row of one model (exact ``model_id``), across apps."""
        return self._links("WHERE model_id = ?", (model_id,))

    def sample_links(self, app_id: str, n: int) -> list[Row]:
        """Up to ``n`` link rows of one app (by ``link_path`` order): cheap probes for the boot checks."""
        rows = self._query(f"SELECT {','.join(_LINK_COLS)} FROM links WHERE app_id = ? ORDER BY link_path LIMIT ?",
                           (app_id, n))
        return [dict(zip(_LINK_COLS, r, strict=True)) for r in rows]

    def all_links(self) -> list[Row]:
        """Every link row."""
        return self._links()

    def link_counts(self) -> dict[str, int]:
        """``{model_id: number of registered links}`` for every model that has one."""
        return {str(mid): int(n) for mid, n in self._query("SELECT model_id, COUNT(*) FROM links GROUP BY model_id")}

    def count_links(self, app_id: str | None = None) -> int:
        """Number of link rows (of one app, or all)."""
        if app_id is None:
            return int(self._query("SELECT COUNT(*) FROM links")[0][0])
        return int(self._query("SELECT COUNT(*) FROM links WHERE app_id = ?", (app_id,))[0][0])

    def rewrite_links(self, changes: list[tuple[str, Row]]) -> None:
        """Replace rows: each ``(old_link_path, new_row)`` deletes the old key and inserts the new row;
        pins of the old path move to the new path and app (relocation and merged installs keep them)."""
        with self._tx() as con:
            for old, row in changes:
                con.execute("DELETE FROM links WHERE link_path = ?", (old,))
                con.execute("UPDATE OR REPLACE pins SET link_path = ?, app_id = ? WHERE link_path = ?",
                            (row["link_path"], row["app_id"], old))
                con.execute(f"INSERT OR REPLACE INTO links({','.join(_LINK_COLS)}) VALUES (?,?,?,?,?,?,?,?)",
                            tuple(row[c] for c in _LINK_COLS))

    # -- pins: links that must stay at exactly this path ----------------------------------------
    def pin(self, link_path: str, reason: str, *, app_id: str | None = None, folder_key: str | None = None,
            rel_name: str | None = None, model_id: str | None = None) -> None:
        """Pin the link at ``link_path`` for ``reason`` (replaces a pin of the same path and reason).

        ``reason``: :data:`PIN_WORKFLOW` (a workflow asked for ``<folder_key>/<rel_name>`` in ``app_id``:
        give all four) or ``adopt:<journal_id>``.  A pinned path is never removed as stale by a sync.
        """
        with self._tx() as con:
            con.execute("INSERT OR REPLACE INTO pins(link_path, reason, app_id, folder_key, rel_name, model_id, "
                        "created) VALUES (?,?,?,?,?,?,?)",
                        (link_path, reason, app_id, folder_key, rel_name, model_id, time.time()))

    def unpin(self, link_paths: Iterable[str] | None = None, *, reason: str | None = None) -> int:
        """Forget pins: of these exact paths (every reason), or with exactly this ``reason``, or both
        (paths pinned for that reason).  Returns how many pin rows went."""
        where, args = [], []
        if reason is not None:
            where.append("reason = ?")
            args.append(reason)
        if link_paths is None:
            if not where:
                raise BadInputError("unpin: give link paths or a reason")
            with self._tx() as con:
                return con.execute(f"DELETE FROM pins WHERE {' AND '.join(where)}", args).rowcount
        sql = f"DELETE FROM pins WHERE {' AND '.join([*where, 'link_path = ?'])}"
        with self._tx() as con:
            return sum(con.execute(sql, (*args, p)).rowcount for p in link_paths)

    def pins(self, *, app_id: str | None = None, reason: str | None = None) -> list[dict[str, Any]]:
        """Pin rows (``{"link_path","reason","app_id","folder_key","rel_name","model_id","created"}``),
        optionally of one app and/or one exact reason, ordered by path."""
        where, args = [], []
        for col, val in (("app_id", app_id), ("reason", reason)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        sql = f"SELECT {','.join(_PIN_COLS)} FROM pins {'WHERE ' + ' AND '.join(where) if where else ''} " \
              "ORDER BY link_path, reason"
        return [dict(zip(_PIN_COLS, r, strict=True)) for r in self._query(sql, tuple(args))]

    def pinned_paths(self) -> set[str]:
        """Every pinned link path (any reason)."""
        return {r[0] for r in self._query("SELECT DISTINCT link_path FROM pins")}

    def pins_for_app(self, app_id: str) -> list[dict[str, Any]]:
        """The workflow pins of one app: ``{"folder_key", "rel_name", "model_id", "link_path"}``, by name."""
        rows = self._query("SELECT folder_key, rel_name, model_id, link_path FROM pins WHERE app_id = ? AND reason = ? "
                           "ORDER BY folder_key, rel_name", (app_id, PIN_WORKFLOW))
        return [{"folder_key": k, "rel_name": n, "model_id": m, "link_path": p} for k, n, m, p in rows]

    # compatibility names for callers on other branches (same table, same behaviour); new code uses pin/unpin
    def add_pin(self, app_id: str, folder_key: str, rel_name: str, model_id: str) -> None:
        """:meth:`pin` with :data:`PIN_WORKFLOW` at ``<models_dir>/<folder_key>/<rel_name>`` of ``app_id``."""
        app = self.get_app(app_id)
        self.pin(os.path.join(app["models_dir"], folder_key, *rel_name.split("/")), PIN_WORKFLOW, app_id=app_id,
                 folder_key=folder_key, rel_name=rel_name, model_id=model_id)

    # -- settings ------------------------------------------------------------------------------
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """A setting value (text) or ``default``."""
        rows = self._query("SELECT value FROM settings WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def set_setting(self, key: str, value: str | None) -> None:
        """Set (or, with ``None``, delete) a setting."""
        with self._tx() as con:
            if value is None:
                con.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                con.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (key, value))

    def all_settings(self) -> dict[str, str]:
        """Every setting as ``{key: value}``."""
        return dict(self._query("SELECT key, value FROM settings"))

"""The ``registry.db`` schema and its migrations (see :mod:`pumas_core.links.registry` for the tables).

Versions:

1. ``apps``, ``links`` (``strategy`` added later as a column with default ``'relative'``), ``settings``,
   and two pin tables: ``pins(app_id, folder_key, rel_name, model_id, created)`` (names workflows
   asked for) and ``pinned_links(link_path PK, reason)`` (links that replaced a user's file on adoption).
2. One pin table ``pins(link_path, reason, app_id, folder_key, rel_name, model_id, created)``, primary key
   ``(link_path, reason)``.  Version-1 workflow pins keep their fields (``reason = 'workflow'``, the path
   is ``<models_dir>/<folder_key>/<rel_name>`` of their app; pins of an app no longer registered are
   dropped, as nothing could use them); adoption pins keep path and reason and take app, folder key and
   model from their ``links`` row when there is one.

A database whose version is newer than :data:`SCHEMA_VERSION` is never changed:
:class:`~pumas_core.errors.SchemaTooNewError`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from ..errors import SchemaTooNewError

SCHEMA_VERSION = 2
PIN_WORKFLOW = "workflow"

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS apps (
    app_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'comfyui',
    root TEXT NOT NULL UNIQUE,
    models_dir TEXT NOT NULL,
    version TEXT,
    folder_paths TEXT NOT NULL DEFAULT '{}',
    mount TEXT,
    added REAL NOT NULL,
    last_sync_at REAL,
    last_sync_generation INTEGER,
    last_sync_stamp TEXT
);
CREATE TABLE IF NOT EXISTS links (
    link_path TEXT PRIMARY KEY,
    target_path TEXT NOT NULL,
    model_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    folder_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
    created REAL NOT NULL,
    strategy TEXT NOT NULL DEFAULT 'relative'
);
CREATE INDEX IF NOT EXISTS links_model ON links(model_id);
CREATE INDEX IF NOT EXISTS links_app ON links(app_id);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS pins (
    link_path TEXT NOT NULL,
    reason TEXT NOT NULL,
    app_id TEXT,
    folder_key TEXT,
    rel_name TEXT,
    model_id TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (link_path, reason)
);
CREATE INDEX IF NOT EXISTS pins_app ON pins(app_id);
"""


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in con.execute(f"PRAGMA table_info({table})")}


def _pins_v1_to_v2(con: sqlite3.Connection) -> None:
    """Fold the two version-1 pin tables into the one ``pins`` table (rows of both kept)."""
    old = _columns(con, "pins")
    if old and "link_path" not in old:
        con.execute("ALTER TABLE pins RENAME TO pins_v1")
    for stmt in filter(str.strip, SCHEMA.split(";")):
        con.execute(stmt)
    if old and "link_path" not in old:
        rows = con.execute("SELECT p.app_id, p.folder_key, p.rel_name, p.model_id, p.created, a.models_dir "
                           "FROM pins_v1 p JOIN apps a ON a.app_id = p.app_id").fetchall()
        con.executemany(
            "INSERT OR REPLACE INTO pins(link_path, reason, app_id, folder_key, rel_name, model_id, created) "
            "VALUES (?,?,?,?,?,?,?)",
            [(os.path.join(models_dir, key, *rel.split("/")), PIN_WORKFLOW, app_id, key, rel, mid, created)
             for app_id, key, rel, mid, created, models_dir in rows])
        con.execute("DROP TABLE pins_v1")
    if _columns(con, "pinned_links"):
        now = time.time()
        rows = con.execute("SELECT p.link_path, p.reason, l.app_id, l.folder_key, l.model_id FROM pinned_links p "
                           "LEFT JOIN links l ON l.link_path = p.link_path").fetchall()
        con.executemany("INSERT OR IGNORE INTO pins(link_path, reason, app_id, folder_key, model_id, created) "
                        "VALUES (?,?,?,?,?,?)", [(*r, now) for r in rows])
        con.execute("DROP TABLE pinned_links")


def migrate(con: sqlite3.Connection, path: Path) -> None:
    """Create or upgrade the schema inside the caller's transaction.

    Raises:
        SchemaTooNewError: the database says a version above :data:`SCHEMA_VERSION` (nothing is changed).
    """
    has_version = bool(_columns(con, "schema_version"))
    row = con.execute("SELECT version FROM schema_version").fetchone() if has_version else None
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        raise SchemaTooNewError(f"{path}: registry schema {row[0]} is newer than this Pumas ({SCHEMA_VERSION}); "
                                f"upgrade Pumas to use it (the file is left untouched)", path=path)
    if row is not None and int(row[0]) == SCHEMA_VERSION:
        return
    links = _columns(con, "links")
    if links and "strategy" not in links:  # made before link strategies: every link was relative
        con.execute("ALTER TABLE links ADD COLUMN strategy TEXT NOT NULL DEFAULT 'relative'")
    _pins_v1_to_v2(con)
    if row is None:
        con.execute("DELETE FROM schema_version")
        con.execute("INSERT INTO schema_version(version) VALUES (?)", (SCHEMA_VERSION,))
    else:
        con.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

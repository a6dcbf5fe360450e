"""The SQL schema of ``models.db`` (schema_version 1) and the column order of the ``models`` table.

``models`` holds one row per model: the searchable and linking-relevant fields of its
``metadata.json`` plus the whole file as ``meta_json``; ``model_files`` one row per file (hash
look-ups); ``models_fts`` an FTS5 index (``unicode61``, diacritics removed, prefix indexes) kept in
sync by triggers; ``index_meta`` the ``schema_version``, the ``generation`` counter (bumped by
triggers whenever linking-relevant content changes) and the ``bulk`` flag of Deep Scan (while it is
1 the FTS triggers stand aside and the FTS index is rebuilt once at the end).
"""

from __future__ import annotations

_FTS_COLUMNS = "official_name, cleaned_name, model_type, family, base_model, tags, description"
_FTS_NEW = "new.official_name, new.cleaned_name, new.model_type, new.family, new.base_model, new.tags, new.description"
_FTS_OLD = "old.official_name, old.cleaned_name, old.model_type, old.family, old.base_model, old.tags, old.description"
_FTS_INSERT = f"INSERT INTO models_fts(rowid, {_FTS_COLUMNS})\n    VALUES (new.rowid, {_FTS_NEW});"
_FTS_DELETE = (f"INSERT INTO models_fts(models_fts, rowid, {_FTS_COLUMNS})\n"
               f"    VALUES ('delete', old.rowid, {_FTS_OLD});")
_WHEN_NOT_BULK = "WHEN (SELECT value FROM index_meta WHERE key = 'bulk') = 0"
_BUMP = "UPDATE index_meta SET value = value + 1 WHERE key = 'generation';"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS models (
    model_id TEXT PRIMARY KEY,
    rel_path TEXT NOT NULL UNIQUE,
    official_name TEXT NOT NULL,
    cleaned_name TEXT NOT NULL,
    category TEXT, family TEXT, model_type TEXT NOT NULL, format TEXT NOT NULL,
    file_format TEXT, base_model TEXT,
    sha256 TEXT, blake3 TEXT, size_bytes INTEGER,
    security_tier TEXT, match_source TEXT, trust TEXT, pending_online_lookup INTEGER,
    tags TEXT, description TEXT, added_date TEXT, updated_date TEXT,
    meta_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_models_sha256 ON models(sha256);
CREATE INDEX IF NOT EXISTS idx_models_blake3 ON models(blake3);
CREATE INDEX IF NOT EXISTS idx_models_type ON models(model_type);
CREATE INDEX IF NOT EXISTS idx_models_name ON models(official_name COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS model_files (
    model_id TEXT NOT NULL REFERENCES models(model_id) ON DELETE CASCADE,
    name TEXT NOT NULL, sha256 TEXT, blake3 TEXT, size INTEGER,
    PRIMARY KEY (model_id, name)
);
CREATE INDEX IF NOT EXISTS idx_files_sha256 ON model_files(sha256);
CREATE INDEX IF NOT EXISTS idx_files_blake3 ON model_files(blake3);
CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- generation starts at a random value so a rebuilt index never repeats an old stamp
INSERT OR IGNORE INTO index_meta(key, value)
    VALUES ('schema_version', 1), ('generation', abs(random() % 281474976710656));
-- bulk = 1 while Deep Scan loads rows: the FTS triggers stand aside and the FTS index is rebuilt once
INSERT OR IGNORE INTO index_meta(key, value) VALUES ('bulk', 0);
CREATE VIRTUAL TABLE IF NOT EXISTS models_fts USING fts5(
    {_FTS_COLUMNS},
    content='models', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
);
CREATE TRIGGER IF NOT EXISTS models_ai AFTER INSERT ON models
    {_WHEN_NOT_BULK} BEGIN
    {_FTS_INSERT}
    {_BUMP}
END;
CREATE TRIGGER IF NOT EXISTS models_ad AFTER DELETE ON models
    {_WHEN_NOT_BULK} BEGIN
    {_FTS_DELETE}
    {_BUMP}
END;
CREATE TRIGGER IF NOT EXISTS models_au AFTER UPDATE ON models
    {_WHEN_NOT_BULK} BEGIN
    {_FTS_DELETE}
    {_FTS_INSERT}
END;
CREATE TRIGGER IF NOT EXISTS models_au_link AFTER UPDATE OF model_type, format, rel_path, official_name ON models BEGIN
    {_BUMP}
END;
"""

#: The columns of ``models``, in table order (``ModelIndex`` builds its INSERT from this).
COLUMNS: tuple[str, ...] = (
    "model_id", "rel_path", "official_name", "cleaned_name", "category", "family", "model_type", "format",
    "file_format", "base_model", "sha256", "blake3", "size_bytes", "security_tier", "match_source", "trust",
    "pending_online_lookup", "tags", "description", "added_date", "updated_date", "meta_json",
)

"""The one pins table of registry.db: migration from schema 1 (two pin tables), the API, a too-new schema."""

from __future__ import annotations

import os
import sqlite3

import pytest
from test_links_helpers import make_model, setup

from pumas_core.errors import SchemaTooNewError
from pumas_core.links import Registry, sync_app
from pumas_core.links.registry import PIN_WORKFLOW, SCHEMA_VERSION

# registry.db as written by schema version 1 (before this change): two pin tables
V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE apps (app_id TEXT PRIMARY KEY, kind TEXT NOT NULL DEFAULT 'comfyui', root TEXT NOT NULL UNIQUE,
    models_dir TEXT NOT NULL, version TEXT, folder_paths TEXT NOT NULL DEFAULT '{}', mount TEXT, added REAL NOT NULL,
    last_sync_at REAL, last_sync_generation INTEGER, last_sync_stamp TEXT);
CREATE TABLE links (link_path TEXT PRIMARY KEY, target_path TEXT NOT NULL, model_id TEXT NOT NULL,
    app_id TEXT NOT NULL, folder_key TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
    created REAL NOT NULL, strategy TEXT NOT NULL DEFAULT 'relative');
CREATE INDEX links_model ON links(model_id);
CREATE INDEX links_app ON links(app_id);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE pins (app_id TEXT NOT NULL, folder_key TEXT NOT NULL, rel_name TEXT NOT NULL, model_id TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (app_id, folder_key, rel_name));
CREATE TABLE pinned_links (link_path TEXT PRIMARY KEY, reason TEXT NOT NULL);
INSERT INTO schema_version VALUES (1);
"""


def _v1_db(path, models_dir):
    with sqlite3.connect(path) as con:
        con.executescript(V1_SCHEMA)
        con.execute("INSERT INTO apps(app_id, root, models_dir, added) VALUES ('app1', ?, ?, 1.0)",
                    (os.path.dirname(models_dir), models_dir))
        con.execute("INSERT INTO pins VALUES ('app1', 'vae', 'sub/ae.safetensors', 'm1', 5.0)")
        con.execute("INSERT INTO pins VALUES ('gone', 'vae', 'x.safetensors', 'm9', 5.0)")  # app no longer there
        adopted = os.path.join(models_dir, "loras", "mine.safetensors")
        con.execute("INSERT INTO links VALUES (?, '/lib/m2/f', 'm2', 'app1', 'loras', 'file', 2.0, 'relative')",
                    (adopted,))
        con.execute("INSERT INTO pinned_links VALUES (?, 'adopt:j1')", (adopted,))
        con.execute("INSERT INTO pinned_links VALUES ('/elsewhere/x.safetensors', 'adopt:j2')")
    con.close()
    return adopted


def test_schema_1_registry_keeps_both_kinds_of_pins(tmp_path):
    models = str(tmp_path / "ComfyUI" / "models")
    db = tmp_path / "registry.db"
    adopted = _v1_db(db, models)
    reg = Registry(db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert "pinned_links" not in tables and "pins_v1" not in tables
    wf = os.path.join(models, "vae", "sub", "ae.safetensors")
    assert reg.pins_for_app("app1") == [{"folder_key": "vae", "rel_name": "sub/ae.safetensors", "model_id": "m1",
                                         "link_path": wf}]
    assert reg.pinned_paths() == {wf, adopted, "/elsewhere/x.safetensors"}
    by_path = {p["link_path"]: p for p in reg.pins()}
    assert by_path[adopted]["reason"] == "adopt:j1" and by_path[adopted]["model_id"] == "m2"
    assert by_path[adopted]["folder_key"] == "loras" and by_path[wf]["created"] == 5.0
    assert by_path["/elsewhere/x.safetensors"]["app_id"] is None
    assert Registry(db).pinned_paths() == reg.pinned_paths()  # opening again changes nothing
    assert reg.unpin(reason="adopt:j1") == 1 and adopted not in reg.pinned_paths()


def test_pin_api_and_adopted_links_are_never_stale(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    a, b = make_model(lib, "a"), make_model(lib, "b")
    assert sync_app(reg, app, [a, b], library_root=lib).created == 2
    # an adopted link: the user's own name for model b, which the mapping does not plan
    mine = comfy_tree / "models" / "checkpoints" / "my-b.safetensors"
    mine.symlink_to(os.path.relpath(b.model_dir / b.files[0], mine.parent))
    reg.upsert_links([{"link_path": str(mine), "target_path": str(b.model_dir / b.files[0]), "model_id": b.model_id,
                       "app_id": app["app_id"], "folder_key": "checkpoints", "kind": "file"}])
    reg.pin(str(mine), "adopt:j1", app_id=app["app_id"], folder_key="checkpoints", model_id=b.model_id)
    reg.pin(str(mine), PIN_WORKFLOW, app_id=app["app_id"], folder_key="checkpoints", rel_name="my-b.safetensors",
            model_id=b.model_id)
    assert len(reg.pins(app_id=app["app_id"])) == 2 and len(reg.pins(reason=PIN_WORKFLOW)) == 1
    assert reg.unpin([str(mine)], reason=PIN_WORKFLOW) == 1 and reg.pinned_paths() == {str(mine)}
    rep = sync_app(reg, app, [a, b], library_root=lib)
    assert rep.removed_stale == 0 and rep.already_correct == 2 and mine.is_symlink()
    reg.unpin([str(mine)])
    assert reg.pins() == [] and sync_app(reg, app, [a, b], library_root=lib).removed_stale == 1
    assert not os.path.lexists(mine)
    with pytest.raises(ValueError):
        reg.unpin()


def test_workflow_pin_follows_relocation_and_goes_with_its_app(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    reg.add_pin(app["app_id"], "vae", "ae.safetensors", "m1")  # compatibility name: same table
    old = os.path.join(app["models_dir"], "vae", "ae.safetensors")
    assert reg.pinned_paths() == {old}
    row = {"link_path": "/new/ae.safetensors", "target_path": "/lib/x", "model_id": "m1", "app_id": app["app_id"],
           "folder_key": "vae", "kind": "file", "created": 1.0, "strategy": "relative"}
    reg.rewrite_links([(old, row)])
    assert reg.pinned_paths() == {"/new/ae.safetensors"}
    reg.remove_app(app["app_id"])
    assert reg.pins() == []


def test_newer_schema_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / "registry.db"
    Registry(db)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
        con.execute("CREATE TABLE future_thing (x)")
    con.close()
    with pytest.raises(SchemaTooNewError, match="newer than this Pumas") as info:
        Registry(db)
    assert info.value.path == str(db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION + 1
    con.close()

"""registry.db, install detection, mapping config and the boot fast path."""

from __future__ import annotations

import json
import os
import sqlite3
import threading

import pytest
from test_links_helpers import make_model, setup

from pumas_core.errors import BadInputError, NotFoundError
from pumas_core.links import Registry, detect_install, install_info, needs_sync, sync_app
from pumas_core.links.mapping import config_path, load_mapping, resolve_target
from pumas_core.links.registry import SCHEMA_VERSION


def test_detect_install_reads_version_without_import(comfy_tree):
    (comfy_tree / "comfyui_version.py").write_text('raise SystemExit("imported!")\n__version__ = "0.3.64"\n')
    info = detect_install(comfy_tree)
    assert info == {"root": str(comfy_tree), "models_dir": str(comfy_tree / "models"), "version": "0.3.64"}


def test_detect_install_rejects_non_comfyui(tmp_path):
    (tmp_path / "junk").mkdir()
    with pytest.raises(BadInputError, match="not a ComfyUI folder"):
        detect_install(tmp_path / "junk")
    with pytest.raises(BadInputError, match="does not exist"):
        detect_install(tmp_path / "missing")
    (tmp_path / "f").write_text("x")
    with pytest.raises(BadInputError, match="not a directory"):
        detect_install(tmp_path / "f")


def test_folder_keys_discovered_and_legacy_folded(comfy_tree):
    fp = install_info(comfy_tree)["folder_paths"]
    assert "unet" not in fp and "clip" not in fp and "configs" not in fp
    assert str(comfy_tree / "models" / "unet") in fp["diffusion_models"]
    assert str(comfy_tree / "models" / "clip") in fp["text_encoders"]
    given = install_info(comfy_tree, {"unet": ["/x/unet"], "ipadapter": ["/x/ip"],
                                      "custom_nodes": ["/c"]})["folder_paths"]
    assert given == {"diffusion_models": ["/x/unet"], "ipadapter": ["/x/ip"]}
    with pytest.raises(BadInputError):
        install_info(comfy_tree, {"loras": "/not/a/list"})


def test_mapping_defaults_and_override(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "e", model_type="embedding")
    assert resolve_target(m, app, load_mapping(reg.state_dir)) == ("embeddings", None)
    cfg = config_path(reg.state_dir)
    cfg.parent.mkdir(parents=True, exist_ok=True)  # the default config is written at registration
    cfg.write_text(json.dumps({"types": {"embedding": None, "lora": "loras"}}))
    key, reason = resolve_target(m, app, load_mapping(reg.state_dir))
    assert key is None and "null" in reason
    cfg.write_text("{not json")
    with pytest.raises(BadInputError, match="comfyui.json: not valid JSON"):
        load_mapping(reg.state_dir)
    cfg.write_text(json.dumps({"typos": {}}))
    with pytest.raises(BadInputError, match="unknown keys"):
        load_mapping(reg.state_dir)
    cfg.write_text(json.dumps({"types": {"lora": "../escape"}}))
    with pytest.raises(BadInputError, match="plain folder name"):
        load_mapping(reg.state_dir)


def test_app_registration_is_stable_and_exact(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    from pumas_core.links.apps import register_app
    assert register_app(reg, comfy_tree)["app_id"] == app["app_id"] and len(reg.list_apps()) == 1
    # an app whose root contains the other's name must not be confused with it
    other = tmp_path / "ComfyUI-2" / "ComfyUI"
    (other / "models" / "checkpoints").mkdir(parents=True)
    app2 = register_app(reg, other)
    assert app2["app_id"] != app["app_id"]
    sync_app(reg, app, [make_model(lib, "a")], library_root=lib)
    sync_app(reg, app2, [make_model(lib, "a")], library_root=lib)
    assert reg.remove_app(app2["app_id"]) == 1
    assert len(reg.links_for_app(app["app_id"])) == 1
    with pytest.raises(NotFoundError):
        reg.get_app(app2["app_id"])


def test_registry_concurrent_connections(tmp_path):
    path = tmp_path / "state" / "registry.db"
    r1, r2 = Registry(path), Registry(path)
    errors = []

    def writer(reg, tag):
        try:
            for i in range(60):
                reg.upsert_links([{"link_path": f"/m/{tag}/{i}", "target_path": f"/l/{i}", "model_id": tag,
                                   "app_id": "a", "folder_key": "loras", "kind": "file"}])
                reg.set_setting(f"k{tag}", str(i))
                reg.count_links()
        except Exception as exc:  # pragma: no cover - the failure is the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=writer, args=(r, t)) for r, t in ((r1, "x"), (r2, "y"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert r1.count_links() == 120 and len(r2.links_for_model("x")) == 60
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_registry_rejects_garbage_file(tmp_path):
    bad = tmp_path / "registry.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BadInputError, match="registry.db: not a usable registry database"):
        Registry(bad)


def test_fast_path_stamp(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    models = [make_model(lib, "a"), make_model(lib, "b", model_type="lora")]
    assert needs_sync(reg, app, 7)
    sync_app(reg, app, models, library_root=lib, generation=7)
    assert not needs_sync(reg, app, 7)
    assert needs_sync(reg, app, 8)  # library changed
    fast = sync_app(reg, app, iter(()), library_root=lib, generation=7)
    assert fast.fast_path and fast.already_correct == 2
    # the user deletes a link -> folder mtime changes -> sync again and the link comes back
    os.unlink(comfy_tree / "models" / "loras" / "b.safetensors")
    assert needs_sync(reg, app, 7)
    rep = sync_app(reg, app, models, library_root=lib, generation=7)
    assert rep.created == 1 and not needs_sync(reg, app, 7)
    # a new mapping config invalidates too
    cfg = config_path(reg.state_dir)
    cfg.parent.mkdir(parents=True, exist_ok=True)  # the default config is written at registration
    cfg.write_text(json.dumps({"types": {"lora": None}}))
    assert needs_sync(reg, app, 7)

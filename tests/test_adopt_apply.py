"""Adoption applied: links with the same bytes at every original path, one copy per content,
sidecar data in metadata.json, previews in the model folder, links that survive a sync — and undo."""

from __future__ import annotations

import json
import os

import pytest
from adopt_checks import check_adopted, comfy_names
from adopt_fixtures import build, tree_state

from pumas_core.adopt.scan import install_folders
from pumas_core.errors import ConflictError
from pumas_core.facade import Library


@pytest.fixture
def setup(tmp_path, real):
    t = build(tmp_path, real)
    lib = Library.open(tmp_path / "library", tmp_path / "state")
    existing = lib.import_paths([str(t["existing"])], mode="copy", sync=False, lookup=False)["imported"][0]
    t["existing_id"] = existing["model_id"]
    yield t, lib, tmp_path
    lib.close()


def test_apply_then_undo(setup):
    t, lib, tmp = setup
    root = tmp / "library"
    before = tree_state(*t["roots"])
    keys = {str(c): install_folders(c)["folder_paths"] for c in t["installs"]}
    listed = {c: comfy_names(c, k) for c, k in keys.items()}
    events = []
    r = lib.adopt([str(c) for c in t["installs"]], progress=events.append)
    assert r["state"] == "complete" and not r["failed"], r
    totals = [e for e in events if "total_bytes" in e]
    assert totals and totals[-1]["total_bytes_done"] == totals[-1]["total_bytes"] == sum(
        os.path.getsize(os.path.realpath(p)) for p in t["models"])
    assert any(e.get("eta_seconds") is not None for e in totals)
    assert any(e["stage"] == "hashing" and e.get("bytes_total") for e in totals)  # per-file bytes too
    assert r["linked"] == len(t["models"]) == 9  # 9 model paths in 4 roots
    assert r["models_existing"] == [t["existing_id"]]
    assert len(r["models_created"]) == 6
    assert r["duplicates_linked"] == 3
    models = check_adopted(t, lib, root)
    assert {c: comfy_names(c, k) for c, k in keys.items()} == listed  # ComfyUI lists the same names
    sha = t["sha"]
    style = models[t["models"][str(t["style"])]]
    assert style["match_source"] == "sidecar" and style["trust"] == "verified"
    assert style["civitai"]["model_id"] == 11 and style["civitai"]["trained_words"] == ["inkstyle"]
    assert style["civitai"]["type"] == "lora" and style["pending_online_lookup"] is False
    assert style["sidecars"]["civitai_info"]["sha256_check"] == "match"
    assert os.path.isfile(os.path.join(style["path"], "preview.png"))
    assert not (t["installs"][0] / "models/loras/style.preview.png").exists()
    assert (t["installs"][0] / "models/loras/style.civitai.info").is_file()  # other tools still find it
    vae = models[t["models"][str(t["installs"][1] / "models/vae/vae.onnx")]]
    assert vae["civitai"]["model_id"] == 22 and vae["civitai"]["version_id"] == 222
    assert vae["sidecars"]["cm_info"]["sha256_check"] == "match"
    assert os.path.isfile(os.path.join(vae["path"], "preview.png"))
    emb = models[t["models"][str(t["installs"][0] / "models/embeddings/emb.onnx")]]
    assert emb["civitai"]["model_id"] == 33 and emb["notes"] == "my favourite embedding"
    assert emb["sidecars"]["sha256"]["sha256_check"] == "match"
    assert emb["sidecars"]["lora_manager"]["data"]["sha256"] == sha["emb"]
    a1 = models[t["models"][str(tmp / "webui/models/Lora/a1.onnx")]]
    assert a1["sidecars"]["a1111_cache"]["sha256_check"] == "match"
    assert a1["notes"] == "kept from A1111" and a1["trained_words"] == ["a1word", "second"]
    assert a1["preferred_weight"] == 0.8 and a1["match_source"] != "sidecar"  # no CivitAI identity
    x = models[t["models"][str(tmp / "shared/loras/x.onnx")]]
    assert x["sidecars"]["sha256"]["sha256_check"] == "mismatch" and "data" not in x["sidecars"]["sha256"]
    assert any("x.sha256" in m for m in r["sidecar_mismatches"])
    meta = json.loads((root / os.path.relpath(style["path"], root) / "metadata.json").read_text())
    assert meta["sidecars"]["civitai_info"]["data"]["modelId"] == 11

    # a full sync (and health) keeps every adopted link, even where the mapping would not put it
    s = lib.sync()
    assert not s["errors"] and all(a.get("removed_stale", 0) == 0 for a in s["apps"])
    assert all(os.path.islink(p) for p in t["models"])
    assert lib.health()["status"] != "errors"

    assert lib.adopt_resume(r["journal_id"])["state"] == "complete"  # nothing left to do

    u = lib.adopt_undo()
    assert not u["errors"], u
    assert u["restored"] == 9 and len(u["models_removed"]) == 6
    assert tree_state(*t["roots"]) == before
    assert [m["model_id"] for m in lib.list_models()] == [t["existing_id"]]  # the library's own model stays
    assert lib.registry.all_links() == [] and lib.registry.pinned_paths() == set()
    assert lib.adopt_undo()["already_undone"] is True
    with pytest.raises(ConflictError):
        lib.adopt_resume()


def test_unfinished_adoption_blocks_a_new_one(setup, monkeypatch):
    t, lib, tmp = setup
    import threading

    cancel = threading.Event()
    cancel.set()
    r = lib.adopt([str(c) for c in t["installs"]], cancel=cancel)
    assert r["state"] == "cancelled" and r["linked"] == 0
    with pytest.raises(ConflictError, match="--resume"):
        lib.adopt([str(t["installs"][0])])
    r = lib.adopt_resume()
    assert r["state"] == "complete" and r["linked"] == 9
    check_adopted(t, lib, tmp / "library")


def test_import_reads_sidecars_and_copies_preview(tmp_path, real):
    t = build(tmp_path, real)
    with Library.open(tmp_path / "library", tmp_path / "state") as lib:
        src = t["style"]
        m = lib.import_paths([str(src)], mode="copy", sync=False, lookup=False)["imported"][0]
        got = lib.get_model(m["model_id"])
        assert got["civitai"]["model_id"] == 11 and got["match_source"] == "sidecar"
        assert os.path.isfile(os.path.join(got["path"], "preview.png"))
        assert (t["installs"][0] / "models/loras/style.preview.png").is_file()  # copy mode leaves it


def test_across_file_systems_copy_verify_then_link(tmp_path, real):
    import shutil
    import tempfile

    if not os.access("/dev/shm", os.W_OK) or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another file system than the library")
    base = tempfile.mkdtemp(prefix="pumas-adopt-xfs-", dir="/dev/shm")
    try:
        from pathlib import Path

        t = build(Path(base), real, gguf=False)
        before = tree_state(*t["roots"])
        with Library.open(tmp_path / "library", tmp_path / "state") as lib:
            doc = lib.adopt_plan([str(c) for c in t["installs"]])
            assert {f["action"] for f in doc["files"]} >= {"copy", "link_duplicate"}
            r = lib.adopt([str(c) for c in t["installs"]])
            assert r["state"] == "complete" and r["linked"] == 9 and not r["failed"], r
            for path in t["models"]:
                assert os.path.islink(path) and os.path.realpath(path).startswith(str(tmp_path / "library"))
            assert not lib.adopt_undo()["errors"]
            assert tree_state(*t["roots"]) == before
    finally:
        shutil.rmtree(base, ignore_errors=True)

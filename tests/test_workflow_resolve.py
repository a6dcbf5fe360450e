"""Resolving real templates against a real library and a ComfyUI tree with real symlinks."""

from __future__ import annotations

import json
import os

import pytest
from workflow_support import (
    MINILM,
    SILERO,
    comfy_lists,
    load_template,
    set_model_hash,
    sha256_file,
    staged,
    template,
    to_api,
)

from pumas_core.facade import Library


@pytest.fixture
def lib(lib_dirs):
    root, state = lib_dirs
    with Library.open(root, state) as library:
        yield library


def _import(lib, tmp_path, rel, name):
    r = lib.import_paths([staged(tmp_path, rel, name)], lookup=False)
    assert r["failed"] == [], r
    return r["imported"][0]


def _refs(result):
    return {(r["directory"], r["name"]): r for r in result["references"]}


def _links(models_dir):
    return sorted(os.path.relpath(os.path.join(d, f), models_dir)
                  for d, dirs, files in os.walk(models_dir) for f in files + dirs
                  if os.path.islink(os.path.join(d, f)))


def test_names_linked_exactly_second_run_creates_nothing(lib, tmp_path, comfy_tree):
    clip = _import(lib, tmp_path, MINILM, "clip_l.safetensors")
    vae = _import(lib, tmp_path, SILERO, "ae.safetensors")
    wf = template("flux_schnell_full_text_to_image.json")
    before = sha256_file(wf)
    r = lib.resolve_workflow(wf, comfyui_dir=comfy_tree)
    refs = _refs(r)
    assert refs[("text_encoders", "clip_l.safetensors")]["status"] == "linked"
    assert refs[("text_encoders", "clip_l.safetensors")]["matched_by"] == "name"
    assert refs[("text_encoders", "clip_l.safetensors")]["model_id"] == clip["model_id"]
    assert refs[("vae", "ae.safetensors")]["model_id"] == vae["model_id"]
    missing = refs[("diffusion_models", "flux1-schnell.safetensors")]
    assert missing["status"] == "missing" and missing["matched_by"] is None
    assert missing["url"] == "https://huggingface.co/Comfy-Org/flux1-schnell/resolve/main/flux1-schnell.safetensors"
    assert r["created"] == 2 and r["downloaded"] == 0
    models = comfy_tree / "models"
    link = models / "vae" / "ae.safetensors"
    assert os.path.islink(link) and not os.path.isabs(os.readlink(link))
    assert os.path.samefile(link, os.path.join(vae["path"], "ae.safetensors"))
    assert "ae.safetensors" in comfy_lists(models, "vae")
    assert "clip_l.safetensors" in comfy_lists(models, "text_encoders")
    assert lib.registry.get_link(str(link))["model_id"] == vae["model_id"]  # registered like every link
    links = _links(models)
    again = lib.resolve_workflow(wf, comfyui_dir=comfy_tree)
    assert again["created"] == 0 and _links(models) == links
    assert {x["status"] for x in again["references"]} == {"present", "missing"}
    assert sha256_file(wf) == before  # resolve never writes the workflow


def test_full_sync_and_health_keep_workflow_links(lib, tmp_path, comfy_tree):
    _import(lib, tmp_path, SILERO, "ae.safetensors")  # type unknown: the mapping links it nowhere
    lib.resolve_workflow(template("flux_schnell_full_text_to_image.json"), comfyui_dir=comfy_tree)
    link = comfy_tree / "models" / "vae" / "ae.safetensors"
    s = lib.sync(comfyui_dir=comfy_tree, force=True)
    assert s["errors"] == [] and s["already_correct"] == 1 and os.path.islink(link)
    h = lib.health()
    assert h["broken_links"] == [] and h["orphaned_links"] == []
    os.unlink(link)
    lib.sync(comfyui_dir=comfy_tree, force=True)  # a pinned link that went missing comes back
    assert os.path.islink(link)


def test_subfolder_and_windows_separators(lib, tmp_path, comfy_tree):
    ckpt = _import(lib, tmp_path, SILERO, "sd_xl_base_1.0.safetensors")
    doc = load_template("image_sdxl_simple.json")
    node = next(n for n in doc["nodes"] if n["type"] == "CheckpointLoaderSimple")
    node["widgets_values"][0] = "SDXL\\sd_xl_base_1.0.safetensors"
    r = lib.resolve_workflow(doc, comfyui_dir=comfy_tree)
    ref = r["references"][0]
    assert ref["status"] == "linked" and ref["matched_by"] == "name" and ref["model_id"] == ckpt["model_id"]
    assert ref["rewrite_to"] == "SDXL/sd_xl_base_1.0.safetensors"
    assert os.path.islink(comfy_tree / "models" / "checkpoints" / "SDXL" / "sd_xl_base_1.0.safetensors")
    assert "SDXL/sd_xl_base_1.0.safetensors" in comfy_lists(comfy_tree / "models", "checkpoints")
    api = to_api(doc)
    again = lib.resolve_workflow(api, comfyui_dir=comfy_tree)
    assert again["created"] == 0 and again["references"][0]["status"] == "present"
    assert again["format"] == "api"


def test_hash_match_under_other_names_and_hash_mismatch(lib, tmp_path, comfy_tree):
    clip = _import(lib, tmp_path, MINILM, "my_text_encoder.safetensors")
    vae = _import(lib, tmp_path, SILERO, "clip_g_hidream.safetensors")  # same name as a template file, other bytes
    doc = load_template("hidream_e1_full.json")
    doc = set_model_hash(doc, "clip_l_hidream.safetensors", clip["hashes"]["sha256"].upper(), "sha256")
    doc = set_model_hash(doc, "ae.safetensors", vae["model_id"], "BLAKE3")
    path = tmp_path / "hidream.json"
    path.write_text(json.dumps(doc))
    r = lib.resolve_workflow(path, comfyui_dir=comfy_tree)
    refs = _refs(r)
    by_sha = refs[("text_encoders", "clip_l_hidream.safetensors")]
    assert (by_sha["status"], by_sha["matched_by"], by_sha["model_id"]) == ("linked", "sha256", clip["model_id"])
    by_b3 = refs[("vae", "ae.safetensors")]
    assert (by_b3["status"], by_b3["matched_by"], by_b3["model_id"]) == ("linked", "blake3", vae["model_id"])
    bad = refs[("text_encoders", "clip_g_hidream.safetensors")]  # the template's real SHA-256, our other bytes
    assert bad["status"] == "hash_mismatch" and bad["model_id"] == vae["model_id"]
    assert not os.path.lexists(comfy_tree / "models" / "text_encoders" / "clip_g_hidream.safetensors")
    assert os.path.samefile(comfy_tree / "models" / "text_encoders" / "clip_l_hidream.safetensors",
                            os.path.join(clip["path"], "my_text_encoder.safetensors"))
    assert r["created"] == 2


def test_present_file_contradicting_hash_and_conflicts(lib, tmp_path, comfy_tree):
    vae = _import(lib, tmp_path, SILERO, "vae_model.safetensors")
    doc = set_model_hash(load_template("flux_schnell_full_text_to_image.json"), "ae.safetensors",
                         vae["hashes"]["sha256"])
    user = comfy_tree / "models" / "vae" / "ae.safetensors"
    user.write_bytes(b"the user's own, different file")
    r = lib.resolve_workflow(doc, comfyui_dir=comfy_tree)
    ref = _refs(r)[("vae", "ae.safetensors")]
    assert ref["status"] == "conflict" and ref["model_id"] == vae["model_id"] and "in the way" in ref["note"]
    assert user.read_bytes() == b"the user's own, different file"
    r = lib.resolve_workflow(doc, comfyui_dir=comfy_tree, conflicts="backup")
    ref = _refs(r)[("vae", "ae.safetensors")]
    assert ref["status"] == "linked" and os.path.islink(user) and "kept as" in ref["note"]
    backup = comfy_tree / "models" / "vae" / "ae.safetensors.pumas-backup"
    assert backup.read_bytes() == b"the user's own, different file"
    # a real file under the wanted name whose bytes contradict the workflow's hash
    other = set_model_hash(load_template("flux_schnell_full_text_to_image.json"), "clip_l.safetensors", "0" * 64)
    (comfy_tree / "models" / "text_encoders" / "clip_l.safetensors").write_bytes(b"not it")
    ref = _refs(lib.resolve_workflow(other, comfyui_dir=comfy_tree))[("text_encoders", "clip_l.safetensors")]
    assert (ref["status"], ref["matched_by"]) == ("hash_mismatch", "path")


def test_fuzzy_is_only_a_suggestion_until_confirmed(lib, tmp_path, comfy_tree):
    clip = _import(lib, tmp_path, MINILM, "clip_l_fp16.safetensors")
    wf = template("flux_schnell_full_text_to_image.json")
    r = lib.resolve_workflow(wf, comfyui_dir=comfy_tree)
    ref = _refs(r)[("text_encoders", "clip_l.safetensors")]
    assert (ref["status"], ref["matched_by"], ref["model_id"]) == ("ambiguous", "fuzzy", clip["model_id"])
    assert not os.path.lexists(comfy_tree / "models" / "text_encoders" / "clip_l.safetensors")
    r = lib.resolve_workflow(wf, comfyui_dir=comfy_tree, confirmed={ref["key"]: clip["model_id"]})
    ref = _refs(r)[("text_encoders", "clip_l.safetensors")]
    assert (ref["status"], ref["matched_by"]) == ("linked", "fuzzy")
    assert os.path.islink(comfy_tree / "models" / "text_encoders" / "clip_l.safetensors")


def test_incompatible_type_is_not_a_name_match(lib, tmp_path, comfy_tree):
    _import(lib, tmp_path, MINILM, "ae.safetensors")  # a text encoder named like the VAE
    r = lib.resolve_workflow(template("flux_schnell_full_text_to_image.json"), comfyui_dir=comfy_tree)
    assert _refs(r)[("vae", "ae.safetensors")]["status"] == "missing"
    assert not os.path.lexists(comfy_tree / "models" / "vae" / "ae.safetensors")


def test_dry_run_changes_nothing_and_unsafe_names(lib, tmp_path, comfy_tree):
    _import(lib, tmp_path, SILERO, "ae.safetensors")
    r = lib.resolve_workflow(template("flux_schnell_full_text_to_image.json"), comfyui_dir=comfy_tree, dry_run=True)
    assert r["dry_run"] and r["created"] == 1 and _links(comfy_tree / "models") == []
    assert lib.registry.pins_for_app(r["app_id"]) == []
    doc = {"nodes": [{"id": 1, "type": "VAELoader", "widgets_values": ["../../../etc/ae.safetensors"]}]}
    ref = lib.resolve_workflow(doc, comfyui_dir=comfy_tree)["references"][0]
    assert ref["status"] == "conflict" and "unsafe" in ref["note"]
    custom = {"nodes": [{"id": 2, "type": "X", "widgets_values": ["ae.safetensors"],
                         "properties": {"models": [{"name": "ae.safetensors", "directory": "../.."}]}}]}
    ref = lib.resolve_workflow(custom, comfyui_dir=comfy_tree)["references"][0]
    assert ref["status"] == "missing" and ref["directory"] is None and _links(comfy_tree.parent) == []


def test_annotate_writes_hashes_that_resolve_on_a_fresh_install(lib, tmp_path, comfy_tree, lib_dirs):
    clip = _import(lib, tmp_path, MINILM, "clip_l.safetensors")
    vae = _import(lib, tmp_path, SILERO, "ae.safetensors")
    src = template("flux_dev_checkpoint_example.json")  # the models sit in a subgraph
    before = sha256_file(src)
    out = lib.annotate_workflow(src)
    assert out["annotated"] == 2
    assert {s["name"] for s in out["skipped"]} == {"flux1-dev.safetensors", "t5xxl_fp16.safetensors"}
    assert sha256_file(src) == before
    entries = {m["name"]: m for n in out["workflow"]["definitions"]["subgraphs"][0]["nodes"]
               for m in (n.get("properties") or {}).get("models") or []}
    assert entries["ae.safetensors"] == {
        "name": "ae.safetensors", "directory": "vae", "hash": vae["hashes"]["sha256"], "hash_type": "SHA256",
        "url": "https://huggingface.co/Comfy-Org/Lumina_Image_2.0_Repackaged/resolve/main/split_files/vae/ae.safetensors"}
    assert entries["clip_l.safetensors"]["hash"] == clip["hashes"]["sha256"]
    assert "hash" not in entries["flux1-dev.safetensors"]
    # a fresh machine: another library holding the same bytes under other names, another install
    root2, state2 = tmp_path / "lib2", tmp_path / "state2"
    fresh = tmp_path / "fresh" / "ComfyUI"
    for key in ("vae", "text_encoders", "diffusion_models"):
        (fresh / "models" / key).mkdir(parents=True)
    (fresh / "main.py").write_text("")
    with Library.open(root2, state2) as lib2:
        for rel, name in ((MINILM, "te.safetensors"), (SILERO, "something.safetensors")):
            assert lib2.import_paths([staged(tmp_path / "x", rel, name)], lookup=False)["failed"] == []
        r = lib2.resolve_workflow(out["workflow"], comfyui_dir=fresh)
        refs = _refs(r)
        assert refs[("vae", "ae.safetensors")]["matched_by"] == "sha256"
        assert refs[("text_encoders", "clip_l.safetensors")]["matched_by"] == "sha256"
        assert r["created"] == 2
    with pytest.raises(Exception, match="UI-format"):
        lib.annotate_workflow(to_api(load_template("flux_dev_checkpoint_example.json")))


def test_name_held_by_another_library_model_is_a_conflict(lib, tmp_path, comfy_tree):
    first = _import(lib, tmp_path, MINILM, "clip_l.safetensors")
    lib.sync(comfyui_dir=comfy_tree)  # the library's own link text_encoders/clip_l.safetensors → first
    other = _import(lib, tmp_path, SILERO, "other_te.safetensors")
    doc = set_model_hash(load_template("flux_schnell_full_text_to_image.json"), "clip_l.safetensors",
                         other["hashes"]["sha256"])
    link = comfy_tree / "models" / "text_encoders" / "clip_l.safetensors"
    ref = _refs(lib.resolve_workflow(doc, comfyui_dir=comfy_tree))[("text_encoders", "clip_l.safetensors")]
    assert ref["status"] == "conflict" and first["model_id"][:12] in ref["note"]
    assert os.path.samefile(link, os.path.join(first["path"], "clip_l.safetensors"))
    refs = _refs(lib.resolve_workflow(doc, comfyui_dir=comfy_tree, conflicts="backup"))
    ref = refs[("text_encoders", "clip_l.safetensors")]
    assert ref["status"] == "linked" and os.path.samefile(link, os.path.join(other["path"], "other_te.safetensors"))
    s = lib.sync(comfyui_dir=comfy_tree, force=True)  # the first model moves to its collision name; the pin stays
    assert s["errors"] == [] and os.path.samefile(link, os.path.join(other["path"], "other_te.safetensors"))
    assert any(p.name.startswith("clip_l-") for p in (comfy_tree / "models" / "text_encoders").iterdir())

"""Importing Diffusion Folders, Sharded Sets and split GGUFs as one model each (issue: identification)."""

from __future__ import annotations

import os

from fixture_builders import clone_tree

from pumas_core.ingest.records import composite_ids
from pumas_core.library.metadata import read_metadata


def test_sharded_set_is_one_complete_model(lib, minilm_sharded_set, tmp_path):
    src = clone_tree(minilm_sharded_set.folder, tmp_path / "set")
    report = lib.import_paths([src])
    assert report["failed"] == [] and len(report["imported"]) == 1
    m = report["imported"][0]
    assert m["format"] == "sharded-set" and m["complete"] is True
    names = [f["name"] for f in m["files"]]
    assert set(minilm_sharded_set.shards) <= set(names) and minilm_sharded_set.index in names
    meta = read_metadata(m["path"])
    assert meta["model_id"] == composite_ids(meta["files"])["blake3"]  # BLAKE3 over sorted per-file digests
    assert all(os.path.isfile(os.path.join(m["path"], n)) for n in names)


def test_incomplete_sharded_set_is_flagged(lib, minilm_sharded_set, tmp_path):
    src = clone_tree(minilm_sharded_set.folder, tmp_path / "set")
    missing = minilm_sharded_set.shards[2]
    (src / missing).unlink()
    m = lib.import_paths([src])["imported"][0]
    assert m["complete"] is False and missing in m["missing_files"]
    assert any("incomplete" in w.lower() or "missing" in w.lower() for w in m.get("warnings", []))


def test_split_gguf_is_one_model_and_a_missing_part_is_reported(lib, split_gguf_set, tmp_path):
    folder = clone_tree(split_gguf_set[0].parent, tmp_path / "gguf")
    m = lib.import_paths([folder])["imported"][0]
    assert m["format"] == "sharded-set" and m["complete"] and len(m["files"]) == len(split_gguf_set)
    assert m["model_type"] == "llm" and m["file_format"] == "gguf"
    lib2_dir = clone_tree(split_gguf_set[0].parent, tmp_path / "gguf2")
    (lib2_dir / split_gguf_set[-1].name).unlink()
    report = lib.import_paths([lib2_dir])
    flagged = report["imported"] or report["skipped"]
    assert report["imported"] and report["imported"][0]["complete"] is False, flagged


def test_diffusion_folder_is_one_model_with_composite_id(lib, diffusion_folder, tmp_path):
    src = clone_tree(diffusion_folder, tmp_path / "sd15")
    m = lib.import_paths([src])["imported"][0]
    assert m["format"] == "diffusion-folder"
    assert any(f["name"] == "model_index.json" for f in m["files"])
    assert len(m["files"]) > 3 and all(len(f["blake3"]) == 64 for f in m["files"])
    assert m["base_model"] == "SD1.x"


def test_sentence_transformers_folder_is_one_text_encoder(lib, real, tmp_path):
    src = clone_tree(real("minilm/model.safetensors").parent, tmp_path / "all-MiniLM-L6-v2")
    m = lib.import_paths([src])["imported"][0]
    assert m["format"] == "diffusion-folder" and m["model_type"] == "text_encoder"
    assert len(m["files"]) >= 12 and m["official_name"] == "all-MiniLM-L6-v2"


def test_diffusion_folder_links_as_a_directory(lib, diffusion_folder, tmp_path, comfy_tree):
    lib.add_app(comfy_tree)
    src = clone_tree(diffusion_folder, tmp_path / "sd15")
    m = lib.import_paths([src])["imported"][0]
    link = comfy_tree / "models" / "diffusers" / m["cleaned_name"]
    assert link.is_symlink() and (link / "model_index.json").is_file()


def test_onnx_with_external_data_stays_together(lib, real, tmp_path):
    """Arranged fixture: the real silero ONNX plus an external-data file beside it (name per onnx's convention)."""
    d = tmp_path / "onnx"
    d.mkdir()
    (d / "vad.onnx").write_bytes(real("silero/silero_vad.onnx").read_bytes())
    (d / "vad.onnx_data").write_bytes(b"\0" * 4096)
    m = lib.import_paths([d])["imported"][0]
    assert sorted(f["name"] for f in m["files"]) == ["vad.onnx", "vad.onnx_data"]
    assert m["file_format"] == "onnx" and m["security_tier"] == "safe"

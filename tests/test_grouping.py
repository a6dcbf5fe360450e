"""plan_import: single files, folder models, mixed folders, bad paths (real files throughout; Sharded Sets
are in test_grouping_shards.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixture_builders import clone_tree, link_or_copy
from grouping_support import only, rel

from pumas_core.ingest.grouping import plan_import

# ---- single files --------------------------------------------------------------------------------

def test_single_file(real, tmp_path):
    f = link_or_copy(real("silero/silero_vad_16k.safetensors"), tmp_path / "vad.safetensors")
    u = only(plan_import([f]))
    assert (u.kind, u.name, u.source_root, u.files, u.complete) == (
        "single-file", "vad.safetensors", tmp_path, [f], True)


def test_relative_path_is_made_absolute(real, tmp_path, monkeypatch):
    link_or_copy(real("silero/silero_vad.onnx"), tmp_path / "vad.onnx")
    monkeypatch.chdir(tmp_path)
    u = only(plan_import([Path("vad.onnx")]))
    assert u.files == [tmp_path / "vad.onnx"]


def test_model_without_extension_is_accepted_by_magic(real, tmp_path):
    f = link_or_copy(real("llama_vocab/ggml-vocab-phi-3.gguf"), tmp_path / "phi3-vocab")
    assert only(plan_import([f])).name == "phi3-vocab"


def test_explicit_non_model_file_is_an_error(real, tmp_path):
    readme = link_or_copy(real("minilm/README.md"), tmp_path / "README.md")
    plan = plan_import([readme])
    assert plan.units == []
    assert plan.errors == [(readme, "not a model file (no model extension or magic bytes)")]


def test_missing_path_and_broken_symlink(tmp_path):
    missing = tmp_path / "nope.safetensors"
    broken = tmp_path / "dangling.safetensors"
    broken.symlink_to(tmp_path / "gone.safetensors")
    plan = plan_import([missing, broken])
    assert plan.units == []
    assert plan.errors[0] == (missing, "no such file or directory")
    assert plan.errors[1][0] == broken and "broken symbolic link" in plan.errors[1][1]
    assert all("\n" not in why for _p, why in plan.errors)


def test_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    plan = plan_import([fifo])  # opening a FIFO would block: finishing at all is part of the test
    assert plan.units == [] and plan.errors == [(fifo, "not a regular file or folder")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file_and_folder(real, tmp_path):
    f = link_or_copy(real("silero/silero_vad.onnx"), tmp_path / "locked.onnx")
    d = tmp_path / "locked-dir"
    d.mkdir()
    f.chmod(0)
    d.chmod(0)
    try:
        plan = plan_import([f, d])
    finally:
        f.chmod(0o644)
        d.chmod(0o755)
    assert plan.units == []
    assert plan.errors[0] == (f, "permission denied")
    assert plan.errors[1][0] == d and "permission denied" in plan.errors[1][1]


def test_explicit_symlink_is_resolved_and_keeps_its_name(real, tmp_path):
    blob = link_or_copy(real("silero/silero_vad.onnx"), tmp_path / "blobs" / "1a153a22f4509e29")
    link = tmp_path / "silero_vad.onnx"
    link.symlink_to(blob)
    u = only(plan_import([link]))
    assert u.name == "silero_vad.onnx" and u.files == [blob]


def test_same_file_twice_is_planned_once(real, tmp_path):
    f = link_or_copy(real("silero/silero_vad.onnx"), tmp_path / "a.onnx")
    assert len(plan_import([f, tmp_path / "." / "a.onnx", tmp_path]).units) == 1


@pytest.mark.parametrize("name", [
    "モデル ✨ v1.safetensors", "a:b?c*.safetensors", 'x"<y>|z.safetensors', "ÆØÅ ünïcödé.gguf",
    "trailing. .safetensors",
])
def test_unicode_and_ntfs_hostile_names(real, tmp_path, name):
    src = real("llama_vocab/ggml-vocab-phi-3.gguf" if name.endswith(".gguf") else "silero/silero_vad_16k.safetensors")
    f = link_or_copy(src, tmp_path / "in" / name)
    assert only(plan_import([f])).name == name
    assert only(plan_import([tmp_path / "in"])).files == [f]


# ---- folder models -------------------------------------------------------------------------------

def test_diffusion_folder(diffusion_folder, tmp_path):
    d = clone_tree(diffusion_folder, tmp_path / "sd15 ✨")
    (d / ".git").mkdir()
    (d / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (d / ".cache" / "huggingface").mkdir(parents=True)
    (d / ".cache" / "huggingface" / "x.lock").write_text("")
    (d / "unet" / "__pycache__").mkdir()
    (d / "unet" / "__pycache__" / "m.pyc").write_bytes(b"\0")
    (d / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    (d / ".DS_Store").write_bytes(b"\0\0")
    (d / "vae" / "diffusion_pytorch_model.fp16.safetensors.incomplete").write_bytes(b"\0")
    u = only(plan_import([d]))
    assert (u.kind, u.name, u.manifest, u.source_root, u.complete) == (
        "diffusion-folder", "sd15 ✨", "model_index.json", d, True)
    names = rel(u)
    assert names[0] == "model_index.json" and names[1:] == sorted(names[1:])
    assert set(names) == {
        "model_index.json", ".gitattributes", "feature_extractor/preprocessor_config.json",
        "safety_checker/config.json", "safety_checker/model.safetensors", "scheduler/scheduler_config.json",
        "text_encoder/config.json", "text_encoder/model.safetensors", "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json", "tokenizer/vocab.txt", "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors", "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
    }
    assert any("unfinished downloads skipped" in w and ".incomplete" in w for w in u.warnings)


def test_diffusion_folder_missing_component_and_no_weights(diffusion_folder, tmp_path):
    d = clone_tree(diffusion_folder, tmp_path / "sd")
    for p in d.rglob("*.safetensors"):
        p.unlink()
    for p in (d / "vae").iterdir():
        p.unlink()
    (d / "vae").rmdir()
    u = only(plan_import([d]))
    assert u.complete is False
    assert "component folder vae/ listed in model_index.json is missing" in u.warnings
    assert any("no weight files" in w for w in u.warnings)


def test_diffusion_folder_with_corrupt_model_index(diffusion_folder, tmp_path):
    d = clone_tree(diffusion_folder, tmp_path / "sd")
    (d / "model_index.json").write_text('{"_class_name": ')
    u = only(plan_import([d, d]))  # offered twice: planned once
    assert (u.kind, u.manifest) == ("diffusion-folder", "model_index.json")
    assert any("model_index.json unreadable" in w and "not valid JSON" in w for w in u.warnings)


def test_diffusion_folder_with_incomplete_sharded_component(diffusion_folder, minilm_sharded_set, tmp_path):
    d = clone_tree(diffusion_folder, tmp_path / "sd")
    (d / "text_encoder" / "model.safetensors").unlink()
    for name in minilm_sharded_set.shards[1:] + [minilm_sharded_set.index]:
        link_or_copy(minilm_sharded_set.folder / name, d / "text_encoder" / name)
    u = only(plan_import([d]))
    assert u.complete is False
    assert u.missing == ["text_encoder/model-00001-of-00004.safetensors"]
    assert any("model-00001-of-00004.safetensors" in w for w in u.warnings)


def test_sentence_transformers_folder_real_minilm(real):
    folder = real("minilm/model.safetensors").parent
    u = only(plan_import([folder]))
    assert (u.kind, u.manifest, u.name) == ("diffusion-folder", "modules.json", "minilm")
    names = rel(u)
    assert names[0] == "modules.json" and "1_Pooling/config.json" in names and ".gitattributes" in names
    assert ".complete" not in names and len(names) == 13


def test_transformers_folder_by_config_json(real, tmp_path):
    src = real("minilm/model.safetensors").parent
    d = tmp_path / "bert"
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        link_or_copy(src / name, d / name)
    u = only(plan_import([d]))
    assert (u.kind, u.manifest, rel(u)) == (
        "diffusion-folder", "config.json", ["config.json", "model.safetensors", "vocab.txt"])


def test_config_json_without_model_keys_is_not_a_manifest(real, tmp_path):
    d = tmp_path / "loras"
    (d).mkdir()
    (d / "config.json").write_text('{"theme": "dark"}')
    link_or_copy(real("silero/silero_vad_16k.safetensors"), d / "a.safetensors")
    u = only(plan_import([d]))
    assert (u.kind, u.name) == ("single-file", "a.safetensors")


# ---- plain folders -------------------------------------------------------------------------------

def test_mixed_folder(real, diffusion_folder, minilm_sharded_set, split_gguf_set, tmp_path):
    root = tmp_path / "downloads"
    link_or_copy(real("silero/silero_vad.onnx"), root / "vad.onnx")
    link_or_copy(real("facenet/pnet.pt"), root / "faces" / "pnet.pt")
    link_or_copy(real("minilm/README.md"), root / "README.md")
    (root / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "notes.txt").write_text("hi")
    clone_tree(diffusion_folder, root / "nested" / "sd15")
    clone_tree(minilm_sharded_set.folder, root / "nested" / "minilm-shards")
    clone_tree(split_gguf_set[0].parent, root / "llm")
    plan = plan_import([root])
    assert plan.errors == []
    got = sorted((u.kind, u.name) for u in plan.units)
    assert got == sorted([
        ("single-file", "vad.onnx"), ("single-file", "pnet.pt"), ("diffusion-folder", "sd15"),
        ("sharded-set", "minilm-shards"), ("sharded-set", "gemma-3-270m-q4_k_m.gguf"),
    ])
    assert next(u for u in plan.units if u.name == "pnet.pt").source_root == root / "faces"


def test_empty_and_junk_only_folders_are_errors(real, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    junk = tmp_path / "junk"
    link_or_copy(real("minilm/README.md"), junk / "README.md")
    (junk / "img.jpg").write_bytes(b"\xff\xd8\xff")
    plan = plan_import([empty, junk])
    assert plan.units == []
    assert plan.errors == [(empty, "folder contains no model files"), (junk, "folder contains no model files")]


def test_symlink_loop_while_walking_ends(real, tmp_path):
    d = tmp_path / "models"
    link_or_copy(real("silero/silero_vad.onnx"), d / "sub" / "vad.onnx")
    (d / "sub" / "loop").symlink_to(d, target_is_directory=True)
    (d / "again").symlink_to(d / "sub", target_is_directory=True)
    (d / "sub" / "dangling.gguf").symlink_to(tmp_path / "gone.gguf")
    plan = plan_import([d])
    assert [u.name for u in plan.units] == ["vad.onnx"]  # reached via "again" and "sub": planned once
    assert len(plan.errors) == 1
    assert plan.errors[0][0].name == "dangling.gguf"
    assert plan.errors[0][1] == "broken symbolic link (its target is missing or loops)"


def test_hf_cache_snapshot_keeps_link_names(real, tmp_path):
    src = real("minilm/model.safetensors").parent
    blobs = tmp_path / "models--x" / "blobs"
    snap = tmp_path / "models--x" / "snapshots" / "1110a243"
    for name in ("config.json", "modules.json", "model.safetensors"):
        blob = link_or_copy(src / name, blobs / f"blob-{name.replace('.', '')}")
        snap.mkdir(parents=True, exist_ok=True)
        (snap / name).symlink_to(os.path.relpath(blob, snap))
    u = only(plan_import([snap]))
    assert (u.manifest, rel(u)) == ("modules.json", ["modules.json", "config.json", "model.safetensors"])

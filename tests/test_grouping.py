"""plan_import: single files, folder models, Sharded Sets, mixed folders, bad paths (real files throughout)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fixture_builders import (  # noqa: F401  (session fixtures are used by name)
    clone_tree,
    diffusion_folder,
    link_or_copy,
    minilm_sharded_set,
    read_gguf_header,
    read_safetensors_header,
    split_gguf_set,
)

from pumas_core.ingest.grouping import ImportPlan, ImportUnit, plan_import


def only(plan: ImportPlan) -> ImportUnit:
    assert plan.errors == []
    assert len(plan.units) == 1, [u.name for u in plan.units]
    return plan.units[0]


def rel(unit: ImportUnit) -> list[str]:
    return unit.relative_names()


# ---- single files --------------------------------------------------------------------------------

def test_single_file(real, tmp_path):
    f = link_or_copy(real("silero/silero_vad_16k.safetensors"), tmp_path / "vad.safetensors")
    u = only(plan_import([f]))
    assert (u.kind, u.name, u.source_root, u.files, u.complete) == ("single-file", "vad.safetensors", tmp_path, [f], True)


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
    "モデル ✨ v1.safetensors", "a:b?c*.safetensors", 'x"<y>|z.safetensors', "ÆØÅ ünïcödé.gguf", "trailing. .safetensors",
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
    assert (u.kind, u.manifest, rel(u)) == ("diffusion-folder", "config.json", ["config.json", "model.safetensors", "vocab.txt"])


def test_config_json_without_model_keys_is_not_a_manifest(real, tmp_path):
    d = tmp_path / "loras"
    (d).mkdir()
    (d / "config.json").write_text('{"theme": "dark"}')
    link_or_copy(real("silero/silero_vad_16k.safetensors"), d / "a.safetensors")
    u = only(plan_import([d]))
    assert (u.kind, u.name) == ("single-file", "a.safetensors")


# ---- Sharded Sets --------------------------------------------------------------------------------

def test_sharded_fixture_holds_real_bytes(real, minilm_sharded_set):
    src = real("minilm/model.safetensors")
    start, header = read_safetensors_header(src)
    fx = minilm_sharded_set
    index = json.loads((fx.folder / fx.index).read_text())
    assert len(fx.shards) == 4 and set(index["weight_map"]) == set(header) - {"__metadata__"}
    name = "embeddings.position_ids"
    shard = fx.folder / index["weight_map"][name]
    s_start, s_header = read_safetensors_header(shard)
    b, e = header[name]["data_offsets"]
    sb, se = s_header[name]["data_offsets"]
    with open(src, "rb") as f1, open(shard, "rb") as f2:
        f1.seek(start + b)
        f2.seek(s_start + sb)
        assert f1.read(e - b) == f2.read(se - sb)
    assert index["metadata"]["total_size"] == src.stat().st_size - start


def test_sharded_set_with_index(minilm_sharded_set, tmp_path):
    d = clone_tree(minilm_sharded_set.folder, tmp_path / "MiniLM-sharded")
    (d / "README.md").write_text("# readme\n")
    u = only(plan_import([d]))
    assert (u.kind, u.name, u.manifest, u.complete, u.source_root) == (
        "sharded-set", "MiniLM-sharded", "model.safetensors.index.json", True, d)
    assert rel(u) == minilm_sharded_set.shards + ["model.safetensors.index.json"]


def test_removing_a_shard_makes_the_set_incomplete(minilm_sharded_set, tmp_path):
    d = clone_tree(minilm_sharded_set.folder, tmp_path / "set")
    (d / "model-00003-of-00004.safetensors").unlink()
    u = only(plan_import([d]))
    assert (u.complete, u.missing) == (False, ["model-00003-of-00004.safetensors"])
    assert any("1 of 4 shards missing" in w and "model-00003-of-00004.safetensors" in w for w in u.warnings)
    assert "model-00003-of-00004.safetensors" not in rel(u)


def test_of_n_count_without_index(minilm_sharded_set, tmp_path):
    d = clone_tree(minilm_sharded_set.folder, tmp_path / "set")
    (d / minilm_sharded_set.index).unlink()
    assert only(plan_import([d])).complete is True
    (d / "model-00004-of-00004.safetensors").unlink()
    u = only(plan_import([d]))
    assert (u.manifest, u.complete, u.missing) == (None, False, ["model-00004-of-00004.safetensors"])


def test_index_weight_map_wins_over_names(minilm_sharded_set, tmp_path):
    d = clone_tree(minilm_sharded_set.folder, tmp_path / "set")
    # the index, not the -of-N names, says what belongs: point one tensor at a custom-named shard
    index = json.loads((d / minilm_sharded_set.index).read_text())
    index["weight_map"]["embeddings.position_ids"] = "extra-shard.safetensors"
    (d / minilm_sharded_set.index).write_text(json.dumps(index))
    u = only(plan_import([d]))
    assert u.missing == ["extra-shard.safetensors"] and u.complete is False


def test_diffusers_variant_index(minilm_sharded_set, tmp_path):
    d = tmp_path / "unet"
    index = json.loads((minilm_sharded_set.folder / minilm_sharded_set.index).read_text())
    renamed = {old: old.replace("model-", "diffusion_pytorch_model.fp16-") for old in minilm_sharded_set.shards}
    for old, new in renamed.items():
        link_or_copy(minilm_sharded_set.folder / old, d / new)
    index["weight_map"] = {k: renamed[v] for k, v in index["weight_map"].items()}
    (d / "diffusion_pytorch_model.safetensors.index.fp16.json").write_text(json.dumps(index))
    u = only(plan_import([d]))
    assert (u.manifest, u.complete, len(u.files)) == ("diffusion_pytorch_model.safetensors.index.fp16.json", True, 5)


def test_corrupt_index_falls_back_to_names(minilm_sharded_set, tmp_path):
    d = clone_tree(minilm_sharded_set.folder, tmp_path / "set")
    (d / minilm_sharded_set.index).unlink()
    (d / minilm_sharded_set.index).write_text('{"weight_map": {"a": ')
    u = only(plan_import([d]))
    assert u.complete is True and rel(u)[-1] == "model.safetensors.index.json" and len(u.files) == 5
    assert any("not valid JSON" in w for w in u.warnings)


def test_explicit_shard_or_index_pulls_in_the_whole_set(minilm_sharded_set, tmp_path):
    d = clone_tree(minilm_sharded_set.folder, tmp_path / "set")
    for pick in ([d / "model-00002-of-00004.safetensors"], [d / "model.safetensors.index.json"],
                 sorted(d.iterdir())):
        u = only(plan_import(pick))
        assert u.kind == "sharded-set" and len(u.files) == 5 and u.files[0].name == "model-00001-of-00004.safetensors"


def test_index_without_any_shard_is_an_error_when_named(minilm_sharded_set, tmp_path):
    d = tmp_path / "lonely"
    link_or_copy(minilm_sharded_set.folder / minilm_sharded_set.index, d / "model.safetensors.index.json")
    plan = plan_import([d / "model.safetensors.index.json", d])
    assert plan.units == []
    assert plan.errors[0][1] == "index names 4 shard files and none is present"
    assert plan.errors[1] == (d, "folder contains no model files")


def test_split_gguf_complete_and_incomplete(split_gguf_set, tmp_path):
    heads = [read_gguf_header(p) for p in split_gguf_set]
    assert [dict((k, v) for k, _t, v in h["kv"])["split.count"] for h in heads] == [3, 3, 3]
    d = clone_tree(split_gguf_set[0].parent, tmp_path / "gguf")
    u = only(plan_import([d]))
    assert (u.kind, u.name, u.complete) == ("sharded-set", "gemma-3-270m-q4_k_m.gguf", True)
    assert rel(u) == [p.name for p in split_gguf_set]
    (d / "gemma-3-270m-q4_k_m-00002-of-00003.gguf").unlink()
    u = only(plan_import([d / "gemma-3-270m-q4_k_m-00001-of-00003.gguf"]))
    assert (u.complete, u.missing) == (False, ["gemma-3-270m-q4_k_m-00002-of-00003.gguf"])


def _byte_split(src: Path, dest: Path, parts: int, first: int = 1) -> list[Path]:
    data = src.read_bytes()
    step = -(-len(data) // parts)
    out = []
    for i in range(parts):
        p = dest / f"{src.name}.part{i + first}"
        p.write_bytes(data[i * step:(i + 1) * step])
        out.append(p)
    return out


def test_safetensors_byte_split_parts(real, tmp_path):
    d = tmp_path / "parts"
    d.mkdir()
    parts = _byte_split(real("silero/silero_vad_16k.safetensors"), d, 3)
    u = only(plan_import([d]))
    assert (u.kind, u.name, u.complete, u.warnings) == ("sharded-set", "silero_vad_16k.safetensors", True, [])
    parts[2].unlink()  # the tail: only the header's size can tell
    u = only(plan_import([parts[0]]))
    assert (u.complete, u.missing) == (False, ["silero_vad_16k.safetensors.part3"])
    parts[1].unlink()
    parts[2].write_bytes(b"x")  # now a gap in the numbering
    assert only(plan_import([d])).missing == ["silero_vad_16k.safetensors.part2"]


def test_real_gguf_part00_alone(real, tmp_path):
    f = link_or_copy(real("gemma_part1/gemma-3-270m-q4_k_m.gguf.part00"), tmp_path / "gemma-3-270m-q4_k_m.gguf.part00")
    u = only(plan_import([f]))
    assert (u.kind, u.name, u.files) == ("sharded-set", "gemma-3-270m-q4_k_m.gguf", [f])
    assert any("cannot be detected" in w for w in u.warnings)


def test_numbered_run(real, tmp_path):
    src = real("silero/silero_vad_16k.safetensors")
    d = tmp_path / "run"
    for i in (1, 2, 3):
        link_or_copy(src, d / f"flux_{i:05d}.safetensors")
    u = only(plan_import([d]))
    assert (u.kind, u.name, u.complete) == ("sharded-set", "flux.safetensors", True)
    assert any("trailing" in w for w in u.warnings)
    (d / "flux_00002.safetensors").unlink()
    u = only(plan_import([d]))
    assert (u.complete, u.missing) == (False, ["flux_00002.safetensors"])
    (d / "flux_00003.safetensors").unlink()
    assert only(plan_import([d])).kind == "single-file"  # a lone numbered file is just a file


def test_unicode_sharded_set(minilm_sharded_set, tmp_path):
    d = tmp_path / "集合"
    for i, name in enumerate(minilm_sharded_set.shards, 1):
        link_or_copy(minilm_sharded_set.folder / name, d / f"ünï:cödé-{i:05d}-of-00004.safetensors")
    (d / "ünï:cödé-00002-of-00004.safetensors").unlink()
    u = only(plan_import([d]))
    assert u.name == "ünï:cödé.safetensors" and u.missing == ["ünï:cödé-00002-of-00004.safetensors"]


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

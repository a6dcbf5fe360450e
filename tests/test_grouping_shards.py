"""plan_import on Sharded Sets: index files, ``-of-N`` names, diffusers variants, split GGUF, byte-split
``.partNN`` runs (real files throughout; single files and folders are in test_grouping.py)."""

from __future__ import annotations

import json
from pathlib import Path

from fixture_builders import clone_tree, link_or_copy, read_gguf_header, read_safetensors_header
from grouping_support import only, rel

from pumas_core.ingest.grouping import plan_import

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

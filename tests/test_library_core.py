"""metadata.json, models.db and Deep Scan on real files and real SQLite databases."""

from __future__ import annotations

import json
import sqlite3

import pytest

from pumas_core.errors import CorruptFileError
from pumas_core.library import deepscan
from pumas_core.library.index import ModelIndex, fts_query
from pumas_core.library.metadata import read_metadata, write_metadata
from pumas_core.naming import clean_name


def _meta(mid: str, name: str, mtype: str = "lora", **extra) -> dict:
    return {"schema_version": 1, "model_id": mid, "official_name": name, "cleaned_name": name.split(".")[0],
            "category": "diffusion", "family": "sdxl", "model_type": mtype, "format": "single-file",
            "file_format": "safetensors", "files": [{"name": name, "size": 4, "sha256": "a" * 64, "blake3": mid}],
            "hashes": {"sha256": "a" * 64, "blake3": mid}, "size_bytes": 4, "added_date": "x", "updated_date": "x",
            "security_tier": "safe", "match_source": "none", "trust": "none", "pending_online_lookup": False,
            "tags": ["style"], "description": "", **extra}


def _model_dir(root, mid, name, **extra):
    d = root / "diffusion" / "sdxl" / mid[:8]
    d.mkdir(parents=True)
    (d / name).write_bytes(b"abcd")
    write_metadata(d, _meta(mid, name, **extra))
    return d


def test_metadata_write_is_atomic_and_keeps_unknown_keys(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    write_metadata(d, _meta("1" * 64, "a.safetensors", future_key={"kept": True}))
    write_metadata(d, {**_meta("1" * 64, "a.safetensors"), "trust": "high"})
    meta = read_metadata(d)
    assert meta["future_key"] == {"kept": True} and meta["trust"] == "high"
    assert [p.name for p in d.iterdir()] == ["metadata.json"]  # no temp file left behind


def test_metadata_rejects_corrupt_and_incomplete(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "metadata.json").write_text("{not json")
    with pytest.raises(CorruptFileError, match="not valid JSON"):
        read_metadata(d)
    (d / "metadata.json").write_text(json.dumps({"model_id": "x"}))
    with pytest.raises(CorruptFileError, match="missing keys"):
        read_metadata(d)
    bad = _meta("1" * 64, "a.safetensors")
    bad["files"] = [{"name": "../../etc/passwd", "size": 1}]
    with pytest.raises(CorruptFileError, match="bad file entry"):
        write_metadata(d, bad)


def test_index_is_wal_with_fts_triggers(tmp_path):
    root = tmp_path / "lib"
    d = _model_dir(root, "b" * 64, "Juggernaut_XL.safetensors")
    idx = ModelIndex(root / "models.db", root)
    idx.upsert(read_metadata(d), d)
    mode = sqlite3.connect(root / "models.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert [m["model_id"] for m in idx.search("jugg")[0]] == ["b" * 64]
    assert idx.search("jugg xl")[0] and not idx.search("juggz")[0]
    gen = idx.generation()
    meta = read_metadata(d)
    meta["official_name"], meta["cleaned_name"] = "Renamed.safetensors", "Renamed"
    idx.upsert(meta, d)
    assert idx.search("jugg")[0] == [] and idx.search("renam")[0]  # triggers kept FTS in sync
    assert idx.generation() != gen
    assert idx.find_by_hash(blake3="b" * 64)["model_id"] == "b" * 64
    idx.delete("b" * 64)
    assert idx.search("renam")[0] == [] and idx.count() == 0


def test_fts_query_escapes_user_text():
    assert fts_query('sd "xl"-base') == '"sd"* AND "xl"* AND "base"*'
    assert fts_query("  -- ") is None


def test_deep_scan_restores_index_and_reports_phantoms(tmp_path):
    root = tmp_path / "lib"
    keep = _model_dir(root, "c" * 64, "keep.safetensors")
    gone = _model_dir(root, "d" * 64, "gone.safetensors")
    manual = _model_dir(root, "e" * 64, "mine.safetensors", match_source="manual", model_type="vae")
    (gone / "gone.safetensors").unlink()
    broken = root / "diffusion" / "x" / "broken"
    broken.mkdir(parents=True)
    (broken / "metadata.json").write_text("{")
    idx = ModelIndex(root / "models.db", root)
    report = deepscan.rebuild(root, idx)
    assert report["indexed"] == 2
    assert [p["model_id"] for p in report["phantoms"]] == ["d" * 64]
    assert report["errors"] and "broken" in report["errors"][0]["path"]
    assert idx.get("e" * 64)["match_source"] == "manual" and idx.get("e" * 64)["model_type"] == "vae"
    assert read_metadata(manual)["match_source"] == "manual"  # never rewritten by a scan
    assert idx.get("c" * 64)["path"] == str(keep)


@pytest.mark.parametrize("raw,expected", [
    ("CON.safetensors", "_CON.safetensors"), ("aux", "_aux"), ('a<b>c:d"e|f?g*.ckpt', "a_b_c_d_e_f_g_.ckpt"),
    ("trailing. . ", "trailing"), ("  spaced name .gguf", "spaced_name_.gguf"),
    ("ünïcødé.safetensors", "ünïcødé.safetensors"),
    ("...", "model"),
])
def test_clean_name_is_ntfs_safe(raw, expected):
    assert clean_name(raw) == expected


def test_clean_name_caps_length_and_keeps_extension():
    name = clean_name("x" * 300 + ".safetensors")
    assert len(name) == 128 and name.endswith(".safetensors")


def test_settings_validate_and_default_roots(lib_dirs, tmp_path, comfy_tree, monkeypatch):
    from pumas_core.errors import BadInputError
    from pumas_core.facade import Library

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    lib = Library.open(*lib_dirs)
    try:
        assert lib.settings()["import_roots"] == [] and not lib.settings()["import_roots_configured"]
        lib.add_app(comfy_tree)
        assert lib.settings()["import_roots"] == [str((comfy_tree / "models").resolve())]
        with pytest.raises(BadInputError, match="not an existing absolute folder"):
            lib.update_settings({"import_roots": ["relative/path"]})
        with pytest.raises(BadInputError, match="unknown settings"):
            lib.update_settings({"colour": "red"})
        d = tmp_path / "incoming"
        d.mkdir()
        assert lib.update_settings({"import_roots": [str(d)]})["import_roots"] == [str(d.resolve())]
        assert str(d.resolve()) in lib.allowed_roots() and str(lib.root) in lib.allowed_roots()
    finally:
        lib.close()

"""Issue 7 item 2: the index is disposable for real — a sync never costs links because the index
lacks models whose files are still in the library."""

from __future__ import annotations

import os

from model_shapes import KOHYA_LORA
from st_writer import write_safetensors

from pumas_core.facade import Library


def _library_with_links(tmp_path, comfy_tree, n=3):
    lib, state = tmp_path / "lib", tmp_path / "state"
    files = [write_safetensors(tmp_path / f"l{i}.safetensors", KOHYA_LORA, metadata={"n": str(i)}) for i in range(n)]
    with Library.open(lib, state, create=True) as opened:
        ids = [m["model_id"] for m in opened.import_paths([str(f) for f in files], lookup=False)["imported"]]
        rep = opened.sync(comfyui_dir=comfy_tree)
        assert rep["created"] == n
    return lib, state, ids


def _links(comfy_tree):
    return sorted(p for p in (comfy_tree / "models").rglob("*") if p.is_symlink() and p.exists())


def test_sync_keeps_links_of_models_missing_from_the_index(tmp_path, comfy_tree):
    lib, state, ids = _library_with_links(tmp_path, comfy_tree)
    with Library.open(lib, state) as opened:
        opened.index.delete(ids[0])  # e.g. another process is rebuilding the index right now
        rep = opened.sync()
        assert rep["removed_broken"] == 0 and rep["errors"] == []
    assert len(_links(comfy_tree)) == 3


def test_empty_index_is_rebuilt_on_open_before_any_sync(tmp_path, comfy_tree):
    lib, state, ids = _library_with_links(tmp_path, comfy_tree)
    with Library.open(lib, state) as opened:
        opened.index.clear()
        opened.index.bulk_load().__exit__(None, None, None)
    with Library.open(lib, state) as opened:
        assert any("index was empty: rebuilt from metadata.json (3 models)" in n for n in opened.recovery_notes)
        assert sorted(m["model_id"] for m in opened.list_models()) == sorted(ids)
        assert opened.sync()["created"] == 0
    assert len(_links(comfy_tree)) == 3


def test_read_only_open_with_corrupt_index_reads_metadata_and_writes_nothing(tmp_path, comfy_tree):
    lib, state, ids = _library_with_links(tmp_path, comfy_tree)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{lib}/models.db{suffix}"):
            os.unlink(f"{lib}/models.db{suffix}")
    (lib / "models.db").write_bytes(b"garbage" * 1000)
    before = sorted(os.listdir(lib))
    with Library.open(lib, state, read_only=True) as opened:
        assert sorted(m["model_id"] for m in opened.list_models()) == sorted(ids)
        assert any("index is corrupt" in n for n in opened.recovery_notes)
    assert sorted(os.listdir(lib)) == before and (lib / "models.db").read_bytes() == b"garbage" * 1000

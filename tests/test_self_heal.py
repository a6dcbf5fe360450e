"""Self-healing by identity (issue 7, item 4): moved model folders are re-pointed, never deleted;
only links whose content is truly gone are removed; phantoms are restored by re-importing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from model_shapes import KOHYA_LORA, SD15_CHECKPOINT
from st_writer import write_safetensors

from pumas_core.facade import Library


@pytest.fixture
def linked(lib_dirs, tmp_path, comfy_tree):
    """A library with a LoRA and a checkpoint imported and linked into ``comfy_tree``."""
    root, state = lib_dirs
    lib = Library.open(root, state)
    lib.add_app(comfy_tree)
    src = tmp_path / "src"
    src.mkdir()
    rep = lib.import_paths([write_safetensors(src / "a.safetensors", KOHYA_LORA),
                            write_safetensors(src / "b.safetensors", SD15_CHECKPOINT)], lookup=False)
    lora, ckpt = sorted(rep["imported"], key=lambda m: m["official_name"])
    yield lib, lora, ckpt
    lib.close()


def _link(comfy_tree: Path, key: str, name: str) -> Path:
    return comfy_tree / "models" / key / name


def test_moved_folder_is_reported_as_repoint_and_repaired(linked, comfy_tree):
    lib, lora, _ = linked
    old = Path(lora["path"])
    new = lib.root / "diffusion" / "my-loras" / "renamed-by-hand"
    new.parent.mkdir(parents=True)
    os.rename(old, new)
    link = _link(comfy_tree, "loras", "a.safetensors")
    assert not link.exists()
    h = lib.health()
    [b] = h["broken_links"]
    assert (b["action"], b["fixable_by"], b["repairable"]) == ("repoint", "repair", True)
    assert str(new) in b["fix_reason"]
    assert h["phantom_models"] == [] and [m["path"] for m in h["moved_models"]] == [str(new)]
    out = lib.repair()
    assert out["repaired"] == 1 and out["not_fixed"] == []
    assert [m["path"] for m in out["reindexed"]] == [str(new)]
    assert link.is_symlink() and link.resolve() == (new / lora["files"][0]["name"]).resolve()
    assert link.read_bytes() == (new / lora["files"][0]["name"]).read_bytes()
    assert lib.get_model(lora["model_id"])["path"] == str(new)
    assert lib.health()["status"] == "healthy"


def test_health_fix_repoints_moved_and_removes_only_what_is_gone(linked, comfy_tree):
    lib, lora, ckpt = linked
    new = lib.root / "moved-here"
    os.rename(lora["path"], new)                 # moved: content still in the library
    shutil.rmtree(ckpt["path"])                  # gone: content deleted outright
    h = lib.health()
    actions = {b["model_id"]: (b["action"], b["fixable_by"]) for b in h["broken_links"]}
    assert actions == {lora["model_id"]: ("repoint", "repair"), ckpt["model_id"]: ("remove", "clean")}
    rep = lib.repair()
    assert rep["repaired"] == 1
    assert [(n["model_id"], n["fixable_by"]) for n in rep["not_fixed"]] == [(ckpt["model_id"], "clean")]
    assert "gone" in rep["not_fixed"][0]["reason"]
    cl = lib.clean()
    assert [r["link_path"] for r in cl["removed"]] == [str(_link(comfy_tree, "checkpoints", "b.safetensors"))]
    assert _link(comfy_tree, "loras", "a.safetensors").exists()
    assert not os.path.lexists(_link(comfy_tree, "checkpoints", "b.safetensors"))


def test_clean_alone_never_deletes_links_of_a_moved_model(linked, comfy_tree):
    """Today's bug: ``health --fix``/``clean`` deleted the links of a model moved by hand."""
    lib, lora, _ = linked
    os.rename(lora["path"], lib.root / "elsewhere")
    cl = lib.clean()
    assert cl["removed_links"] == 0 and [k["action"] for k in cl["kept"]] == ["repoint"]
    assert os.path.islink(_link(comfy_tree, "loras", "a.safetensors"))


def test_phantom_is_reported_and_reimport_restores_it_in_place(linked, comfy_tree, tmp_path):
    lib, lora, _ = linked
    lib.update_metadata(lora["model_id"], {"tags": ["favourite"]})
    weight = Path(lora["path"]) / lora["files"][0]["name"]
    weight.unlink()  # files deleted by hand, metadata.json left
    h = lib.health()
    [p] = h["phantom_models"]
    assert p["model_id"] == lora["model_id"] and "import the same file again" in p["reason"]
    [b] = h["broken_links"]
    assert (b["action"], b["fixable_by"]) == ("remove", "clean")
    rep = lib.repair()
    assert rep["repaired"] == 0 and [n["model_id"] for n in rep["not_fixed"]] == [lora["model_id"]]
    again = write_safetensors(tmp_path / "again" / "a.safetensors", KOHYA_LORA)
    out = lib.import_paths([again], lookup=False)
    assert [m["model_id"] for m in out["imported"]] == [lora["model_id"]] and out["skipped"] == []
    restored = out["imported"][0]
    assert restored["path"] == lora["path"] and restored["restored"] is True
    assert restored["tags"] == ["favourite"]  # the user's edits survive
    assert _link(comfy_tree, "loras", "a.safetensors").exists()  # same folder: the old link resolves again
    assert lib.health()["status"] == "healthy"
    assert len(lib.list_models()) == 2


def test_cli_import_of_a_phantoms_file_lists_it_under_imported(lib_dirs, tmp_path):
    """Contract: ``pumas --json import`` of a phantom's file lists it under ``imported`` — also after a
    Deep Scan dropped the phantom from the index."""
    root, state = lib_dirs
    src = write_safetensors(tmp_path / "x.safetensors", SD15_CHECKPOINT)
    env = {**os.environ, "PUMAS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "pumas_core.cli.main", "--library", str(root), "--state", str(state), "--json"]
    first = json.loads(subprocess.run(cmd + ["import", str(src), "--no-lookup"], capture_output=True, text=True,
                                      env=env, check=True).stdout)
    model = first["imported"][0]
    os.unlink(Path(model["path"]) / model["files"][0]["name"])
    rebuilt = json.loads(subprocess.run(cmd + ["rebuild"], capture_output=True, text=True, env=env).stdout)
    assert [p["model_id"] for p in rebuilt["phantoms"]] == [model["model_id"]]
    proc = subprocess.run(cmd + ["import", str(src), "--no-lookup"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [m["model_id"] for m in out["imported"]] == [model["model_id"]] and out["skipped"] == []
    assert out["imported"][0]["path"] == model["path"]  # no "-<hash>" twin next to the phantom
    listed = json.loads(subprocess.run(cmd + ["list"], capture_output=True, text=True, env=env).stdout)
    assert [m["model_id"] for m in listed["models"]] == [model["model_id"]]


def test_cli_health_fix_says_which_links_it_removed(lib_dirs, tmp_path, comfy_tree):
    root, state = lib_dirs
    env = {**os.environ, "PUMAS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "pumas_core.cli.main", "--library", str(root), "--state", str(state)]
    subprocess.run(cmd + ["apps", "add", str(comfy_tree)], check=True, capture_output=True, env=env)
    a = write_safetensors(tmp_path / "a.safetensors", KOHYA_LORA)
    b = write_safetensors(tmp_path / "b.safetensors", SD15_CHECKPOINT)
    out = json.loads(subprocess.run(cmd + ["--json", "import", str(a), str(b), "--no-lookup"], check=True,
                                    capture_output=True, text=True, env=env).stdout)
    lora, ckpt = sorted(out["imported"], key=lambda m: m["official_name"])
    os.rename(lora["path"], root / "diffusion" / "moved-lora")
    shutil.rmtree(ckpt["path"])
    proc = subprocess.run(cmd + ["health", "--fix"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "moved:" in proc.stdout and f"removed {_link(comfy_tree, 'checkpoints', 'b.safetensors')}" in proc.stdout
    assert "status: healthy" in proc.stdout
    assert _link(comfy_tree, "loras", "a.safetensors").exists()

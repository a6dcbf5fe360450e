"""Preview then apply: conflicts with their reasons, and each resolution doing what it says (CLI, real files)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from model_shapes import KOHYA_LORA, SD15_CHECKPOINT
from st_writer import write_safetensors

from pumas_core.cli.main import main


@pytest.fixture
def cli(lib_dirs, monkeypatch, capsys):
    root, state = lib_dirs
    monkeypatch.setenv("PUMAS_OFFLINE", "1")

    def run(*args):
        code = main(["--library", str(root), "--state", str(state), "--json", *args])
        out, err = capsys.readouterr()
        return code, json.loads(out) if out.strip() else None, err

    run.root, run.state = root, state
    return run


@pytest.fixture
def blocked(cli, comfy_tree, tmp_path):
    """A checkpoint and a LoRA in the library; the user's own file sits where the checkpoint link goes,
    and a foreign symlink where the LoRA link goes."""
    ckpt = write_safetensors(tmp_path / "src" / "dreamy.safetensors", SD15_CHECKPOINT)
    lora = write_safetensors(tmp_path / "src" / "ink.safetensors", KOHYA_LORA,
                             metadata={"ss_network_module": "networks.lora"})
    code, out, err = cli("import", str(ckpt), str(lora))
    assert code == 0 and len(out["imported"]) == 2, err
    user_file = comfy_tree / "models" / "checkpoints" / "dreamy.safetensors"
    user_file.write_bytes(b"the user's own checkpoint")
    other = tmp_path / "elsewhere.safetensors"
    other.write_bytes(b"another file")
    os.symlink(other, comfy_tree / "models" / "loras" / "ink.safetensors")
    return user_file


def tree_state(models_dir):
    out = {}
    for p in sorted(models_dir.rglob("*")):
        out[str(p)] = os.readlink(p) if p.is_symlink() else (p.read_bytes() if p.is_file() else "dir")
    return out


def test_preview_lists_conflicts_with_reasons_and_changes_nothing(cli, comfy_tree, blocked):
    before = tree_state(comfy_tree / "models")
    code, prev, _ = cli("sync", "--comfyui", str(comfy_tree), "--dry-run")
    assert code == 1  # conflicts remain unresolved
    reasons = {os.path.basename(c["link_path"]): c["reason"] for c in prev["conflicts"]}
    assert reasons == {"dreamy.safetensors": "file_exists", "ink.safetensors": "linked_to_different_source"}
    assert {p["action"] for p in prev["planned"]} >= {"conflict"}
    assert "removed_stale" in prev and "warnings" in prev
    assert tree_state(comfy_tree / "models") == before


def test_skip_leaves_the_files_and_exits_zero(cli, comfy_tree, blocked):
    code, r, _ = cli("sync", "--comfyui", str(comfy_tree), "--resolve", "skip")
    assert code == 0 and r["conflicts"] == [] and r["skipped"] == 2
    assert blocked.read_bytes() == b"the user's own checkpoint"


def test_backup_renames_the_users_file_never_clobbering_a_backup(cli, comfy_tree, blocked):
    old_backup = blocked.with_name(blocked.name + ".pumas-backup")
    old_backup.write_bytes(b"an older backup")
    code, r, _ = cli("sync", "--comfyui", str(comfy_tree), "--resolve", "backup")
    assert code == 0 and r["conflicts"] == []
    assert old_backup.read_bytes() == b"an older backup"
    saved = [b["backup_path"] for b in r["backed_up"] if b["link_path"] == str(blocked)][0]
    assert saved != str(old_backup) and Path(saved).read_bytes() == b"the user's own checkpoint"
    assert blocked.is_symlink() and blocked.read_bytes()[:8] != b"the user"


def test_rename_keeps_both_and_a_second_sync_is_quiet(cli, comfy_tree, blocked):
    code, r, _ = cli("sync", "--comfyui", str(comfy_tree), "--resolve", "rename")
    assert code == 0 and r["conflicts"] == [] and len(r["renamed"]) == 2
    assert blocked.read_bytes() == b"the user's own checkpoint"
    alt = [x["link_path"] for x in r["renamed"] if x["instead_of"] == str(blocked)][0]
    assert os.path.islink(alt) and os.path.basename(alt).startswith("dreamy-")
    code, again, _ = cli("sync", "--comfyui", str(comfy_tree))
    assert code == 0 and again["conflicts"] == [] and again["created"] == 0


def test_config_conflict_policy_backup_applies_without_a_flag(cli, comfy_tree, blocked):
    cfg = cli.state / "mappings" / "comfyui_*_custom.json"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(json.dumps({"rules": [], "conflict": "backup"}))
    code, r, _ = cli("sync", "--comfyui", str(comfy_tree))
    assert code == 0 and len(r["backed_up"]) == 2


def test_folder_made_after_apps_add_is_used(cli, comfy_tree, tmp_path):
    shutil.rmtree(comfy_tree / "models" / "loras")
    code, _app, _ = cli("apps", "add", str(comfy_tree))
    lora = write_safetensors(tmp_path / "ink.safetensors", KOHYA_LORA, metadata={"ss_network_module": "networks.lora"})
    code, out, _ = cli("import", str(lora))
    assert code == 0 and out["imported"]
    (comfy_tree / "models" / "loras").mkdir()
    code, r, _ = cli("sync")
    assert code == 0 and r["created"] == 1 and (comfy_tree / "models" / "loras" / "ink.safetensors").is_symlink()


def test_move_test_library_and_install_moved_together_links_resolve(cli, comfy_tree, tmp_path, real):
    """The "Move Test" (seeds): relative links survive moving the folder holding library and install."""
    code, out, _ = cli("import", str(real("minilm/model.safetensors")))
    assert code == 0
    code, r, _ = cli("sync", "--comfyui", str(comfy_tree))
    assert code == 0 and r["created"] == 1
    links = [p for p in (comfy_tree / "models").rglob("*") if p.is_symlink()]
    assert links and all(not os.path.isabs(os.readlink(p)) for p in links)
    # library and ComfyUI both live under tmp_path: move the whole folder
    moved = tmp_path.parent / (tmp_path.name + "-moved")
    os.rename(tmp_path, moved)
    try:
        for p in links:
            q = moved / p.relative_to(tmp_path)
            assert q.is_symlink() and q.read_bytes()[:8] == real("minilm/model.safetensors").read_bytes()[:8]
    finally:
        os.rename(moved, tmp_path)

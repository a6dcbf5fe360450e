"""The ``pumas`` CLI end to end: real files, a real ComfyUI-shaped tree, real symlinks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from model_shapes import KOHYA_LORA, SD15_CHECKPOINT
from st_writer import write_safetensors

from pumas_core.cli.main import main


@pytest.fixture
def cli(lib_dirs, monkeypatch, capsys):
    """Run ``pumas --json ...`` in-process; returns (exit_code, parsed stdout, stderr)."""
    root, state = lib_dirs
    monkeypatch.setenv("PUMAS_OFFLINE", "1")

    def run(*args, json_out=True):
        argv = ["--library", str(root), "--state", str(state)] + (["--json"] if json_out else []) + list(args)
        code = main(argv)
        out, err = capsys.readouterr()
        return code, (json.loads(out) if json_out and out.strip() else out), err

    run.root, run.state = root, state
    return run


def _links(models_dir):
    return sorted(p for p in models_dir.rglob("*") if p.is_symlink())


def test_quickstart_flow_import_sync_idempotent(cli, real, comfy_tree, tmp_path):
    ckpt = write_safetensors(tmp_path / "dreamy_sd15.safetensors", SD15_CHECKPOINT)
    lora = write_safetensors(tmp_path / "ink_style.safetensors", KOHYA_LORA,
                             metadata={"ss_network_module": "networks.lora"})
    code, out, err = cli("import", str(real("minilm/model.safetensors")), str(real("silero/silero_vad.onnx")),
                         str(real("llama_vocab/ggml-vocab-llama-spm.gguf")), str(real("facenet/pnet.pt")),
                         str(ckpt), str(lora), "--accept-pickle")
    assert code == 0, err
    assert len(out["imported"]) == 6 and out["failed"] == []
    types = {m["official_name"]: m["model_type"] for m in out["imported"]}
    assert types["dreamy_sd15.safetensors"] == "checkpoint" and types["ink_style.safetensors"] == "lora"

    code, sync, _ = cli("sync", "--comfyui", str(comfy_tree))
    assert code == 0 and sync["conflicts"] == [] and sync["created"] >= 3
    link = comfy_tree / "models" / "checkpoints" / "dreamy_sd15.safetensors"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve().parent.parent.parent.parent == cli.root.resolve()
    assert (comfy_tree / "models" / "loras" / "ink_style.safetensors").is_symlink()
    assert (comfy_tree / "models" / "text_encoders" / "model.safetensors").resolve().stat().st_size == 90_868_376
    unmapped = {u["model_type"] for u in sync["unmapped"]}
    assert "unknown" in unmapped or "llm" in unmapped  # listed, not guessed
    for lk in _links(comfy_tree / "models"):
        assert lk.exists(), f"{lk} dangles"

    before = {str(p): os.readlink(p) for p in _links(comfy_tree / "models")}
    code, again, _ = cli("sync", "--comfyui", str(comfy_tree))
    assert code == 0 and again["created"] == 0 and again["removed_broken"] == 0
    assert {str(p): os.readlink(p) for p in _links(comfy_tree / "models")} == before


def test_rebuild_restores_every_model_and_reports_phantoms(cli, real):
    cli("import", str(real("silero/silero_vad_16k.safetensors")), str(real("llama_vocab/ggml-vocab-gpt-2.gguf")))
    _, listed, _ = cli("list")
    ids = sorted(m["model_id"] for m in listed["models"])
    for suffix in ("", "-wal", "-shm"):
        p = cli.root / f"models.db{suffix}"
        if p.exists():
            p.unlink()
    code, scan, _ = cli("rebuild")
    assert code == 0 and scan["indexed"] == 2 and scan["phantoms"] == []
    _, listed, _ = cli("list")
    assert sorted(m["model_id"] for m in listed["models"]) == ids
    gguf = next(m for m in listed["models"] if m["file_format"] == "gguf")
    os.unlink(os.path.join(gguf["path"], gguf["files"][0]["name"]))
    _, scan, _ = cli("rebuild")
    assert scan["indexed"] == 1 and [p["model_id"] for p in scan["phantoms"]] == [gguf["model_id"]]


def test_real_file_in_the_way_is_a_conflict_and_untouched(cli, comfy_tree, tmp_path):
    ckpt = write_safetensors(tmp_path / "base.safetensors", SD15_CHECKPOINT)
    users = comfy_tree / "models" / "checkpoints" / "base.safetensors"
    users.write_bytes(b"the user's own file")
    cli("import", str(ckpt))
    code, sync, _ = cli("sync", "--comfyui", str(comfy_tree))
    assert sync["conflicts"] and sync["conflicts"][0]["link_path"] == str(users)
    assert users.read_bytes() == b"the user's own file" and not users.is_symlink()


def test_import_then_incremental_sync_into_registered_installs(cli, comfy_tree, tmp_path):
    code, app, _ = cli("apps", "add", str(comfy_tree))
    assert code == 0 and app["version"] == "0.3.64"
    lora = write_safetensors(tmp_path / "late.safetensors", KOHYA_LORA)
    code, out, _ = cli("import", str(lora))
    assert out["sync"]["created"] == 1
    assert (comfy_tree / "models" / "loras" / "late.safetensors").is_symlink()


def test_delete_cascades_links_registry_files(cli, comfy_tree, tmp_path):
    cli("apps", "add", str(comfy_tree))
    lora = write_safetensors(tmp_path / "gone.safetensors", KOHYA_LORA)
    _, out, _ = cli("import", str(lora))
    m = out["imported"][0]
    link = comfy_tree / "models" / "loras" / "gone.safetensors"
    assert link.is_symlink()
    code, res, _ = cli("delete", m["model_id"][:10], "--yes")
    assert code == 0 and res["links_removed"] == 1
    assert not link.exists() and not link.is_symlink() and not os.path.exists(m["path"])
    code, _, err = cli("show", m["model_id"])
    assert code == 1 and "no model" in err


def test_search_show_and_json_shapes(cli, real):
    cli("import", str(real("llama_vocab/ggml-vocab-qwen2.gguf")))
    code, res, _ = cli("search", "qwe")
    assert code == 0 and res["models"] and "query_time_ms" in res
    code, m, _ = cli("show", "blake3:" + res["models"][0]["model_id"])
    assert code == 0 and m["file_format"] == "gguf" and m["links"] == []


def test_bad_input_is_one_line_exit_1(cli, tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_text("hello")
    code, out, err = cli("import", str(junk))
    assert code == 1 and out["failed"][0]["path"] == str(junk)
    code, _, err = cli("import", str(tmp_path / "missing.gguf"), json_out=False)
    assert code == 1 and "missing.gguf" in err and "Traceback" not in err


def test_usage_error_exit_2():
    proc = subprocess.run([sys.executable, "-m", "pumas_core.cli.main", "frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2


def test_console_script_runs_in_a_real_process(lib_dirs, real):
    root, state = lib_dirs
    env = {**os.environ, "PUMAS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pumas_core.cli.main", "--library", str(root), "--state", str(state),
                           "--json", "import", str(real("lpips/v0.1/alex.pth"))], capture_output=True, text=True,
                           env=env)
    assert proc.returncode == 1 and "--accept-pickle" in proc.stdout


def test_adopting_a_comfyui_folder_keeps_the_names_workflows_use(cli, comfy_tree):
    """Move-import a model out of ComfyUI's models/checkpoints/SDXL: the link takes its exact place."""
    cli("apps", "add", str(comfy_tree))
    sub = comfy_tree / "models" / "checkpoints" / "SDXL"
    sub.mkdir()
    original = write_safetensors(sub / "my_model.safetensors", SD15_CHECKPOINT)
    data = original.read_bytes()
    code, out, err = cli("import", str(original), "--mode", "move")
    assert code == 0, err
    assert out["imported"][0]["link_subdir"] == "SDXL"
    assert original.is_symlink() and original.read_bytes() == data  # same path, now a link into the library
    assert not os.path.isabs(os.readlink(original))
    code, again, _ = cli("sync")
    assert again["created"] == 0 and again["conflicts"] == []


def test_health_reports_phantoms_and_broken_links_then_fixes(cli, comfy_tree, tmp_path):
    cli("apps", "add", str(comfy_tree))
    _, out, _ = cli("import", str(write_safetensors(tmp_path / "a.safetensors", KOHYA_LORA)),
                    str(write_safetensors(tmp_path / "b.safetensors", SD15_CHECKPOINT)))
    lora, ckpt = sorted(out["imported"], key=lambda m: m["official_name"])
    code, h, _ = cli("health")
    assert code == 0 and h["status"] == "healthy"
    os.unlink(os.path.join(lora["path"], lora["files"][0]["name"]))  # the user deleted a library file
    (comfy_tree / "models" / "checkpoints" / "b.safetensors").unlink()  # ...and one of our links
    code, h, _ = cli("health")
    assert [p["model_id"] for p in h["phantom_models"]] == [lora["model_id"]]
    assert any(b["model_id"] == ckpt["model_id"] for b in h["broken_links"]) and h["status"] == "errors"
    code, fixed, _ = cli("health", "--fix")
    assert (comfy_tree / "models" / "checkpoints" / "b.safetensors").is_symlink()
    assert not any(b["model_id"] == ckpt["model_id"] for b in fixed["after"]["broken_links"])

"""Boot sync (``comfyui_pumas_node.boot``), ``prestartup_script.py`` and ``install.py``:
real library, real ComfyUI tree, real symlinks; failures give one line and never raise."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest
from routes_support import REPO, folder_paths_module, stage

from comfyui_pumas_node.boot import boot_sync, summary_line
from pumas_core.facade import Library


def _fp(comfy):
    return {k: v[0] for k, v in folder_paths_module(comfy).folder_names_and_paths.items()}


def _import_real(env, real):
    src = stage(real("silero/silero_vad_16k.safetensors"), env.incoming)
    with Library.open() as lib:
        report = lib.import_paths([src], mode="copy", lookup=False)
        assert report["imported"], report
        # silero is identified as "unknown" (never linked); the user's override makes it linkable
        return lib.update_metadata(report["imported"][0]["model_id"], {"model_type": "vae"})


def test_boot_sync_links_then_is_a_noop(env, real, capsys):
    _import_real(env, real)
    first = boot_sync(_fp(env.comfy), env.comfy)
    assert first["ok"] and first["created"] == 1 and first["conflicts"] == 0, first
    links = [p for p in (env.comfy / "models").rglob("*") if p.is_symlink()]
    assert len(links) == 1 and links[0].resolve().is_file() and not os.path.isabs(os.readlink(links[0]))
    second = boot_sync(_fp(env.comfy), env.comfy)
    assert second["ok"] and second["created"] == 0 and second["fast_path"], second
    with Library.open() as lib:
        assert len(lib.list_apps()) == 1, "registration is idempotent"
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("[pumas]")] == [summary_line(first), summary_line(second)]
    assert err[0].startswith("[pumas] boot sync: 1 created, 0 ok, 0 conflicts in ")


def test_boot_sync_without_folder_paths(env, real):
    _import_real(env, real)
    s = boot_sync(None, env.comfy)
    assert s["ok"] and s["created"] == 1, s


@pytest.mark.parametrize("case", ["missing_comfy", "not_comfy", "library_is_file", "corrupt_registry", "no_root"])
def test_boot_sync_never_raises(env, case, capsys, monkeypatch):
    comfy = env.comfy
    if case == "missing_comfy":
        comfy = env.tmp / "nowhere"
    elif case == "not_comfy":
        comfy = env.tmp / "plain"
        comfy.mkdir()
    elif case == "library_is_file":
        (env.tmp / "file").write_text("x")
        monkeypatch.setenv("PUMAS_LIBRARY", str(env.tmp / "file" / "lib"))
    elif case == "corrupt_registry":
        env.state.mkdir(parents=True, exist_ok=True)
        (env.state / "registry.db").write_bytes(b"this is not sqlite" * 100)
    elif case == "no_root":
        comfy = None
    s = boot_sync(None, comfy)
    assert not s["ok"] and s["skipped"], s
    out = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[pumas]")]
    assert out == [f"[pumas] boot sync skipped: {s['skipped']}"] and "\n" not in s["skipped"]


def test_prestartup_script_in_process(env, real, monkeypatch, capsys):
    _import_real(env, real)
    monkeypatch.setitem(sys.modules, "folder_paths", folder_paths_module(env.comfy))
    spec = importlib.util.spec_from_file_location(str(REPO / "prestartup_script"), REPO / "prestartup_script.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("[pumas]")]
    assert len(lines) == 1 and lines[0].startswith("[pumas] boot sync: 1 created"), lines


def test_prestartup_script_without_core(tmp_path):
    """No site-packages and no pumas_core next to the script: one line, exit 0."""
    lonely = tmp_path / "custom_nodes" / "pack"
    lonely.mkdir(parents=True)
    shutil.copy(REPO / "prestartup_script.py", lonely)
    proc = subprocess.run([sys.executable, "-S", "-I", str(lonely / "prestartup_script.py")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("[pumas] boot sync skipped: "), proc.stderr


def test_install_hook(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("pumas_install", REPO / "install.py")
    install = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(install)
    cmd = install.install_command()
    assert cmd[-2:] == ["-e", str(REPO)] and "install" in cmd
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    assert install.importable() is True
    assert install.main(["--dry-run"]) == 0
    assert "already importable" in capsys.readouterr().out
    monkeypatch.setenv("PYTHONPATH", "")
    if not install.importable():  # not pip-installed in this environment: the dry run shows the command
        assert install.main(["--dry-run"]) == 0
        assert " ".join(cmd) in capsys.readouterr().out

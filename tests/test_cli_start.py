"""First steps and missing libraries on the CLI: ``pumas init``, ``pumas`` alone, read-only commands
that create nothing, ``--json list`` after ``models.db`` was deleted (issue 7 items 1–2, issue 12)."""

from __future__ import annotations

import json
import os

import pytest
from model_shapes import KOHYA_LORA
from st_writer import write_safetensors

from pumas_core.cli.main import main
from pumas_core.library.identity import MARKER_NAME


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("cmd", [["list"], ["search", "x"], ["show", "abcdef"], ["health"], ["overrides", "abcdef"]])
def test_read_only_commands_on_a_typo_create_nothing(tmp_path, capsys, cmd):
    typo, state = tmp_path / "libary", tmp_path / "state"
    code, out, err = _run(capsys, "--library", str(typo), "--state", str(state), *cmd)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"no library at {typo}" in lines[0] and "pumas init" in lines[0], err
    assert not typo.exists() and not state.exists()


def test_list_on_an_empty_folder_exits_1_and_writes_nothing(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run(capsys, "--library", str(empty), "--state", str(tmp_path / "st"), "--json", "list")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "no library at" in err
    assert os.listdir(empty) == []


def test_pumas_alone_explains_how_to_start(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PUMAS_LIBRARY", str(tmp_path / "lib"))
    monkeypatch.setenv("PUMAS_STATE", str(tmp_path / "state"))
    code, out, _ = _run(capsys)
    assert code == 0 and "pumas init" in out and "pumas import" in out and "no library at" in out
    assert not (tmp_path / "lib").exists()
    code, out, _ = _run(capsys, "--json")
    assert code == 0 and json.loads(out)["exists"] is False and not (tmp_path / "lib").exists()


def test_init_creates_an_identified_library_once(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PUMAS_LIBRARY", raising=False)
    state, where = tmp_path / "state", tmp_path / "media" / "models" / "library"
    code, out, _ = _run(capsys, "--state", str(state), "--json", "init", str(where))
    first = json.loads(out)
    assert code == 0 and first["created"] and first["library"] == str(where)
    marker = json.loads((where / MARKER_NAME).read_text())
    assert marker["library_id"] == first["library_id"]
    assert json.loads((state / "config.json").read_text())["library"] == str(where)
    code, out, _ = _run(capsys, "--state", str(state), "--json", "init")
    again = json.loads(out)
    assert code == 0 and not again["created"] and again["library_id"] == first["library_id"]
    code, out, _ = _run(capsys, "--state", str(state), "--json", "list")
    assert code == 0 and json.loads(out) == {"models": []}


def test_init_refuses_a_known_library_that_is_gone_unless_forced(tmp_path, capsys):
    state, lib = tmp_path / "state", tmp_path / "usb" / "library"
    assert _run(capsys, "--state", str(state), "init", str(lib))[0] == 0
    os.rename(lib, tmp_path / "aside")
    code, _, err = _run(capsys, "--state", str(state), "--library", str(lib), "init")
    assert code == 1 and "offline" in err and not lib.exists()
    code, out, _ = _run(capsys, "--state", str(state), "--library", str(lib), "--json", "init", "--force")
    assert code == 0 and json.loads(out)["created"]


def test_json_list_after_models_db_deleted_lists_every_model(tmp_path, capsys):
    lib, state = tmp_path / "lib", tmp_path / "state"
    files = [write_safetensors(tmp_path / f"l{i}.safetensors", KOHYA_LORA, metadata={"n": str(i)}) for i in range(3)]
    base = ["--library", str(lib), "--state", str(state), "--json"]
    code, out, _ = _run(capsys, *base, "import", *map(str, files), "--no-lookup")
    ids = sorted(m["model_id"] for m in json.loads(out)["imported"])
    assert code == 0 and len(ids) == 3
    for suffix in ("", "-wal", "-shm"):
        if (lib / f"models.db{suffix}").exists():
            (lib / f"models.db{suffix}").unlink()
    code, out, err = _run(capsys, *base, "list")  # read-only: the index is read into memory
    assert code == 0 and sorted(m["model_id"] for m in json.loads(out)["models"]) == ids
    assert "index is missing" in err and not (lib / "models.db").exists()
    code, out, err = _run(capsys, *base, "sync", "--dry-run", "--comfyui", str(tmp_path))  # a writer: rebuilt on disk
    assert "index was missing: rebuilt from metadata.json (3 models)" in err
    assert (lib / "models.db").exists()
    code, out, err = _run(capsys, *base, "list")
    assert sorted(m["model_id"] for m in json.loads(out)["models"]) == ids and "index" not in err


def test_pre_marker_library_gets_its_identity_on_first_writable_open(tmp_path, capsys):
    lib, state = tmp_path / "lib", tmp_path / "state"
    f = write_safetensors(tmp_path / "a.safetensors", KOHYA_LORA)
    assert _run(capsys, "--library", str(lib), "--state", str(state), "import", str(f), "--no-lookup")[0] == 0
    (lib / MARKER_NAME).unlink()  # as made by an older Pumas
    code, out, _ = _run(capsys, "--library", str(lib), "--state", str(state), "--json", "list")
    assert code == 0 and len(json.loads(out)["models"]) == 1 and not (lib / MARKER_NAME).exists()
    assert _run(capsys, "--library", str(lib), "--state", str(state), "apps", "list")[0] == 0
    assert (lib / MARKER_NAME).exists()


@pytest.mark.parametrize("cmd", [["health"], ["health", "--fix"], ["repair"], ["sync"], ["list"], ["import", "x"]])
def test_unplugged_library_is_offline_for_every_command(tmp_path, capsys, comfy_tree, cmd):
    lib, state = tmp_path / "usb" / "library", tmp_path / "state"
    f = write_safetensors(tmp_path / "a.safetensors", KOHYA_LORA, metadata={"ss_network_module": "networks.lora"})
    base = ["--library", str(lib), "--state", str(state)]
    assert _run(capsys, *base, "import", str(f), "--no-lookup")[0] == 0
    assert _run(capsys, *base, "sync", "--comfyui", str(comfy_tree))[0] == 0
    link = comfy_tree / "models" / "loras" / "a.safetensors"
    assert link.is_symlink() and link.exists()
    os.rename(lib, tmp_path / "aside")  # unplugged
    code, out, err = _run(capsys, *base, *cmd)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "offline" in err and str(lib) in err, err  # a known library: offline, not "no library"
    assert link.is_symlink() and not lib.exists(), "the link is kept; nothing created"

"""``pumas overrides`` end to end (in-process CLI, real library, real symlinks into a ComfyUI 0.3.64
tree): show, merge options into ``overrides.json`` and re-link, ``--clear``, one-line bad input."""

from __future__ import annotations

import json

from model_shapes import KOHYA_LORA
from st_writer import write_safetensors

from pumas_core.cli.main import main


def _run(capsys, lib_dirs, *args):
    root, state = lib_dirs
    code = main(["--library", str(root), "--state", str(state), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_show_merge_clear_and_bad_input(capsys, lib_dirs, comfy_tree, tmp_path):
    lora = write_safetensors(tmp_path / "ink_style.safetensors", KOHYA_LORA,
                             metadata={"ss_network_module": "networks.lora"})
    code, out, err = _run(capsys, lib_dirs, "--json", "import", str(lora), "--no-lookup")
    assert code == 0, err
    mid = json.loads(out)["imported"][0]["model_id"]
    assert _run(capsys, lib_dirs, "apps", "add", str(comfy_tree))[0] == 0
    assert _run(capsys, lib_dirs, "sync")[0] == 0
    link = comfy_tree / "models" / "loras" / "ink_style.safetensors"
    assert link.is_symlink()

    code, out, _ = _run(capsys, lib_dirs, "overrides", mid[:8])
    assert code == 0 and out.strip() == f"{mid[:12]}: no overrides"

    code, out, err = _run(capsys, lib_dirs, "overrides", mid[:8], "--comfyui", "<0.3.60", "--tag", "ink", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["overrides"] == {"versions": {"comfyui": "<0.3.60"}, "tags": ["ink"]}
    assert r["sync"]["removed_stale"] == 1 and not link.is_symlink()

    # options merge into what is there; the text output says what the sync did
    code, out, err = _run(capsys, lib_dirs, "overrides", mid, "--link-name", "Ink.safetensors", "--comfyui", "")
    assert code == 0, err
    assert "link name         Ink.safetensors" in out and "tags              ink" in out
    assert "ComfyUI versions" not in out and "links: created 1" in out
    assert (comfy_tree / "models" / "loras" / "Ink.safetensors").is_symlink()
    code, out, _ = _run(capsys, lib_dirs, "--json", "overrides", mid)
    assert json.loads(out)["overrides"] == {"tags": ["ink"], "link_name": "Ink.safetensors"}

    code, out, err = _run(capsys, lib_dirs, "overrides", mid, "--comfyui", "newer than 0.3")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "'newer than 0.3' is not a valid PEP 440 specifier" in err
    code, _, err = _run(capsys, lib_dirs, "overrides", mid, "--subfolder", "../up")
    assert code == 1 and "subfolder" in err and err.count("\n") == 1
    code, _, err = _run(capsys, lib_dirs, "overrides", "0000", "--tag", "x")
    assert code == 1 and "no model with id" in err

    code, out, err = _run(capsys, lib_dirs, "overrides", mid, "--clear")
    assert code == 0 and "no overrides" in out and "links: created 1" in out, (out, err)
    assert link.is_symlink() and not (comfy_tree / "models" / "loras" / "Ink.safetensors").exists()
    code, out, _ = _run(capsys, lib_dirs, "--json", "overrides", mid)
    assert json.loads(out) == {"model_id": mid, "overrides": {}, "error": None}

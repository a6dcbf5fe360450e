"""``pumas resolve`` and ``pumas workflow annotate`` in-process, with the contract's JSON keys."""

from __future__ import annotations

import json
import os

import pytest
from workflow_support import MINILM, SILERO, sha256_file, staged, template

from pumas_core.cli.main import main

CONTRACT_KEYS = {"node_id", "node_type", "input", "directory", "name", "status", "matched_by", "model_id", "url"}
STATUSES = {"present", "linked", "missing", "ambiguous", "conflict", "hash_mismatch"}


@pytest.fixture
def cli(lib_dirs, monkeypatch, capsys):
    root, state = lib_dirs
    monkeypatch.setenv("PUMAS_OFFLINE", "1")

    def run(*args, json_out=True):
        code = main(["--library", str(root), "--state", str(state)] + (["--json"] if json_out else []) + list(args))
        out, err = capsys.readouterr()
        return code, (json.loads(out) if json_out and out.strip() else out), err

    return run


def test_resolve_json_contract_dry_run_then_link(cli, tmp_path, comfy_tree):
    code, imp, _ = cli("import", str(staged(tmp_path, SILERO, "ae.safetensors")),
                       str(staged(tmp_path, MINILM, "clip_l.safetensors")), "--no-lookup")
    assert code == 0 and len(imp["imported"]) == 2
    wf = template("flux_dev_checkpoint_example.json")
    code, dry, _ = cli("resolve", str(wf), "--comfyui", str(comfy_tree), "--dry-run")
    assert code == 0 and set(dry) >= {"references", "created", "downloaded"} and dry["created"] == 2
    assert all(set(r) >= CONTRACT_KEYS and r["status"] in STATUSES for r in dry["references"])
    assert not os.path.lexists(comfy_tree / "models" / "vae" / "ae.safetensors")
    code, r, _ = cli("resolve", str(wf), "--comfyui", str(comfy_tree))
    assert code == 0 and r["created"] == 2
    assert sorted((x["status"], x["matched_by"]) for x in r["references"]) == [
        ("linked", "name"), ("linked", "name"), ("missing", None), ("missing", None)]
    code, text, _ = cli("resolve", str(wf), "--app", r["app_id"], json_out=False)
    assert code == 0 and "created 0 links" in text and "present" in text and "huggingface.co" in text


def test_annotate_cli_and_confirm(cli, tmp_path, comfy_tree):
    cli("import", str(staged(tmp_path, SILERO, "ae.safetensors")), "--no-lookup")
    cli("apps", "add", str(comfy_tree))
    src = template("flux_schnell_full_text_to_image.json")
    before = sha256_file(src)
    out = tmp_path / "annotated.json"
    code, r, _ = cli("workflow", "annotate", str(src), str(out))
    assert code == 0 and r["annotated"] == 1 and r["out"] == str(out) and sha256_file(src) == before
    doc = json.loads(out.read_text())
    vae = next(n for n in doc["nodes"] if n["type"] == "VAELoader")
    assert vae["properties"]["models"][0]["hash_type"] == "SHA256"
    assert vae["properties"]["models"][0]["hash"] == sha256_file(staged(tmp_path, SILERO, "x.safetensors"))
    code, _, err = cli("resolve", str(src), "--confirm", "no-equals-sign")
    assert code == 1 and "KEY=MODEL_ID" in err


def test_bad_input_one_line_errors(cli, tmp_path, comfy_tree):
    bad = tmp_path / "bad.json"
    bad.write_text("{broken")
    code, _, err = cli("resolve", str(bad), "--comfyui", str(comfy_tree))
    assert code == 1 and "not valid JSON" in err and err.count("\n") == 1
    code, _, err = cli("resolve", str(template("image_sdxl_simple.json")))
    assert code == 1 and "no ComfyUI install registered" in err
    code, _, err = cli("workflow", "annotate", str(tmp_path / "none.json"), str(tmp_path / "o.json"))
    assert code == 1 and "cannot read" in err and not (tmp_path / "o.json").exists()

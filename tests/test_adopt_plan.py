"""Adoption dry run: every file listed with its action and library path, duplicate groups, reclaimable
bytes, an estimate — and nothing changed (tree state before == after)."""

from __future__ import annotations

import json

import pytest
from adopt_fixtures import build, tree_state

from pumas_core.adopt.scan import install_folders, read_extra_model_paths
from pumas_core.cli.main import main
from pumas_core.errors import BadInputError
from pumas_core.facade import Library


@pytest.fixture
def setup(tmp_path, real):
    t = build(tmp_path, real)
    lib = Library.open(tmp_path / "library", tmp_path / "state")
    lib.import_paths([str(t["existing"])], mode="copy", sync=False, lookup=False)
    yield t, lib, tmp_path
    lib.close()


def test_dry_run_lists_every_file_and_changes_nothing(setup):
    t, lib, tmp = setup
    before = tree_state(*t["roots"], tmp / "library")
    doc = lib.adopt_plan([str(c) for c in t["installs"]])
    assert tree_state(*t["roots"], tmp / "library") == before
    assert not (tmp / "state" / "adopt").exists() or not list((tmp / "state" / "adopt").iterdir())
    by_path = {f["path"]: f for f in doc["files"]}
    for path in t["models"]:
        assert path in by_path, path
        f = by_path[path]
        assert set(f) >= {"path", "folder_key", "size", "action", "library_path"}
    assert by_path[str(t["pickle"])]["action"] == "refuse"
    assert str(t["readme"]) not in by_path
    c1, c2 = t["installs"]
    dup = {str(c1 / "models/checkpoints/SD1.5/sd15.safetensors"), str(c2 / "models/checkpoints/sd15.safetensors")}
    assert any(set(g) == dup for g in doc["duplicates"])
    assert by_path[str(c2 / "models/controlnet/seq.onnx")]["action"] == "link_existing"
    assert by_path[str(c1 / "models/checkpoints/SD1.5/sd15.safetensors")]["folder_key"] == "checkpoints"
    assert by_path[str(tmp / "webui/models/Lora/a1.onnx")]["folder_key"] == "loras"
    assert by_path[str(tmp / "shared/loras/x.onnx")]["folder_key"] == "loras"
    actions = [by_path[p]["action"] for p in t["models"]]
    assert actions.count("link_duplicate") == 2 and actions.count("link_existing") == 1
    expected = sum(by_path[p]["size"] for p in t["models"] if by_path[p]["action"].startswith("link_"))
    assert doc["reclaimable_bytes"] == expected > 0
    assert doc["estimated_seconds"] >= 0 and doc["throughput_bytes_per_second"] > 0
    kept = [by_path[p]["library_path"] for p in t["models"] if by_path[p]["action"] == "move"]
    assert len(kept) == len(set(kept)) == 6 and all(k.startswith(str(tmp / "library")) for k in kept)


def test_cli_dry_run_json_contract(setup, capsys):
    t, lib, tmp = setup
    rc = main(["--library", str(tmp / "library"), "--state", str(tmp / "state"), "--json", "adopt",
               *[str(c) for c in t["installs"]], "--dry-run"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert set(doc) >= {"files", "duplicates", "reclaimable_bytes", "estimated_seconds"}
    assert all(set(f) >= {"path", "folder_key", "size", "action", "library_path"} for f in doc["files"])
    assert "groups" not in doc


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    rc = main(["--library", str(tmp_path / "l"), "--state", str(tmp_path / "s"), "adopt", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "not an existing folder" in err
    rc = main(["--library", str(tmp_path / "l"), "--state", str(tmp_path / "s"), "adopt", "--undo"])
    assert rc == 1 and "no adoption journal" in capsys.readouterr().err


def test_extra_model_paths_yaml(tmp_path):
    (tmp_path / "d").mkdir()
    y = tmp_path / "extra_model_paths.yaml"
    y.write_text("comfy:\n  base_path: d\n  is_default: true\n  unet: |\n    u1\n    u2\n  custom_nodes: cn\n"
                 "other:\n  clip: /abs/clip\n")
    fp = read_extra_model_paths(y)
    assert fp == {"diffusion_models": [str(tmp_path / "d/u1"), str(tmp_path / "d/u2")], "text_encoders": ["/abs/clip"]}
    y.write_text("a: [unclosed\n")
    with pytest.raises(BadInputError, match="not valid YAML"):
        read_extra_model_paths(y)


def test_a1111_folder_maps_to_comfy_keys(tmp_path):
    for d in ("models/Stable-diffusion", "models/Lora", "models/VAE", "embeddings"):
        (tmp_path / "webui" / d).mkdir(parents=True)
    inst = install_folders(tmp_path / "webui")
    assert inst["kind"] == "a1111"
    assert set(inst["folder_paths"]) == {"checkpoints", "loras", "vae", "embeddings"}

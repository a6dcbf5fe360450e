"""Mapping configs per ComfyUI version, rule filters and per-model overrides, on real symlinks."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from test_links_helpers import make_model, setup

from pumas_core.errors import BadInputError
from pumas_core.links import sync_app
from pumas_core.links.mapping import load_mapping, resolve_placement
from pumas_core.links.mapping_configs import default_config_name, mappings_dir
from pumas_core.links.overrides import read_overrides, write_overrides


def write_cfg(state, name, data):
    d = mappings_dir(state)
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(json.dumps(data))


def with_facts(m, **kw):
    return dataclasses.replace(m, **kw)


def test_registration_writes_the_default_config_with_discovered_keys(tmp_path, comfy_tree):
    reg, app, _lib = setup(tmp_path, comfy_tree)
    cfg = json.loads((mappings_dir(reg.state_dir) / default_config_name()).read_text())
    assert {"folder": "loras", "model_type": ["lora"], "priority": 0} in cfg["rules"]
    assert "diffusers" in cfg["discovered_keys"] and cfg["conflict"] == "ask"
    assert load_mapping(reg.state_dir, app).sources == (default_config_name(),)


def test_tag_filter_and_subfolder_put_the_right_loras_in_a_subfolder(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    write_cfg(reg.state_dir, "comfyui_*_custom.json", {"rules": [
        {"folder": "loras", "subfolder": "styles", "model_type": ["lora"], "tags_any": ["style"],
         "tags_none": ["nsfw"], "patterns": ["*.safetensors"], "priority": 10}]})
    style = with_facts(make_model(lib, "ink", model_type="lora"), tags=("Style",))
    banned = with_facts(make_model(lib, "ink2", model_type="lora"), tags=("style", "nsfw"))
    plain = make_model(lib, "plain", model_type="lora")
    rep = sync_app(reg, app, [style, banned, plain], library_root=lib)
    loras = comfy_tree / "models" / "loras"
    assert rep.created == 3 and not rep.errors
    assert (loras / "styles" / "ink.safetensors").is_symlink()
    assert (loras / "ink2.safetensors").is_symlink() and (loras / "plain.safetensors").is_symlink()
    assert (loras / "styles" / "ink.safetensors").read_bytes() == (style.model_dir / style.files[0]).read_bytes()


def test_precedence_exact_custom_over_exact_default_over_wildcard_custom(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)  # ComfyUI 0.3.64
    m = make_model(lib, "v", model_type="vae")
    write_cfg(reg.state_dir, "comfyui_*_custom.json", {"rules": [{"folder": "vae", "subfolder": "wild",
                                                                  "model_type": ["vae"]}]})
    assert resolve_placement(m, app, load_mapping(reg.state_dir, app))[0].subfolder == "wild"
    write_cfg(reg.state_dir, "comfyui_0.3.64.0_default.json",
              {"rules": [{"folder": "vae", "subfolder": "exactdef", "model_type": ["vae"]}]})
    assert resolve_placement(m, app, load_mapping(reg.state_dir, app))[0].subfolder == "exactdef"  # 0.3.64 == 0.3.64.0
    write_cfg(reg.state_dir, "comfyui_0.3.64_mine.json", {"rules": [{"folder": "vae", "subfolder": "exact",
                                                                     "model_type": ["vae"], "priority": -5}]})
    assert resolve_placement(m, app, load_mapping(reg.state_dir, app))[0].subfolder == "exact"
    other = dict(app, version="0.3.59")
    assert resolve_placement(m, other, load_mapping(reg.state_dir, other))[0].subfolder == "wild"


def test_rule_to_a_key_the_install_lacks_falls_through(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    write_cfg(reg.state_dir, "comfyui_*_custom.json", {"rules": [{"folder": "LLM", "model_type": ["checkpoint"]}]})
    m = make_model(lib, "c")
    place, _ = resolve_placement(m, app, load_mapping(reg.state_dir, app))
    assert place.folder_key == "checkpoints"


@pytest.mark.parametrize("data, needle", [
    ({"rules": [{"model_type": ["lora"]}]}, "rule 1: 'folder' is required"),
    ({"rules": [{"folder": "loras"}, {"folder": "loras", "tags_any": "style"}]}, "rule 2: 'tags_any' must be a list"),
    ({"rules": [{"folder": "loras", "subfolder": "../escape"}]}, "rule 1: subfolder"),
    ({"rules": [{"folder": "loras", "colour": "red"}]}, "rule 1: unknown keys ['colour']"),
    ({"rules": [], "conflict": "overwrite"}, "'conflict' must be one of"),
])
def test_invalid_config_names_file_rule_and_problem(tmp_path, comfy_tree, data, needle):
    reg, app, _lib = setup(tmp_path, comfy_tree)
    write_cfg(reg.state_dir, "comfyui_*_custom.json", data)
    with pytest.raises(BadInputError) as err:
        load_mapping(reg.state_dir, app)
    assert "comfyui_*_custom.json" in str(err.value) and needle in str(err.value)


def test_bad_version_in_file_name_is_an_error(tmp_path, comfy_tree):
    reg, app, _lib = setup(tmp_path, comfy_tree)
    write_cfg(reg.state_dir, "comfyui_latest_custom.json", {"rules": []})
    with pytest.raises(BadInputError, match="not a PEP 440 version"):
        load_mapping(reg.state_dir, app)


def test_overrides_version_specifier_keeps_model_out_of_newer_comfyui(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)  # 0.3.64
    m = make_model(lib, "old", model_type="lora")
    write_overrides(m.model_dir, {"versions": {"comfyui": "<0.3.60"}, "link_name": "Old Style.safetensors"})
    ov, err = read_overrides(m.model_dir)
    assert err is None
    m = with_facts(m, overrides=ov)
    rep = sync_app(reg, app, [m], library_root=lib)
    assert rep.created == 0 and "0.3.64 is not <0.3.60" in rep.unmapped[0]["reason"]
    old_tree = comfy_tree.parent / "Old"
    old_tree.mkdir()
    for key in ("loras", "checkpoints"):
        (old_tree / "models" / key).mkdir(parents=True)
    (old_tree / "comfyui_version.py").write_text('__version__ = "0.3.59"\n')
    from pumas_core.links.apps import register_app
    old_app = register_app(reg, old_tree)
    rep = sync_app(reg, old_app, [m], library_root=lib)
    assert rep.created == 1 and (old_tree / "models" / "loras" / "Old Style.safetensors").is_symlink()


def test_invalid_overrides_are_reported_and_links_kept(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "keep", model_type="lora")
    assert sync_app(reg, app, [m], library_root=lib).created == 1
    (m.model_dir / "overrides.json").write_text(json.dumps({"versions": {"comfyui": "newer than 0.3"}}))
    ov, err = read_overrides(m.model_dir)
    assert ov is None and "not a valid PEP 440 specifier" in err
    rep = sync_app(reg, app, [with_facts(m, overrides_error=err)], library_root=lib, force=True)
    assert rep.errors and "PEP 440" in rep.errors[0]["error"] and rep.removed_stale == 0
    assert (comfy_tree / "models" / "loras" / "keep.safetensors").is_symlink()
    with pytest.raises(BadInputError, match="unknown keys"):
        write_overrides(m.model_dir, {"version": "1"})


def test_stale_links_are_removed_when_a_rule_stops_matching(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "gone", model_type="embedding")
    assert sync_app(reg, app, [m], library_root=lib).created == 1
    write_cfg(reg.state_dir, "comfyui_*_custom.json", {"rules": [{"folder": None, "model_type": ["embedding"]}]})
    preview = sync_app(reg, app, [m], library_root=lib, dry_run=True)
    assert preview.removed_stale == 1 and preview.planned[0]["action"] == "remove_stale"
    assert (comfy_tree / "models" / "embeddings" / "gone.safetensors").is_symlink()  # preview changed nothing
    rep = sync_app(reg, app, [m], library_root=lib)
    assert rep.removed_stale == 1 and not os.path.lexists(comfy_tree / "models" / "embeddings" / "gone.safetensors")


def test_shadowed_link_is_reported_in_sync_and_health(tmp_path, comfy_tree, monkeypatch):
    """An extra_model_paths.yaml root listed first that holds the same name hides our link from ComfyUI."""
    from pumas_core.facade import Library

    monkeypatch.setenv("PUMAS_OFFLINE", "1")
    extra = tmp_path / "shared" / "loras"
    extra.mkdir(parents=True)
    lib = Library.open(tmp_path / "lib", tmp_path / "st")
    try:
        fp = {"loras": [str(extra), str(comfy_tree / "models" / "loras")],
              "checkpoints": [str(comfy_tree / "models" / "checkpoints")]}
        lib.add_app(comfy_tree, folder_paths=fp)
        from model_shapes import KOHYA_LORA
        from st_writer import write_safetensors
        src = write_safetensors(tmp_path / "ink.safetensors", KOHYA_LORA,
                                metadata={"ss_network_module": "networks.lora"})
        assert lib.import_paths([src])["imported"]
        (extra / "ink.safetensors").write_bytes(b"someone else's ink")
        r = lib.sync(force=True)
        assert [s["name"] for s in r["apps"][0]["shadowed"]] == ["ink.safetensors"]
        assert any("ComfyUI loads" in w for w in r["warnings"])
        h = lib.health()
        assert h["shadowed_links"][0]["shadowed_by"] == str(extra / "ink.safetensors") and h["status"] != "healthy"
    finally:
        lib.close()

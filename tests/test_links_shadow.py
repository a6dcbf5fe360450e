"""What ComfyUI really resolves: shadowed names (earlier folders of a key) and no dangling directory links."""

from __future__ import annotations

import os

from test_links_helpers import make_model, setup

from pumas_core.links import sync_app
from pumas_core.links.shadow import shadowed_links


def _row(link, key="checkpoints", kind="file"):
    return {"link_path": str(link), "folder_key": key, "model_id": "m1", "kind": kind}


def test_shadow_follows_comfyuis_get_full_path_rules(tmp_path):
    first, ours = tmp_path / "extra" / "checkpoints", tmp_path / "models" / "checkpoints"
    for d in (first, ours, first / "sub", ours / "sub"):
        d.mkdir(parents=True, exist_ok=True)
    app = {"folder_paths": {"checkpoints": [str(first), str(ours)], "diffusers": [str(first), str(ours)]}}
    (first / "real.safetensors").write_bytes(b"user file")
    (first / "sub" / "deep.safetensors").write_bytes(b"user file")
    (first / "dangling.safetensors").symlink_to(tmp_path / "nowhere")  # get_full_path skips it
    (first / "a_dir.safetensors").mkdir()                               # not a file: not returned
    (first / "diff").mkdir()                                           # DiffusersLoader takes the first folder
    rows = [_row(ours / n) for n in ("real.safetensors", "sub/deep.safetensors", "dangling.safetensors",
                                     "a_dir.safetensors", "alone.safetensors")]
    rows += [_row(ours / "diff", "diffusers", "dir"), _row(first / "x.safetensors")]  # the last: in the first folder
    out = shadowed_links(app, rows)
    assert [(s["folder_key"], s["name"]) for s in out] == [
        ("checkpoints", "real.safetensors"), ("checkpoints", "sub/deep.safetensors"), ("diffusers", "diff")]
    assert out[0]["shadowed_by"] == str(first / "real.safetensors")
    assert out[0]["fixable_by"] is None and str(first) in out[0]["action"] and "link_name" in out[0]["action"]
    app["folder_paths"]["checkpoints"].reverse()  # an appended extra root comes after ours: nothing is hidden
    assert [s["folder_key"] for s in shadowed_links(app, rows[:5])] == []


def _diffusers_model(lib):
    return make_model(lib, "tinydiff", fmt="diffusion-folder",
                      files=("model_index.json", "unet/diffusion_pytorch_model.safetensors"), link_name="tinydiff")


def test_sync_never_leaves_a_dangling_directory_link(tmp_path, comfy_tree):
    """A diffusers folder removed from the library by hand: the next sync removes its directory link (ComfyUI's
    ``/models/diffusers`` answers 500 while it dangles), keeps the registry row for health/repair, and creates
    no dangling link afterwards."""
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = _diffusers_model(lib)
    assert sync_app(reg, app, [m], library_root=lib, generation=1).created == 1
    link = comfy_tree / "models" / "diffusers" / "tinydiff"
    assert link.is_symlink() and link.is_dir()
    (lib / "checkpoint" / "tinydiff").rename(tmp_path / "moved_away")
    preview = sync_app(reg, app, [m], library_root=lib, generation=1, dry_run=True)
    assert [p["action"] for p in preview.planned] == ["remove_broken"] and link.is_symlink()
    rep = sync_app(reg, app, [m], library_root=lib, generation=1)  # same generation: the fast path must not hide it
    assert not rep.fast_path and rep.removed_broken == 1 and not os.path.lexists(link)
    assert [r["link_path"] for r in reg.links_for_app(app["app_id"])] == [str(link)]
    again = sync_app(reg, app, [m], library_root=lib, generation=1, force=True)
    assert not os.path.lexists(link) and again.created == 0 and any("is missing" in w for w in again.warnings)
    (tmp_path / "moved_away").rename(lib / "checkpoint" / "tinydiff")  # back: linked again
    assert sync_app(reg, app, [m], library_root=lib, generation=1).created == 1 and link.is_dir()


def test_dangling_file_links_are_left_for_repair(tmp_path, comfy_tree):
    """File links are not directory links: a dangling one is only listed by ComfyUI, health/repair handle it."""
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "ckpt")
    sync_app(reg, app, [m], library_root=lib)
    (lib / "checkpoint" / "ckpt" / "ckpt.safetensors").unlink()
    rep = sync_app(reg, app, [m], library_root=lib, force=True)
    assert rep.removed_broken == 0 and (comfy_tree / "models" / "checkpoints" / "ckpt.safetensors").is_symlink()


def test_cli_registration_keeps_comfyuis_search_order(tmp_path, comfy_tree):
    """``pumas apps add`` / ``sync --comfyui`` (no live ComfyUI) keep the folders and order the extension
    stored, so the shadow check still sees an ``extra_model_paths.yaml`` root listed first."""
    from pumas_core.links.apps import register_app
    from pumas_core.links.registry import Registry

    reg = Registry(tmp_path / "state" / "registry.db")
    extra = tmp_path / "extra" / "checkpoints"
    extra.mkdir(parents=True)
    ours = str(comfy_tree / "models" / "checkpoints")
    register_app(reg, comfy_tree, {"checkpoints": [str(extra), ours]})
    (comfy_tree / "models" / "ipadapter").mkdir()
    app = register_app(reg, comfy_tree)  # what the CLI does
    assert app["folder_paths"]["checkpoints"] == [str(extra), ours]
    assert app["folder_paths"]["ipadapter"] == [str(comfy_tree / "models" / "ipadapter")]
    (extra / "x.safetensors").write_bytes(b"user")
    assert shadowed_links(app, [_row(comfy_tree / "models" / "checkpoints" / "x.safetensors")])


def test_routes_in_comfyui_store_the_live_search_order(tmp_path, comfy_tree, monkeypatch):
    """Inside ComfyUI the routes' first library open records ``folder_paths`` as ComfyUI has it then (packs
    imported after ours may add folders), so health's shadow check follows the live order."""
    import sys
    import types

    from comfyui_pumas_node.adapter import store_live_folder_paths
    from comfyui_pumas_node.context import PumasContext
    from pumas_core.facade import Library

    ours = str(comfy_tree / "models" / "checkpoints")
    extra = tmp_path / "extra"
    extra.mkdir()
    live = types.SimpleNamespace(base_path=str(comfy_tree),
                                 folder_names_and_paths={"checkpoints": ([ours], {".safetensors"})})
    monkeypatch.setitem(sys.modules, "folder_paths", live)
    with Library.open(tmp_path / "lib", tmp_path / "st") as lib:
        lib.add_app(comfy_tree, {"checkpoints": [ours]})
        assert store_live_folder_paths(lib) is False  # unchanged: nothing written
    live.folder_names_and_paths["checkpoints"][0].insert(0, str(extra))  # a pack added a folder, first
    ctx = PumasContext(tmp_path / "lib", tmp_path / "st", on_open=store_live_folder_paths)
    try:
        lib = ctx.library()
        assert lib.list_apps()[0]["folder_paths"]["checkpoints"] == [str(extra), ours]
    finally:
        ctx.close()


def test_version_comes_from_comfyuis_code_folder_with_base_directory(tmp_path, monkeypatch):
    """ComfyUI started with ``--base-directory``: the install root (base) has no ``comfyui_version.py``; the
    version is read from the code folder (where ``folder_paths`` lives) and kept by a later CLI ``apps add``."""
    import sys
    import types

    from comfyui_pumas_node import adapter
    from comfyui_pumas_node.boot import boot_sync
    from pumas_core.facade import Library

    code, base = tmp_path / "ComfyUI", tmp_path / "base"
    code.mkdir()
    (code / "main.py").write_text("")
    (code / "comfyui_version.py").write_text('__version__ = "0.3.64"\n')
    (base / "models" / "checkpoints").mkdir(parents=True)
    fp = {"checkpoints": ([str(base / "models" / "checkpoints")], {".safetensors"})}
    monkeypatch.setitem(sys.modules, "folder_paths", types.SimpleNamespace(
        __file__=str(code / "folder_paths.py"), base_path=str(base), folder_names_and_paths=fp))
    assert adapter.comfyui_version() == "0.3.64" and adapter.comfyui_root() == str(base)
    with Library.open(tmp_path / "lib", tmp_path / "st") as lib:
        s = boot_sync(adapter.folder_paths_snapshot(), adapter.comfyui_root(), lib=lib, quiet=True,
                      version=adapter.comfyui_version())
        assert s["ok"], s
        assert lib.list_apps()[0]["version"] == "0.3.64"
        assert lib.add_app(base)["version"] == "0.3.64"  # the CLI: no version in base, the known one stays

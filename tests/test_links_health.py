"""Health check, repair, clean, relocation and cascade unlink on real trees."""

from __future__ import annotations

import os
import shutil

import pytest
from test_links_helpers import make_model, setup

from pumas_core.errors import BadInputError
from pumas_core.links import LinkableModel, sync_app
from pumas_core.links.apps import register_app
from pumas_core.links.health import check, clean, relocate, repair
from pumas_core.links.unlink import unlink_app, unlink_model


def test_healthy_tree(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "a")
    sync_app(reg, app, [m], library_root=lib)
    h = check(reg, lib, {m.model_id: m})
    assert h["status"] == "healthy" and h["links_checked"] == 1
    assert h["broken_links"] == h["orphaned_links"] == h["ghost_apps"] == h["offline_volumes"] == []


def test_broken_link_found_and_repaired_after_library_move(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "a")
    sync_app(reg, app, [m], library_root=lib)
    new_dir = lib / "checkpoint" / "moved-a"
    m.model_dir.rename(new_dir)
    h = check(reg, lib, {m.model_id: m})
    assert h["status"] == "errors" and h["broken_links"][0]["reason"] == "target_missing"
    moved = LinkableModel(m.model_id, m.model_type, m.kind, new_dir, m.files, m.link_name)
    out = repair(reg, lib, {m.model_id: moved})
    assert out["repaired"] == 1 and out["unrepairable"] == []
    link = comfy_tree / "models" / "checkpoints" / "a.safetensors"
    assert link.resolve() == (new_dir / "a.safetensors").resolve()
    assert check(reg, lib, {m.model_id: moved})["status"] == "healthy"


def test_orphan_detection_and_clean(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    a, b = make_model(lib, "a"), make_model(lib, "b")
    sync_app(reg, app, [a], library_root=lib)
    loras = comfy_tree / "models" / "loras"
    os.symlink(b.model_dir / "b.safetensors", loras / "hand-made.safetensors")        # works, not ours
    os.symlink(lib / "gone" / "x.safetensors", loras / "stale.safetensors")            # dangling into library
    os.symlink(tmp_path / "outside.bin", loras / "foreign.safetensors")                # not into the library
    (loras / "real.safetensors").write_bytes(b"real")
    h = check(reg, lib)
    assert h["status"] == "warnings"
    assert {o["link_path"]: o["dangling"] for o in h["orphaned_links"]} == {
        str(loras / "hand-made.safetensors"): False, str(loras / "stale.safetensors"): True}
    out = clean(reg, lib)
    assert out["removed_orphans"] == 1 and len(out["kept_orphans"]) == 1
    assert os.path.islink(loras / "hand-made.safetensors") and os.path.islink(loras / "foreign.safetensors")
    assert not os.path.lexists(loras / "stale.safetensors") and (loras / "real.safetensors").read_bytes() == b"real"


def test_clean_removes_own_broken_links_never_real_files(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    a, b = make_model(lib, "a"), make_model(lib, "b")
    sync_app(reg, app, [a, b], library_root=lib)
    shutil.rmtree(a.model_dir)
    la = comfy_tree / "models" / "checkpoints" / "a.safetensors"
    lb = comfy_tree / "models" / "checkpoints" / "b.safetensors"
    os.unlink(lb)
    lb.write_bytes(b"user replaced the link")
    h = check(reg, lib)
    assert {x["reason"] for x in h["broken_links"]} == {"target_missing", "not_a_link"}
    out = clean(reg, lib)
    assert out["removed_links"] == 1 and out["forgotten_rows"] == 1
    assert not os.path.lexists(la) and lb.read_bytes() == b"user replaced the link"
    assert reg.all_links() == [] and check(reg, lib)["status"] == "healthy"


def test_ghost_app_fires_after_rmtree_and_clean_drops_only_its_rows(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    # a second install whose path contains the first one's folder name
    other = tmp_path / "keep" / "ComfyUI"
    (other / "models" / "checkpoints").mkdir(parents=True)
    app2 = register_app(reg, other)
    m = make_model(lib, "a")
    sync_app(reg, app, [m], library_root=lib)
    sync_app(reg, app2, [m], library_root=lib)
    shutil.rmtree(comfy_tree)
    h = check(reg, lib)
    [ghost] = h["ghost_apps"]  # each health item also says what fixes it (issue 7)
    assert {k: ghost[k] for k in ("app_id", "root", "link_count", "action", "fixable_by")} == {
        "app_id": app["app_id"], "root": str(comfy_tree), "link_count": 1, "action": "remove", "fixable_by": "clean"}
    assert h["status"] == "warnings" and h["offline_volumes"] == []
    out = clean(reg, lib)
    assert out["removed_apps"] == [app["app_id"]]
    assert [a["app_id"] for a in reg.list_apps()] == [app2["app_id"]]
    assert len(reg.links_for_app(app2["app_id"])) == 1


def test_offline_volume_is_not_a_ghost(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    vol = tmp_path / "media" / "usb"                       # recorded as the app's mount point
    root = vol / "ComfyUI"
    (root / "models" / "checkpoints").mkdir(parents=True)
    app2 = register_app(reg, root)
    reg.add_app(app2["root"], app2["models_dir"], None, app2["folder_paths"], mount=str(vol))
    shutil.rmtree(vol)                                     # "unplugged": the mount point itself is gone
    h = check(reg, lib)
    assert h["ghost_apps"] == []
    assert h["offline_volumes"] == [{"path": str(root), "kind": "app", "mount": str(vol), "app_id": app2["app_id"]}]
    assert h["status"] == "errors"


def test_offline_library_blocks_clean(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "a")
    sync_app(reg, app, [m], library_root=lib)
    reg.set_setting("library_mount:" + str(lib), str(lib))  # pretend the library is its own drive
    shutil.move(lib, tmp_path / "elsewhere")
    h = check(reg, lib)
    assert h["offline_volumes"][0]["kind"] == "library" and h["broken_links"] == []
    from pumas_core.errors import LibraryUnavailableError
    with pytest.raises(LibraryUnavailableError):
        clean(reg, lib)
    assert os.path.islink(comfy_tree / "models" / "checkpoints" / "a.safetensors")


def test_relocate_library_drive(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "a")
    d = make_model(lib, "sd", fmt="diffusion-folder", files=("model_index.json", "unet/x.safetensors"), link_name="sd")
    sync_app(reg, app, [m, d], library_root=lib)
    new = tmp_path / "drive2" / "library"
    new.parent.mkdir()
    lib.rename(new)
    assert check(reg, lib)["status"] == "errors"
    out = relocate(reg, lib, new)
    assert out["links_updated"] == 2 and out["links_rebuilt"] == 2 and out["errors"] == []
    link = comfy_tree / "models" / "checkpoints" / "a.safetensors"
    assert link.read_bytes() == (new / "checkpoint" / "a" / "a.safetensors").read_bytes()
    assert not os.path.isabs(os.readlink(link))
    assert (comfy_tree / "models" / "diffusers" / "sd" / "unet" / "x.safetensors").exists()
    assert reg.get_link(str(link))["target_path"].startswith(str(new))
    assert check(reg, new)["status"] == "healthy"


def test_relocate_app_and_prefix_is_component_exact(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    sibling = tmp_path / "ComfyUI-old" / "ComfyUI"
    (sibling / "models" / "checkpoints").mkdir(parents=True)
    app2 = register_app(reg, sibling)
    m = make_model(lib, "a")
    sync_app(reg, app, [m], library_root=lib)
    new = tmp_path / "apps" / "ComfyUI"
    new.parent.mkdir()
    comfy_tree.rename(new)
    out = relocate(reg, comfy_tree, new)
    assert out["apps_updated"] == 1 and out["links_updated"] == 1 and out["links_rebuilt"] == 1
    assert reg.get_app(app["app_id"])["root"] == str(new)
    assert reg.get_app(app2["app_id"])["root"] == str(sibling)  # /ComfyUI-old is not under /ComfyUI
    moved = new / "models" / "checkpoints" / "a.safetensors"
    assert moved.read_bytes() == (m.model_dir / "a.safetensors").read_bytes()
    with pytest.raises(BadInputError, match="does not exist"):
        relocate(reg, new, tmp_path / "nope")
    with pytest.raises(BadInputError, match="absolute"):
        relocate(reg, "rel", new)


def test_unlink_model_and_app(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    a, b = make_model(lib, "a"), make_model(lib, "b", model_type="vae")
    sync_app(reg, app, [a, b], library_root=lib)
    out = unlink_model(reg, a.model_id)
    assert out == {"links_removed": 1, "errors": []} and reg.links_for_model(a.model_id) == []
    assert (a.model_dir / "a.safetensors").exists()
    assert unlink_app(reg, app["app_id"])["links_removed"] == 1 and reg.list_apps() == []
    assert not any(p.is_symlink() for p in (comfy_tree / "models").rglob("*"))

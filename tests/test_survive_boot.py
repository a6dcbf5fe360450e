"""Issue 7, items 1–3, through the real boot hook: ``prestartup_script.py`` executed from
``custom_nodes/`` in a subprocess as ComfyUI does.  Every situation keeps every link or re-points
it, and the one boot line says what happened."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from boot_harness import links, make_comfyui, populate, resolving, run_boot

from pumas_core.facade import Library

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def world(tmp_path, real):
    """A library with 6 models (5 linkable), a ComfyUI tree, one boot that linked them."""
    lib, state, comfy = tmp_path / "drive" / "library", tmp_path / "state", tmp_path / "home" / "ComfyUI"
    lib.parent.mkdir()
    make_comfyui(comfy)
    ids = populate(lib, state, tmp_path / "incoming", real)
    first = run_boot(comfy, lib, state)
    assert first.rc == 0 and first.line.startswith("[pumas] boot sync: "), first.stderr
    before = links(comfy)
    assert len(before) == 6 and resolving(comfy) == 6, before
    print(f"\nfirst boot: {first.line}")
    return type("World", (), dict(lib=lib, state=state, comfy=comfy, ids=ids, before=before, tmp=tmp_path))


def _apps(state, lib):
    with Library.open(lib, state, read_only=True) as opened:
        return opened.list_apps()


def test_library_folder_missing_is_offline_and_nothing_changes(world):
    moved = world.tmp / "elsewhere"
    world.lib.rename(moved)  # the drive is unplugged
    reg_before = (world.state / "registry.db").read_bytes()
    boot = run_boot(world.comfy, world.lib, world.state)
    print(f"unplugged: {boot.line}")
    assert boot.rc == 0 and "offline" in boot.line and str(world.lib) in boot.line, boot.stderr
    assert links(world.comfy) == world.before, "every link kept, as it was"
    assert not world.lib.exists(), "no library created on the root file system"
    assert (world.state / "registry.db").read_bytes() == reg_before, "registry untouched"
    moved.rename(world.lib)  # plugged in again
    back = run_boot(world.comfy, world.lib, world.state)
    print(f"plugged in again: {back.line}")
    assert back.line.startswith("[pumas] boot sync: 0 created, 6 ok, 0 conflicts"), back.line
    assert resolving(world.comfy) == 6


def test_library_parent_missing_is_offline(world):
    world.lib.parent.rename(world.tmp / "drive_gone")  # /media/usb itself is gone
    boot = run_boot(world.comfy, world.lib, world.state)
    assert "offline" in boot.line and str(world.lib) in boot.line and not world.lib.parent.exists()
    assert links(world.comfy) == world.before


def test_empty_mount_point_folder_is_offline(world):
    """The library root is a folder that is now empty (what an unmounted mount point looks like)."""
    aside = world.tmp / "aside"
    world.lib.rename(aside)
    world.lib.mkdir()
    boot = run_boot(world.comfy, world.lib, world.state)
    print(f"empty folder: {boot.line}")
    assert "offline" in boot.line and str(world.lib) in boot.line, boot.line
    assert os.listdir(world.lib) == [], "nothing written into the empty mount point"
    assert links(world.comfy) == world.before


@pytest.mark.skipif(not IS_ROOT, reason="needs root to mount a tmpfs over the library folder")
def test_unmounted_tmpfs_library_is_offline(tmp_path, real):
    lib, state, comfy = tmp_path / "mnt" / "library", tmp_path / "state", tmp_path / "ComfyUI"
    lib.mkdir(parents=True)
    make_comfyui(comfy)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(lib)]).returncode:
        pytest.skip("tmpfs mount not permitted here")
    try:
        populate(lib, state, tmp_path / "incoming", real)
        first = run_boot(comfy, lib, state)
        assert first.line.startswith("[pumas] boot sync: 6 created"), first.stderr
        before = links(comfy)
    finally:
        subprocess.run(["umount", str(lib)], check=True)
    boot = run_boot(comfy, lib, state)
    print(f"tmpfs unmounted: {boot.line}")
    assert "offline" in boot.line and str(lib) in boot.line, boot.line
    assert os.listdir(lib) == [] and links(comfy) == before


def test_models_db_deleted_is_rebuilt_before_the_sync(world):
    for suffix in ("", "-wal", "-shm"):
        p = world.lib / f"models.db{suffix}"
        if p.exists():
            p.unlink()
    boot = run_boot(world.comfy, world.lib, world.state)
    print(f"models.db deleted: {boot.line}")
    assert "index was missing: rebuilt from metadata.json (6 models)" in boot.line, boot.line
    assert "0 created, 6 ok" in boot.line, boot.line
    assert links(world.comfy) == world.before and resolving(world.comfy) == 6


def test_models_db_corrupt_is_rebuilt(world):
    (world.lib / "models.db").write_bytes(b"not a database" * 512)
    for suffix in ("-wal", "-shm"):
        if (world.lib / f"models.db{suffix}").exists():
            (world.lib / f"models.db{suffix}").unlink()
    boot = run_boot(world.comfy, world.lib, world.state)
    assert "index was corrupt" in boot.line and "0 created, 6 ok" in boot.line, boot.line
    assert links(world.comfy) == world.before


def test_library_moved_and_env_updated_relinks_at_boot(world):
    new = world.tmp / "drive2" / "library"
    new.parent.mkdir()
    world.lib.rename(new)
    boot = run_boot(world.comfy, new, world.state)
    print(f"library moved: {boot.line}")
    assert f"library moved from {world.lib}: 6 links re-pointed" in boot.line, boot.line
    assert resolving(world.comfy) == 6 and set(links(world.comfy)) == set(world.before)
    for link in (world.comfy / "models").rglob("*"):
        if link.is_symlink():
            assert str(link.resolve()).startswith(str(new.resolve())) and not os.path.isabs(os.readlink(link))
    again = run_boot(world.comfy, new, world.state)
    assert again.line.startswith("[pumas] boot sync: 0 created, 6 ok"), again.line


def test_library_moved_fast_path_is_keyed_on_the_library(world):
    """Moving the library while the state dir does not know its id yet (older state): the fast path
    must not answer "all ok" — a full sync re-points every link."""
    from pumas_core.links import Registry

    reg = Registry(world.state / "registry.db")
    for key in list(reg.all_settings()):
        if key.startswith("library:"):
            reg.set_setting(key, None)
    new = world.tmp / "drive2" / "library"
    new.parent.mkdir()
    world.lib.rename(new)
    boot = run_boot(world.comfy, new, world.state)
    print(f"library moved, id unknown: {boot.line}")
    assert "6 re-pointed" in boot.line, boot.line
    assert resolving(world.comfy) == 6


def test_comfyui_moved_one_level_deeper(world):
    deeper = world.tmp / "home" / "apps" / "ComfyUI"
    deeper.parent.mkdir()
    world.comfy.rename(deeper)
    assert resolving(deeper) == 0, "relative links broke with the move"
    boot = run_boot(deeper, world.lib, world.state)
    print(f"ComfyUI moved deeper: {boot.line}")
    assert f"ComfyUI moved from {world.comfy}: 6 links re-pointed" in boot.line, boot.line
    assert "0 conflicts" in boot.line
    assert resolving(deeper) == 6 and set(links(deeper)) == set(world.before)
    apps = _apps(world.state, world.lib)
    assert [a["root"] for a in apps] == [str(deeper)], "one install, relocated, not registered twice"
    again = run_boot(deeper, world.lib, world.state)
    assert again.line.startswith("[pumas] boot sync: 0 created, 6 ok, 0 conflicts"), again.line


def test_relocate_twice_merges_registrations(world, capsys):
    """The old behaviour registered the moved install as a second app; ``pumas relocate`` merges them
    and is idempotent (exit 0 when NEW is already registered)."""
    from pumas_core.cli.main import main

    deeper = world.tmp / "home" / "apps" / "ComfyUI"
    deeper.parent.mkdir()
    world.comfy.rename(deeper)
    base = ["--library", str(world.lib), "--state", str(world.state), "--json"]
    assert main(base + ["apps", "add", str(deeper)]) == 0  # what boot used to do: a second registration
    capsys.readouterr()
    assert len(_apps(world.state, world.lib)) == 2
    for attempt in range(2):
        code = main(base + ["relocate", str(world.comfy), str(deeper)])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert [a["root"] for a in _apps(world.state, world.lib)] == [str(deeper)]
        assert resolving(deeper) == 6, attempt
    assert '"apps_merged": 0' in out and '"links_updated": 0' in out, "the second run changes nothing"
    boot = run_boot(deeper, world.lib, world.state)
    assert boot.line.startswith("[pumas] boot sync: 0 created, 6 ok, 0 conflicts"), boot.line


def test_fast_path_notices_a_broken_probe_link(world):
    """A model folder moved by hand inside the library: the fast path no longer answers "all ok"."""
    from pumas_core.links import Registry
    from pumas_core.links.fastpath import needs_sync

    boot = run_boot(world.comfy, world.lib, world.state)
    assert "0 created, 6 ok" in boot.line
    reg = Registry(world.state / "registry.db")
    app = reg.list_apps()[0]
    gen, stamp = reg.get_stamp(app["app_id"])
    assert stamp["probes"] and stamp["library_id"]
    assert not needs_sync(reg, app, gen, library_root=str(world.lib))
    target = os.path.realpath(stamp["probes"][0])
    model_dir = os.path.dirname(target)
    shutil.move(model_dir, str(world.tmp / "away"))
    assert needs_sync(reg, app, gen, library_root=str(world.lib))


def test_relocate_a_moved_library_from_the_cli_then_boot(world, capsys, monkeypatch):
    """The drive got a new mount path; the configured location still names the old one."""
    import json

    from pumas_core.cli.main import main
    from pumas_core.config import load_config, save_config

    monkeypatch.delenv("PUMAS_LIBRARY", raising=False)
    save_config(world.state, {**load_config(world.state), "library": str(world.lib)})
    new_drive = world.tmp / "drive-renamed"
    world.lib.parent.rename(new_drive)
    code = main(["--state", str(world.state), "--json", "relocate", str(world.lib.parent), str(new_drive)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["errors"] == []
    assert load_config(world.state)["library"] == str(new_drive / "library")
    assert resolving(world.comfy) == 6
    boot = run_boot(world.comfy, new_drive / "library", world.state)
    assert boot.line.startswith("[pumas] boot sync: 0 created, 6 ok, 0 conflicts"), boot.line

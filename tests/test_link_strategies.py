"""Link strategies on real second file systems (tmpfs mounts; root only, as in CI).

- library on another file system than the install: absolute symlinks and a warning;
- a mount that does not follow symlinks (``nosymfollow``; like NTFS via ntfs-3g, exFAT, SMB that
  refuse them): hard links, within that one file system.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from fs_mounts import comfy
from test_links_helpers import make_model

from pumas_core.links import Registry, sync_app
from pumas_core.links.apps import register_app

pytestmark = pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                                reason="needs root to mount tmpfs file systems (CI runs as root)")


@pytest.fixture
def mount(mounts):
    """``mount(name, opts="")``: a tmpfs of 16 MiB under ``tmp_path`` (``opts`` added: ``nosymfollow``...)."""
    return lambda name, opts="": mounts("tmpfs", name, opts)


def test_library_on_another_file_system_gets_absolute_links_and_a_warning(tmp_path, mount):
    lib = mount("libfs")
    tree = comfy(tmp_path / "ComfyUI")
    reg = Registry(tmp_path / "state" / "registry.db")
    app = register_app(reg, tree)
    m = make_model(lib, "far")
    preview = sync_app(reg, app, [m], library_root=lib, dry_run=True)
    assert any("another file system" in w for w in preview.warnings)
    rep = sync_app(reg, app, [m], library_root=lib)
    link = tree / "models" / "checkpoints" / "far.safetensors"
    assert rep.created == 1 and any("absolute links" in w for w in rep.warnings)
    assert os.path.isabs(os.readlink(link)) and link.read_bytes() == (m.model_dir / m.files[0]).read_bytes()
    assert reg.get_link(str(link))["strategy"] == "absolute"
    assert sync_app(reg, app, [m], library_root=lib, force=True).already_correct == 1


def test_mount_that_refuses_symlinks_gets_hard_links(tmp_path, mount):
    fs = mount("nosym", "nosymfollow")
    lib = fs / "library"
    lib.mkdir()
    tree = comfy(fs / "ComfyUI")
    reg = Registry(tmp_path / "state" / "registry.db")
    app = register_app(reg, tree)
    m = make_model(lib, "near")
    rep = sync_app(reg, app, [m], library_root=lib)
    link = tree / "models" / "checkpoints" / "near.safetensors"
    assert rep.created == 1 and not rep.errors and not link.is_symlink()
    assert os.path.samefile(link, m.model_dir / m.files[0]) and reg.get_link(str(link))["strategy"] == "hardlink"
    assert not [p for p in (tree / "models" / "checkpoints").iterdir() if p.name.startswith(".pumas-canary")]


def test_refused_symlinks_and_another_file_system_is_a_clear_error(tmp_path, mount):
    fs = mount("nosym2", "nosymfollow")
    tree = comfy(fs / "ComfyUI")
    lib = tmp_path / "library"
    lib.mkdir()
    reg = Registry(tmp_path / "state" / "registry.db")
    app = register_app(reg, tree)
    m = make_model(lib, "x")
    rep = sync_app(reg, app, [m], library_root=lib)
    assert rep.created == 0 and "no copy was made" in rep.errors[0]["error"]
    assert "same file system" in rep.errors[0]["error"]
    assert list((tree / "models" / "checkpoints").iterdir()) == []


def test_read_only_install_is_reported_once_before_anything_is_written(tmp_path, mount):
    fs = mount("ro")
    tree = comfy(fs / "ComfyUI")
    reg = Registry(tmp_path / "state" / "registry.db")
    app = register_app(reg, tree)
    subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
    lib = tmp_path / "library"
    lib.mkdir()
    models = [make_model(lib, f"m{i}") for i in range(3)]
    rep = sync_app(reg, app, models, library_root=lib)
    assert rep.created == 0 and len(rep.errors) == 1 and "read-only" in rep.errors[0]["error"]


def test_sandbox_detection_explains_the_bind_mount(tmp_path):
    from pumas_core.links.preflight import sandbox, sandbox_warning

    assert sandbox({}, str(tmp_path)) is None
    (tmp_path / ".dockerenv").touch()
    assert sandbox({}, str(tmp_path)) == "docker"
    assert sandbox({"FLATPAK_ID": "org.x"}, str(tmp_path)) == "flatpak"
    w = sandbox_warning("docker", "/mnt/models")
    assert "-v /mnt/models:/mnt/models" in w

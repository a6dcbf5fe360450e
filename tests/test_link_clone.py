"""Copy-on-write clones and file systems that refuse links, on real loop-mounted file systems (root only).

- XFS with ``reflink=1`` and ``"link_strategy": "clone"`` in config.json: clones (a full file of its own,
  sharing blocks); health judges them by identity (size), never broken when the library file goes;
  repair re-clones; a model delete removes them; symlinks made before the preference become clones.
- XFS that refuses symlinks (``nosymfollow``) and hard links (refused here by a patched ``os.link``):
  the chain falls through to clones on its own.
- tmpfs (no ``FICLONE``) with the clone preference: relative symlinks and a warning saying why.
- vfat (kernel driver or FUSE ``fusefat``): symlinks, hard links and clones are all refused, so every
  link is a clear error and nothing is written (FAT has no hard links at all, so the issue's "hard links
  where symlinks fail" cannot hold on FAT; it holds on ``nosymfollow`` mounts, tests/test_link_strategies.py).
"""

from __future__ import annotations

import errno
import json
import os

import pytest
from fs_mounts import comfy
from test_links_helpers import make_model

from pumas_core.errors import BadInputError
from pumas_core.links import Registry, sync_app
from pumas_core.links.apps import register_app
from pumas_core.links.health import check
from pumas_core.links.repair import repair
from pumas_core.links.unlink import unlink_model


def _prefer_clone(reg: Registry) -> None:
    (reg.state_dir / "config.json").write_text(json.dumps({"link_strategy": "clone"}))


def _world(fs, tmp_path, name="m", size=1 << 20):
    lib = fs / "library"
    lib.mkdir()
    tree = comfy(fs / "ComfyUI")
    reg = Registry(tmp_path / "state" / "registry.db")
    app = register_app(reg, tree)
    m = make_model(lib, name, content=os.urandom(size))
    return reg, app, lib, tree, m


def test_clone_preferred_on_a_reflink_file_system(tmp_path, mounts):
    fs = mounts("xfs-reflink", "xfs")
    reg, app, lib, tree, m = _world(fs, tmp_path)
    _prefer_clone(reg)
    src = m.model_dir / m.files[0]
    rep = sync_app(reg, app, [m], library_root=lib)
    link = tree / "models" / "checkpoints" / m.files[0]
    assert rep.created == 1 and not rep.errors and not rep.warnings
    assert not link.is_symlink() and not os.path.samefile(link, src) and link.read_bytes() == src.read_bytes()
    assert reg.get_link(str(link))["strategy"] == "clone"
    assert sync_app(reg, app, [m], library_root=lib, force=True).already_correct == 1
    models = {m.model_id: m}
    assert check(reg, lib, models)["broken_links"] == []
    link.unlink()  # repair re-clones a missing clone
    assert [b["reason"] for b in check(reg, lib, models)["broken_links"]] == ["link_missing"]
    assert repair(reg, lib, models)["repaired"] == 1 and not link.is_symlink() and link.stat().st_size == 1 << 20
    # a clone is a complete file: with the library file gone it still is, and never counts as broken
    os.rename(src, fs / "aside")
    assert check(reg, lib, {})["broken_links"] == []
    assert link.stat().st_size == 1 << 20
    os.rename(fs / "aside", src)
    assert unlink_model(reg, m.model_id)["links_removed"] == 1 and not os.path.lexists(link)


def test_symlinks_made_earlier_become_clones_when_asked(tmp_path, mounts):
    fs = mounts("xfs-reflink", "xfs2")
    reg, app, lib, tree, m = _world(fs, tmp_path)
    link = tree / "models" / "checkpoints" / m.files[0]
    assert sync_app(reg, app, [m], library_root=lib, generation=1).created == 1 and link.is_symlink()
    assert sync_app(reg, app, [m], library_root=lib, generation=1).fast_path  # nothing changed
    _prefer_clone(reg)
    preview = sync_app(reg, app, [m], library_root=lib, dry_run=True)
    assert preview.repointed == 1 and link.is_symlink()
    rep = sync_app(reg, app, [m], library_root=lib, generation=1)  # a new preference is not a no-op
    assert not rep.fast_path and rep.repointed == 1
    assert not link.is_symlink() and reg.get_link(str(link))["strategy"] == "clone"
    assert sync_app(reg, app, [m], library_root=lib, generation=1).fast_path


def test_no_symlinks_no_hard_links_falls_through_to_clones(tmp_path, mounts, monkeypatch):
    fs = mounts("xfs-reflink", "xfs3", "nosymfollow")
    reg, app, lib, tree, m = _world(fs, tmp_path)

    def refuse(*a, **k):
        raise OSError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(os, "link", refuse)
    rep = sync_app(reg, app, [m], library_root=lib)
    link = tree / "models" / "checkpoints" / m.files[0]
    assert rep.created == 1 and not rep.errors and any("copy-on-write clones are used" in w for w in rep.warnings)
    assert reg.get_link(str(link))["strategy"] == "clone"
    assert link.read_bytes() == (m.model_dir / m.files[0]).read_bytes()
    assert not [p for p in link.parent.iterdir() if p.name.startswith(".pumas-canary")]


def test_clone_preference_where_clones_fail_falls_back_with_a_reason(tmp_path, mounts):
    fs = mounts("tmpfs", "tmp")
    reg, app, lib, tree, m = _world(fs, tmp_path, size=64)
    _prefer_clone(reg)
    rep = sync_app(reg, app, [m], library_root=lib)
    link = tree / "models" / "checkpoints" / m.files[0]
    assert rep.created == 1 and link.is_symlink() and reg.get_link(str(link))["strategy"] == "relative"
    assert any("link_strategy 'clone'" in w and "cannot make copy-on-write clones" in w for w in rep.warnings)


def test_hard_link_is_healthy_and_removed_with_its_model(tmp_path, mounts):
    fs = mounts("tmpfs", "nosym", "nosymfollow")
    reg, app, lib, tree, m = _world(fs, tmp_path, size=64)
    assert sync_app(reg, app, [m], library_root=lib).created == 1
    link = tree / "models" / "checkpoints" / m.files[0]
    assert reg.get_link(str(link))["strategy"] == "hardlink"
    assert check(reg, lib, {m.model_id: m})["broken_links"] == []
    link.unlink()
    link.write_bytes(b"the user's own file")  # a real file took its place: not ours, never touched
    assert [b["reason"] for b in check(reg, lib, {m.model_id: m})["broken_links"]] == ["not_a_link"]
    assert unlink_model(reg, m.model_id)["links_removed"] == 0 and link.read_bytes() == b"the user's own file"


@pytest.mark.parametrize("library_on_fat", [True, False])
def test_vfat_refuses_every_strategy_with_a_clear_error(tmp_path, mounts, library_on_fat):
    fs = mounts("vfat", "fat")
    lib = (fs if library_on_fat else tmp_path) / "library"
    lib.mkdir()
    tree = comfy(fs / "ComfyUI")
    reg = Registry(tmp_path / "state" / "registry.db")
    app = register_app(reg, tree)
    m = make_model(lib, "f", content=b"x" * 64)
    rep = sync_app(reg, app, [m], library_root=lib)
    assert rep.created == 0 and len(rep.errors) == 1 and "no copy was made" in rep.errors[0]["error"]
    if library_on_fat:
        assert "does not allow symlinks, hard links or copy-on-write clones" in rep.errors[0]["error"]
    else:
        assert "same file system" in rep.errors[0]["error"]
    assert list((tree / "models" / "checkpoints").iterdir()) == [] and reg.all_links() == []


def test_unknown_link_strategy_is_refused_or_warned(tmp_path):
    tree = comfy(tmp_path / "ComfyUI")
    reg = Registry(tmp_path / "state" / "registry.db")
    app = register_app(reg, tree)
    lib = tmp_path / "library"
    m = make_model(lib, "w")
    with pytest.raises(BadInputError, match="unknown link strategy"):
        sync_app(reg, app, [m], library_root=lib, link_strategy="copy")
    (reg.state_dir / "config.json").write_text(json.dumps({"link_strategy": "copy"}))
    rep = sync_app(reg, app, [m], library_root=lib)
    assert rep.created == 1 and any("link_strategy 'copy' is not one of auto, clone" in w for w in rep.warnings)

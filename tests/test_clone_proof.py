"""A registered copy-on-write clone is only removed with proof that it is still ours (root only: loop mounts).

Proof (:mod:`pumas_core.links.cloneproof`): FIEMAP shows both files on the same physical extents over the
whole length, else their bytes are compared.  A clone the user replaced by another file of the same size,
or edited in place, is not ours: health reports it (``not_a_link``), a model delete, a stale sweep and
repair leave its bytes alone.  On tmpfs (no FIEMAP, no clones) a registered "clone" row is judged by content.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

from fs_mounts import comfy
from test_links_helpers import make_model

from pumas_core.links import Registry, cloneproof, sync_app
from pumas_core.links.apps import register_app
from pumas_core.links.health import check
from pumas_core.links.repair import repair
from pumas_core.links.strategy import clone_file
from pumas_core.links.unlink import unlink_model

SIZE = 1 << 20


def _cloned(fs, tmp_path):
    """``(registry, app, library, model, library file, clone)``: one model linked as a clone on ``fs``."""
    lib = fs / "library"
    lib.mkdir()
    tree = comfy(fs / "ComfyUI")
    reg = Registry(tmp_path / "state" / "registry.db")
    (reg.state_dir / "config.json").write_text(json.dumps({"link_strategy": "clone"}))
    app = register_app(reg, tree)
    m = make_model(lib, "m", content=os.urandom(SIZE))
    assert sync_app(reg, app, [m], library_root=lib).created == 1
    link = tree / "models" / "checkpoints" / m.files[0]
    assert reg.get_link(str(link))["strategy"] == "clone"
    return reg, app, lib, m, m.model_dir / m.files[0], link


def _replace(link):
    """The user puts their own file of the same size where the clone was."""
    mine = link.with_name("mine.tmp")
    mine.write_bytes(os.urandom(SIZE))
    os.replace(mine, link)


def _edit(link):
    """The user changes one byte of the clone in place (not flushed: FIEMAP_FLAG_SYNC must see it)."""
    with open(link, "r+b") as f:
        f.seek(SIZE // 2)
        b = f.read(1)
        f.seek(SIZE // 2)
        f.write(bytes([b[0] ^ 0xFF]))


def test_our_clone_is_proven_by_shared_extents_and_removed(tmp_path, mounts):
    fs = mounts("xfs-reflink", "xfs")
    reg, app, lib, m, src, link = _cloned(fs, tmp_path)
    assert cloneproof.shared_extents(str(link), str(src)) is True
    assert cloneproof.is_clone_of(str(link), str(src)) and cloneproof.is_clone_of(str(link), str(src), thorough=False)
    assert check(reg, lib, {m.model_id: m})["broken_links"] == []
    renamed = dataclasses.replace(m, link_name="other.safetensors")  # the stale sweep removes our clone
    rep = sync_app(reg, app, [renamed], library_root=lib, force=True)
    assert rep.removed_stale == 1 and rep.created == 1 and not os.path.lexists(link)
    assert unlink_model(reg, m.model_id)["links_removed"] == 1
    assert not os.path.lexists(link.with_name("other.safetensors"))


def _not_ours_is_kept(tmp_path, mounts, change, name):
    fs = mounts("xfs-reflink", name)
    reg, app, lib, m, src, link = _cloned(fs, tmp_path)
    change(link)
    theirs = link.read_bytes()
    assert theirs != src.read_bytes() and len(theirs) == SIZE
    assert cloneproof.shared_extents(str(link), str(src)) is False
    row = {"link_path": str(link), "target_path": str(src), "model_id": m.model_id,
                       "app_id": app["app_id"],
           "folder_key": "checkpoints", "kind": "file", "strategy": "clone"}
    assert unlink_model(reg, m.model_id)["links_removed"] == 0 and link.read_bytes() == theirs  # model delete
    reg.upsert_links([row])
    models = {m.model_id: m}
    assert [b["reason"] for b in check(reg, lib, models)["broken_links"]] == ["not_a_link"]
    out = repair(reg, lib, models)
    assert out["repaired"] == 0 and link.read_bytes() == theirs and len(out["not_fixed"]) == 1
    rep = sync_app(reg, app, [m], library_root=lib, force=True)  # the conflict is reported, the file stays
    assert rep.already_correct == 0 and rep.conflicts and link.read_bytes() == theirs
    reg.upsert_links([row])
    renamed = dataclasses.replace(m, link_name="other.safetensors")  # its old name is stale now: the sweep keeps it
    rep = sync_app(reg, app, [renamed], library_root=lib, force=True)
    assert rep.removed_stale == 0 and rep.created == 1 and link.read_bytes() == theirs
    assert reg.get_link(str(link)) is None


def test_clone_replaced_by_a_same_size_file_is_never_deleted(tmp_path, mounts):
    _not_ours_is_kept(tmp_path, mounts, _replace, "xfs-replaced")


def test_clone_edited_in_place_is_never_deleted(tmp_path, mounts):
    _not_ours_is_kept(tmp_path, mounts, _edit, "xfs-edited")


def test_too_many_extents_fall_back_to_content(tmp_path, mounts, monkeypatch):
    fs = mounts("xfs-reflink", "xfs-frag")
    reg, app, lib, m, src, link = _cloned(fs, tmp_path)
    monkeypatch.setattr(cloneproof, "MAX_EXTENTS", 0)  # every file is "too fragmented": FIEMAP proves nothing
    assert cloneproof.shared_extents(str(link), str(src)) is None
    assert cloneproof.is_clone_of(str(link), str(src))
    _edit(link)
    assert not cloneproof.is_clone_of(str(link), str(src))
    assert cloneproof.is_clone_of(str(link), str(src), thorough=False)  # the cheap check: size only now
    assert unlink_model(reg, m.model_id)["links_removed"] == 0 and link.stat().st_size == SIZE


def test_without_fiemap_the_content_decides(tmp_path, mounts):
    fs = mounts("tmpfs", "tmp")
    lib = fs / "library"
    lib.mkdir()
    tree = comfy(fs / "ComfyUI")
    reg = Registry(tmp_path / "state" / "registry.db")
    app = register_app(reg, tree)
    m = make_model(lib, "m", content=os.urandom(4096))
    src = m.model_dir / m.files[0]
    same, other = tree / "models" / "checkpoints" / "same.safetensors", tree / "models" / "loras" / "o.safetensors"
    shutil.copyfile(src, same)  # a "clone" row whose file has the library's bytes: removing it loses nothing
    other.write_bytes(src.read_bytes()[:-1] + b"\0" if src.read_bytes()[-1] else src.read_bytes()[:-1] + b"\1")
    assert cloneproof.shared_extents(str(same), str(src)) is None  # tmpfs has no FIEMAP
    reg.upsert_links([{"link_path": str(p), "target_path": str(src), "model_id": m.model_id,
                       "app_id": app["app_id"],
                       "folder_key": "checkpoints", "kind": "file", "strategy": "clone"} for p in (same, other)])
    assert unlink_model(reg, m.model_id)["links_removed"] == 1
    assert not os.path.lexists(same) and other.stat().st_size == 4096


def _sparse(path, chunks=8, step=65536):
    """A file of ``chunks`` written 4 KiB pieces with holes between them (``chunks`` extents)."""
    with open(path, "wb") as f:
        for i in range(chunks):
            f.seek(i * step)
            f.write(os.urandom(4096))
        f.truncate(chunks * step)


def test_extents_are_read_in_bounded_batches_across_holes(tmp_path, mounts, monkeypatch):
    fs = mounts("xfs-reflink", "xfs-holes")
    src, dst = fs / "lib.bin", fs / "clone.bin"
    _sparse(src)
    clone_file(str(src), str(dst))
    calls = []
    real = cloneproof.fcntl.ioctl

    def counted(fd, op, buf, mutate=False):
        calls.append(len(buf))
        return real(fd, op, buf, mutate)
    monkeypatch.setattr(cloneproof.fcntl, "ioctl", counted)
    monkeypatch.setattr(cloneproof, "BATCH", 1)  # one extent per call: the range loop does the rest
    assert cloneproof.shared_extents(str(dst), str(src)) is True
    assert len(calls) >= 16 and set(calls) == {32 + 56}  # 8 extents per file; the buffer never grows
    with open(dst, "r+b") as f:  # one byte of the last piece changes
        f.seek(7 * 65536 + 10)
        f.write(b"\0" if src.read_bytes()[7 * 65536 + 10] else b"\1")
    assert cloneproof.shared_extents(str(dst), str(src)) is False
    assert not cloneproof.is_clone_of(str(dst), str(src))
    assert not cloneproof.is_clone_of(str(dst), str(src), thorough=False)

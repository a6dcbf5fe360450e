"""A full disk (issue 7, item 6) on a real, small tmpfs holding the library.

* The disk fills up at each phase of an import — before the copy, in the middle of the copy, while
  ``metadata.json`` is written, while SQLite writes the index — in copy mode and in move mode (the
  source inside the same tmpfs): the import fails with one line (``InsufficientSpaceError``), no model
  folder is left, staging is empty, the source is intact at its original path, and the same import
  works once space is freed.  The disk is filled from the phase hook (:mod:`pumas_core.testhooks`).
* A 100 % full disk still lets ``pumas list``, ``show`` and ``health`` answer (index and registry
  opened read-only), and ``pumas import`` says the disk is full on one line.

Needs root to mount the tmpfs (CI runs as root); skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from crash_support import (
    check_links,
    check_models,
    digest,
    fill_disk,
    lora_file,
    mount_tmpfs,
    pumas,
    pumas_json,
    staging_leftovers,
    umount,
)

from pumas_core import testhooks
from pumas_core.facade import Library

MiB = 1 << 20
BIG = 20 * MiB  # three 8 MiB copy chunks, so the disk can fill in the middle of the copy


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    """A 100 MiB tmpfs (module-wide; each test works in its own folder and removes its filler)."""
    where = tmp_path_factory.mktemp("fulldisk") / "mnt"
    why = mount_tmpfs(where, "100m")
    if why:
        pytest.skip(f"full-disk tests skipped: {why}")
    yield where
    umount(where)


@pytest.fixture
def space(disk, request):
    """A fresh folder on the tmpfs; everything in it (and any filler) is removed afterwards."""
    d = disk / request.node.name.replace("[", "_").replace("]", "")
    d.mkdir()
    yield d
    testhooks.set_callback(None)
    shutil.rmtree(d, ignore_errors=True)


def _fill_at(target_phase: str, folder):
    """Install a phase callback that fills the disk the first time ``target_phase`` is reached."""
    fired = []

    def cb(name):
        if name == target_phase and not fired:
            fired.append(fill_disk(folder))
    testhooks.set_callback(cb)
    return fired


PHASES = [
    # (mode, phase at which the disk becomes full, what then runs out of space)
    ("copy", "import.staged", "the copy's first write"),
    ("copy", "import.copy_chunk", "the middle of the copy"),
    ("copy", "import.hashed", "metadata.json"),
    ("copy", "import.renamed", "the index (SQLite)"),
    ("move", "import.staged", "the move journal"),
    ("move", "import.hashed", "metadata.json"),
    ("move", "import.renamed", "the index (SQLite)"),
]


@pytest.mark.parametrize("mode,at,what", PHASES, ids=[f"{m}-{p.split('.')[1]}" for m, p, _ in PHASES])
def test_disk_full_at_each_import_phase(space, tmp_path, mode, at, what):
    root, state = space / "library", tmp_path / "state"
    src_dir = space / "incoming" if mode == "move" else tmp_path / "incoming"  # move: same file system
    src = lora_file(src_dir / "big_lora.safetensors", 1, floats=BIG // 4)
    before = digest(src)
    lib = Library.open(root, state)
    try:
        fired = _fill_at(at, space)
        report = lib.import_paths([src], mode=mode)
        testhooks.set_callback(None)
        assert fired, f"phase {at} was never reached"
        assert report["imported"] == [] and len(report["failed"]) == 1, report
        fail = report["failed"][0]
        assert fail["code"] == "insufficient_space", f"{what}: {fail}"
        assert "\n" not in fail["error"] and "big_lora" in fail["error"], fail["error"]
        assert src.is_file() and digest(src) == before, f"{what}: source not intact at {src}"
        assert check_models(root, lib.list_models()) == []
        assert lib.list_models() == [] and not [p for p in root.rglob("*.safetensors")], \
            f"{what}: a model folder was left behind"
        assert staging_leftovers(root) == [], f"{what}: staging not removed"
        fired[0].unlink()  # space is free again: the same import works
        again = lib.import_paths([src], mode=mode)
        assert [m["official_name"] for m in again["imported"]] == ["big_lora.safetensors"], again
        assert check_models(root, lib.list_models()) == []
        assert src.exists() == (mode == "copy")
    finally:
        lib.close()


def test_full_disk_list_show_health_answer(space, tmp_path, comfy_tree):
    """Library *and* state dir on a 100 % full disk: read commands answer, an import fails on one line."""
    root, state = space / "library", space / "state"
    models = tmp_path / "models"
    for i in range(3):
        lora_file(models / f"lora_{i}.safetensors", i)
    imported = pumas_json(root, state, "import", *map(str, sorted(models.iterdir())))["imported"]
    assert len(imported) == 3
    pumas(root, state, "sync", "--comfyui", str(comfy_tree))
    extra = lora_file(tmp_path / "late.safetensors", 99)
    filler = fill_disk(space)
    assert os.statvfs(space).f_bavail == 0
    listed = pumas_json(root, state, "list")["models"]
    assert sorted(m["model_id"] for m in listed) == sorted(m["model_id"] for m in imported)
    shown = pumas_json(root, state, "show", imported[0]["model_id"][:12])
    assert shown["model_id"] == imported[0]["model_id"] and len(shown["links"]) == 1
    health = pumas_json(root, state, "health")
    assert health["status"] == "healthy", health
    assert check_models(root, listed) == [] and \
        check_links(root, state, comfy_tree / "models", listed, exact=True) == []
    cp = pumas(root, state, "import", str(extra), check=False)
    assert cp.returncode == 1, cp.stderr
    failed = json.loads(cp.stdout)["failed"]
    assert [f["code"] for f in failed] == ["insufficient_space"] and "\n" not in failed[0]["error"], failed
    assert "Traceback" not in cp.stderr, cp.stderr
    filler.unlink()
    assert len(pumas_json(root, state, "import", str(extra))["imported"]) == 1
    assert len(pumas_json(root, state, "list")["models"]) == 4

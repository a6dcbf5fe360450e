"""One import pipeline (issue 13, item 2): the path import and the stream imports go through the same fault cases.

Every case runs once per entry point — ``path`` (:meth:`Library.import_paths`, copy mode), ``stream``
(:meth:`Library.import_stream` from a reader) and ``upload`` (:meth:`Library.begin_upload`, chunk by chunk, as
the HTTP route drives it) — and asserts the same outcome: the same error code, one line naming the file, no
model, nothing left in ``.staging``, the source intact.

* a full disk (``ENOSPC``) when the stage is created, in the middle of the bytes, and while the commit
  writes: ``insufficient_space``; the same import works once space is freed.  Needs a real tmpfs, so root
  (CI runs as root); skipped with the reason otherwise.
* a truncated and a damaged safetensors header: ``corrupt_header``.
* the same bytes twice (through each pair of entry points): one model, the second ``skipped`` with
  ``"already in the library"`` and the first model's id.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from crash_support import digest, fill_disk, lora_file, mount_tmpfs, staging_leftovers, umount

from pumas_core import testhooks
from pumas_core.errors import PumasError
from pumas_core.facade import Library

MiB = 1 << 20
BIG = 20 * MiB  # several copy chunks (8 MiB) and stream writes (4 MiB): the disk can fill in the middle
UPLOAD_CHUNK = 4 * MiB


def _path(lib: Library, src: Path) -> dict[str, Any]:
    return dict(lib.import_paths([src], lookup=False))


def _stream(lib: Library, src: Path) -> dict[str, Any]:
    with open(src, "rb") as f:
        return dict(lib.import_stream(src.name, f, size=src.stat().st_size, lookup=False))


def _upload(lib: Library, src: Path) -> dict[str, Any]:
    """What the upload route does: begin, write each buffer, abort on an error (the job fails with its
    code), else finish."""
    data = src.read_bytes()
    try:
        up = lib.begin_upload(src.name, size=len(data), lookup=False)
        try:
            for i in range(0, len(data), UPLOAD_CHUNK):
                up.write(data[i:i + UPLOAD_CHUNK])
        except BaseException:
            up.abort()
            raise
        return dict(up.finish())
    except PumasError as exc:
        return {"imported": [], "skipped": [], "failed": [{"path": src.name, "error": str(exc), "code": exc.code}]}


ENTRY_POINTS: dict[str, Callable[[Library, Path], dict[str, Any]]] = {
    "path": _path, "stream": _stream, "upload": _upload}
ENTRIES = list(ENTRY_POINTS)


def _refused(lib: Library, report: dict[str, Any], src: Path, before: str) -> dict[str, Any]:
    """The checks every refusal shares; returns the one failed entry."""
    assert report["imported"] == [] and report["skipped"] == [] and len(report["failed"]) == 1, report
    fail = report["failed"][0]
    assert "\n" not in fail["error"] and src.name in fail["error"], fail
    assert lib.list_models() == []
    assert not [p for p in lib.root.rglob("*.safetensors") if ".staging" not in p.parts], "a model folder was left"
    assert staging_leftovers(lib.root) == [], "staging not removed"
    assert src.is_file() and digest(src) == before, "source not intact"
    return fail


# -- a full disk --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory):
    """A 100 MiB tmpfs (module-wide; each test works in its own folder)."""
    where = tmp_path_factory.mktemp("faults") / "mnt"
    why = mount_tmpfs(where, "100m")
    if why:
        pytest.skip(f"full-disk cases skipped: {why}")
    yield where
    umount(where)


@pytest.fixture
def space(disk: Path, request: pytest.FixtureRequest):
    """A fresh folder on the tmpfs; removed (with any filler) afterwards."""
    d = disk / request.node.name.replace("[", "_").replace("]", "")
    d.mkdir()
    yield d
    testhooks.set_callback(None)
    shutil.rmtree(d, ignore_errors=True)


# phases both entry points announce: stage created, a chunk of bytes written, metadata.json written (the commit)
FULL_AT = ["import.staged", "import.copy_chunk", "import.metadata_written"]


@pytest.mark.parametrize("at", FULL_AT, ids=[p.split(".")[1] for p in FULL_AT])
@pytest.mark.parametrize("entry", ENTRIES)
def test_disk_full(space: Path, tmp_path: Path, entry: str, at: str) -> None:
    src = lora_file(tmp_path / "incoming" / "big_lora.safetensors", 1, floats=BIG // 4)
    before = digest(src)
    lib = Library.open(space / "library", tmp_path / "state")
    try:
        fired: list[Path] = []

        def fill(name: str) -> None:
            if name == at and not fired:
                fired.append(fill_disk(space))
        testhooks.set_callback(fill)
        report = ENTRY_POINTS[entry](lib, src)
        testhooks.set_callback(None)
        assert fired, f"phase {at} was never reached"
        fail = _refused(lib, report, src, before)
        assert fail["code"] == "insufficient_space", fail
        assert "disk is full" in fail["error"], fail
        fired[0].unlink()  # space is free again: the same import works
        again = ENTRY_POINTS[entry](lib, src)
        assert [m["official_name"] for m in again["imported"]] == [src.name], again
        assert staging_leftovers(lib.root) == []
    finally:
        testhooks.set_callback(None)
        lib.close()


def test_announced_size_that_does_not_fit_is_refused_before_any_byte(space: Path, tmp_path: Path) -> None:
    """The stream entry points check the announced size like the path import checks the source's."""
    lib = Library.open(space / "library", tmp_path / "state")
    try:
        with pytest.raises(PumasError) as err:
            lib.begin_upload("huge.safetensors", size=1 << 40)
        assert err.value.code == "insufficient_space" and "huge.safetensors" in str(err.value)
        assert staging_leftovers(lib.root) == []
    finally:
        lib.close()


# -- a corrupt header ---------------------------------------------------------------------------------------
def _truncated(path: Path) -> Path:
    """A LoRA whose header claims more tensor bytes than the file holds (a cut-off download)."""
    full = lora_file(path.with_suffix(".full"), 7).read_bytes()
    path.write_bytes(full[:-40])
    return path


def _damaged(path: Path) -> Path:
    """A safetensors header length followed by JSON that is not a tensor table."""
    header = b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]'  # unterminated object
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)
    return path


@pytest.mark.parametrize("make", [_truncated, _damaged], ids=["truncated", "damaged"])
@pytest.mark.parametrize("entry", ENTRIES)
def test_corrupt_header(lib: Library, tmp_path: Path, entry: str, make: Callable[[Path], Path]) -> None:
    src = make(tmp_path / "broken.safetensors")
    before = digest(src)
    fail = _refused(lib, ENTRY_POINTS[entry](lib, src), src, before)
    assert fail["code"] == "corrupt_header", fail
    assert ".staging" not in fail["error"], "an upload's error must name the file, not its staging copy"


# -- the same bytes twice -----------------------------------------------------------------------------------
@pytest.mark.parametrize("second", ENTRIES)
@pytest.mark.parametrize("first", ENTRIES)
def test_duplicate(lib: Library, tmp_path: Path, first: str, second: str) -> None:
    src = lora_file(tmp_path / "a" / "twice.safetensors", 3)
    copy = tmp_path / "b" / "twice.safetensors"
    copy.parent.mkdir()
    shutil.copyfile(src, copy)  # same bytes, another path
    before = digest(src)
    one = ENTRY_POINTS[first](lib, src)
    assert len(one["imported"]) == 1 and one["failed"] == [], one
    model = one["imported"][0]
    two = ENTRY_POINTS[second](lib, copy)
    assert two["imported"] == [] and two["failed"] == [] and len(two["skipped"]) == 1, two
    skip = two["skipped"][0]
    assert skip["reason"] == "already in the library" and skip["model_id"] == model["model_id"], skip
    assert skip["path"] == model["path"]
    assert [m["model_id"] for m in lib.list_models()] == [model["model_id"]]
    assert staging_leftovers(lib.root) == []
    assert digest(src) == before and digest(copy) == before

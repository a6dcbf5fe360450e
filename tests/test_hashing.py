"""Tests of hash-while-copy (pumas_core.ingest.hashing) on real files and real failures."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import blake3
import pytest

from pumas_core.errors import BadInputError, InsufficientSpaceError, PumasError
from pumas_core.ingest import hashing
from pumas_core.ingest.hash_pipeline import Pipeline
from pumas_core.ingest.hashing import (
    FileHashes,
    OperationCancelledError,
    check_free_space,
    copy_and_hash,
    hash_file,
)

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_BLAKE3 = "8087e9bf97c265f8435ed268733ecf3791825ad24850fd5d84d89e32ee3a589a"
REPO = Path(__file__).resolve().parents[1]
SMALL = 64 * 1024  # chunk size used to cross many chunk boundaries quickly


def oracle(data: bytes) -> FileHashes:
    return FileHashes(hashlib.sha256(data).hexdigest(), blake3.blake3(data).hexdigest(), len(data))


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


class TriggerEvent(threading.Event):
    """A cancel event that runs ``action`` (and may report set) once polled ``after`` times.

    The pipeline polls ``cancel.is_set()`` once per chunk, so this fires mid-copy deterministically.
    """

    def __init__(self, after: int, action=None, cancel: bool = False):
        super().__init__()
        self.after, self.action, self.cancel, self.calls = after, action, cancel, 0

    def is_set(self) -> bool:
        self.calls += 1
        if self.calls == self.after:
            if self.action:
                self.action()
            if self.cancel:
                self.set()
        return super().is_set()


def test_minilm_copy_and_hash_matches_oracles(real, tmp_path):
    src = real("minilm/model.safetensors")
    dst = tmp_path / "model.safetensors.tmp"
    got = copy_and_hash(src, dst)
    assert got.sha256 == MINILM_SHA256 and got.blake3 == MINILM_BLAKE3
    assert got == oracle(src.read_bytes())
    assert dst.read_bytes() == src.read_bytes()
    assert hash_file(dst) == got


def test_blake3_sanity_vectors(tmp_path):
    hello = write(tmp_path / "hello", b"hello world")
    hello_b3 = "d74981efa70a0c880b8d8c1985d075dbcbf679b99a5f9914e5aaf96b831a9e24"
    assert hash_file(hello).blake3 == hello_b3
    empty = write(tmp_path / "empty", b"")
    h = copy_and_hash(empty, tmp_path / "empty.tmp")
    assert h == FileHashes(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", 0)
    assert (tmp_path / "empty.tmp").read_bytes() == b""


@pytest.mark.parametrize("size", [1, SMALL - 1, SMALL, SMALL + 1, 2 * SMALL,
                                  hashing.RING_BUFFERS * SMALL + 1, 13 * SMALL + 7])
def test_sizes_around_chunk_boundaries(tmp_path, size):
    data = os.urandom(size)
    src = write(tmp_path / "src.bin", data)
    dst = tmp_path / "dst.tmp"
    assert copy_and_hash(src, dst, chunk_size=SMALL) == oracle(data)
    assert dst.read_bytes() == data
    assert hash_file(src, chunk_size=SMALL) == oracle(data)


@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_default_chunk_boundary(tmp_path, delta):
    data = os.urandom(hashing.DEFAULT_CHUNK + delta)
    src = write(tmp_path / "src.bin", data)
    assert copy_and_hash(src, tmp_path / "dst.tmp") == oracle(data)


def test_progress_events(tmp_path):
    data = os.urandom(10 * SMALL + 3)
    src = write(tmp_path / "src.bin", data)
    events = []
    copy_and_hash(src, tmp_path / "dst.tmp", progress=events.append, chunk_size=SMALL)
    assert events[0] == {"stage": "copying", "file": str(src), "bytes_done": 0,
                         "bytes_total": len(data)}
    assert events[-1]["bytes_done"] == len(data)
    done = [e["bytes_done"] for e in events]
    assert done == sorted(done)
    assert len(events) <= 4  # throttled to ~10/s: a copy this small reports start and end only
    hashed = []
    hash_file(src, progress=hashed.append)
    assert {e["stage"] for e in hashed} == {"hashing"} and hashed[-1]["bytes_done"] == len(data)


def test_cancel_mid_copy_removes_dst(tmp_path):
    src = write(tmp_path / "src.bin", os.urandom(40 * SMALL))
    dst = tmp_path / "dst.tmp"
    ev = TriggerEvent(after=6, cancel=True)
    with pytest.raises(OperationCancelledError, match="cancelled"):
        copy_and_hash(src, dst, cancel=ev, chunk_size=SMALL)
    assert ev.calls >= 6
    assert not dst.exists()
    assert src.stat().st_size == 40 * SMALL  # source untouched


def test_cancel_hash_file(tmp_path):
    src = write(tmp_path / "src.bin", os.urandom(20 * SMALL))
    ev = threading.Event()
    with pytest.raises(OperationCancelledError):
        hash_file(src, cancel=ev, progress=lambda e: ev.set(), chunk_size=SMALL)


def test_source_truncated_by_progress_callback(tmp_path):
    src = write(tmp_path / "src.bin", os.urandom(30 * SMALL))
    dst = tmp_path / "dst.tmp"

    def shrink(event):
        if event["bytes_done"] == 0:
            os.truncate(src, 5 * SMALL)

    with pytest.raises(BadInputError, match="changed size") as err:
        copy_and_hash(src, dst, progress=shrink, chunk_size=SMALL)
    assert str(src) in str(err.value)
    assert not dst.exists()


@pytest.mark.parametrize("change, message", [
    (lambda p: os.truncate(p, 7 * SMALL + 5), "changed size"),
    (lambda p: p.open("ab").write(b"more"), "grew|changed size"),
])
def test_source_changing_size_mid_copy(tmp_path, change, message):
    src = write(tmp_path / "src.bin", os.urandom(30 * SMALL))
    dst = tmp_path / "dst.tmp"
    with pytest.raises(BadInputError, match=message):
        copy_and_hash(src, dst, cancel=TriggerEvent(after=10, action=lambda: change(src)),
                      chunk_size=SMALL)
    assert not dst.exists()


def test_source_rewritten_in_place_is_detected(tmp_path):
    src = write(tmp_path / "src.bin", os.urandom(30 * SMALL))
    os.utime(src, ns=(10**18, 10**18))

    def rewrite():
        with open(src, "r+b") as f:
            f.write(b"X" * 100)

    with pytest.raises(BadInputError, match="modified"):
        hash_file(src, cancel=TriggerEvent(after=5, action=rewrite), chunk_size=SMALL)


def test_unreadable_sources_are_named(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(BadInputError, match="nope.safetensors.*cannot read"):
        copy_and_hash(missing, tmp_path / "dst.tmp")
    with pytest.raises(BadInputError, match="Is a directory|not a regular file"):
        hash_file(tmp_path)
    if os.path.exists("/dev/null"):
        with pytest.raises(BadInputError, match="/dev/null: not a regular file"):
            copy_and_hash(Path("/dev/null"), tmp_path / "dst.tmp")
    assert not (tmp_path / "dst.tmp").exists()


def test_existing_dst_is_never_overwritten(tmp_path):
    src = write(tmp_path / "src.bin", b"new")
    dst = write(tmp_path / "precious.bin", b"user data")
    with pytest.raises(BadInputError, match="already exists"):
        copy_and_hash(src, dst)
    assert dst.read_bytes() == b"user data"


def test_missing_dst_dir_is_a_clear_error(tmp_path):
    src = write(tmp_path / "src.bin", b"abc")
    with pytest.raises(PumasError, match="no_such_dir"):
        copy_and_hash(src, tmp_path / "no_such_dir" / "dst.tmp")


FULL_DISK_CHILD = r"""
import json, os, resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
from pumas_core.errors import PumasError
from pumas_core.ingest.hashing import copy_and_hash
try:
    copy_and_hash(Path(sys.argv[1]), Path(sys.argv[2]), chunk_size=65536)
    print(json.dumps({"ok": True}))
except PumasError as e:
    print(json.dumps({"type": type(e).__name__, "msg": str(e), "code": e.code}))
"""


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="RLIMIT_FSIZE/SIGXFSZ semantics are Linux-specific")
def test_full_disk_gives_clear_error_and_no_leftover(tmp_path):
    src = write(tmp_path / "src.bin", os.urandom(3 * 1024 * 1024))
    dst = tmp_path / "out" / "dst.tmp"
    dst.parent.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CHILD, str(src), str(dst), str(1024 * 1024)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["type"] == "InsufficientSpaceError" and result["code"] == "insufficient_space"
    assert str(dst) in result["msg"] and "\n" not in result["msg"]
    assert list(dst.parent.iterdir()) == []


def test_check_free_space(tmp_path):
    check_free_space(tmp_path, 1024)
    check_free_space(tmp_path / "not" / "yet", 1024)  # measured at the nearest existing parent
    with pytest.raises(InsufficientSpaceError, match=str(tmp_path)):
        check_free_space(tmp_path, 1 << 60)
    free = __import__("shutil").disk_usage(tmp_path).free
    with pytest.raises(InsufficientSpaceError):  # fits exactly, but not with the margin
        check_free_space(tmp_path, free)


def test_memory_stays_bounded(tmp_path):
    chunk = 256 * 1024
    src = write(tmp_path / "src.bin", os.urandom(40 * chunk))
    tracemalloc.start()
    try:
        copy_and_hash(src, tmp_path / "dst.tmp", chunk_size=chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < (hashing.RING_BUFFERS + 2) * chunk  # the ring, not the file


def test_pipeline_consumer_error_stops_everything(tmp_path):
    seen = []

    def boom(view):
        seen.append(len(view))
        if len(seen) == 2:
            raise OSError(5, "Input/output error")

    reads = iter([100] * 50 + [0])
    pipe = Pipeline([boom, lambda v: None], chunk_size=100, n_buffers=2)
    with pytest.raises(OSError, match="Input/output"):
        pipe.run(lambda view: next(reads))
    assert len(seen) < 50  # stopped early, no deadlock on the full ring

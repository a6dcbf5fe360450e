"""Deep Scan follows the drive plan: one reader on a spinning disk, parallel readers on SSD-class drives,
results in walk order either way (the ``drive_kind`` override forces the kind, as for imports)."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

from pumas_core.drives import drive_of
from pumas_core.library import deepscan


class FakeIndex:
    def __init__(self):
        self.rows = []

    def clear(self):
        self.rows = []

    @contextmanager
    def bulk_load(self):
        yield

    def upsert_many(self, items, fresh=False):
        self.rows += [(m["model_id"], str(d)) for m, d in items]


def _library(tmp_path, n):
    for i in range(n):
        d = tmp_path / "lib" / f"m{i:02d}"
        d.mkdir(parents=True)
        (d / "f.bin").write_bytes(b"x")
        mid = "dup" if i in (3, 7) else f"id{i}"  # two folders with one id: the first in walk order is kept
        (d / "metadata.json").write_text(json.dumps({"model_id": mid, "files": [{"name": "f.bin", "size": 1}]}))
    (tmp_path / "lib" / "bad").mkdir()
    (tmp_path / "lib" / "bad" / "metadata.json").write_text("{not json")
    return tmp_path / "lib"


def _watch(monkeypatch, barrier=None):
    state = {"now": 0, "max": 0}
    lock = threading.Lock()
    real = deepscan.read_metadata

    def read(model_dir):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        try:
            if barrier is not None:
                barrier.wait()  # proof that two readers are in here at once (times out if not)
            return real(model_dir)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(deepscan, "read_metadata", read)
    return state


def _plain_read(monkeypatch):
    def read(model_dir):
        from pumas_core.errors import CorruptFileError

        text = (model_dir / "metadata.json").read_text()
        try:
            return json.loads(text)
        except ValueError:
            raise CorruptFileError(f"{model_dir}: not valid JSON") from None
    monkeypatch.setattr(deepscan, "read_metadata", read)


def test_spinning_disk_gets_one_reader_and_walk_order(tmp_path, monkeypatch):
    lib = _library(tmp_path, 11)
    _plain_read(monkeypatch)
    state = _watch(monkeypatch)
    idx = FakeIndex()
    r = deepscan.rebuild(lib, idx, drive_overrides={drive_of(lib).mount: "hdd"})
    assert state["max"] == 1 and r["indexed"] == 10 and len(r["errors"]) == 1
    walk = [d for d in deepscan.iter_model_dirs(lib) if not d.endswith("bad")]
    first_dup = next(d for d in walk if d.endswith(("m03", "m07")))
    assert [p for _, p in idx.rows] == [d for d in walk if not (d.endswith(("m03", "m07")) and d != first_dup)]
    assert r["duplicates"][0]["model_id"] == "dup" and r["duplicates"][0]["kept"] == first_dup


def test_ssd_gets_parallel_readers_same_result(tmp_path, monkeypatch):
    lib = _library(tmp_path, 11)  # 12 folders with the bad one: every chunk of two is full
    _plain_read(monkeypatch)
    hdd = FakeIndex()
    deepscan.rebuild(lib, hdd, drive_overrides={drive_of(lib).mount: "hdd"})
    state = _watch(monkeypatch, threading.Barrier(2, timeout=30))
    monkeypatch.setattr(deepscan, "BATCH", 2)  # chunks of two folders: both readers meet at the barrier
    ssd = FakeIndex()
    r = deepscan.rebuild(lib, ssd, drive_overrides={drive_of(lib).mount: "ssd"})
    assert state["max"] == 2 and ssd.rows == hdd.rows and r["indexed"] == 10

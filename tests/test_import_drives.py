"""Drive-aware imports: several workers on an SSD-class drive, one stream per spinning disk (user
override in config.json), outcomes in the order given, identical content still one model."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest
from model_shapes import SD15_CHECKPOINT
from st_writer import write_safetensors

from pumas_core import testhooks

pytestmark = pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                                reason="needs root to mount tmpfs source drives (CI runs as root)")


@pytest.fixture
def drive(tmp_path):
    made = []

    def mount(name):
        d = tmp_path / name
        d.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(d)]).returncode:
            pytest.skip("cannot mount tmpfs")
        made.append(d)
        return d

    yield mount
    for d in made:
        subprocess.run(["umount", "-l", str(d)], check=False)


def sources(folder, n, tag=""):
    out = []
    for i in range(n):
        p = write_safetensors(folder / f"m{tag}{i}.safetensors", SD15_CHECKPOINT, metadata={"seed": f"{tag}{i}"})
        out.append(p)
    return out


def run_traced(lib, paths):
    """Import and record, per unit, the thread that staged it and how many ran at once (max)."""
    seen, active, peak, lock = [], [0], [0], threading.Lock()

    def hook(name):
        if name == "import.staged":
            with lock:
                seen.append(threading.current_thread().name)
                active[0] += 1
                peak[0] = max(peak[0], active[0])
        elif name in ("import.indexed",):
            with lock:
                active[0] -= 1

    testhooks.set_callback(hook)
    try:
        report = lib.import_paths(paths, mode="copy", sync=False, lookup=False)
    finally:
        testhooks.set_callback(None)
    return report, seen, peak[0]


def test_ssd_class_drive_gets_parallel_workers_and_order_is_kept(lib, drive):
    src = drive("ssd")
    paths = sources(src, 4)
    report, threads, _ = run_traced(lib, paths)
    assert [m["official_name"] for m in report["imported"]] == [p.name for p in paths] and not report["failed"]
    assert len(set(threads)) > 1 and all(t.startswith("pumas-import") for t in threads)


def test_spinning_disk_override_is_one_stream(lib, drive):
    src = drive("hdd")
    (lib.state_dir / "config.json").write_text(json.dumps({"drive_kind": {str(src): "hdd"}}))
    paths = sources(src, 3)
    report, threads, peak = run_traced(lib, paths)
    assert len(report["imported"]) == 3 and peak == 1 and len(set(threads)) == 1


def test_identical_content_from_two_drives_is_one_model(lib, drive):
    a, b = drive("a"), drive("b")
    pa = sources(a, 1, "x")[0]
    pb = b / "copy.safetensors"
    pb.write_bytes(pa.read_bytes())
    report, _threads, _ = run_traced(lib, [pa, pb])
    assert len(report["imported"]) == 1 and len(report["skipped"]) == 1
    assert report["skipped"][0]["reason"] == "already in the library"

"""One bad file in a folder import fails that file only (issue 8 Contract).

``pumas --json import FOLDER`` (a real process) over a real MiniLM safetensors file next to hostile
safetensors and GGUF headers: the valid file is imported, each hostile one is in ``failed`` with
``"code": "corrupt_header"`` or ``"unsupported_format"`` and a one-line message naming it, stdout is
one JSON document, and the exit code is 1 (README: a handled failure).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

from pumas_core.facade import Library


def _st(header: bytes, data: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header)) + header + data


T = b'"dtype":"F32","shape":[1],"data_offsets":[0,4]'
HOSTILE = {
    "deep.safetensors": _st(b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}"),
    "digits.safetensors": _st(b'{"a":{"dtype":"F32","shape":[' + b"9" * 5000 + b'],"data_offsets":[0,4]}}', b"\0" * 4),
    "bigshape.safetensors": _st(json.dumps({"a": {"dtype": "F32", "shape": [2**62] * 200_000,
                                                  "data_offsets": [0, 4]}}).encode(), b"\0" * 4),
    "dtype.safetensors": _st(b'{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
    "overlap.safetensors": _st(b'{"a":{' + T + b'},"b":{' + T + b"}}", b"\0" * 4),
    "uncovered.safetensors": _st(b'{"a":{' + T + b"}}", b"\0" * 12),
    "metadata.safetensors": _st(b'{"__metadata__":{"v":1},"a":{' + T + b"}}", b"\0" * 4),
    "no-table.gguf": b"GGUF" + struct.pack("<IQQ", 3, 1, 0),
    "old.gguf": b"GGUF" + struct.pack("<IQQ", 1, 0, 0) + b"\0" * 8,
    "notes.safetensors": b"just some text, not tensors\n",
}


def test_folder_import_fails_each_hostile_file_alone(real, lib_dirs, tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    good = folder / "all-MiniLM-L6-v2.safetensors"
    try:
        os.link(real("minilm/model.safetensors"), good)
    except OSError:
        good.write_bytes(real("minilm/model.safetensors").read_bytes())
    for name, data in HOSTILE.items():
        (folder / name).write_bytes(data)
    root, state = lib_dirs
    proc = subprocess.run([sys.executable, "-m", "pumas_core.cli.main", "--library", str(root), "--state", str(state),
                           "--json", "import", str(folder)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PUMAS_OFFLINE": "1"})
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert [m["official_name"] for m in report["imported"]] == [good.name]
    failed = {os.path.basename(f["path"]): f for f in report["failed"]}
    assert set(failed) == set(HOSTILE)
    for name, f in failed.items():
        assert f["code"] == ("unsupported_format" if name in ("old.gguf", "notes.safetensors") else "corrupt_header"), f
        assert name in f["error"] and "\n" not in f["error"], f


def test_a_reader_bug_fails_that_unit_only(real, lib_dirs, tmp_path, monkeypatch):
    """The last-resort guard: an unexpected exception while importing one unit is a failed entry."""
    from pumas_core.ingest import importer

    folder = tmp_path / "two"
    folder.mkdir()
    src = real("silero/silero_vad_16k.safetensors")
    (folder / "a.safetensors").write_bytes(src.read_bytes())
    (folder / "b.safetensors").write_bytes(src.read_bytes()[:-4] + b"\1\2\3\4")  # other hash, same header
    real_sniff = importer.sniff

    def buggy(path, *args, **kwargs):
        if path.name == "b.safetensors":
            raise RuntimeError("simulated reader bug")
        return real_sniff(path, *args, **kwargs)

    monkeypatch.setattr(importer, "sniff", buggy)
    root, state = lib_dirs
    lib = Library.open(root, state)
    try:
        report = lib.import_paths([folder], lookup=False)
    finally:
        lib.close()
    assert [m["official_name"] for m in report["imported"]] == ["a.safetensors"]
    assert [(os.path.basename(f["path"]), f["code"]) for f in report["failed"]] == [("b.safetensors", "internal")]
    assert "simulated reader bug" in report["failed"][0]["error"]


def test_planning_bug_fails_that_path_only(real, tmp_path, monkeypatch):
    """``plan_import`` reports an unexpected exception for the path it hit, and plans the others."""
    from pumas_core.ingest import grouping

    ok = tmp_path / "ok.safetensors"
    ok.write_bytes(real("silero/silero_vad_16k.safetensors").read_bytes())
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"x")
    real_unit = grouping._single_unit

    def buggy(name, parent, path):
        if name == "bad.safetensors":
            raise ValueError("simulated planning bug")
        return real_unit(name, parent, path)

    monkeypatch.setattr(grouping, "_single_unit", buggy)
    plan = grouping.plan_import([bad, ok])
    assert [u.name for u in plan.units] == ["ok.safetensors"]
    assert len(plan.errors) == 1 and "simulated planning bug" in plan.errors[0][1]


def test_hostile_index_and_first_piece_do_not_stop_planning(real, tmp_path):
    """Index JSON and byte-split headers are read while planning: nested 100,000 deep, they are
    ignored (no RecursionError) and the files beside them are planned."""
    from pumas_core.ingest.grouping import plan_import

    d = tmp_path / "x"
    d.mkdir()
    (d / "model.safetensors.index.json").write_text('{"weight_map":' + "[" * 100_000 + "]" * 100_000 + "}")
    (d / "m.safetensors.part1").write_bytes(_st(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"))
    (d / "m.safetensors.part2").write_bytes(b"\0" * 8)
    (d / "ok.safetensors").write_bytes(real("silero/silero_vad_16k.safetensors").read_bytes())
    plan = plan_import([d])
    names = [u.name for u in plan.units]
    assert "ok.safetensors" in names and "m.safetensors" in names, (names, plan.errors)
    assert not any("cannot plan" in why for _p, why in plan.errors), plan.errors

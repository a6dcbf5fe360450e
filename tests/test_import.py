"""The import pipeline end to end on real model files, real SQLite and real symlinks."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from model_shapes import SD15_CHECKPOINT
from st_writer import write_safetensors

from pumas_core.facade import Library
from pumas_core.library.metadata import read_metadata

MINILM_SHA = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_B3 = "8087e9bf97c265f8435ed268733ecf3791825ad24850fd5d84d89e32ee3a589a"


@pytest.fixture
def lib(lib_dirs, monkeypatch):
    monkeypatch.setenv("PUMAS_OFFLINE", "1")
    root, state = lib_dirs
    library = Library.open(root, state)
    yield library
    library.close()


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_imports_real_files_with_both_hashes(lib, real):
    paths = [real("minilm/model.safetensors"), real("silero/silero_vad.onnx"),
             real("llama_vocab/ggml-vocab-aquila.gguf"), real("facenet/pnet.pt")]
    report = lib.import_paths(paths, accept_pickle=True)
    assert report["failed"] == [] and len(report["imported"]) == 4
    by_format = {m["file_format"]: m for m in report["imported"]}
    minilm = read_metadata(by_format["safetensors"]["path"])
    assert minilm["hashes"] == {"sha256": MINILM_SHA, "blake3": MINILM_B3}
    assert minilm["model_id"] == MINILM_B3 and minilm["security_tier"] == "safe"
    assert minilm["files"][0]["size"] == 90_868_376
    assert by_format["gguf"]["model_type"] == "llm"
    assert by_format["onnx"]["security_tier"] == "safe"
    assert by_format["pickle"]["security_tier"] == "pickle"
    assert by_format["pickle"]["hashes"]["sha256"] == "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f"
    for m in report["imported"]:  # the stored copy really has the recorded hash
        stored = os.path.join(m["path"], m["files"][0]["name"])
        assert _sha(__import__("pathlib").Path(stored)) == m["hashes"]["sha256"]
    assert not any((lib.root / ".staging").glob("*.tmp"))
    assert _sha(paths[0]) == MINILM_SHA  # copy mode leaves the source alone


def test_pickle_needs_acknowledgment(lib, real):
    report = lib.import_paths([real("facenet/pnet.pt")])
    assert report["imported"] == [] and report["failed"][0]["code"] == "pickle_not_accepted"
    assert "--accept-pickle" in report["failed"][0]["error"]
    assert lib.list_models() == []


def test_dangerous_pickle_refused_even_when_accepted(lib, pickles):
    report = lib.import_paths([pickles("malicious1_v3.pkl")], accept_pickle=True)
    failed = report["failed"][0]  # refused by the allow-list gate, which names the global
    assert report["imported"] == [] and failed["code"] == "unsafe_pickle" and "builtins.eval" in failed["error"]


def test_same_file_twice_is_not_stored_twice(lib, real):
    src = real("silero/silero_vad_16k.safetensors")
    first = lib.import_paths([src])
    second = lib.import_paths([src])
    assert len(first["imported"]) == 1 and second["imported"] == []
    assert second["skipped"][0]["model_id"] == first["imported"][0]["model_id"]
    assert len(lib.list_models()) == 1


def test_bad_inputs_get_clear_errors_and_leave_nothing(lib, tmp_path, real):
    good = real("silero/silero_vad_16k.safetensors").read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(good[: len(good) // 2])
    header_past_end = (10**9).to_bytes(8, "little") + b'{"a":1}'
    (tmp_path / "past_end.safetensors").write_bytes(header_past_end)
    (tmp_path / "notes.safetensors").write_text("this is a text file, not a model\n" * 20)
    (tmp_path / "empty.safetensors").write_bytes(b"")
    bad = sorted(tmp_path.glob("*.safetensors"))
    report = lib.import_paths(bad)
    assert report["imported"] == [] and len(report["failed"]) == 4
    for f in report["failed"]:
        assert os.path.basename(f["path"]) in f["error"] and "\n" not in f["error"]
    assert lib.list_models() == [] and not any((lib.root / ".staging").glob("*.tmp"))


def test_ntfs_hostile_names_are_cleaned_but_official_name_kept(lib, tmp_path, real):
    src = tmp_path / 'CON <weird>: "name"?.safetensors'
    src.write_bytes(real("silero/silero_vad_16k.safetensors").read_bytes())
    m = lib.import_paths([src])["imported"][0]
    assert m["official_name"] == src.name
    folder = os.path.basename(m["path"])
    assert not set('<>:"|?*') & set(folder) and folder.upper() != "CON"
    assert not set('<>:"|?*') & set(m["files"][0]["name"])


def test_name_collision_between_different_models_gets_hash_suffix(lib, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    write_safetensors(a / "style.safetensors", {"x.weight": ("F16", [2, 2])})
    write_safetensors(b / "style.safetensors", {"x.weight": ("F16", [3, 3])})
    m1 = lib.import_paths([a / "style.safetensors"], model_type="lora")["imported"][0]
    m2 = lib.import_paths([b / "style.safetensors"], model_type="lora")["imported"][0]
    assert m1["path"] != m2["path"] and os.path.basename(m2["path"]).endswith(m2["model_id"][:8])


def test_type_override_is_manual(lib, real):
    m = lib.import_paths([real("silero/silero_vad_16k.safetensors")], model_type="vae")["imported"][0]
    assert m["model_type"] == "vae" and m["match_source"] == "manual"


def test_checkpoint_shaped_file_is_a_checkpoint(lib, tmp_path):
    ckpt = write_safetensors(tmp_path / "my_sd15_model.safetensors", SD15_CHECKPOINT)
    m = lib.import_paths([ckpt])["imported"][0]
    assert m["model_type"] == "checkpoint"


def test_move_mode_same_filesystem(lib, tmp_path, real):
    src = tmp_path / "moved.safetensors"
    src.write_bytes(real("silero/silero_vad_16k.safetensors").read_bytes())
    m = lib.import_paths([src], mode="move")["imported"][0]
    assert not src.exists()
    assert m["hashes"]["sha256"] == "c59271c284ae9c8335d795d60e0bfdb71aaaceec578d9bd9ffc1b8153c319ea1"


def test_refused_move_puts_source_back(lib, tmp_path, real):
    src = tmp_path / "pnet.pt"
    src.write_bytes(real("facenet/pnet.pt").read_bytes())
    report = lib.import_paths([src], mode="move")  # pickle without acknowledgment
    assert report["failed"] and src.exists() and _sha(src) == _sha(real("facenet/pnet.pt"))


def test_crash_recovery_restores_moved_files(lib_dirs, tmp_path):
    """A move journaled before the crash is undone at the next start: the user's file comes back."""
    from pumas_core.ingest.staging import journal_moves, new_stage

    root, state = lib_dirs
    root.mkdir(parents=True)
    original = tmp_path / "user" / "precious.safetensors"
    original.parent.mkdir()
    original.write_bytes(b"precious bytes")
    stage = new_stage(root)
    journal_moves(stage, [(original, "precious.safetensors")])
    os.rename(original, stage / "precious.safetensors")
    copy_stage = new_stage(root)
    (copy_stage / "partial.safetensors").write_bytes(b"half")
    stage.release()  # the owning process "dies": its stage locks are free (live stages are never touched)
    copy_stage.release()
    lib = Library.open(root, state)
    try:
        assert original.read_bytes() == b"precious bytes"
        assert not any((root / ".staging").glob("*.tmp"))
        assert any("restored" in n for n in lib.recovery_notes)
    finally:
        lib.close()


def test_killed_mid_copy_leaves_source_intact_and_nothing_indexed(lib_dirs, tmp_path):
    root, state = lib_dirs
    big = tmp_path / "big.safetensors"
    header = json.dumps({"w": {"dtype": "F32", "shape": [200, 1024, 1024], "data_offsets": [0, 200 * 1024 * 1024 * 4]}})
    with open(big, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header.encode())
        f.truncate(8 + len(header) + 200 * 1024 * 1024 * 4)  # 800 MB, sparse on disk
    before = os.stat(big)
    env = {**os.environ, "PUMAS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pumas_core.cli.main", "--library", str(root), "--state", str(state),
                             "import", str(big), "--no-lookup"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.time() + 60
    killed = False
    while time.time() < deadline and proc.poll() is None:
        partial = [p for p in (root / ".staging").glob("*.tmp/*") if p.stat().st_size > 0]
        if partial:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.005)
    proc.wait()
    assert killed, "the import finished before it could be killed"
    assert os.stat(big).st_size == before.st_size and os.stat(big).st_mtime == before.st_mtime
    lib = Library.open(root, state)
    try:
        assert lib.list_models() == []
        assert not any((root / ".staging").glob("*.tmp"))
    finally:
        lib.close()


def test_folder_import_recurses(lib, tmp_path, real):
    d = tmp_path / "downloads"
    (d / "sub").mkdir(parents=True)
    (d / "a.onnx").write_bytes(real("silero/silero_vad_16k_op15.onnx").read_bytes())
    (d / "sub" / "b.gguf").write_bytes(real("llama_vocab/ggml-vocab-phi-3.gguf").read_bytes())
    (d / "README.txt").write_text("not a model")
    report = lib.import_paths([d])
    assert len(report["imported"]) == 2 and report["failed"] == []


def test_upload_stream_is_hashed_while_received(lib, real):
    src = real("minilm/model.safetensors")
    with open(src, "rb") as f:
        report = lib.import_stream("model.safetensors", f, size=src.stat().st_size)
    m = report["imported"][0]
    assert m["hashes"] == {"sha256": MINILM_SHA, "blake3": MINILM_B3}


def test_short_upload_is_refused(lib, real):
    import io

    data = real("silero/silero_vad_16k.safetensors").read_bytes()
    report = lib.import_stream("x.safetensors", io.BytesIO(data[:100]), size=len(data))
    assert report["failed"] and "100 of" in report["failed"][0]["error"]
    assert not any((lib.root / ".staging").glob("*.tmp"))


def test_importing_our_own_link_is_skipped_not_moved(lib, tmp_path, comfy_tree):
    from model_shapes import KOHYA_LORA

    lib.add_app(comfy_tree)
    m = lib.import_paths([write_safetensors(tmp_path / "mine.safetensors", KOHYA_LORA)])["imported"][0]
    link = comfy_tree / "models" / "loras" / "mine.safetensors"
    assert link.is_symlink()
    report = lib.import_paths([link], mode="move")
    assert report["imported"] == [] and report["skipped"][0]["reason"] == "already in the library"
    assert link.resolve() == (lib.root / os.path.relpath(m["path"], lib.root) / m["files"][0]["name"]).resolve()


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs a second file system (/dev/shm)")
def test_move_across_file_systems_copies_then_removes_source(lib, real):
    import tempfile

    if os.stat("/dev/shm").st_dev == os.stat(lib.root).st_dev:
        pytest.skip("/dev/shm is on the library's file system here")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
        src = os.path.join(d, "cross.safetensors")
        with open(src, "wb") as f:
            f.write(real("silero/silero_vad_16k.safetensors").read_bytes())
        m = lib.import_paths([src], mode="move")["imported"][0]
        assert not os.path.exists(src)
        assert any("another file system" in n for n in m["import_notices"])
        assert m["hashes"]["sha256"] == "c59271c284ae9c8335d795d60e0bfdb71aaaceec578d9bd9ffc1b8153c319ea1"

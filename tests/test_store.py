"""ModelStore and staging ownership: umask-following modes, adoption of an interrupted commit,
stages of live processes left alone (issue 7, item 5)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from model_shapes import KOHYA_LORA, SD15_CHECKPOINT
from st_writer import write_safetensors

from pumas_core.facade import Library

ENV = {**os.environ, "PUMAS_OFFLINE": "1"}


def _cli(root, state, *args, umask=None, check=True):
    proc = subprocess.run([sys.executable, "-m", "pumas_core.cli.main", "--library", str(root), "--state", str(state),
                           "--json", *args], capture_output=True, text=True, env=ENV,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout) if proc.stdout.strip() else None


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_metadata_and_folders_follow_the_umask(lib_dirs, tmp_path, umask):
    root, state = lib_dirs
    src = write_safetensors(tmp_path / "m.safetensors", KOHYA_LORA)
    out = _cli(root, state, "import", str(src), "--no-lookup", umask=umask)
    model_dir = Path(out["imported"][0]["path"])
    assert stat.S_IMODE(os.stat(model_dir / "metadata.json").st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(os.stat(model_dir / out["imported"][0]["files"][0]["name"]).st_mode) == 0o666 & ~umask
    for d in (model_dir, model_dir.parent, model_dir.parent.parent):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o777 & ~umask, d
    # a rewrite (manual edit) keeps following the umask, not mkstemp's 0600
    with Library.open(root, state) as lib:
        old = os.umask(umask)
        try:
            lib.update_metadata(out["imported"][0]["model_id"], {"description": "edited"})
        finally:
            os.umask(old)
    assert stat.S_IMODE(os.stat(model_dir / "metadata.json").st_mode) == 0o666 & ~umask


KILL_BEFORE_INDEX = textwrap.dedent("""
    import os, sys
    from pumas_core.library.index import ModelIndex
    ModelIndex.upsert = lambda self, meta, model_dir: os._exit(9)  # killed after the rename, before the index
    from pumas_core.cli.main import main
    main(sys.argv[1:])
""")


def test_model_renamed_into_place_but_not_indexed_is_adopted_on_open(lib_dirs, tmp_path):
    root, state = lib_dirs
    src = write_safetensors(tmp_path / "user" / "precious.safetensors", SD15_CHECKPOINT)
    data = src.read_bytes()
    proc = subprocess.run([sys.executable, "-c", KILL_BEFORE_INDEX, "--library", str(root), "--state", str(state),
                           "--json", "import", str(src), "--mode", "move", "--no-lookup"],
                          capture_output=True, text=True, env=ENV)
    assert proc.returncode == 9
    assert not src.exists()  # move mode: the user's file is now inside the library...
    assert list((root / ".staging").glob("*.intent"))
    listed = _cli(root, state, "list")["models"]  # ...and the next plain open shows it
    assert [m["official_name"] for m in listed] == ["precious.safetensors"]
    model_dir = Path(listed[0]["path"])
    assert (model_dir / "precious.safetensors").read_bytes() == data
    assert not (model_dir / ".pumas-move.json").exists()
    assert sorted(p.name for p in (root / ".staging").iterdir() if p.name != "library.lock") == []
    again = write_safetensors(tmp_path / "again" / "precious.safetensors", SD15_CHECKPOINT)
    out = _cli(root, state, "import", str(again), "--no-lookup")
    assert out["imported"] == [] and out["skipped"][0]["reason"] == "already in the library"
    assert len(_cli(root, state, "list")["models"]) == 1


HOLD_STAGE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from pumas_core.ingest.staging import new_stage
    stage = new_stage(Path(sys.argv[1]))
    (stage / "half.safetensors").write_bytes(b"in progress")
    print(stage.path, flush=True)
    sys.stdin.read()  # hold the stage until killed
""")


def test_recovery_leaves_a_live_process_stage_alone_and_cleans_it_once_dead(lib_dirs):
    root, state = lib_dirs
    Library.open(root, state).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_STAGE, str(root)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        stage = Path(holder.stdout.readline().strip())
        for _ in range(3):
            with Library.open(root, state) as lib:
                assert lib.recovery_notes == []
            assert (stage / "half.safetensors").read_bytes() == b"in progress"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with Library.open(root, state) as lib:
        assert any(stage.name in n for n in lib.recovery_notes)
    assert not stage.exists()
    assert sorted(p.name for p in (root / ".staging").iterdir() if p.name != "library.lock") == []


def test_an_os_error_names_the_file_that_failed_not_the_source(lib_dirs):
    root, state = lib_dirs
    with Library.open(root, state) as lib:
        staged = str(root / ".staging" / "abc.tmp" / "x.safetensors")

        def fails():
            raise FileNotFoundError(2, "No such file or directory", staged)

        report = {"imported": [], "skipped": [], "failed": []}
        lib._run_unit(report, "/home/u/x.safetensors", fails)
        assert report["failed"][0]["error"].startswith(staged + ":")
        assert report["failed"][0]["path"] == "/home/u/x.safetensors"


def test_lock_is_reentrant_and_serialises_threads(lib_dirs):
    import threading
    import time

    root, state = lib_dirs
    with Library.open(root, state) as lib:
        order = []

        def other():
            with lib.store.lock():
                order.append("other")

        with lib.store.lock(), lib.store.lock():  # re-entrant
            t = threading.Thread(target=other)
            t.start()
            time.sleep(0.2)
            order.append("first")
        t.join(5)
        assert order == ["first", "other"]


def test_reimport_of_a_complete_folder_the_index_lost_indexes_it_without_a_twin(lib_dirs, tmp_path):
    from pumas_core.library.deepscan import iter_model_dirs

    root, state = lib_dirs
    src = write_safetensors(tmp_path / "m.safetensors", KOHYA_LORA)
    with Library.open(root, state) as lib:
        model = lib.import_paths([src], lookup=False)["imported"][0]
        lib.index.delete(model["model_id"])  # an older version crashed before indexing: the folder is hidden
        assert lib.list_models() == []
        out = lib.import_paths([src], lookup=False)
        assert [m["model_id"] for m in out["imported"]] == [model["model_id"]]
        assert out["imported"][0]["path"] == model["path"] and out["imported"][0]["adopted"] is True
        assert [m["model_id"] for m in lib.list_models()] == [model["model_id"]]
    assert len(list(iter_model_dirs(root))) == 1

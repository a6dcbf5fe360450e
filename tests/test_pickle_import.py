"""The pickle gate through the importer: picklescan's samples, crafted attacks, real torch files."""

from __future__ import annotations

import json
import shutil

import pytest
from pickle_craft import ATTACKS, legacy_file, state_dict, torch_zip
from realdata import PICKLE_SAMPLES

from pumas_core.library.metadata import read_metadata
from pumas_core.security.pickle_gate import check_pickle_file

# Samples that are no model file at all (a PNG, junk, an encrypted zip of a text file): refused by
# content before the pickle gate is reached.
NOT_MODELS = {"bad_pytorch.pt", "not_a_pickle.bin", "benign_password_protected.zip"}


def _expected() -> dict:
    p = PICKLE_SAMPLES / "expected.json"
    return json.loads(p.read_text()) if p.exists() else {}


def _placeholder(name: str) -> bool:
    # picklescan's name for a STACK_GLOBAL it could not resolve (e.g. "_rebuild_tensor.unknown")
    return name.endswith(".unknown")


@pytest.mark.parametrize("name", sorted(_expected()) or ["malicious1_v3.pkl"])
def test_sample_behaves_as_expected(name, pickles, lib, tmp_path):
    path = pickles(name)
    dangerous = _expected()[name]["dangerous_globals"]
    verdict = check_pickle_file(path)
    if dangerous:
        assert not verdict.allowed
        if not name.endswith(".7z"):  # a 7z archive is not a pickle container Pumas reads
            for g in dangerous:
                if _placeholder(g):
                    assert any("STACK_GLOBAL" in p for p in verdict.problems)
                else:
                    assert g in verdict.offending and g in verdict.reason()
    src = tmp_path / name
    shutil.copyfile(path, src)
    report = lib.import_paths([src], accept_pickle=True)
    if dangerous:
        assert report["imported"] == [] and len(report["failed"]) == 1
        failed = report["failed"][0]
        # 7z: refused by name and content at planning; zips without a torch data.pkl: not a model
        assert failed["code"] in (("bad_input", "unsupported_format") if name.endswith(".7z")
                                  else ("unsafe_pickle", "unsupported_format"))
        if failed["code"] == "unsafe_pickle":
            named = [g for g in dangerous if not _placeholder(g)]
            assert all(g in failed["error"] for g in named) and (named or "STACK_GLOBAL" in failed["error"])
    elif name in NOT_MODELS:
        assert report["imported"] == [] and report["failed"][0]["code"] == "unsupported_format"
    else:
        assert verdict.allowed and report["failed"] == [] and len(report["imported"]) == 1
        meta = read_metadata(report["imported"][0]["path"])
        scan = meta["pickle_scan"][name]
        assert scan["allowlist"] == "passed" and scan["dangerous"] == []
    assert lib.list_models() == [] or not dangerous


@pytest.mark.parametrize("wrap", ["plain", "torch_zip", "legacy"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_crafted_attacks_refused_on_import(attack, wrap, lib, tmp_path):
    build, names = ATTACKS[attack]
    data = build(True)
    if wrap == "plain":
        src = tmp_path / "model.pkl"
        src.write_bytes(data)
    elif wrap == "torch_zip":
        src = torch_zip(tmp_path / "model.pt", data)
    else:
        src = legacy_file(tmp_path / "model.pth", data)
    report = lib.import_paths([src], accept_pickle=True)
    assert report["imported"] == [] and report["failed"][0]["code"] == "unsafe_pickle"
    assert all(n in report["failed"][0]["error"] for n in names)
    assert lib.list_models() == [] and src.exists()


def test_crafted_state_dicts_import(lib, tmp_path):
    paths = [legacy_file(tmp_path / "legacy.pth", state_dict()),
             torch_zip(tmp_path / "zipped.pt", state_dict(with_numpy=True))]
    report = lib.import_paths(paths, accept_pickle=True)
    assert report["failed"] == [] and len(report["imported"]) == 2


@pytest.mark.parametrize("rel", ["facenet/onet.pt", "facenet/pnet.pt", "facenet/rnet.pt",
                                 "lpips/v0.0/alex.pth", "lpips/v0.0/squeeze.pth", "lpips/v0.0/vgg.pth",
                                 "lpips/v0.1/alex.pth", "lpips/v0.1/squeeze.pth", "lpips/v0.1/vgg.pth"])
def test_real_legacy_torch_files_import_with_accept_pickle(rel, real, lib, tmp_path):
    src = tmp_path / rel.replace("/", "_")
    shutil.copyfile(real(rel), src)
    verdict = check_pickle_file(src)
    assert verdict.allowed and verdict.kind == "legacy" and len(verdict.streams) == 5
    refused = lib.import_paths([src])
    assert refused["failed"][0]["code"] == "pickle_not_accepted"
    report = lib.import_paths([src], accept_pickle=True)
    assert report["failed"] == [] and len(report["imported"]) == 1
    scan = read_metadata(report["imported"][0]["path"])["pickle_scan"][src.name]
    assert scan["allowlist"] == "passed" and "collections.OrderedDict" in scan["globals"]


def test_torchscript_needs_accept_then_checked(real, lib, tmp_path):
    crafted = torch_zip(tmp_path / "scripted.pt", state_dict(), code=True)
    assert lib.import_paths([crafted])["failed"][0]["code"] == "pickle_not_accepted"
    assert len(lib.import_paths([crafted], accept_pickle=True)["imported"]) == 1
    evil = torch_zip(tmp_path / "evil_script.pt", ATTACKS["runsource"][0](True), code=True)
    bad = lib.import_paths([evil], accept_pickle=True)["failed"][0]
    assert bad["code"] == "unsafe_pickle" and "code.InteractiveInterpreter.runsource" in bad["error"]
    # a real TorchScript archive: its data.pkl rebuilds __torch__ classes, which are code
    jit = tmp_path / "silero_vad.jit"
    shutil.copyfile(real("silero/silero_vad.jit"), jit)
    refused = lib.import_paths([jit], accept_pickle=True)["failed"][0]
    assert refused["code"] == "unsafe_pickle" and "__torch__." in refused["error"]


def test_cli_json_names_the_globals_of_a_refused_folder_member(lib_dirs, real, tmp_path):
    import os
    import subprocess
    import sys

    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copyfile(real("facenet/pnet.pt"), folder / "pnet.pt")
    torch_zip(folder / "evil.pt", ATTACKS["write_text"][0](True))
    (folder / "evil.pkl").write_bytes(ATTACKS["vars_get_import"][0](False))
    root, state = lib_dirs
    proc = subprocess.run([sys.executable, "-m", "pumas_core.cli.main", "--library", str(root), "--state", str(state),
                           "--json", "import", "--accept-pickle", str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PUMAS_OFFLINE": "1"})
    out = json.loads(proc.stdout)
    assert [m["official_name"] for m in out["imported"]] == ["pnet.pt"]
    failed = {os.path.basename(f["path"]): f for f in out["failed"]}
    assert set(failed) == {"evil.pt", "evil.pkl"} and all(f["code"] == "unsafe_pickle" for f in failed.values())
    assert "pathlib.Path.write_text" in failed["evil.pt"]["error"]
    assert "builtins.vars" in failed["evil.pkl"]["error"] and "builtins.dict.get" in failed["evil.pkl"]["error"]

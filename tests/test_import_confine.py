"""Core confinement of folder imports (``within_roots``) and the chunked upload sink (``begin_upload``)."""

from __future__ import annotations

import os
import shutil

import pytest
from fixture_builders import build_diffusion_folder

from pumas_core.errors import BadInputError

SILERO = "silero/silero_vad_16k.safetensors"


@pytest.fixture
def roots(tmp_path):
    inside, outside = tmp_path / "incoming", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    return inside, outside


def test_file_symlink_out_of_roots_not_imported(lib, roots, real):
    inside, outside = roots
    secret = outside / "secret.safetensors"
    shutil.copyfile(real(SILERO), secret)
    shutil.copyfile(real("minilm/model.safetensors"), inside / "ok.safetensors")
    os.symlink(secret, inside / "link.safetensors")
    report = lib.import_paths([inside], within_roots=[inside])
    assert [m["official_name"] for m in report["imported"]] == ["ok.safetensors"]
    (failed,) = report["failed"]
    assert failed["code"] == "path_not_allowed" and str(secret) in failed["error"]
    # without confinement (the CLI: the user's own shell) the link is followed as before
    assert len(lib.import_paths([inside])["imported"]) == 1


def test_directory_symlink_out_of_roots_not_walked_into(lib, roots, real):
    inside, outside = roots
    shutil.copyfile(real(SILERO), outside / "far.safetensors")
    os.symlink(outside, inside / "elsewhere")
    report = lib.import_paths([inside], within_roots=[inside])
    assert report["imported"] == [] and report["failed"][0]["code"] == "path_not_allowed"
    assert lib.list_models() == []


def test_companion_file_escaping_fails_the_whole_folder_model(lib, roots):
    inside, outside = roots
    folder = build_diffusion_folder(inside / "sd15")
    (outside / "leak.txt").write_text("not yours")
    os.remove(folder / "tokenizer" / "vocab.txt")
    os.symlink(outside / "leak.txt", folder / "tokenizer" / "vocab.txt")
    report = lib.import_paths([folder], within_roots=[inside])
    assert report["imported"] == [] and report["failed"][0]["code"] == "path_not_allowed"
    assert "vocab.txt" in report["failed"][0]["path"]
    assert len(lib.import_paths([folder], within_roots=[inside, outside])["imported"]) == 1


def test_roots_reached_through_symlinks_still_match(lib, roots, real, tmp_path):
    inside, _ = roots
    shutil.copyfile(real(SILERO), inside / "m.safetensors")
    alias = tmp_path / "alias"
    os.symlink(inside, alias)
    report = lib.import_paths([alias], within_roots=[alias])
    assert report["failed"] == [] and len(report["imported"]) == 1


def test_upload_sink_chunks_commit_and_abort(lib, real):
    data = real(SILERO).read_bytes()
    up = lib.begin_upload("silero.safetensors", size=len(data))
    for i in range(0, len(data), 1000):
        up.write(data[i:i + 1000])
    report = up.finish()
    assert report["failed"] == [] and report["imported"][0]["files"][0]["size"] == len(data)
    staging = lib.root / ".staging"
    up = lib.begin_upload("partial.safetensors", size=len(data))
    up.write(data[:500])
    assert any(staging.rglob("partial.safetensors"))
    up.abort()
    up.abort()  # idempotent
    # only the writers' lock file stays (pumas_core.library.store): no staged bytes, no owner locks
    assert [p.name for p in staging.rglob("*") if p.is_file()] == ["library.lock"]
    short = lib.begin_upload("short.safetensors", size=len(data))
    short.write(data[:100])
    failed = short.finish()["failed"][0]
    assert "after 100 of" in failed["error"]
    assert [p.name for p in staging.rglob("*") if p.is_file()] == ["library.lock"]
    with pytest.raises(BadInputError):
        lib.begin_upload("..")

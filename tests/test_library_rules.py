"""Issue 13 rules for the library store layer: the metadata.json TypedDict and vocabularies, one NTFS
name rule for folders and links, and errors a caller can handle (WriteFailedError / FileMissingError
with ``path``, a full disk left as ENOSPC for the import's own message)."""

from __future__ import annotations

import errno
import os

import pytest

from pumas_core import atomic, vocab
from pumas_core.config import save_config
from pumas_core.errors import (
    CorruptFileError,
    FileMissingError,
    NotFoundError,
    PumasError,
    WriteFailedError,
)
from pumas_core.library import metadata
from pumas_core.library.index import ModelIndex
from pumas_core.library.store import ModelStore
from pumas_core.links.names import safe_link_name
from pumas_core.naming import clean_name, is_reserved
from pumas_core.security.pickle_scan import scan_pickle


def _meta(mid: str = "1" * 64, name: str = "a.safetensors") -> dict[str, object]:
    return {"schema_version": 1, "model_id": mid, "official_name": name, "cleaned_name": "a",
            "category": "loras", "family": "sdxl", "model_type": vocab.ModelType.LORA,
            "format": vocab.UnitKind.SINGLE_FILE, "file_format": vocab.FileFormat.SAFETENSORS,
            "files": [{"name": name, "size": 4, "sha256": "a" * 64, "blake3": mid}],
            "hashes": {"sha256": "a" * 64, "blake3": mid}, "size_bytes": 4, "added_date": "x",
            "updated_date": "x", "security_tier": vocab.SecurityTier.SAFE, "match_source": vocab.MatchSource.NONE,
            "trust": vocab.Trust.NONE, "pending_online_lookup": False, "tags": [], "description": ""}


def test_metadata_schema_spelled_once():
    assert metadata.REQUIRED_KEYS == (
        "schema_version", "model_id", "official_name", "cleaned_name", "category", "family", "model_type",
        "format", "file_format", "files", "hashes", "size_bytes", "added_date", "updated_date", "security_tier",
        "match_source", "trust", "pending_online_lookup", "tags", "description")
    assert set(metadata.REQUIRED_KEYS) == metadata.ModelMetadata.__required_keys__
    enumerated = (metadata.FORMATS, metadata.TRUSTS, metadata.MATCH_SOURCES)
    assert enumerated == tuple(vocab.values(e) for e in (vocab.UnitKind, vocab.Trust, vocab.MatchSource))


def test_metadata_errors_name_the_file(tmp_path):
    (tmp_path / "metadata.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(CorruptFileError) as info:
        metadata.read_metadata(tmp_path)
    assert info.value.path == str(tmp_path / "metadata.json")
    bad = {**_meta(), "trust": "absolute"}
    with pytest.raises(CorruptFileError, match="trust='absolute'"):
        metadata.write_metadata(tmp_path, bad)


@pytest.mark.parametrize("name", ["CON", "aux.safetensors", "LPT1.txt", "nul.tar.gz", "com\u00b9.bin", "Com0"])
def test_one_reserved_name_rule_for_folders_and_links(name):
    assert is_reserved(name)
    assert clean_name(name) == safe_link_name(name) == "_" + name


@pytest.mark.parametrize("name", ["CONSOLE.txt", "con_x.pt", "lpt10.bin", "_CON.safetensors"])
def test_names_that_only_look_reserved_are_kept(name):
    assert not is_reserved(name) and clean_name(name) == safe_link_name(name) == name


def test_atomic_write_failure_is_write_failed_with_path(tmp_path, monkeypatch):
    target = tmp_path / "config.json"
    target.write_text("old", encoding="utf-8")

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", dst)

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(WriteFailedError) as info:
        atomic.atomic_write_text(target, "new")
    err = info.value
    assert isinstance(err, OSError) and isinstance(err, PumasError) and err.code == "write_failed"
    assert err.path == err.filename == str(target) and err.errno == errno.EACCES
    assert str(err) == f"{target}: cannot write (Permission denied)"
    assert target.read_text(encoding="utf-8") == "old" and os.listdir(tmp_path) == ["config.json"]


def test_atomic_write_into_a_missing_folder_is_file_missing(tmp_path):
    with pytest.raises(FileMissingError) as info:
        atomic.atomic_write_text(tmp_path / "gone" / "x.json", "{}")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, NotFoundError)
    assert info.value.path == str(tmp_path / "gone" / "x.json")


def test_a_full_disk_stays_enospc_for_the_caller(tmp_path, monkeypatch):
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OSError) as info:
        atomic.atomic_write_text(tmp_path / "x.json", "{}")
    assert info.value.errno == errno.ENOSPC and not isinstance(info.value, PumasError)
    assert os.listdir(tmp_path) == []


def test_save_config_names_the_state_dir_it_cannot_create(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(WriteFailedError) as info:
        save_config(blocker / "state", {"lookups": False})
    assert info.value.path == str(blocker / "state")


def test_store_update_validates_before_writing(tmp_path):
    root = tmp_path / "lib"
    model_dir = root / "loras" / "sdxl" / "a"
    model_dir.mkdir(parents=True)
    (model_dir / "a.safetensors").write_bytes(b"abcd")
    store = ModelStore(root, ModelIndex(root / "models.db", root))
    store.save(model_dir, _meta())
    before = (model_dir / "metadata.json").read_bytes()

    def break_it(meta: dict[str, object]) -> dict[str, object]:
        meta["security_tier"] = "maybe"
        return meta

    with pytest.raises(CorruptFileError):
        store.update("1" * 64, break_it)
    assert (model_dir / "metadata.json").read_bytes() == before
    written = store.update("1" * 64, lambda m: {**m, "tags": ["style"]})
    assert written is not None and written["tags"] == ["style"]
    model = store.get("1" * 64)
    assert model is not None and model["tags"] == ["style"]
    store.index.close()


def test_scan_of_a_missing_pickle_is_file_missing(tmp_path):
    with pytest.raises(FileMissingError) as info:
        scan_pickle(tmp_path / "nope.pt")
    assert isinstance(info.value, FileNotFoundError) and info.value.path == str(tmp_path / "nope.pt")

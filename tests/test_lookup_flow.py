"""Offline-first identity lookup through the Library facade, against loopback fake Hub/CivitAI."""

from __future__ import annotations

import time

import pytest

from pumas_core.facade import Library
from pumas_core.library.metadata import read_metadata
from pumas_core.remote import RemoteLookup

MINILM_REPO = "sentence-transformers/all-MiniLM-L6-v2"


def _library(lib_dirs, hf, civ, **kw):
    root, state = lib_dirs
    remote = RemoteLookup(state, hf_endpoint=hf, civitai_endpoint=civ, timeout=kw.pop("timeout", 0.5))
    return Library.open(root, state, remote=remote)


def test_import_with_hub_online_is_verified(lib_dirs, minilm_hub, civitai, real, monkeypatch):
    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    lib = _library(lib_dirs, minilm_hub.url, civitai.url)
    try:
        m = lib.import_paths([real("minilm/model.safetensors")])["imported"][0]
        assert lib.wait_for_lookups(timeout=20)
        meta = read_metadata(m["path"])
        assert meta["trust"] == "verified" and meta["match_source"] == "hash", meta.get("lookup_errors")
        assert meta["huggingface"]["repo_id"] == MINILM_REPO and meta["pending_online_lookup"] is False
        assert minilm_hub.total_calls() <= 4
        assert lib.get_model(m["model_id"])["trust"] == "verified"  # the index follows metadata.json
    finally:
        lib.close()


def test_hub_unreachable_import_is_local_speed_then_lookup_completes(lib_dirs, minilm_hub, civitai, real,
                                                                      closed_port_url, monkeypatch):
    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    lib = _library(lib_dirs, closed_port_url, closed_port_url)
    try:
        t0 = time.perf_counter()
        m = lib.import_paths([real("minilm/model.safetensors")], lookup=True)["imported"][0]
        import_seconds = time.perf_counter() - t0
        assert lib.wait_for_lookups(timeout=20)
        meta = read_metadata(m["path"])
        assert meta["pending_online_lookup"] is True and meta["trust"] == "none"
        assert import_seconds < 30  # never waited on the network (no timed assertion of speed itself)
    finally:
        lib.close()
    # later, with the Hub back: `pumas lookup` completes it
    from pumas_core.remote.resilience import reset_guards

    reset_guards()
    lib = _library(lib_dirs, minilm_hub.url, civitai.url)
    try:
        res = lib.lookup()
        assert res["updated"] == [m["model_id"]]
        assert read_metadata(m["path"])["trust"] == "verified"
    finally:
        lib.close()


def test_manual_metadata_is_never_overwritten(lib_dirs, minilm_hub, civitai, real, monkeypatch):
    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    lib = _library(lib_dirs, minilm_hub.url, civitai.url)
    try:
        m = lib.import_paths([real("minilm/model.safetensors")], lookup=False)["imported"][0]
        lib.update_metadata(m["model_id"], {"model_type": "clip_vision", "base_model": "mine"})
        lib.lookup([m["model_id"]], force=True)
        meta = read_metadata(m["path"])
        assert meta["match_source"] == "manual" and meta["model_type"] == "clip_vision"
        assert meta["base_model"] == "mine" and meta.get("huggingface") is None
    finally:
        lib.close()


@pytest.mark.parametrize("offline_env", ["1"])
def test_offline_env_sends_nothing(lib_dirs, minilm_hub, civitai, real, monkeypatch, offline_env):
    monkeypatch.setenv("PUMAS_OFFLINE", offline_env)
    lib = _library(lib_dirs, minilm_hub.url, civitai.url)
    try:
        m = lib.import_paths([real("minilm/model.safetensors")])["imported"][0]
        lib.wait_for_lookups(timeout=10)
        assert minilm_hub.total_calls() == 0 and civitai.total_calls() == 0
        assert read_metadata(m["path"])["pending_online_lookup"] is True
    finally:
        lib.close()


def test_download_from_hub_is_verified_and_imported(lib_dirs, minilm_hub, civitai, monkeypatch):
    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    lib = _library(lib_dirs, minilm_hub.url, civitai.url)
    try:
        report = lib.download(MINILM_REPO, ["model.safetensors"])
        assert report["failed"] == [] and report["downloaded"] == ["model.safetensors"]
        m = report["imported"][0]
        assert m["hashes"]["sha256"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
        assert not (lib.root / ".staging" / "downloads" / MINILM_REPO.replace("/", "__")).exists()
        lib.wait_for_lookups(timeout=20)
        assert read_metadata(m["path"])["huggingface"]["repo_id"] == MINILM_REPO
        from pumas_core.errors import NotFoundError

        with pytest.raises(NotFoundError):
            lib.download(MINILM_REPO, ["nope.safetensors"])
    finally:
        lib.close()


def test_background_retry_completes_pending_when_hub_returns(lib_dirs, minilm_hub, civitai, real, monkeypatch):
    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    minilm_hub.fail_next(2, "500")  # the import-time lookup fails, the Hub recovers afterwards
    lib = _library(lib_dirs, minilm_hub.url, civitai.url)
    try:
        m = lib.import_paths([real("minilm/model.safetensors")])["imported"][0]
        lib.wait_for_lookups(timeout=20)
        assert read_metadata(m["path"])["pending_online_lookup"] is True
        lib.start_background_lookups(interval=0.2)
        deadline = time.time() + 15
        while time.time() < deadline and read_metadata(m["path"])["pending_online_lookup"]:
            time.sleep(0.1)
        assert read_metadata(m["path"])["trust"] == "verified"
    finally:
        lib.close()


def test_download_missing_shards_completes_the_set(lib_dirs, hub, civitai, minilm_sharded_set, tmp_path,
                                                   monkeypatch):
    from fakes.hub import FakeRepo, file_from_path
    from fixture_builders import clone_tree

    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    folder = minilm_sharded_set.folder
    names = [*minilm_sharded_set.shards, minilm_sharded_set.index]
    hub.add_repo(FakeRepo("acme/minilm-sharded", "c" * 40, [file_from_path(folder / n, n) for n in names]))
    src = clone_tree(folder, tmp_path / "minilm-sharded")
    gone = minilm_sharded_set.shards[1]
    (src / gone).unlink()
    lib = _library(lib_dirs, hub.url, civitai.url)
    try:
        old = lib.import_paths([src], lookup=False)["imported"][0]
        assert old["complete"] is False
        lib.update_metadata(old["model_id"], {"huggingface": {"repo_id": "acme/minilm-sharded", "revision": "c" * 40,
                                                              "path": minilm_sharded_set.shards[0]}})
        report = lib.download_missing(old["model_id"])
        new = report["imported"][0]
        assert new["complete"] is True and report["replaced"] == old["model_id"]
        assert gone in [f["name"] for f in new["files"]]
        assert [m["model_id"] for m in lib.list_models()] == [new["model_id"]]
    finally:
        lib.close()


def test_cli_import_prints_then_reports_identity(lib_dirs, minilm_hub, civitai, real, monkeypatch, capsys):
    from pumas_core.cli.main import main

    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", minilm_hub.url)
    monkeypatch.setenv("PUMAS_CIVITAI_ENDPOINT", civitai.url)
    root, state = lib_dirs
    assert main(["--library", str(root), "--state", str(state), "import", str(real("minilm/model.safetensors"))]) == 0
    out = capsys.readouterr().out
    assert out.index("imported ") < out.index("identity ")
    assert f"verified (hash): {MINILM_REPO}" in out

"""Verified Hub downloads (huggingface_hub.hf_hub_download) against the loopback fake Hub."""

from __future__ import annotations

import hashlib

import pytest
from fakes.hub import MINILM_REPO, FakeRepo, file_from_path

from pumas_core.errors import CorruptFileError, NotFoundError
from pumas_core.remote import download_from_hub
from pumas_core.remote.download import RemoteUnavailableError

SILERO_REPO = "snakers4/silero-vad"


@pytest.fixture
def silero_hub(minilm_hub, real):
    path = real("silero/silero_vad_16k.safetensors")
    minilm_hub.add_repo(FakeRepo(SILERO_REPO, "a" * 40, [file_from_path(path, "silero_vad_16k.safetensors")]))
    return minilm_hub, path


def test_lfs_file_download_verified_by_sha256(tmp_path, silero_hub):
    fake, src = silero_hub
    events = []
    out = download_from_hub(SILERO_REPO, "silero_vad_16k.safetensors", tmp_path / "staging",
                            endpoint=fake.url, progress=events.append)
    assert out == tmp_path / "staging" / "silero_vad_16k.safetensors"
    assert hashlib.sha256(out.read_bytes()).hexdigest() == \
        "c59271c284ae9c8335d795d60e0bfdb71aaaceec578d9bd9ffc1b8153c319ea1"
    assert events and events[-1]["bytes_done"] == src.stat().st_size and events[-1]["stage"] == "downloading"


def test_plain_git_file_verified_by_blob_oid(tmp_path, minilm_hub, real):
    out = download_from_hub(MINILM_REPO, "1_Pooling/config.json", tmp_path / "st", endpoint=minilm_hub.url)
    assert out.read_bytes() == real("minilm/1_Pooling/config.json").read_bytes()


def test_tampered_download_rejected_and_deleted(tmp_path, silero_hub):
    fake, src = silero_hub
    data = bytearray(src.read_bytes())
    data[5000] ^= 0xFF
    fake.tampered[(SILERO_REPO, "silero_vad_16k.safetensors")] = bytes(data)
    with pytest.raises(CorruptFileError) as info:
        download_from_hub(SILERO_REPO, "silero_vad_16k.safetensors", tmp_path / "st", endpoint=fake.url)
    msg = str(info.value)
    assert "silero_vad_16k.safetensors" in msg and "does not match" in msg and "\n" not in msg
    assert not (tmp_path / "st" / "silero_vad_16k.safetensors").exists()


def test_missing_file_and_unreachable_hub(tmp_path, minilm_hub, closed_port_url):
    with pytest.raises(NotFoundError):
        download_from_hub(MINILM_REPO, "nope.bin", tmp_path / "st", endpoint=minilm_hub.url)
    with pytest.raises(NotFoundError):
        download_from_hub("no-such/repo", "x.bin", tmp_path / "st", endpoint=minilm_hub.url)
    with pytest.raises(RemoteUnavailableError):
        download_from_hub(MINILM_REPO, "config.json", tmp_path / "st", endpoint=closed_port_url, timeout=0.5)

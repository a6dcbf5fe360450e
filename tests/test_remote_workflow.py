"""A workflow's missing model downloaded from the loopback fake Hub, verified, imported and linked."""

from __future__ import annotations

import os

import pytest
from conftest import real_file
from fakes.hub import FakeRepo, file_from_path
from workflow_support import SILERO, load_template, set_model_hash, sha256_file, template

from pumas_core.facade import Library
from pumas_core.library.metadata import read_metadata
from pumas_core.remote import RemoteLookup
from pumas_core.workflows.fetch import hf_parts

VAE_REPO = "Comfy-Org/Lumina_Image_2.0_Repackaged"
VAE_PATH = "split_files/vae/ae.safetensors"


@pytest.fixture
def lib(lib_dirs, hub, civitai, monkeypatch):
    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    root, state = lib_dirs
    hub.add_repo(FakeRepo(VAE_REPO, "c" * 40, [file_from_path(real_file(SILERO), VAE_PATH)]))
    remote = RemoteLookup(state, hf_endpoint=hub.url, civitai_endpoint=civitai.url, timeout=2.0)
    with Library.open(root, state, remote=remote) as library:
        yield library


def _ref(result, name):
    return next(r for r in result["references"] if r["name"] == name)


def test_missing_model_downloaded_verified_and_linked(lib, comfy_tree, hub):
    wf = template("flux_schnell_full_text_to_image.json")  # its VAE URL is a huggingface.co resolve URL
    before = sha256_file(wf)
    dry = lib.resolve_workflow(wf, comfyui_dir=comfy_tree, download=True, dry_run=True)
    assert dry["downloaded"] == 0 and _ref(dry, "ae.safetensors")["status"] == "missing"
    r = lib.resolve_workflow(wf, comfyui_dir=comfy_tree, download=True)
    ref = _ref(r, "ae.safetensors")
    assert r["downloaded"] == 1 and ref["status"] == "linked" and ref["matched_by"] == "name"
    link = comfy_tree / "models" / "vae" / "ae.safetensors"
    assert os.path.islink(link) and sha256_file(link) == sha256_file(real_file(SILERO))
    model = lib.get_model(ref["model_id"])
    meta = read_metadata(model["path"])
    assert meta["trust"] == "verified" and meta["huggingface"]["repo_id"] == VAE_REPO
    assert meta["huggingface"]["path"] == VAE_PATH
    # the others have URLs the fake Hub does not serve: they stay missing with the reason
    t5 = _ref(r, "t5xxl_fp16.safetensors")
    assert t5["status"] == "missing" and "download failed" in t5["note"]
    assert not any(p.suffix == ".incomplete" for p in lib.root.rglob("*"))
    again = lib.resolve_workflow(wf, comfyui_dir=comfy_tree, download=True)
    assert again["created"] == 0 and again["downloaded"] == 0 and _ref(again, "ae.safetensors")["status"] == "present"
    assert sha256_file(wf) == before


def test_download_contradicting_workflow_hash_is_refused(lib, comfy_tree, tmp_path):
    doc = set_model_hash(load_template("flux_schnell_full_text_to_image.json"), "ae.safetensors", "1" * 64)
    r = lib.resolve_workflow(doc, comfyui_dir=comfy_tree, download=True)
    ref = _ref(r, "ae.safetensors")
    assert r["downloaded"] == 0 and ref["status"] == "missing" and "does not match the workflow" in ref["note"]
    assert lib.list_models() == [] and not os.path.lexists(comfy_tree / "models" / "vae" / "ae.safetensors")


def test_download_tampered_bytes_rejected_by_hub_hash(lib, comfy_tree, hub):
    data = bytearray(real_file(SILERO).read_bytes())
    data[100] ^= 1
    hub.tampered[(VAE_REPO, VAE_PATH)] = bytes(data)
    r = lib.resolve_workflow(template("flux_schnell_full_text_to_image.json"), comfyui_dir=comfy_tree, download=True)
    assert _ref(r, "ae.safetensors")["status"] == "missing" and lib.list_models() == []


@pytest.mark.parametrize("url,want", [
    ("https://huggingface.co/a/b/resolve/main/x/y.safetensors?download=true", ("a/b", "main", "x/y.safetensors")),
    ("https://hf.co/a/b/resolve/0123/y.gguf", ("a/b", "0123", "y.gguf")),
    ("https://evil.example/a/b/resolve/main/y.safetensors", None),
    ("https://huggingface.co/a/b/blob/main/y.safetensors", None),
    ("https://huggingface.co/a/b/resolve/main/../y", None),
    ("file:///etc/passwd", None),
])
def test_only_hub_resolve_urls(url, want):
    assert hf_parts(url) == want


def test_civitai_download_url_verified_imported_and_linked(lib, comfy_tree, civitai, tmp_path, monkeypatch):
    from fakes.civitai import version_object

    data = real_file(SILERO).read_bytes()
    civitai.add(version_object(sha256_file(real_file(SILERO)), version_id=4242, model_id=42, model_type="LORA",
                               model_name="detail_tweaker"))
    civitai.add_download(4242, data)
    doc = {"nodes": [{"id": 7, "type": "LoraLoaderModelOnly", "widgets_values": ["detail_tweaker.safetensors", 1.0],
                      "properties": {"models": [{"name": "detail_tweaker.safetensors", "directory": "loras",
                                                 "url": "https://civitai.com/api/download/models/4242?type=Model"}]}}]}
    civitai.require_token = "secret"
    r = lib.resolve_workflow(doc, comfyui_dir=comfy_tree, download=True)
    assert r["downloaded"] == 0 and "CIVITAI_API_TOKEN" in r["references"][0]["note"]
    monkeypatch.setenv("CIVITAI_API_TOKEN", "secret")
    r = lib.resolve_workflow(doc, comfyui_dir=comfy_tree, download=True)
    ref = r["references"][0]
    assert r["downloaded"] == 1 and (ref["status"], ref["matched_by"]) == ("linked", "name"), ref
    link = comfy_tree / "models" / "loras" / "detail_tweaker.safetensors"
    assert os.path.islink(link) and link.read_bytes() == data
    meta = read_metadata(lib.get_model(ref["model_id"])["path"])
    assert meta["trust"] == "verified" and meta["civitai"]["version_id"] == 4242


def test_civitai_resume_and_corrupt(tmp_path, civitai):
    from fakes.civitai import version_object

    from pumas_core.errors import CorruptFileError
    from pumas_core.remote.civitai_download import download_from_civitai

    data = real_file(SILERO).read_bytes()
    civitai.add(version_object(sha256_file(real_file(SILERO)), version_id=7, model_id=1, model_name="m"))
    civitai.add_download(7, data)
    dest = tmp_path / "dl"
    dest.mkdir()
    (dest / "m.safetensors.part").write_bytes(data[:1000])  # an interrupted earlier download
    path, version = download_from_civitai(7, dest, base_url=civitai.url)
    assert path.read_bytes() == data and version["id"] == 7 and not (dest / "m.safetensors.part").exists()
    civitai.add_download(7, data[:-1] + b"\0")
    path.unlink()
    with pytest.raises(CorruptFileError, match="does not match CivitAI"):
        download_from_civitai(7, dest, base_url=civitai.url)
    assert list(dest.iterdir()) == []


def test_civitai_urls():
    from pumas_core.workflows.fetch import civitai_version

    assert civitai_version("https://civitai.com/api/download/models/128713?type=Model&format=SafeTensor") == 128713
    assert civitai_version("https://civitai.com/models/128713") is None
    assert civitai_version("https://evil.example/api/download/models/1") is None


def test_download_that_is_already_in_the_library_links_that_model(lib, comfy_tree, tmp_path):
    from workflow_support import staged

    have = lib.import_paths([staged(tmp_path, SILERO, "my_vae_copy.safetensors")], lookup=False)["imported"][0]
    r = lib.resolve_workflow(template("flux_schnell_full_text_to_image.json"), comfyui_dir=comfy_tree, download=True)
    ref = _ref(r, "ae.safetensors")
    assert r["downloaded"] == 1
    assert (ref["status"], ref["matched_by"], ref["model_id"]) == ("linked", "sha256", have["model_id"])
    assert len(lib.list_models()) == 1
    assert os.path.samefile(comfy_tree / "models" / "vae" / "ae.safetensors",
                            os.path.join(have["path"], "my_vae_copy.safetensors"))

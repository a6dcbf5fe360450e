"""HuggingFace + CivitAI identity lookup against loopback fakes seeded from real files."""

from __future__ import annotations

import hashlib

import pytest
from fakes.civitai import version_object
from fakes.hub import MINILM_REPO, MINILM_REV, FakeRepo, file_from_bytes

from pumas_core.remote import LookupQuery, LookupResult, RemoteLookup, ResiliencePolicy, to_metadata_patch
from pumas_core.remote.hf import search_term

MINILM_SHA = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_B3 = "8087e9bf97c265f8435ed268733ecf3791825ad24850fd5d84d89e32ee3a589a"
MINILM_SIZE = 90_868_376


def make(tmp_path, hub, civitai, **kw) -> RemoteLookup:
    kw.setdefault("timeout", 0.5)
    return RemoteLookup(tmp_path / "state", hf_endpoint=hub.url, civitai_endpoint=civitai.url, **kw)


def minilm_query(filename="all-MiniLM-L6-v2.safetensors", sha=MINILM_SHA, size=MINILM_SIZE, name=None):
    return LookupQuery(filename, size, sha, MINILM_B3, "safetensors", name=name)


def test_minilm_verified_by_hash_within_budget(tmp_path, minilm_hub, civitai):
    rl = make(tmp_path, minilm_hub, civitai)
    res = rl.lookup(minilm_query())
    assert (res.match_source, res.trust, res.pending) == ("hash", "verified", False), res.errors
    hf = res.huggingface
    assert hf["repo_id"] == MINILM_REPO and hf["revision"] == MINILM_REV and hf["path"] == "model.safetensors"
    assert hf["url"] == f"{minilm_hub.url}/{MINILM_REPO}/resolve/{MINILM_REV}/model.safetensors"
    assert hf["license"] == "apache-2.0" and hf["pipeline_tag"] == "sentence-similarity"
    assert minilm_hub.total_calls() <= 4
    assert minilm_hub.calls["/api/models"] == 1
    assert civitai.calls[f"/api/v1/model-versions/by-hash/{MINILM_SHA}"] == 1  # 404: not on CivitAI


def test_generic_filename_uses_name_hint(tmp_path, minilm_hub, civitai):
    res = make(tmp_path, minilm_hub, civitai).lookup(minilm_query("model.safetensors", name="all-MiniLM-L6-v2"))
    assert res.trust == "verified" and res.huggingface["repo_id"] == MINILM_REPO
    assert search_term("model.safetensors") is None
    assert search_term("sd_xl_base_1.0-fp16.safetensors") == "sd_xl_base_1.0"


def test_exact_filename_and_size_is_high(tmp_path, minilm_hub, civitai):
    other_sha = hashlib.sha256(b"re-saved copy").hexdigest()
    res = make(tmp_path, minilm_hub, civitai).lookup(minilm_query("model.safetensors", sha=other_sha,
                                                                 name="all-MiniLM-L6-v2"))
    assert (res.match_source, res.trust) == ("filename_exact", "high")
    assert res.huggingface["path"] == "model.safetensors"


def test_similar_name_is_fuzzy_low(tmp_path, minilm_hub, civitai):
    other_sha = hashlib.sha256(b"an fp16 conversion").hexdigest()
    res = make(tmp_path, minilm_hub, civitai).lookup(
        minilm_query("all-minilm-l6-v2-fp16.safetensors", sha=other_sha, size=45_000_000))
    assert (res.match_source, res.trust) == ("filename_fuzzy", "low")
    assert res.huggingface["repo_id"] == MINILM_REPO


def test_unknown_file_is_none_and_not_pending(tmp_path, minilm_hub, civitai):
    res = make(tmp_path, minilm_hub, civitai).lookup(
        LookupQuery("totally-unrelated-thing.gguf", 10, "ab" * 32, "cd" * 32, "gguf"))
    assert (res.match_source, res.trust, res.pending, res.huggingface) == ("none", "none", False, None)


def test_civitai_hit_and_404_remembered(tmp_path, hub, civitai):
    data = b"lora weights " * 100
    sha = hashlib.sha256(data).hexdigest()
    civitai.add(version_object(sha, version_id=2514310, model_id=827184, model_type="LORA",
                               model_name="Detail Tweaker", trained_words=["detailed"]))
    rl = make(tmp_path, hub, civitai)
    res = rl.lookup(LookupQuery("detail_tweaker.safetensors", len(data), sha, "00" * 32, "safetensors"))
    assert (res.match_source, res.trust) == ("hash", "verified")
    civ = res.civitai
    assert civ["type"] == "lora" and civ["model_id"] == 827184 and civ["version_id"] == 2514310
    assert civ["trained_words"] == ["detailed"] and civ["base_model"] == "SDXL 1.0"
    assert civ["page_url"] == f"{civitai.url}/models/827184?modelVersionId=2514310"
    assert civ["preview_url"].endswith("2514310.jpeg")

    missing = LookupQuery("nothing.safetensors", 5, "ef" * 32, "00" * 32, "safetensors")
    assert rl.lookup(missing).civitai is None
    before = civitai.total_calls()
    again = make(tmp_path, hub, civitai)  # a new instance: the 404 is persisted for 7 days
    assert again.lookup(missing).civitai is None
    assert civitai.total_calls() == before


def test_cache_persists_across_instances(tmp_path, minilm_hub, civitai):
    first = make(tmp_path, minilm_hub, civitai).lookup(minilm_query())
    hub_calls, civ_calls = minilm_hub.total_calls(), civitai.total_calls()
    second = make(tmp_path, minilm_hub, civitai).lookup(minilm_query())
    assert second.huggingface == first.huggingface and second.trust == "verified"
    assert (minilm_hub.total_calls(), civitai.total_calls()) == (hub_calls, civ_calls)
    # a different file name for the same bytes is still answered from the hash cache
    make(tmp_path, minilm_hub, civitai).lookup(minilm_query("renamed-by-user.safetensors"))
    assert minilm_hub.total_calls() == hub_calls


def test_renamed_repo_307_is_followed(tmp_path, minilm_hub, civitai):
    minilm_hub.renames["old-org/all-MiniLM-L6-v2"] = MINILM_REPO
    rl = make(tmp_path, minilm_hub, civitai)
    repo = rl.hf.repo("old-org/all-MiniLM-L6-v2")
    assert repo["id"] == MINILM_REPO and repo["sha"] == MINILM_REV
    assert minilm_hub.calls["/api/models/old-org/all-MiniLM-L6-v2"] == 1
    assert minilm_hub.calls[f"/api/models/{MINILM_REPO}"] == 1
    assert any(f["sha256"] == MINILM_SHA for f in repo["files"])


def test_batch_of_50_within_budget_and_throttle(tmp_path, hub, civitai):
    window, max_calls = 0.25, 25
    queries = []
    for i in range(50):
        data = hashlib.sha256(b"%d" % i).digest() * 64
        name = f"widget-{i:02d}.safetensors"
        hub.add_repo(FakeRepo(f"test-org/widget-{i:02d}-model", f"{i:040x}", [file_from_bytes(name, data)]))
        queries.append(LookupQuery(name, len(data), hashlib.sha256(data).hexdigest(), "00" * 32, "safetensors"))
    lora_sha = queries[7].sha256
    civitai.add(version_object(lora_sha, version_id=7, model_id=70))
    rl = make(tmp_path, hub, civitai, policy=ResiliencePolicy(max_calls=max_calls, window=window))
    results = rl.lookup_many(queries)
    assert [r.trust for r in results] == ["verified"] * 50
    assert [r.huggingface["repo_id"] for r in results] == [f"test-org/widget-{i:02d}-model" for i in range(50)]
    assert results[7].civitai["version_id"] == 7 and results[8].civitai is None
    assert hub.total_calls() <= 4 * 50
    assert civitai.calls["/api/v1/model-versions/by-hash"] == 1 and len(civitai.batches[0]) == 50
    assert sum(civitai.calls.values()) == 1
    times = sorted(t for t, _, _ in hub.log)
    worst = max(sum(1 for u in times if t <= u < t + window * 0.8) for t in times)
    assert worst <= max_calls, f"{worst} calls within {window * 0.8}s"


def test_metadata_patch_shapes():
    found = LookupResult("hash", "verified", {"repo_id": "a/b", "revision": "c" * 40, "path": "m.safetensors",
                                              "url": "u", "license": "mit", "tags": ["bert", "license:mit"],
                                              "pipeline_tag": "fill-mask"}, None, False, [])
    patch = to_metadata_patch(found)
    assert patch["match_source"] == "hash" and patch["trust"] == "verified"
    assert patch["pending_online_lookup"] is False and patch["license"] == "mit"
    assert patch["tags"] == ["bert", "fill-mask"]
    pending = to_metadata_patch(LookupResult(pending=True, errors=["x: offline"]))
    assert pending == {"pending_online_lookup": True, "lookup_errors": ["x: offline"]}
    nothing = to_metadata_patch(LookupResult())
    assert nothing["match_source"] == "none" and nothing["pending_online_lookup"] is False


@pytest.mark.parametrize("ctype,ours", [("Checkpoint", "checkpoint"), ("LORA", "lora"), ("LoCon", "lora"),
                                        ("TextualInversion", "embedding"), ("VAE", "vae"),
                                        ("Controlnet", "controlnet"), ("Upscaler", "upscale_model"),
                                        ("Hypernetwork", "hypernetwork"), ("Poses", "unknown"), (None, "unknown")])
def test_civitai_type_mapping(ctype, ours):
    from pumas_core.remote.civitai import map_type
    assert map_type(ctype) == ours

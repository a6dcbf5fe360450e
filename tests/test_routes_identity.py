"""Identity routes on the standalone server (real aiohttp server on 127.0.0.1, real library, real
files, loopback fake Hub): Hub download, download-missing for an incomplete Sharded Set, confirm /
reject a match, lookup now, and ComfyUI install registration — plus their refusals."""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio
from fixture_builders import clone_tree
from test_routes import JSON_CT, import_one, post, wait_job

from pumas_core.library.metadata import read_metadata

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
POSTS = ["/pumas/download", "/pumas/apps", "/pumas/models/{mid}/download-missing"]


@pytest.fixture
def online(env, hub, civitai, monkeypatch):
    """The server's library talks to the loopback fake Hub and CivitAI (and nothing else)."""
    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("PUMAS_CIVITAI_ENDPOINT", civitai.url)
    return hub


@pytest_asyncio.fixture
async def client(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    return await aiohttp_client(create_app(host="127.0.0.1"))


async def _incomplete_set(client, env, sharded):
    """Import a MiniLM Sharded Set with one shard removed; return (model, removed shard name)."""
    src = clone_tree(sharded.folder, env.incoming / "minilm-sharded")
    gone = sharded.shards[1]
    (src / gone).unlink()
    r = await post(client, "/pumas/import", {"paths": [str(src)], "mode": "copy"})
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done" and job["result"]["failed"] == [], job
    (model,) = job["result"]["imported"]
    assert model["complete"] is False and model["missing_files"] == [gone]
    for _ in range(200):   # let the background lookup of the import finish (it finds nothing)
        if not (await (await client.get(f"/pumas/models/{model['model_id']}")).json())["pending_online_lookup"]:
            break
        await asyncio.sleep(0.05)
    return model, gone


@pytest.mark.asyncio
async def test_download_missing_completes_the_set(online, client, env, minilm_sharded_set):
    from fakes.hub import FakeRepo, file_from_path

    s = minilm_sharded_set
    old, gone = await _incomplete_set(client, env, s)
    online.add_repo(FakeRepo("acme/minilm-sharded", "c" * 40,
                             [file_from_path(s.folder / n, n) for n in [*s.shards, s.index]]))
    mid = old["model_id"]
    # without a HuggingFace match the job fails and says why
    r = await post(client, f"/pumas/models/{mid}/download-missing")
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "failed" and "no HuggingFace match" in job["error"], job
    r = await post(client, f"/pumas/models/{mid}/metadata", {"huggingface": {
        "repo_id": "acme/minilm-sharded", "revision": "c" * 40, "path": s.shards[0]}})
    assert r.status == 200, await r.text()
    r = await post(client, f"/pumas/models/{mid}/download-missing")
    assert r.status == 202
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done" and job["kind"] == "download", job
    assert job["result"]["replaced"] == mid
    (new,) = job["result"]["imported"]
    assert new["complete"] is True and gone in [f["name"] for f in new["files"]]
    listed = (await (await client.get("/pumas/models")).json())["models"]
    assert [m["model_id"] for m in listed] == [new["model_id"]]
    r = await client.get(f"/pumas/models/{mid}")
    assert r.status == 404


@pytest.mark.asyncio
async def test_download_from_hub_is_verified(online, client, real):
    online.seed_minilm(real("minilm/model.safetensors").parent)
    r = await post(client, "/pumas/download", {"repo_id": MINILM, "files": ["model.safetensors"]})
    assert r.status == 202, await r.text()
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done", job
    assert job["result"]["downloaded"] == ["model.safetensors"]
    (m,) = job["result"]["imported"]
    shown = await (await client.get(f"/pumas/models/{m['model_id']}")).json()
    assert shown["trust"] == "verified" and shown["huggingface"]["repo_id"] == MINILM
    r = await post(client, "/pumas/download", {"repo_id": MINILM, "files": ["nope.safetensors"]})
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "failed" and job["code"] == "not_found" and "nope.safetensors" in job["error"]


@pytest.mark.asyncio
async def test_download_offline_fails_with_a_clear_error(client):
    r = await post(client, "/pumas/download", {"repo_id": MINILM})
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "failed" and MINILM in job["error"], job


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [
    {}, {"repo_id": ""}, {"repo_id": "../etc"}, {"repo_id": "a/b/c"}, {"repo_id": "a/..b"}, {"repo_id": 3},
    {"repo_id": MINILM, "files": "model.safetensors"}, {"repo_id": MINILM, "files": ["../x"]},
    {"repo_id": MINILM, "files": ["/abs"]}, {"repo_id": MINILM, "files": ["a\\b"]},
    {"repo_id": MINILM, "revision": "../main"}, {"repo_id": MINILM, "colour": "red"},
])
async def test_download_bad_bodies(client, body):
    r = await post(client, "/pumas/download", body)
    out = await r.json()
    assert r.status == 400 and out["code"] == "bad_input", out


@pytest.mark.asyncio
async def test_confirm_reject_and_mark_manual(client, env, real):
    model = await import_one(client, env, real=real)
    mid = model["model_id"]
    from comfyui_pumas_node.standalone import CTX_KEY
    from pumas_core.facade import Library
    from pumas_core.remote import LookupResult

    # the server looks the import up in the background: let that finish first, or its (offline) answer
    # could land after the fuzzy match recorded below and race the assertions
    assert await client.server.app[CTX_KEY].call(lambda lib: lib.wait_for_lookups(30))

    with Library.open() as lib:  # what a fuzzy filename lookup records
        lib.lookups.apply(mid, LookupResult(match_source="filename_fuzzy", trust="low",
                                             huggingface={"repo_id": "snakers4/silero-vad", "path": "x.safetensors"}))
    shown = await (await client.get(f"/pumas/models/{mid}")).json()
    assert shown["trust"] == "low" and shown["match_source"] == "filename_fuzzy"
    r = await post(client, f"/pumas/models/{mid}/metadata", {"match_source": "manual", "trust": "high"})
    body = await r.json()
    assert r.status == 200 and body["trust"] == "high" and body["match_source"] == "manual", body
    assert body["huggingface"]["repo_id"] == "snakers4/silero-vad"
    r = await post(client, f"/pumas/models/{mid}/metadata",
                   {"huggingface": None, "civitai": None, "trust": "none", "match_source": "manual"})
    body = await r.json()
    assert r.status == 200 and body["huggingface"] is None and body["trust"] == "none", body
    meta = read_metadata(body["path"])
    assert meta["match_source"] == "manual" and meta["pending_online_lookup"] is False
    r = await post(client, f"/pumas/models/{mid}/metadata", {"trust": "certain"})
    assert r.status == 400
    r = await post(client, "/pumas/lookup", {"model_ids": [mid]})
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done" and mid in sum(job["result"].values(), []), job
    meta = read_metadata(body["path"])   # a lookup never overrides a manual decision
    assert meta["match_source"] == "manual" and meta["huggingface"] is None and meta["trust"] == "none"


@pytest.mark.asyncio
async def test_register_install(client, env):
    assert (await (await client.get("/pumas/apps")).json()) == {"apps": []}
    r = await post(client, "/pumas/apps", {"path": str(env.comfy)})
    body = await r.json()
    assert r.status == 200 and body["app"]["root"] == str(env.comfy.resolve()), body
    assert body["app"]["version"] == "0.3.64"
    apps = (await (await client.get("/api/pumas/apps")).json())["apps"]
    assert [a["app_id"] for a in apps] == [body["app"]["app_id"]]
    status = await (await client.get("/pumas/status")).json()
    assert status["apps"] == 1
    plain = env.tmp / "just-a-folder"
    plain.mkdir()
    afile = env.tmp / "f.txt"
    afile.write_text("x")
    for bad in ({}, {"path": "ComfyUI"}, {"path": str(plain)}, {"path": str(env.tmp / "missing")},
                {"path": str(afile)}, {"path": ["x"]}, {"path": str(env.comfy) + "\x00"}):
        r = await post(client, "/pumas/apps", bad)
        out = await r.json()
        assert r.status == 400 and out["code"] == "bad_input", (bad, out)
    assert len((await (await client.get("/pumas/apps")).json())["apps"]) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("route", POSTS)
async def test_post_checks(client, env, route):
    route = route.format(mid="0" * 32)
    body = json.dumps({"path": str(env.comfy), "repo_id": MINILM}).encode()
    r = await client.post(route, data=body, headers={"Content-Type": "text/plain"})
    assert r.status == 415 and (await r.json())["code"] == "bad_content_type"
    r = await client.post(route, data=body, headers={**JSON_CT, "Origin": "http://evil.example"})
    assert r.status == 403 and (await r.json())["code"] == "bad_origin"
    r = await client.post(route, data=body, headers={**JSON_CT, "Origin": "null"})
    assert r.status == 403
    r = await client.post(route, data=body, headers={**JSON_CT, "Sec-Fetch-Site": "cross-site"})
    assert r.status == 403
    r = await client.post(route, data=body, headers={**JSON_CT, "Host": "attacker.example"})
    assert r.status == 403 and (await r.json())["code"] == "bad_host"
    assert (await (await client.get("/pumas/apps")).json())["apps"] == []   # nothing changed
    assert (await (await client.get("/pumas/jobs")).json())["jobs"] == []


@pytest.mark.asyncio
async def test_download_missing_unknown_model(client):
    r = await post(client, "/pumas/models/" + "f" * 32 + "/download-missing")
    assert r.status == 404 and (await r.json())["code"] == "not_found"

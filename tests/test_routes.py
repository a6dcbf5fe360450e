"""The Pumas routes on the standalone server (real aiohttp server on 127.0.0.1, real library,
real model files): browse, import jobs and events, upload, edit, delete, sync, health, settings."""

from __future__ import annotations

import asyncio
import json
import os
from urllib.parse import quote

import pytest
import pytest_asyncio
from routes_support import stage

from pumas_core.facade import Library

JSON_CT = {"Content-Type": "application/json"}
SILERO = "silero/silero_vad_16k.safetensors"


@pytest_asyncio.fixture
async def client(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    return await aiohttp_client(create_app(host="127.0.0.1"))


async def post(client, path, body=None):
    return await client.post(path, data=json.dumps(body or {}).encode(), headers=JSON_CT)


async def wait_job(client, job_id, timeout=60.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        r = await client.get(f"/api/pumas/jobs/{job_id}")
        job = await r.json()
        assert r.status == 200, job
        if job["state"] in ("done", "failed"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


async def import_one(client, env, rel=SILERO, real=None):
    src = stage(real(rel), env.incoming)
    r = await post(client, "/pumas/import", {"paths": [str(src)], "mode": "copy"})
    assert r.status == 202, await r.text()
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done", job
    assert job["result"]["failed"] == [], job
    return job["result"]["imported"][0]


@pytest.mark.asyncio
async def test_status_and_empty_library(client):
    r = await client.get("/api/pumas/status")
    body = await r.json()
    assert r.status == 200 and body["models"] == 0 and body["server"] == "standalone"
    r = await client.get("/pumas/models")
    assert (await r.json())["models"] == []


@pytest.mark.asyncio
async def test_import_job_progress_events_and_browse(client, env, real):
    ws = await client.ws_connect("/api/pumas/ws")
    model = await import_one(client, env, real=real)
    events = []
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), 5)
        assert msg["type"] == "pumas.progress"
        events.append(msg["data"])
        if msg["data"].get("state") in ("done", "failed"):
            break
    await ws.close()
    assert any(e.get("stage") for e in events), events
    final = events[-1]
    assert final["state"] == "done" and final["refresh"] is True and final["kind"] == "import"
    assert final["result"]["imported"][0]["model_id"] == model["model_id"]
    # browse / list / search / show
    r = await client.get("/pumas/models", params={"type": model["model_type"], "limit": "10"})
    assert [m["model_id"] for m in (await r.json())["models"]] == [model["model_id"]]
    r = await client.get("/pumas/models", params={"q": "silero"})
    body = await r.json()
    assert [m["model_id"] for m in body["models"]] == [model["model_id"]] and "query_time_ms" in body
    r = await client.get(f"/pumas/models/{model['model_id']}")
    shown = await r.json()
    assert r.status == 200 and shown["hashes"] == model["hashes"] and shown["links"] == []
    r = await client.get("/api/pumas/jobs")
    assert [j["kind"] for j in (await r.json())["jobs"]] == ["import"]


@pytest.mark.asyncio
async def test_upload_streamed_and_hashed(client, env, real):
    src = real(SILERO)
    data = src.read_bytes()
    r = await client.post("/api/pumas/upload", data=data, headers={
        "Content-Type": "application/octet-stream", "X-Pumas-Filename": quote("silero vad é.safetensors")})
    body = await r.json()
    assert r.status == 200, body
    assert body["state"] == "done" and body["job"] == body["job_id"]
    (m,) = body["result"]["imported"]
    import hashlib

    assert m["hashes"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert m["size_bytes"] == len(data)
    # the same bytes again are recognised, not duplicated
    r = await client.post("/pumas/upload", data=data, headers={
        "Content-Type": "application/octet-stream", "X-Pumas-Filename": "copy.safetensors"})
    body = await r.json()
    assert r.status == 200 and body["result"]["skipped"][0]["model_id"] == m["model_id"]


@pytest.mark.asyncio
async def test_upload_pickle_needs_acknowledgement(client, env, real):
    data = real("facenet/pnet.pt").read_bytes()
    headers = {"Content-Type": "application/octet-stream", "X-Pumas-Filename": "pnet.pt"}
    r = await client.post("/pumas/upload", data=data, headers=headers)
    body = await r.json()
    assert r.status == 403 and body["code"] == "pickle_not_accepted", body
    assert "pnet.pt" in body["error"]
    r = await client.post("/pumas/upload", data=data, headers={**headers, "X-Pumas-Accept-Pickle": "1"})
    body = await r.json()
    assert r.status == 200 and body["result"]["imported"][0]["security_tier"] == "pickle", body


@pytest.mark.asyncio
@pytest.mark.parametrize("name", [None, "", quote("../evil.safetensors"), quote("a/b.safetensors"),
                                  quote("a\\b.safetensors"), "..", "%ff%fe", quote("x\n.safetensors")])
async def test_upload_bad_names(client, name):
    headers = {"Content-Type": "application/octet-stream"}
    if name is not None:
        headers["X-Pumas-Filename"] = name
    r = await client.post("/pumas/upload", data=b"0" * 100, headers=headers)
    body = await r.json()
    assert r.status == 400 and body["code"] == "bad_input", body


@pytest.mark.asyncio
async def test_truncated_upload_loses_nothing(client, env, real):
    data = real(SILERO).read_bytes()
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write((f"POST /pumas/upload HTTP/1.1\r\nHost: 127.0.0.1:{client.server.port}\r\n"
                  f"Content-Type: application/octet-stream\r\nX-Pumas-Filename: cut.safetensors\r\n"
                  f"Content-Length: {len(data)}\r\n\r\n").encode() + data[: len(data) // 3])
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()
    loop = asyncio.get_running_loop()
    end = loop.time() + 30
    jobs = []
    while loop.time() < end:
        jobs = (await (await client.get("/pumas/jobs")).json())["jobs"]
        if jobs and jobs[0]["state"] in ("done", "failed"):
            break
        await asyncio.sleep(0.05)
    (job,) = jobs
    text = json.dumps(job)
    assert ("truncated" in text or "interrupted" in text) and "cut.safetensors" in text, job
    assert not (job.get("result") or {}).get("imported")
    assert (await (await client.get("/pumas/models")).json())["models"] == []
    staging = env.root / ".staging"
    assert not [p for p in staging.rglob("*") if p.is_file()] if staging.exists() else True


@pytest.mark.asyncio
async def test_upload_without_library_logic_errors(client):
    r = await client.post("/pumas/upload", data=b"not a model at all" * 10, headers={
        "Content-Type": "application/octet-stream", "X-Pumas-Filename": "junk.safetensors"})
    body = await r.json()
    assert 400 <= r.status < 500 and "junk.safetensors" in body["error"], body


@pytest.mark.asyncio
async def test_edit_delete_and_errors(client, env, real):
    model = await import_one(client, env, real=real)
    mid = model["model_id"]
    r = await post(client, f"/pumas/models/{mid}/metadata", {"model_type": "vae"})
    body = await r.json()
    assert r.status == 200 and body["model_type"] == "vae" and body["match_source"] == "manual"
    r = await post(client, f"/pumas/models/{mid}/metadata", {"sha256": "0" * 64})
    assert r.status == 400 and (await r.json())["code"] == "bad_input"
    r = await post(client, f"/pumas/models/{mid}/metadata", {})
    assert r.status == 400
    r = await post(client, f"/pumas/models/{mid}/delete")
    assert r.status == 200 and (await r.json())["model_id"] == mid
    for path in (f"/pumas/models/{mid}", "/pumas/jobs/nope"):
        r = await client.get(path)
        assert r.status == 404 and (await r.json())["code"] == "not_found"
    r = await post(client, f"/pumas/models/{mid}/delete")
    assert r.status == 404
    r = await client.post("/pumas/sync", data=b"{not json", headers=JSON_CT)
    assert r.status == 400 and (await r.json())["code"] == "bad_input"
    r = await client.post("/pumas/sync", data=b"[1]", headers=JSON_CT)
    assert r.status == 400
    for q in ({"limit": "x"}, {"offset": "-1"}):
        r = await client.get("/pumas/models", params=q)
        assert r.status == 400 and (await r.json())["code"] == "bad_input"
    r = await post(client, "/pumas/import", {"paths": [str(env.incoming / "x.safetensors")], "mode": "teleport"})
    assert r.status == 400


@pytest.mark.asyncio
async def test_sync_health_repair_rebuild(client, env, real):
    model = await import_one(client, env, real=real)
    r = await post(client, f"/pumas/models/{model['model_id']}/metadata", {"model_type": "vae"})
    assert r.status == 200  # silero is identified as "unknown", which is never linked
    with Library.open() as lib:
        lib.add_app(env.comfy)
    r = await post(client, "/pumas/sync/preview")
    preview = await r.json()
    assert r.status == 200 and preview["dry_run"] is True and preview["created"] == 1, preview
    links = [p for p in (env.comfy / "models").rglob("*") if p.is_symlink()]
    assert links == [], "a preview changes nothing"
    r = await post(client, "/pumas/sync", {})
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done" and job["result"]["created"] == 1, job
    (link,) = [p for p in (env.comfy / "models").rglob("*") if p.is_symlink()]
    assert not os.path.isabs(os.readlink(link)) and link.resolve().is_file()
    r = await client.get("/pumas/health")
    assert (await r.json())["status"] == "healthy"
    link.unlink()
    r = await client.get("/pumas/health")
    assert len((await r.json())["broken_links"]) == 1
    r = await post(client, "/pumas/health/repair")
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done" and link.is_symlink(), job
    r = await post(client, "/pumas/health/clean")
    assert (await wait_job(client, (await r.json())["job"]))["state"] == "done"
    r = await post(client, "/pumas/rebuild")
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done" and job["result"]["indexed"] == 1, job
    r = await client.get(f"/pumas/models/{model['model_id']}")
    assert len((await r.json())["links"]) == 1


@pytest.mark.asyncio
async def test_settings(client, env):
    r = await client.get("/pumas/settings")
    body = await r.json()
    assert body["import_roots"] == [str(env.incoming)] and body["library"] == str(env.root)
    new = env.tmp / "more"
    new.mkdir()
    r = await post(client, "/pumas/settings", {"import_roots": [str(env.incoming), str(new)]})
    assert (await r.json())["import_roots"] == [os.path.realpath(env.incoming), os.path.realpath(new)]
    r = await client.get("/pumas/browse")
    assert len((await r.json())["entries"]) == 2
    for bad in ({"import_roots": [str(env.tmp / "missing")]}, {"import_roots": ["rel"]}, {"import_roots": "x"},
                {"colour": "red"}, {"library": "relative"}):
        r = await post(client, "/pumas/settings", bad)
        assert r.status == 400, bad


@pytest.mark.asyncio
async def test_library_unavailable(env, aiohttp_client, monkeypatch):
    from comfyui_pumas_node.standalone import create_app

    blocker = env.tmp / "not_a_dir"
    blocker.write_text("x")
    monkeypatch.setenv("PUMAS_LIBRARY", str(blocker / "lib"))
    c = await aiohttp_client(create_app())
    r = await c.get("/pumas/status")
    body = await r.json()
    assert r.status == 503 and body["code"] == "library_unavailable" and "not_a_dir" in body["error"]

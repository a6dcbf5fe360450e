"""Routes while the library is offline (issue 7 item 1): 503 with the reason, never an empty
library, and back to normal once the drive is plugged in again."""

from __future__ import annotations

import json

import pytest

from pumas_core.facade import Library

JSON_CT = {"Content-Type": "application/json"}


async def _finished(c, job_id):
    import asyncio

    for _ in range(200):
        r = await c.get(f"/pumas/jobs/{job_id}")
        body = await r.json()
        if body.get("state") in ("done", "failed", "cancelled"):
            return body, r.status
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.asyncio
async def test_offline_library_answers_503_then_recovers(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    with Library.open(create=True) as lib:  # the library exists and the state dir knows it
        lib.add_app(env.comfy)
    c = await aiohttp_client(create_app(host="127.0.0.1"))
    r = await c.get("/pumas/status")
    assert r.status == 200 and (await r.json())["library_id"]
    aside = env.tmp / "unplugged"
    env.root.rename(aside)  # unplugged while the server runs
    for method, path in (("GET", "/pumas/status"), ("GET", "/pumas/models"), ("GET", "/pumas/health"),
                         ("POST", "/pumas/health/clean"), ("POST", "/pumas/sync")):
        r = await c.request(method, path, data=b"{}" if method == "POST" else None,
                            headers=JSON_CT if method == "POST" else None)
        body = await r.json()
        if r.status == 202:  # long work: the job fails with the same reason
            body, status = await _finished(c, body["job_id"])
            assert body["state"] == "failed", (status, body)
        else:
            assert r.status == 503, (path, body)
        assert body["code"] == "library_offline", (path, body)
        assert str(env.root) in body["error"] and "offline" in body["error"]
    assert not env.root.exists(), "nothing created at the missing path"
    aside.rename(env.root)
    r = await c.get("/pumas/status")
    assert r.status == 200 and (await r.json())["models"] == 0


@pytest.mark.asyncio
async def test_empty_mount_point_at_start_is_503(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    with Library.open(create=True) as lib:
        lib.sync(comfyui_dir=env.comfy)  # remembers the library's mount point and id
    env.root.rename(env.tmp / "aside")
    env.root.mkdir()  # an empty mount point
    c = await aiohttp_client(create_app(host="127.0.0.1"))
    r = await c.get("/pumas/models")
    body = await r.json()
    assert r.status == 503 and body["code"] == "library_offline" and "empty" in body["error"], body
    assert list(env.root.iterdir()) == []
    json.dumps(body)

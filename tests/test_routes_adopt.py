"""The adoption routes on the standalone server (real aiohttp on 127.0.0.1, real trees): plan, apply as
a job, journals, undo, and path confinement."""

from __future__ import annotations

import pytest
import pytest_asyncio
from adopt_fixtures import build, tree_state
from test_routes import post, wait_job


@pytest_asyncio.fixture
async def setup(env, aiohttp_client, real):
    from comfyui_pumas_node.standalone import create_app
    from pumas_core.config import save_config

    t = build(env.tmp / "trees", real, gguf=False)
    save_config(env.state, {"import_roots": [str(env.incoming), str(env.tmp / "trees")]})
    client = await aiohttp_client(create_app(host="127.0.0.1"))
    return client, t


@pytest.mark.asyncio
async def test_plan_apply_undo(setup):
    client, t = setup
    dirs = [str(c) for c in t["installs"]]
    before = tree_state(*t["roots"])
    r = await post(client, "/api/pumas/adopt/plan", {"dirs": dirs})
    doc = await r.json()
    assert r.status == 200, doc
    assert {"files", "duplicates", "reclaimable_bytes", "estimated_seconds"} <= set(doc) and "groups" not in doc
    assert len([f for f in doc["files"] if f["action"] not in ("refuse", "skip")]) == 9
    assert tree_state(*t["roots"]) == before

    r = await post(client, "/pumas/adopt/apply", {"dirs": dirs})
    assert r.status == 202
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done", job
    assert job["result"]["state"] == "complete" and job["result"]["linked"] == 9
    r = await client.get("/pumas/adopt/journals")
    journals = (await r.json())["journals"]
    assert journals[0]["state"] == "complete" and journals[0]["journal_id"] == job["result"]["journal_id"]

    r = await post(client, "/pumas/adopt/undo", {"journal_id": journals[0]["journal_id"]})
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "done" and not job["result"]["errors"], job
    assert tree_state(*t["roots"]) == before


@pytest.mark.asyncio
async def test_paths_are_confined_and_bad_input_is_400(setup):
    client, t = setup
    r = await post(client, "/pumas/adopt/plan", {"dirs": ["/etc"]})
    assert r.status == 403, await r.text()
    r = await post(client, "/pumas/adopt/plan", {"dirs": "nope"})
    assert r.status == 400
    r = await post(client, "/pumas/adopt/undo", {})
    job = await wait_job(client, (await r.json())["job"])
    assert job["state"] == "failed" and "no adoption journal" in job["error"]
    r = await post(client, "/pumas/adopt/cancel", {"job": "unknown"})
    assert (await r.json()) == {"cancelling": False}

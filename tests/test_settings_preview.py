"""Core settings (import mode, lookups) and the preview route / list annotations, over real
aiohttp on 127.0.0.1 with a real library."""

from __future__ import annotations

import json
import os

import pytest
import pytest_asyncio
from panel_fake_extra import png_bytes
from routes_support import stage

from pumas_core.errors import BadInputError
from pumas_core.facade import Library
from pumas_core.settings import validate_changes

JSON_CT = {"Content-Type": "application/json"}


@pytest_asyncio.fixture
async def client(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    return await aiohttp_client(create_app(host="127.0.0.1"))


@pytest.mark.parametrize("bad", [{"import_mode": "link"}, {"lookups": "no"}, {"library": "relative/path"},
                                 {"library": "/definitely/not/here/lib"}, {"colour": "blue"}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(BadInputError):
        validate_changes(bad)


def test_lookups_off_makes_the_library_offline(lib_dirs, monkeypatch):
    monkeypatch.delenv("PUMAS_OFFLINE", raising=False)
    lib = Library.open(*lib_dirs)
    try:
        s = lib.update_settings({"lookups": False, "import_mode": "move"})
        assert s["lookups"] is False and s["import_mode"] == "move" and "auto = copy" in s["import_mode_help"]
        assert lib.lookups.remote.offline is True
        lib.update_settings({"lookups": True})
        assert lib.lookups.remote.offline is False
    finally:
        lib.close()
    reopened = Library.open(*lib_dirs)
    try:
        assert reopened.settings()["import_mode"] == "move"
    finally:
        reopened.close()


@pytest.mark.asyncio
async def test_settings_route_round_trip(client, env, tmp_path):
    extra = tmp_path / "more"
    extra.mkdir()
    r = await client.post("/api/pumas/settings", data=json.dumps(
        {"import_roots": [str(env.incoming), str(extra)], "import_mode": "copy", "lookups": False}), headers=JSON_CT)
    body = await r.json()
    assert r.status == 200, body
    assert body["import_roots"] == [str(env.incoming), str(extra)]
    assert body["import_mode"] == "copy" and body["lookups"] is False
    # the new root is usable at once
    r = await client.get("/api/pumas/browse", params={"path": str(extra)})
    assert r.status == 200
    r = await client.post("/api/pumas/settings", data=json.dumps({"import_mode": "link"}), headers=JSON_CT)
    assert r.status == 400 and "import_mode" in (await r.json())["error"]


@pytest.mark.asyncio
async def test_preview_route_and_list_annotations(client, env, real, tmp_path):
    src = stage(real("silero/silero_vad_16k.safetensors"), env.incoming)
    r = await client.post("/api/pumas/import", data=json.dumps({"paths": [str(src)], "mode": "copy"}), headers=JSON_CT)
    job_id = (await r.json())["job"]
    for _ in range(600):
        job = await (await client.get(f"/api/pumas/jobs/{job_id}")).json()
        if job["state"] != "running" and job["state"] != "queued":
            break
        await __import__("asyncio").sleep(0.05)
    model = job["result"]["imported"][0]
    mid, folder = model["model_id"], model["path"]
    listed = (await (await client.get("/api/pumas/models")).json())["models"][0]
    assert listed["has_preview"] is False and listed["link_count"] == 0
    r = await client.get(f"/api/pumas/models/{mid}/preview")
    assert r.status == 404 and (await r.json())["code"] == "not_found"
    # a symlink named preview.png that leads out of the model folder is refused
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(2, 2, (1, 2, 3)))
    os.symlink(secret, os.path.join(folder, "preview.png"))
    assert (await client.get(f"/api/pumas/models/{mid}/preview")).status == 404
    os.unlink(os.path.join(folder, "preview.png"))
    data = png_bytes(4, 4, (10, 200, 30))
    with open(os.path.join(folder, "preview.webp"), "wb") as f:
        f.write(b"RIFF0000WEBP")
    with open(os.path.join(folder, "preview.png"), "wb") as f:
        f.write(data)
    r = await client.get(f"/api/pumas/models/{mid}/preview")
    assert r.status == 200 and r.headers["Content-Type"] == "image/png" and await r.read() == data
    r = await client.get(f"/api/pumas/models/{mid[:8]}/preview")
    assert r.status == 200
    listed = (await (await client.get("/api/pumas/models")).json())["models"][0]
    assert listed["has_preview"] is True
    found = (await (await client.get("/api/pumas/models", params={"q": "silero"})).json())["models"][0]
    assert found["has_preview"] is True and found["link_count"] == 0

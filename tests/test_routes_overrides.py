"""``GET``/``POST /pumas/models/{model_id}/overrides`` on the standalone server (real aiohttp server on
127.0.0.1, real library, real symlinks into two ComfyUI trees of different versions): a ``<0.3.60``
specifier takes the model's link out of the 0.3.64 install and keeps it in the 0.3.59 one; invalid
objects are 400 naming the problem and write nothing; the POST passes the same security checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytest_asyncio
from model_shapes import KOHYA_LORA
from st_writer import write_safetensors
from test_routes import JSON_CT, post

from pumas_core.facade import Library

NAME = "ink_style.safetensors"


def old_tree(base):
    """A ComfyUI 0.3.59 tree (loras, checkpoints) beside the 0.3.64 ``comfy_tree``."""
    for key in ("loras", "checkpoints"):
        (base / "models" / key).mkdir(parents=True)
    (base / "comfyui_version.py").write_text('__version__ = "0.3.59"\n')
    (base / "main.py").write_text("# ComfyUI stand-in for tests\n")
    return base


def seed(env, tmp_path):
    """Import one LoRA, register both installs and link it; returns (model id, new link, old link)."""
    lora = write_safetensors(env.incoming / NAME, KOHYA_LORA, metadata={"ss_network_module": "networks.lora"})
    old = old_tree(tmp_path / "Old")
    with Library.open() as lib:
        mid = lib.import_paths([lora], lookup=False)["imported"][0]["model_id"]
        assert {lib.add_app(env.comfy)["version"], lib.add_app(old)["version"]} == {"0.3.64", "0.3.59"}
        assert lib.sync()["created"] == 2
    new_link, old_link = env.comfy / "models" / "loras" / NAME, old / "models" / "loras" / NAME
    assert new_link.is_symlink() and old_link.is_symlink()
    return mid, new_link, old_link


@pytest_asyncio.fixture
async def client(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    return await aiohttp_client(create_app(host="127.0.0.1"))


@pytest.mark.asyncio
async def test_version_specifier_moves_the_link_between_installs(client, env, tmp_path):
    mid, new_link, old_link = seed(env, tmp_path)
    route = f"/pumas/models/{mid[:10]}/overrides"  # a prefix, like the other model routes
    r = await client.get("/api" + route)
    assert r.status == 200 and await r.json() == {"model_id": mid, "overrides": {}, "error": None}

    r = await post(client, route, {"versions": {"comfyui": "<0.3.60"}, "tags": ["Ink"], "link_name": ""})
    body = await r.json()
    assert r.status == 200, body
    assert body["overrides"] == {"versions": {"comfyui": "<0.3.60"}, "tags": ["Ink"]}  # empty values dropped
    sync = body["sync"]
    assert sync["apps"] == 2 and sync["removed_stale"] == 1 and sync["errors"] == [], sync
    assert any("0.3.64 is not <0.3.60" in u["reason"] for u in sync["unmapped"]), sync["unmapped"]
    assert not new_link.exists() and not new_link.is_symlink()
    assert old_link.is_symlink() and old_link.resolve().is_file()
    with Library.open() as lib:
        model_dir = lib.get_model(mid)["path"]
        assert [lk["link_path"] for lk in lib.links_for_model(mid)] == [str(old_link)]
    with open(f"{model_dir}/overrides.json", encoding="utf-8") as f:
        assert json.load(f) == body["overrides"]
    r = await client.get(route)
    assert (await r.json())["overrides"] == body["overrides"]

    # a new link name: renamed in the install that still takes the model
    r = await post(client, route, {**body["overrides"], "link_name": "Ink Old.safetensors"})
    assert r.status == 200 and (await r.json())["sync"]["created"] == 1
    assert (old_link.parent / "Ink Old.safetensors").is_symlink() and not old_link.is_symlink()

    # {} removes the file and the model comes back to both installs under its own name
    r = await post(client, route, {})
    body = await r.json()
    assert r.status == 200 and body["overrides"] == {} and body["sync"]["created"] == 2, body
    assert new_link.is_symlink() and old_link.is_symlink()
    assert not (old_link.parent / "Ink Old.safetensors").exists()
    assert not (Path(model_dir) / "overrides.json").exists()


@pytest.mark.asyncio
@pytest.mark.parametrize(("bad", "says"), [
    ({"versions": {"comfyui": "newer than 0.3"}}, "'newer than 0.3' is not a valid PEP 440 specifier"),
    ({"versions": {"comfyui": 60}}, "versions.comfyui must be a string"),
    ({"versions": {"forge": "<1"}}, "'versions' must be"),
    ({"tags": "ink"}, "'tags' must be a list of non-empty strings"),
    ({"link_name": "../x.safetensors"}, "'link_name' must be a plain file name"),
    ({"subfolder": "a/../../b"}, "'subfolder' must be a plain relative folder"),
    ({"version": "<1"}, "unknown keys ['version']"),
])
async def test_invalid_overrides_are_400_and_write_nothing(client, env, tmp_path, bad, says):
    mid, new_link, old_link = seed(env, tmp_path)
    r = await post(client, f"/pumas/models/{mid}/overrides", bad)
    body = await r.json()
    assert r.status == 400 and body["code"] == "bad_input" and says in body["error"], body
    r = await client.get(f"/pumas/models/{mid}/overrides")
    assert await r.json() == {"model_id": mid, "overrides": {}, "error": None}
    assert new_link.is_symlink() and old_link.is_symlink()


@pytest.mark.asyncio
async def test_a_hand_edited_invalid_file_is_shown_with_its_error(client, env, tmp_path):
    mid, _new, _old = seed(env, tmp_path)
    with Library.open() as lib:
        path = f"{lib.get_model(mid)['path']}/overrides.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"versions": {"comfyui": "newer"}, "tags": ["x"]}, f)
    body = await (await client.get(f"/pumas/models/{mid}/overrides")).json()
    assert body["overrides"] == {"versions": {"comfyui": "newer"}, "tags": ["x"]}
    assert "not a valid PEP 440 specifier" in body["error"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("{not json")
    body = await (await client.get(f"/pumas/models/{mid}/overrides")).json()
    assert body["overrides"] == {} and "not valid JSON" in body["error"]


@pytest.mark.asyncio
async def test_post_checks_and_unknown_models(client, env, tmp_path):
    mid, new_link, _old = seed(env, tmp_path)
    route = f"/pumas/models/{mid}/overrides"
    data = json.dumps({"versions": {"comfyui": "<0.3.60"}}).encode()
    r = await client.post(route, data=data, headers={"Content-Type": "text/plain"})
    assert r.status == 415 and (await r.json())["code"] == "bad_content_type"
    for extra in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                  {"Host": "attacker.example"}):
        r = await client.post(route, data=data, headers={**JSON_CT, **extra})
        assert r.status == 403, extra
    r = await client.post(route, data=b"[1]", headers=JSON_CT)
    assert r.status == 400
    assert new_link.is_symlink()
    assert (await (await client.get(route)).json())["overrides"] == {}
    for path in ("/pumas/models/ffffffffffff/overrides", "/pumas/models/nope/overrides"):
        r = await client.get(path)
        assert r.status == 404 and (await r.json())["code"] == "not_found"
        r = await post(client, path, {"tags": ["x"]})
        assert r.status == 404

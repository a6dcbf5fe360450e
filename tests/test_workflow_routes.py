"""``POST /pumas/resolve`` and ``POST /pumas/workflow/annotate`` on the standalone server and in ComfyUI."""

from __future__ import annotations

import json
import os

import pytest
import pytest_asyncio
from routes_support import FakePromptServer, comfy_app, load_pack
from workflow_support import SILERO, load_template, staged

from pumas_core.facade import Library

JSON_CT = {"Content-Type": "application/json"}


async def post(client, path, body):
    r = await client.post(path, data=json.dumps(body).encode(), headers=JSON_CT)
    return r.status, await r.json()


def _import_vae(env):
    with Library.open(env.root, env.state) as lib:
        return lib.import_paths([staged(env.tmp, SILERO, "ae.safetensors")], lookup=False)["imported"][0]


@pytest_asyncio.fixture
async def client(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    return await aiohttp_client(create_app(host="127.0.0.1"))


@pytest.mark.asyncio
async def test_resolve_route_standalone(client, env):
    vae = _import_vae(env)
    with Library.open(env.root, env.state) as lib:
        app_id = lib.add_app(env.comfy)["app_id"]
    wf = load_template("flux_schnell_full_text_to_image.json")
    status, dry = await post(client, "/api/pumas/resolve", {"workflow": wf, "app_id": app_id, "dry_run": True})
    assert status == 200 and dry["created"] == 1
    assert not os.path.lexists(env.comfy / "models" / "vae" / "ae.safetensors")
    status, r = await post(client, "/pumas/resolve", {"workflow": wf, "app_id": app_id})
    ref = next(x for x in r["references"] if x["name"] == "ae.safetensors")
    assert status == 200 and r["created"] == 1 and ref["status"] == "linked" and ref["model_id"] == vae["model_id"]
    status, a = await post(client, "/pumas/workflow/annotate", {"workflow": wf, "app_id": app_id})
    assert status == 200 and a["annotated"] == 1 and wf == load_template("flux_schnell_full_text_to_image.json")
    # download runs as a job (offline here: the URLs stay missing with the reason)
    r = await client.post("/pumas/resolve", data=json.dumps({"workflow": wf, "app_id": app_id, "download": True}),
                          headers=JSON_CT)
    assert r.status == 202 and (await r.json())["job"]


@pytest.mark.asyncio
@pytest.mark.parametrize("body,msg", [
    ({}, "workflow must be"), ({"workflow": []}, "workflow must be"),
    ({"workflow": {"x": 1}}, "not a ComfyUI workflow"),
    ({"workflow": {"nodes": []}, "extra": 1}, "unknown fields"),
    ({"workflow": {"nodes": []}, "confirmed": ["a"]}, "confirmed"),
    ({"workflow": {"nodes": []}, "conflicts": "delete"}, "conflicts"),
    ({"workflow": {"nodes": []}, "app_id": "nope"}, "not registered"),
])
async def test_resolve_route_bad_input(client, env, body, msg):
    status, r = await post(client, "/pumas/resolve", body)
    assert status in (400, 404) and msg in r["error"], r


@pytest.mark.asyncio
async def test_resolve_route_in_comfyui_uses_the_running_install(env, monkeypatch, aiohttp_client):
    server = FakePromptServer()
    module = load_pack(monkeypatch, server, env.comfy)
    try:
        _import_vae(env)
        client = await aiohttp_client(comfy_app(server))
        status, r = await post(client, "/api/pumas/resolve",
                               {"workflow": load_template("flux_dev_checkpoint_example.json")})
        assert status == 200, r
        ref = next(x for x in r["references"] if x["name"] == "ae.safetensors")
        assert ref["status"] == "linked" and os.path.islink(env.comfy / "models" / "vae" / "ae.safetensors")
    finally:
        if module._PUMAS_CONTEXT is not None:
            module._PUMAS_CONTEXT.close()


def test_live_loaders_from_comfyui_node_definitions(monkeypatch):
    import types

    from comfyui_pumas_node.routes_workflow import live_loaders
    from pumas_core.workflows.extract import extract_refs

    fp = types.ModuleType("folder_paths")
    fp.folder_names_and_paths = {"loras": (["/x/loras"], set()), "checkpoints": (["/x/ckpt"], set()),
                                 "vae": (["/x/vae"], set())}
    files = {"loras": ["a.safetensors", "sub/b.safetensors"], "checkpoints": ["c.safetensors"], "vae": []}
    fp.get_filename_list = lambda key: list(files[key])

    class StackLoader:  # a custom node choosing a LoRA, with the file list plus "None"
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"model": ("MODEL",), "strength": ("FLOAT", {"default": 1.0}),
                                 "lora": (["None", *fp.get_filename_list("loras")],)},
                    "optional": {"mode": (["a", "b"],)}}

    nodes = types.ModuleType("nodes")
    nodes.NODE_CLASS_MAPPINGS = {"StackLoader": StackLoader}
    monkeypatch.setitem(__import__("sys").modules, "folder_paths", fp)
    monkeypatch.setitem(__import__("sys").modules, "nodes", nodes)
    doc = {"nodes": [{"id": 3, "type": "StackLoader", "widgets_values": [0.8, "sub/b.safetensors", "a"]}]}
    table = live_loaders(doc)
    assert table == {"StackLoader": {"widgets": ["strength", "lora", "mode"], "models": {"lora": "loras"}}}
    found = [(r.input, r.directory, r.name) for r in extract_refs(doc, table)]
    assert found == [("lora", "loras", "sub/b.safetensors")]

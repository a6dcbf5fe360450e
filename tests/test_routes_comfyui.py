"""The pack as ComfyUI loads it: root ``__init__.py`` executed like ``load_custom_node``, routes on a
(fake) ``PromptServer.instance.routes`` (a real RouteTableDef) served by a real aiohttp app built
like ``PromptServer.add_routes`` (with the ``/api`` alias and ComfyUI's 100 MB ``client_max_size``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import aiohttp
import pytest
from routes_support import REPO, FakePromptServer, comfy_app, load_pack

ROUTES = {
    ("GET", "/pumas/status"), ("GET", "/pumas/models"), ("GET", "/pumas/models/{model_id}"),
    ("GET", "/pumas/models/{model_id}/preview"),
    ("POST", "/pumas/import"), ("POST", "/pumas/upload"), ("POST", "/pumas/models/{model_id}/delete"),
    ("POST", "/pumas/models/{model_id}/metadata"), ("POST", "/pumas/sync/preview"), ("POST", "/pumas/sync"),
    ("GET", "/pumas/health"), ("POST", "/pumas/health/repair"), ("POST", "/pumas/health/clean"),
    ("POST", "/pumas/relocate"), ("POST", "/pumas/rebuild"), ("POST", "/pumas/lookup"), ("GET", "/pumas/jobs"),
    ("GET", "/pumas/jobs/{job_id}"), ("GET", "/pumas/browse"), ("GET", "/pumas/settings"),
    ("POST", "/pumas/settings"), ("POST", "/pumas/download"), ("POST", "/pumas/models/{model_id}/download-missing"),
    ("GET", "/pumas/models/{model_id}/overrides"), ("POST", "/pumas/models/{model_id}/overrides"),
    ("GET", "/pumas/apps"), ("POST", "/pumas/apps"),
    ("POST", "/pumas/resolve"), ("POST", "/pumas/workflow/annotate"),
    ("POST", "/pumas/adopt/plan"), ("POST", "/pumas/adopt/apply"), ("POST", "/pumas/adopt/cancel"),
    ("POST", "/pumas/adopt/undo"), ("GET", "/pumas/adopt/journals"),
}


@pytest.fixture
def pack(env, monkeypatch, caplog):
    server = FakePromptServer()
    caplog.set_level("INFO", logger="pumas")
    module = load_pack(monkeypatch, server, env.comfy)
    module.server = server
    yield module
    if module._PUMAS_CONTEXT is not None:
        module._PUMAS_CONTEXT.close()


def test_entry_exports_and_routes(pack, caplog, env):
    assert pack.NODE_CLASS_MAPPINGS == {} and pack.NODE_DISPLAY_NAME_MAPPINGS == {}
    assert pack.WEB_DIRECTORY == "./comfyui_pumas_node/web/js"
    assert (REPO / pack.WEB_DIRECTORY / "pumas_panel.js").is_file()
    registered = {(r.method, r.path) for r in pack.server.routes}
    assert registered == ROUTES
    lines = [r.getMessage() for r in caplog.get_records("setup") if r.getMessage().startswith("[pumas] boot sync")]
    # issue 7: boot never creates a library; with none yet it says how to start and registers the install
    assert len(lines) == 1 and lines[0].startswith("[pumas] boot sync skipped: no library yet at "), lines
    from pumas_core.links import Registry

    assert [a["root"] for a in Registry(env.state / "registry.db").list_apps()] == [str(env.comfy)]
    assert not env.root.exists()


@pytest.mark.asyncio
async def test_api_alias_upload_past_client_max_size_and_events(pack, aiohttp_client, real):
    client = await aiohttp_client(comfy_app(pack.server, client_max_size=1024))
    for path in ("/pumas/status", "/api/pumas/status"):
        r = await client.get(path)
        assert r.status == 200 and (await r.json())["server"] == "comfyui"
    data = real("silero/silero_vad_16k.safetensors").read_bytes()
    assert len(data) > 1024 * 100
    r = await client.post("/api/pumas/upload", data=data, headers={
        "Content-Type": "application/octet-stream", "X-Pumas-Filename": "silero_vad_16k.safetensors"})
    body = await r.json()
    assert r.status == 200 and body["result"]["imported"], body
    events = [d for t, d in pack.server.events if t == "pumas.progress" and d.get("job") == body["job"]]
    assert events[-1]["state"] == "done" and events[-1]["refresh"] is True
    # a JSON body over client_max_size is refused by aiohttp (ComfyUI's limit), not read
    r = await client.post("/api/pumas/import", data=b"{" + b" " * 4096 + b"}",
                          headers={"Content-Type": "application/json"})
    assert r.status == 413


def test_pack_imports_from_its_own_folder_without_install(tmp_path, env):
    """With no installed copy, ``__init__.py`` must import the extension from the pack folder."""
    pack_dir = tmp_path / "custom_nodes" / "pumas-library"
    pack_dir.mkdir(parents=True)
    for name in ("__init__.py", "prestartup_script.py"):
        shutil.copy(REPO / name, pack_dir / name)
    for name in ("comfyui_pumas_node", "pumas_core"):
        shutil.copytree(REPO / name, pack_dir / name, ignore=shutil.ignore_patterns("__pycache__"))
    script = textwrap.dedent(f"""
        import sys, types, json, importlib.util
        sys.path.append({os.path.dirname(os.path.dirname(aiohttp.__file__))!r})  # deps, but no .pth finders
        from aiohttp import web
        class S:
            routes = web.RouteTableDef()
            def send_sync(self, *a): pass
        srv = types.ModuleType("server"); srv.PromptServer = types.SimpleNamespace(instance=S())
        fp = types.ModuleType("folder_paths"); fp.base_path = {str(env.comfy)!r}
        fp.folder_names_and_paths = {{"checkpoints": ([{str(env.comfy / "models" / "checkpoints")!r}], set())}}
        sys.modules["server"] = srv; sys.modules["folder_paths"] = fp
        d = {str(pack_dir)!r}
        spec = importlib.util.spec_from_file_location(d.replace(".", "_x_"), d + "/__init__.py",
                                                      submodule_search_locations=[d])
        m = importlib.util.module_from_spec(spec); sys.modules[spec.name] = m; spec.loader.exec_module(m)
        import comfyui_pumas_node, pumas_core
        print(json.dumps([comfyui_pumas_node.__file__, pumas_core.__file__, len(list(S.routes))]))
    """)
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-S", "-c", script], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    ext_file, core_file, n = json.loads(proc.stdout.strip().splitlines()[-1])
    assert ext_file.startswith(str(pack_dir)) and core_file.startswith(str(pack_dir))
    assert n == len(ROUTES)
    assert proc.stderr.count("[pumas] boot sync") <= 1

"""Shared helpers for the route, security and boot tests (no tests here).

* :func:`comfy_app` — a real aiohttp app built the way ComfyUI 0.3.64's
  ``PromptServer.add_routes`` builds it (``/api`` copies of every RouteDef, then the originals;
  reference/comfyui-integration.md §2), from a fake ``PromptServer`` whose ``routes`` is a real
  ``web.RouteTableDef``.
* :func:`load_pack` — executes the pack's root ``__init__.py`` like ComfyUI's
  ``load_custom_node`` (``spec_from_file_location`` under a path-derived module name) with fake
  ``server`` and ``folder_paths`` modules in ``sys.modules``.
* the ``env`` fixture — a real library + state dir + import root + ComfyUI tree, via env vars.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytest_asyncio
from aiohttp import web

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


class FakePromptServer:
    """The parts of ComfyUI's ``PromptServer`` the extension uses."""

    def __init__(self):
        self.routes = web.RouteTableDef()
        self.events: list[tuple[str, dict]] = []

    def send_sync(self, event, data, sid=None):
        self.events.append((event, data))


def comfy_app(server: FakePromptServer, client_max_size: int = 100 * 1024 * 1024) -> web.Application:
    """Build an app like ``PromptServer.add_routes`` (no Pumas middleware: it is not ours there;
    ``client_max_size`` as ComfyUI's ``--max-upload-size``, default 100 MB)."""
    app = web.Application(client_max_size=client_max_size)
    api_routes = web.RouteTableDef()
    for route in server.routes:
        if isinstance(route, web.RouteDef):
            api_routes.route(route.method, "/api" + route.path)(route.handler, **route.kwargs)
    app.add_routes(api_routes)
    app.add_routes(server.routes)
    return app


def folder_paths_module(comfy_root: Path) -> types.ModuleType:
    """A stand-in for ComfyUI's ``folder_paths`` over a real tree."""
    mod = types.ModuleType("folder_paths")
    mod.base_path = str(comfy_root)
    mod.models_dir = str(comfy_root / "models")
    keys = {"checkpoints": ["checkpoints"], "loras": ["loras"], "vae": ["vae"],
            "text_encoders": ["text_encoders", "clip"], "diffusion_models": ["unet", "diffusion_models"],
            "clip_vision": ["clip_vision"], "embeddings": ["embeddings"], "controlnet": ["controlnet"],
            "upscale_models": ["upscale_models"], "diffusers": ["diffusers"]}
    exts = {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft"}
    mod.folder_names_and_paths = {k: ([str(comfy_root / "models" / d) for d in v], exts) for k, v in keys.items()}
    return mod


def load_pack(monkeypatch, server: FakePromptServer, comfy_root: Path, pack_dir: Path = REPO):
    """Execute ``<pack_dir>/__init__.py`` the way ComfyUI does; return the module."""
    server_mod = types.ModuleType("server")
    server_mod.PromptServer = SimpleNamespace(instance=server)
    monkeypatch.setitem(sys.modules, "server", server_mod)
    monkeypatch.setitem(sys.modules, "folder_paths", folder_paths_module(comfy_root))
    name = str(pack_dir).replace(".", "_x_")
    spec = importlib.util.spec_from_file_location(name, pack_dir / "__init__.py",
                                                  submodule_search_locations=[str(pack_dir)])
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env(tmp_path, lib_dirs, comfy_tree, monkeypatch):
    """Library root, state dir, an import root (``incoming``) and a ComfyUI tree; env vars set."""
    from pumas_core.config import save_config

    root, state = lib_dirs
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    monkeypatch.setenv("PUMAS_LIBRARY", str(root))
    monkeypatch.setenv("PUMAS_STATE", str(state))
    monkeypatch.setenv("PUMAS_OFFLINE", "1")
    monkeypatch.delenv("PUMAS_ALLOWED_HOSTS", raising=False)
    monkeypatch.delenv("PUMAS_DB", raising=False)
    save_config(state, {"import_roots": [str(incoming)]})
    return SimpleNamespace(root=root, state=state, incoming=incoming, comfy=comfy_tree, tmp=tmp_path)


def stage(src: Path, folder: Path, name: str | None = None) -> Path:
    """Copy a real input into ``folder`` (optionally renamed); return the copy."""
    dst = folder / (name or src.name)
    shutil.copyfile(src, dst)
    return dst


@pytest_asyncio.fixture(params=["standalone", "comfyui"])
async def both_servers(request, env, aiohttp_client, monkeypatch):
    """A test client of each app in turn on a real 127.0.0.1 server: ``pumas serve``'s (``kind ==
    "standalone"``) and our pack loaded into a ComfyUI-shaped app (``kind == "comfyui"``)."""
    if request.param == "standalone":
        from comfyui_pumas_node.standalone import create_app

        c = await aiohttp_client(create_app(host="127.0.0.1"))
        c.kind = "standalone"
        yield c
    else:
        server = FakePromptServer()
        pack = load_pack(monkeypatch, server, env.comfy)
        c = await aiohttp_client(comfy_app(server))
        c.kind = "comfyui"
        yield c
        pack._PUMAS_CONTEXT.close()

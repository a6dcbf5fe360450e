"""``pumas serve``: the Pumas routes and the sidebar panel on a standalone aiohttp server.

Serves the same route table as inside ComfyUI, under ``/pumas/...`` and ``/api/pumas/...``
(the panel calls ``api.fetchApi`` → ``/api/...``), a websocket ``/pumas/ws`` (and
``/api/pumas/ws``) that pushes ``{"type": "pumas.progress", "data": {...}}`` — ComfyUI's ``/ws``
message shape — and the panel itself:

* ``/`` and ``/pumas/ui/`` — a small host page (``web/shim/index.html``);
* ``/scripts/app.js``, ``/scripts/api.js`` — shims of ComfyUI's ``app``/``api`` providing what
  comfyui_pumas_node/web/js/README.md lists (registerExtension, registerSidebarTab, toast, setting, fetchApi,
  events), so ``comfyui_pumas_node/web/js`` runs unchanged;
* ``/extensions/pumas/`` — the ``comfyui_pumas_node/web/js`` folder (same URL depth as in ComfyUI);
* ``/pumas/ui/extensions.json`` — the ``*.js`` files to import, like ComfyUI's ``/extensions``.

Every request passes :func:`security.refusal` (Host / Origin checks) in a middleware; the
Pumas routes and the websocket are additionally wrapped by :func:`security.guard`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import WSMsgType, web

from .adapter import register_app
from .context import PumasContext
from .routes import build_routes
from .security import Handler, HostPolicy, error_response, guard, refusal

if TYPE_CHECKING:
    from pumas_core.facade import Library

log = logging.getLogger("pumas")

HERE = Path(__file__).resolve().parent
SHIM_DIR = HERE / "web" / "shim"
EXT_URL = "/extensions/pumas"
CTX_KEY = web.AppKey("pumas.ctx", PumasContext)


def find_web_js() -> Path | None:
    """The panel folder ``comfyui_pumas_node/web/js`` (package data: source tree, editable and
    wheel installs alike), or None if it is missing (a broken install)."""
    cand = HERE / "web" / "js"
    return cand if (cand / "pumas_panel.js").is_file() else None


class EventHub:
    """Thread-safe fan-out of events to the connected websockets."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sockets: "weakref.WeakSet[web.WebSocketResponse]" = weakref.WeakSet()

    def emit(self, event: str, data: dict[str, Any]) -> None:
        """Queue ``{"type": event, "data": data}`` for every socket; callable from any thread."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        msg = json.dumps({"type": event, "data": data}, default=str)
        loop.call_soon_threadsafe(self._fanout, msg)

    def _fanout(self, msg: str) -> None:
        for ws in list(self.sockets):
            if not ws.closed:
                asyncio.ensure_future(self._send(ws, msg))

    @staticmethod
    async def _send(ws: web.WebSocketResponse, msg: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(msg)


def _js_files(root: Path | None) -> list[str]:
    if root is None:
        return []
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.js") if p.is_file())
    return [f"{EXT_URL}/{f}" for f in files]


def create_app(library: str | os.PathLike[str] | None = None, state: str | os.PathLike[str] | None = None,
               host: str = "127.0.0.1", port: int = 8189,
               library_factory: Callable[..., Library] | None = None) -> web.Application:
    """Build the standalone ``web.Application`` (not started).

    Args:
        library, state: library root / state dir overrides (else env, config, defaults).
        host, port: the address it will listen on (``host`` is added to the accepted Host names).
        library_factory: ``factory(library=, state=) -> Library`` (default ``Library.open``).
    ``app[CTX_KEY]`` is the :class:`PumasContext`; it is closed on cleanup.
    """
    hub = EventHub()
    policy = HostPolicy.from_listen([host])
    ctx = PumasContext(library, state, emit=hub.emit, policy=policy,
                       library_factory=library_factory, server="standalone")

    @web.middleware
    async def safety(request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = refusal(request, policy, None)
        if refused:
            return error_response(*refused)
        return await handler(request)

    app = web.Application(middlewares=[safety])
    app[CTX_KEY] = ctx
    register_app(app, build_routes(ctx))

    async def websocket(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        hub.sockets.add(ws)
        try:
            async for msg in ws:  # the panel sends nothing; drain until closed
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            hub.sockets.discard(ws)
        return ws

    ws_handler = guard(websocket, lambda: policy, None)
    for prefix in ("", "/api"):
        app.router.add_get(prefix + "/pumas/ws", ws_handler)

    web_js = find_web_js()

    async def index(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(SHIM_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def extensions(request: web.Request) -> web.StreamResponse:
        return web.json_response(_js_files(web_js), headers={"Cache-Control": "no-cache"})

    def shim(name: str) -> Handler:
        async def serve_file(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(SHIM_DIR / name, headers={
                "Content-Type": "application/javascript", "Cache-Control": "no-cache"})
        return serve_file

    app.router.add_get("/", index)
    app.router.add_get("/pumas/ui/", index)
    app.router.add_get("/pumas/ui/extensions.json", extensions)
    app.router.add_get("/scripts/app.js", shim("app.js"))
    app.router.add_get("/scripts/api.js", shim("api.js"))
    if web_js is not None:
        app.router.add_static(EXT_URL, web_js, follow_symlinks=False)
    else:
        log.warning("pumas serve: comfyui_pumas_node/web/js not found; the panel is unavailable (routes still work)")

    async def on_startup(app: web.Application) -> None:
        hub.loop = asyncio.get_running_loop()

    async def on_shutdown(app: web.Application) -> None:
        for ws in list(hub.sockets):
            await ws.close()

    async def on_cleanup(app: web.Application) -> None:
        await ctx.jobs.wait_all()
        await asyncio.get_running_loop().run_in_executor(None, ctx.close)

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


def serve(host: str = "127.0.0.1", port: int = 8189, library: str | os.PathLike[str] | None = None,
          state: str | os.PathLike[str] | None = None, offline: bool | None = None) -> None:
    """Run ``pumas serve`` until interrupted (blocking). Prints the URL once.  ``offline``: passed to
    ``Library.open`` (None: ``$PUMAS_OFFLINE`` decides)."""
    factory = None
    if offline is not None:
        import functools

        from pumas_core.facade import Library

        factory = functools.partial(Library.open, offline=offline)
    app = create_app(library, state, host=host, port=port, library_factory=factory)
    shown = f"[{host}]" if ":" in host else host
    print(f"Pumas Library serving on http://{shown}:{port}/  (Ctrl+C to stop)", flush=True)
    web.run_app(app, host=host, port=port, print=None, access_log=None)

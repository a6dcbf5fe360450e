"""Support for the panel's headless-Chromium tests.

* :func:`chromium_path` / :func:`launch_args` — Debian's ``/usr/bin/chromium`` (never a downloaded
  Playwright browser), skipped outside CI when missing, a failure in CI.
* :func:`artifacts_dir` — where screenshots go (``$PUMAS_ARTIFACTS`` or ``./test-artifacts``).
* :class:`PanelTestServer` — a loopback aiohttp server that serves ``web/js`` exactly like ComfyUI
  does (``/extensions/pumas/…``, ``GET /extensions`` listing every ``*.js``), a host page, and an
  ``app``/``api`` shim at ``/scripts/app.js`` / ``/scripts/api.js`` (the members listed in
  ``web/js/README.md``). The ``/api/pumas/*`` routes are an in-memory stand-in of the real routes
  (shapes of DESIGN.md and ``comfyui_pumas_node/routes.py``), used until ``pumas serve`` can host
  the tests; it records every request so tests can check debouncing and headers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import unquote

import pytest
from aiohttp import WSMsgType, web

from conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
WEB_JS = ROOT / "web" / "js"
CHROMIUM = Path(os.environ.get("PUMAS_CHROMIUM", "/usr/bin/chromium"))
PICKLE_EXT = (".pt", ".pth", ".ckpt", ".bin", ".pkl")
PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")   # pickle protocol 2+ opcode, torch zip archive


def looks_pickled(name: str, head: bytes) -> bool:
    """The stand-in's pickle test: extension or leading bytes (the real server sniffs content)."""
    return name.lower().endswith(PICKLE_EXT) or head.startswith(PICKLE_MAGIC)

LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    """Path of the system Chromium; skip the test outside CI when absent, fail in CI."""
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} missing (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"playwright not installed: {exc}")
        pytest.skip(f"playwright not installed: {exc}")
    return str(CHROMIUM)


def artifacts_dir() -> Path:
    """Screenshot folder (``$PUMAS_ARTIFACTS`` or ``./test-artifacts``), created."""
    d = Path(os.environ.get("PUMAS_ARTIFACTS") or (ROOT / "test-artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d


HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Pumas panel test</title>
<style>:root{--comfy-menu-bg:#353535;--fg-color:#fff;--border-color:#4e4e4e;--comfy-input-bg:#222}
body{margin:0;background:#202020;color:#fff;font-family:sans-serif}
#sidebar{width:380px;height:760px;display:flex;flex-direction:column}
#sidebar>div{height:100%}</style></head>
<body><div id="sidebar"></div><script type="module">
const files = await (await fetch("/extensions")).json();
// Like ComfyUI: import every *.js of the extension, the lib/ modules included.
window.__importErrors = [];
for (const f of files) { try { await import(f); } catch (e) { window.__importErrors.push(f + ": " + e); } }
window.__loaded = true;
</script></body></html>"""

APP_SHIM = """
export const app = {
  toasts: [], refreshCount: 0, settings: {}, tabs: [],
  async refreshComboInNodes() { this.refreshCount += 1; },
  registerExtension(ext) {
    for (const s of ext.settings || []) this.settings[s.id] = s.defaultValue;
    queueMicrotask(async () => { await ext.setup?.(); window.__setupDone = true; });
  },
  extensionManager: {
    registerSidebarTab(tab) { app.tabs.push(tab); app.mount(tab); },
    toast: { add(t) { app.toasts.push(t); } },
    setting: { get: (id) => app.settings[id], set: async (id, v) => { app.settings[id] = v; } },
  },
  mount(tab) {
    const el = document.createElement("div");
    document.getElementById("sidebar").replaceChildren(el);
    tab.render(el);
  },
  remount() { const t = this.tabs[0]; t.destroy?.(); this.mount(t); },
};
window.__app = app;
"""

API_SHIM = """
class Api extends EventTarget {
  apiURL(route) { return "/api" + route; }
  fetchApi(route, opts = {}) { return fetch(this.apiURL(route), { cache: "no-cache", ...opts }); }
}
export const api = new Api();
window.__api = api;
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onmessage = (m) => { const { type, data } = JSON.parse(m.data); api.dispatchEvent(new CustomEvent(type, { detail: data })); };
"""


#: page.evaluate(DROP_JS, [name, base64 bytes, selector]) drops one desktop file like a user would.
DROP_JS = """([name, b64, selector]) => {
  const bin = atob(b64); const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const dt = new DataTransfer(); dt.items.add(new File([bytes], name));
  const target = document.querySelector(selector || '.pumas-drop');
  for (const type of ['dragenter', 'dragover', 'drop'])
    target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
}"""


def make_model(i: int, name: str | None = None, **extra) -> dict:
    """A model dict of the metadata.json shape (DESIGN.md) for the in-memory stand-in."""
    name = name or f"model_{i:05d}.safetensors"
    digest = hashlib.sha256(name.encode()).hexdigest()
    m = {
        "schema_version": 1, "model_id": digest[:32], "official_name": name, "cleaned_name": name,
        "category": "checkpoint", "family": "sd15", "model_type": "checkpoint", "format": "single-file",
        "file_format": "safetensors", "hashes": {"sha256": digest, "blake3": digest[::-1]},
        "files": [{"name": name, "size": 1000 + i, "sha256": digest, "blake3": digest[::-1]}],
        "size_bytes": 1000 + i, "security_tier": "safe", "match_source": "hash", "trust": "verified",
        "pending_online_lookup": False, "tags": [], "description": "", "path": f"/lib/{name}",
    }
    m.update(extra)
    return m


class PanelTestServer:
    """In-memory stand-in of the Pumas routes on a real loopback aiohttp server (own thread).

    Attributes: ``models`` (list of model dicts), ``requests`` (``[(method, path_qs, headers)]``),
    ``delays`` (``{query: seconds}`` artificial latency of ``GET /pumas/models?q=``),
    ``health`` (the ``GET /pumas/health`` body), ``offline`` (for ``GET /pumas/status``),
    ``import_root`` (the only folder ``/browse`` and ``/import`` accept), ``uploads`` (saved files).
    """

    def __init__(self, tmp: Path, models: list[dict] | None = None):
        self.models = list(models or [])
        self.requests: list[tuple[str, str, dict]] = []
        self.delays: dict[str, float] = {}
        self.health = {"status": "healthy", "broken_links": [], "orphaned_links": [], "ghost_apps": [], "phantom_models": []}
        self.offline = False
        self.import_root = (tmp / "imports").resolve()
        self.import_root.mkdir(parents=True, exist_ok=True)
        self.upload_dir = tmp / "uploads"
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, dict] = {}
        self.import_bodies: list[dict] = []
        self.sockets: set = set()
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    # ---- jobs -------------------------------------------------------------------------------
    async def _push(self, data: dict) -> None:
        for ws in list(self.sockets):
            try:
                await ws.send_str(json.dumps({"type": "pumas.progress", "data": data}))
            except ConnectionError:
                self.sockets.discard(ws)

    def _start_job(self, kind: str, stages: list[dict], result: dict, apply=None) -> str:
        job_id = uuid.uuid4().hex[:16]
        self.jobs[job_id] = {"job_id": job_id, "kind": kind, "state": "queued", "progress": {}, "result": None, "error": None, "code": None}

        async def run():
            rec = self.jobs[job_id]
            rec["state"] = "running"
            for st in stages:
                rec["progress"] = st
                await self._push({**st, "job": job_id, "kind": kind, "state": "running"})
                await asyncio.sleep(0.15)
            if apply:
                apply()
            rec.update(state="done", result=result)
            await self._push({"job": job_id, "kind": kind, "state": "done", "result": result, "refresh": True})

        asyncio.get_running_loop().create_task(run())
        return job_id

    def _import_model(self, path: Path, size: int) -> dict:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        pickle = looks_pickled(path.name, path.read_bytes()[:4])
        return make_model(len(self.models), path.name, size_bytes=size, hashes={"sha256": digest, "blake3": digest},
                          file_format="pickle" if pickle else "safetensors",
                          security_tier="pickle" if pickle else "safe", trust="none", match_source="none")

    # ---- handlers -------------------------------------------------------------------------
    @web.middleware
    async def _record(self, request, handler):
        if request.path.startswith("/api/"):
            self.requests.append((request.method, request.path_qs, dict(request.headers)))
        return await handler(request)

    def _confine(self, p: str) -> Path:
        real = Path(os.path.realpath(p))
        if os.path.commonpath([real, self.import_root]) != str(self.import_root):
            raise web.HTTPForbidden(text=json.dumps({"error": f"{p}: outside the import roots", "code": "path_not_allowed"}),
                                    content_type="application/json")
        return real

    async def models_route(self, request):
        q = request.query.get("q", "").strip().lower()
        mtype = request.query.get("type") or None
        limit = int(request.query.get("limit", 50))
        offset = int(request.query.get("offset", 0))
        if q in self.delays:
            await asyncio.sleep(self.delays[q])
        found = [m for m in self.models if (not mtype or m["model_type"] == mtype)
                 and (not q or q in m["official_name"].lower())]
        if q:
            return web.json_response({"models": found[:limit], "query_time_ms": 0.1})
        return web.json_response({"models": found[offset:offset + limit], "offset": offset, "limit": limit})

    async def model_route(self, request):
        mid = request.match_info["model_id"]
        for m in self.models:
            if m["model_id"] == mid:
                return web.json_response({**m, "links": [{"path": f"/ComfyUI/models/checkpoints/{m['official_name']}", "app_id": "app1"}]})
        return web.json_response({"error": f"model {mid} not found", "code": "not_found"}, status=404)

    async def import_route(self, request):
        if request.content_type != "application/json":
            return web.json_response({"error": "Content-Type must be application/json", "code": "bad_input"}, status=415)
        body = await request.json()
        self.import_bodies.append(body)
        paths = [self._confine(p) for p in body["paths"]]
        for p in paths:
            if not p.is_file():
                return web.json_response({"error": f"{p}: no such file", "code": "not_found"}, status=404)
            if looks_pickled(p.name, p.read_bytes()[:4]) and body.get("accept_pickle") is not True:
                return web.json_response({"error": f"{p.name}: pickle format needs accept_pickle", "code": "pickle_not_accepted"}, status=400)
        new = [self._import_model(p, p.stat().st_size) for p in paths]
        stages = [{"stage": s, "file": paths[0].name, "bytes_done": 1, "bytes_total": 2} for s in ("copying", "hashing", "writing_metadata", "indexing", "syncing")]
        job = self._start_job("import", stages, {"imported": new, "skipped": [], "failed": []}, lambda: self.models.extend(new))
        return web.json_response({"job": job, "job_id": job}, status=202)

    async def upload_route(self, request):
        name = unquote(request.headers.get("X-Pumas-Filename", ""))
        if not name or "/" in name or name in (".", ".."):
            return web.json_response({"error": f"upload: bad file name {name!r}", "code": "bad_input"}, status=400)
        accept = request.headers.get("X-Pumas-Accept-Pickle") == "1"
        dest = self.upload_dir / name
        with dest.open("wb") as f:
            async for chunk in request.content.iter_chunked(1 << 16):
                f.write(chunk)
        if looks_pickled(name, dest.read_bytes()[:4]) and not accept:
            dest.unlink()
            return web.json_response({"error": f"{name}: pickle format needs accept_pickle", "code": "pickle_not_accepted", "state": "failed"}, status=400)
        model = self._import_model(dest, dest.stat().st_size)
        self.models.append(model)
        job_id = uuid.uuid4().hex[:16]
        rec = {"job_id": job_id, "kind": "upload", "state": "done", "result": {"imported": [model], "skipped": [], "failed": []}}
        self.jobs[job_id] = rec
        return web.json_response({**rec, "job": job_id})

    async def job_route(self, request):
        rec = self.jobs.get(request.match_info["job_id"])
        return web.json_response(rec) if rec else web.json_response({"error": "no such job", "code": "not_found"}, status=404)

    async def browse_route(self, request):
        p = request.query.get("path")
        if not p:
            return web.json_response({"path": None, "parent": None, "roots": [str(self.import_root)],
                                      "entries": [{"name": str(self.import_root), "path": str(self.import_root), "is_dir": True}]})
        folder = self._confine(p)
        entries = [{"name": c.name, "path": str(c), "is_dir": c.is_dir()} for c in sorted(folder.iterdir())]
        parent = None if folder == self.import_root else str(folder.parent)
        return web.json_response({"path": str(folder), "parent": parent, "entries": entries, "roots": [str(self.import_root)]})

    async def simple_route(self, request):
        tail = request.match_info["tail"]
        if tail == "status":
            return web.json_response({"offline": self.offline, "models": len(self.models)})
        if tail == "health":
            return web.json_response(self.health)
        parts = tail.split("/")
        if request.method == "POST" and len(parts) == 3 and parts[0] == "models" and parts[2] in ("delete", "metadata"):
            body = await request.json()
            found = [m for m in self.models if m["model_id"] == parts[1]]
            if not found:
                return web.json_response({"error": f"model {parts[1]} not found", "code": "not_found"}, status=404)
            if parts[2] == "delete":
                self.models.remove(found[0])
                return web.json_response({"model_id": parts[1], "links_removed": 1, "files_removed": 1})
            found[0].update(body, match_source="manual")
            return web.json_response(found[0])
        if tail in ("health/clean", "health/repair", "rebuild"):
            def fix():
                self.health = {"status": "healthy", "broken_links": [], "orphaned_links": [], "ghost_apps": [], "phantom_models": []}
            job = self._start_job(tail, [{"stage": "scanning", "index": 0, "count": 2}], {"ok": True}, fix)
            return web.json_response({"job": job, "job_id": job}, status=202)
        return web.json_response({"error": f"unknown route {tail}", "code": "not_found"}, status=404)

    async def ws_route(self, request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.add(ws)
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
        self.sockets.discard(ws)
        return ws

    async def static_list(self, request):
        files = sorted(p.relative_to(WEB_JS).as_posix() for p in WEB_JS.rglob("*.js"))
        return web.json_response([f"/extensions/pumas/{f}" for f in files])

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 20, middlewares=[self._record])   # uploads must stream past 1 MB
        def js(text):
            async def handler(_request):
                return web.Response(text=text, content_type="application/javascript")
            return handler

        async def host(_request):
            return web.Response(text=HOST_PAGE, content_type="text/html")

        app.router.add_get("/", host)
        app.router.add_get("/scripts/app.js", js(APP_SHIM))
        app.router.add_get("/scripts/api.js", js(API_SHIM))
        app.router.add_get("/extensions", self.static_list)
        app.router.add_static("/extensions/pumas/", WEB_JS)
        app.router.add_get("/ws", self.ws_route)
        app.router.add_get("/api/pumas/models", self.models_route)
        app.router.add_get("/api/pumas/models/{model_id}", self.model_route)
        app.router.add_post("/api/pumas/import", self.import_route)
        app.router.add_post("/api/pumas/upload", self.upload_route)
        app.router.add_get("/api/pumas/jobs/{job_id}", self.job_route)
        app.router.add_get("/api/pumas/browse", self.browse_route)
        app.router.add_route("*", "/api/pumas/{tail:.*}", self.simple_route)
        return app

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self) -> "PanelTestServer":
        """Start on 127.0.0.1 (free port) in a daemon thread; sets ``url``."""
        ready = threading.Event()

        def main():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)

            async def boot():
                self._runner = web.AppRunner(self._app())
                await self._runner.setup()
                site = web.TCPSite(self._runner, "127.0.0.1", 0)
                await site.start()
                port = site._server.sockets[0].getsockname()[1]
                self.url = f"http://127.0.0.1:{port}"
                ready.set()

            self._loop.run_until_complete(boot())
            self._loop.run_forever()

        self._thread = threading.Thread(target=main, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("panel test server did not start within 10 s")
        return self

    def stop(self) -> None:
        """Shut the server down and join its thread."""
        if not self._loop:
            return

        async def down():
            for ws in list(self.sockets):
                await ws.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def posted(self, path: str) -> list[dict]:
        """Headers of every POST to ``/api`` + ``path`` received so far."""
        return [h for m, p, h in self.requests if m == "POST" and p == "/api" + path]

    def model_requests(self) -> list[str]:
        """Paths+queries of every ``GET /api/pumas/models?...`` received so far."""
        return [p for m, p, _ in self.requests if m == "GET" and p.startswith("/api/pumas/models?")]


def wait_until(fn, timeout: float = 5.0, step: float = 0.05):
    """Poll ``fn()`` until truthy (returns it) or raise AssertionError after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def copy_real(src: Path, dest_dir: Path, name: str | None = None) -> Path:
    """Copy a real test file into ``dest_dir`` (keeps the cache pristine)."""
    dest = dest_dir / (name or src.name)
    shutil.copyfile(src, dest)
    return dest


class RealServe:
    """``pumas serve`` (``python -m pumas_core.cli.main serve``) in a subprocess on a free loopback
    port, with a fresh library, state dir and one import root (written to the state's config.json).

    Attributes: ``url``, ``library``, ``state``, ``import_root``, ``log`` (stdout+stderr file).
    """

    def __init__(self, tmp: Path):
        self.library = tmp / "library"
        self.state = tmp / "state"
        self.import_root = (tmp / "imports").resolve()
        self.import_root.mkdir(parents=True, exist_ok=True)
        self.log = tmp / "serve.log"
        self.proc = None
        self.url = ""

    def start(self, timeout: float = 20.0) -> "RealServe":
        """Start the server and wait until ``GET /`` answers (AssertionError with the log if not)."""
        import socket
        import subprocess
        import sys
        import urllib.request

        from pumas_core.config import save_config

        save_config(self.state, {"import_roots": [str(self.import_root)]})
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "pumas_core.cli.main", "--library", str(self.library), "--state", str(self.state),
               "serve", "--host", "127.0.0.1", "--port", str(port)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"pumas serve exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        try:
            wait_until(up, timeout)
        except AssertionError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate the server process this object started (kill after 10 s)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(10)

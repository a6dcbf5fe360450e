"""The in-memory stand-in of the Pumas routes for the panel's browser tests.

:class:`PanelTestServer` is a loopback aiohttp server that serves ``web/js`` exactly like ComfyUI does
(``/extensions/pumas/…``, ``GET /extensions`` listing every ``*.js``), a host page, and an
``app``/``api`` shim at ``/scripts/app.js`` / ``/scripts/api.js`` (the members listed in
``web/js/README.md``). The ``/api/pumas/*`` routes answer in memory with the shapes of DESIGN.md and
``comfyui_pumas_node/routes.py`` / ``routes_extra.py``; it records every request so tests can check
debouncing, bodies and headers. :func:`make_model` builds model dicts of the metadata.json shape.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import uuid
from pathlib import Path
from urllib.parse import unquote

import panel_fake_extra as extra
from aiohttp import WSMsgType, web
from browser_support import API_SHIM, APP_SHIM, HOST_PAGE, WEB_JS

PICKLE_EXT = (".pt", ".pth", ".ckpt", ".bin", ".pkl")
PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")   # pickle protocol 2+ opcode, torch zip archive


def looks_pickled(name: str, head: bytes) -> bool:
    """The stand-in's pickle test: extension or leading bytes (the real server sniffs content)."""
    return name.lower().endswith(PICKLE_EXT) or head.startswith(PICKLE_MAGIC)


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
    ``import_root`` (the only folder ``/browse`` and ``/import`` accept), ``uploads`` (saved files),
    ``bodies`` (``[(action, model_id|None, body)]`` of every other JSON POST), ``apps`` (registered installs).
    """

    def __init__(self, tmp: Path, models: list[dict] | None = None):
        self.models = list(models or [])
        self.requests: list[tuple[str, str, dict]] = []
        self.delays: dict[str, float] = {}
        self.health = {"status": "healthy", "broken_links": [], "orphaned_links": [], "ghost_apps": [],
                       "phantom_models": []}
        self.offline = False
        self.library_error = ""  # set: GET /pumas/status answers 503 library_offline with this message
        self.sync_preview = {"dry_run": True, "created": 1, "already_correct": 0, "removed_broken": 0,
                             "removed_stale": 0,
                             "conflicts": [], "planned": [], "warnings": [], "errors": []}  # POST /pumas/sync/preview
        self.import_root = (tmp / "imports").resolve()
        self.import_root.mkdir(parents=True, exist_ok=True)
        self.upload_dir = tmp / "uploads"
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, dict] = {}
        self.import_bodies: list[dict] = []
        self.bodies: list[tuple[str, str | None, dict]] = []   # (action or route, model id, JSON body)
        self.apps: list[dict] = []
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
        self.jobs[job_id] = {"job_id": job_id, "kind": kind, "state": "queued", "progress": {}, "result": None,
                             "error": None, "code": None}

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
        if not any(os.path.commonpath([real, r]) == str(r) for r in extra.roots(self)):
            raise web.HTTPForbidden(text=json.dumps({"error": f"{p}: outside the import roots",
                                                     "code": "path_not_allowed"}),
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
            return web.json_response({"models": extra.annotate(self, found[:limit]), "query_time_ms": 0.1})
        return web.json_response({"models": extra.annotate(self, found[offset:offset + limit]), "offset": offset,
                                  "limit": limit})

    async def model_route(self, request):
        mid = request.match_info["model_id"]
        for m in self.models:
            if m["model_id"] == mid:
                link = {"link_path": f"/ComfyUI/models/checkpoints/{m['official_name']}", "target_path": m["path"],
                        "app_id": "app1", "folder_key": "checkpoints", "kind": "file", "exists": True}
                return web.json_response({"links": [link], "phantom_files": [], **m})
        return web.json_response({"error": f"model {mid} not found", "code": "not_found"}, status=404)

    async def import_route(self, request):
        if request.content_type != "application/json":
            return web.json_response({"error": "Content-Type must be application/json", "code": "bad_input"},
                                     status=415)
        body = await request.json()
        self.import_bodies.append(body)
        paths = [self._confine(p) for p in body["paths"]]
        for p in paths:
            if not p.is_file():
                return web.json_response({"error": f"{p}: no such file", "code": "not_found"}, status=404)
            if looks_pickled(p.name, p.read_bytes()[:4]) and body.get("accept_pickle") is not True:
                return web.json_response({"error": f"{p.name}: pickle format needs accept_pickle",
                                          "code": "pickle_not_accepted"}, status=400)
        new = [self._import_model(p, p.stat().st_size) for p in paths]
        stages = [{"stage": s, "file": paths[0].name, "bytes_done": 1, "bytes_total": 2}
                  for s in ("copying", "hashing", "writing_metadata", "indexing", "syncing")]
        job = self._start_job("import", stages, {"imported": new, "skipped": [], "failed": []},
                              lambda: self.models.extend(new))
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
            return web.json_response({"error": f"{name}: pickle format needs accept_pickle",
                                      "code": "pickle_not_accepted", "state": "failed"}, status=400)
        model = self._import_model(dest, dest.stat().st_size)
        self.models.append(model)
        job_id = uuid.uuid4().hex[:16]
        rec = {"job_id": job_id, "kind": "upload", "state": "done",
               "result": {"imported": [model], "skipped": [], "failed": []}}
        self.jobs[job_id] = rec
        return web.json_response({**rec, "job": job_id})

    async def job_route(self, request):
        rec = self.jobs.get(request.match_info["job_id"])
        return web.json_response(rec) if rec else web.json_response({"error": "no such job", "code": "not_found"},
                                                                    status=404)

    async def browse_route(self, request):
        p = request.query.get("path")
        roots = extra.roots(self)
        if not p:
            return web.json_response({"path": None, "parent": None, "roots": [str(r) for r in roots],
                                      "entries": [{"name": str(r), "path": str(r), "is_dir": True} for r in roots]})
        folder = self._confine(p)
        entries = [{"name": c.name, "path": str(c), "is_dir": c.is_dir()} for c in sorted(folder.iterdir())]
        parent = None if folder in roots else str(folder.parent)
        return web.json_response({"path": str(folder), "parent": parent, "entries": entries,
                                  "roots": [str(self.import_root)]})

    def _find(self, mid: str) -> dict | None:
        return next((m for m in self.models if m["model_id"] == mid), None)

    def _job_response(self, kind: str, result: dict, apply=None, stage: str = "scanning") -> web.Response:
        job = self._start_job(kind, [{"stage": stage, "index": 0, "count": 2}], result, apply)
        return web.json_response({"job": job, "job_id": job}, status=202)

    async def model_post(self, request, mid: str, action: str) -> web.Response:
        body = await request.json()
        self.bodies.append((action, mid, body))
        found = self._find(mid)
        if not found:
            return web.json_response({"error": f"model {mid} not found", "code": "not_found"}, status=404)
        if action == "delete":
            self.models.remove(found)
            return web.json_response({"model_id": mid, "links_removed": 1, "files_removed": 1})
        if action == "metadata":   # like Library.update_metadata: identity edits become manual
            found.update(body, match_source="manual", pending_online_lookup=False)
            return web.json_response(found)
        # download-missing: the completed set replaces the incomplete one (a new model id)
        done = make_model(len(self.models) + 1000, found["official_name"] + " ", **{
            k: v for k, v in found.items() if k not in ("model_id", "complete", "missing_files")})
        done.update(complete=True, official_name=found["official_name"])
        result = {"imported": [done], "skipped": [], "failed": [], "replaced": mid}
        return self._job_response("download", result, lambda: self.models.__setitem__(self.models.index(found), done),
                                  stage="downloading")

    async def simple_route(self, request):
        tail = request.match_info["tail"]
        if tail == "status" and self.library_error:
            return web.json_response({"error": self.library_error, "code": "library_offline"}, status=503)
        if tail == "status":
            return web.json_response({"offline": self.offline, "models": len(self.models), "pending_lookups": 0,
                                      "network": {"online": not self.offline, "hosts": {}, "message": ""}})
        if tail == "health":
            return web.json_response(self.health)
        if tail == "apps" and request.method == "GET":
            return web.json_response({"apps": self.apps})
        parts = tail.split("/")
        if request.method != "POST":
            return web.json_response({"error": f"unknown route {tail}", "code": "not_found"}, status=404)
        if request.content_type != "application/json":
            return web.json_response({"error": "Content-Type must be application/json", "code": "bad_content_type"},
                                     status=415)
        if len(parts) == 3 and parts[0] == "models" and parts[2] in ("delete", "metadata", "download-missing"):
            return await self.model_post(request, parts[1], parts[2])
        body = await request.json()
        self.bodies.append((tail, None, body))
        if tail == "apps":
            p = Path(str(body.get("path", "")))
            if not p.is_absolute() or not (p / "main.py").is_file():
                return web.json_response({"error": f"{p}: not a ComfyUI folder (no main.py, comfy/ or models/)",
                                          "code": "bad_input"}, status=400)
            app = {"app_id": hashlib.sha256(str(p).encode()).hexdigest()[:10], "root": str(p), "version": "0.3.64",
                   "last_sync_at": None}
            self.apps.append(app)
            return web.json_response({"app": app})
        if tail == "lookup":
            ids = body.get("model_ids") or []

            def found_it():
                for mid in ids:
                    m = self._find(mid)
                    if m:
                        m.update(pending_online_lookup=False, trust="high", match_source="filename_exact",
                                 huggingface={"repo_id": "org/found", "url": None})
            return self._job_response("lookup", {"updated": ids, "pending": [], "unchanged": [], "missing": []},
                                      found_it, stage="lookup")
        if tail == "sync/preview":
            return web.json_response(self.sync_preview)
        if tail == "sync":
            return self._job_response("sync", {"created": 1, "unchanged": 0, "errors": []})
        if tail in ("health/clean", "health/repair"):
            return self._job_response(tail, self.fix_result or {"fixed": [], "not_fixed": []},
                                      lambda: extra.fix(self, tail))
        if tail == "rebuild":
            return self._job_response(tail, {"models": len(self.models)})
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
        extra.install(self, app)
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


"""The Pumas HTTP routes, declared once for ComfyUI and ``pumas serve``.

:func:`build_routes` returns ``[(method, path, handler)]``; every handler is already wrapped
by :func:`security.guard` (Host / Origin / Content-Type checks) and by :func:`_errors`
(``PumasError`` → ``{"error", "code"}`` with its ``http_status``).  Handlers are thin: they
parse the request, confine paths, and call the ``Library`` facade in the executor.
Long work returns ``{"job": id, "job_id": id}`` at once (see :mod:`jobs`).
Downloads and install registration live in :mod:`routes_extra`.
Route list: docs/internal-api.md "HTTP routes" (checked by tests/test_docs.py); shapes the panel relies
on: web/js/README.md.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from typing import Any

from aiohttp import web

from pumas_core.errors import BadInputError, NotFoundError, PumasError
from pumas_core.settings import IMPORT_MODES

from . import browse as browse_mod
from .context import PumasContext
from .jobs import JobResult, Progress, error_fields, http_status_of
from .routes_adopt import adopt_routes
from .routes_extra import extra_routes
from .routes_workflow import workflow_routes
from .security import JSON, OCTET, Handler, Route, RouteRow, confine, guard
from .upload import receive_body, upload_name

log = logging.getLogger("pumas")

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000


def _errors(handler: Handler) -> Handler:
    """Wrap a handler so an exception becomes the JSON error answer (``error_fields``: a PumasError's own
    ``code`` / ``http_status``, anything else ``internal`` / 500, logged with its traceback)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            msg, code, status = error_fields(exc)
            if not isinstance(exc, PumasError):
                log.exception("pumas: %s %s failed", request.method, request.path)
            return web.json_response({"error": msg, "code": code}, status=status)

    return wrapped


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object body; an empty body is ``{}``. BadInputError otherwise."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError or UnicodeDecodeError (both ValueError); no PumasError here
        raise BadInputError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadInputError("request body must be a JSON object")
    return data


def _int(request: web.Request, name: str, default: int | None, hi: int) -> int | None:
    value = request.query.get(name)
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except ValueError:  # int() of a non-number
        raise BadInputError(f"query parameter {name}={value!r} is not an integer") from None
    if n < 0:
        raise BadInputError(f"query parameter {name}={n} must be >= 0")
    return min(n, hi)


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    v = body.get(key)
    if v is not None and (not isinstance(v, str) or not v):
        raise BadInputError(f"{key} must be a non-empty string")
    return v if v is None else str(v)


def _job(job_id: str) -> web.Response:
    return web.json_response({"job": job_id, "job_id": job_id}, status=202)


def build_routes(ctx: PumasContext) -> list[Route]:
    """All Pumas routes as ``[(method, path, handler)]`` bound to ``ctx``."""

    async def status(request: web.Request) -> web.StreamResponse:
        result = await ctx.call(lambda lib: lib.status())
        return web.json_response({**result, "server": ctx.server})

    async def models(request: web.Request) -> web.StreamResponse:
        limit = _int(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        offset = _int(request, "offset", 0, 10**9)
        mtype = request.query.get("type") or None
        q = request.query.get("q", "").strip()
        if q:
            result = await ctx.call(lambda lib: lib.search(q, limit=limit, model_type=mtype))
            await ctx.call(lambda lib: lib.annotate_listing(result["models"]))
            return web.json_response(result)
        found = await ctx.call(lambda lib: lib.annotate_listing(
            lib.list_models(model_type=mtype, limit=limit, offset=offset)))
        return web.json_response({"models": found, "offset": offset, "limit": limit})

    async def preview(request: web.Request) -> web.StreamResponse:
        mid = request.match_info["model_id"]
        path, mime = await ctx.call(lambda lib: lib.preview(mid))
        return web.FileResponse(path, headers={"Content-Type": mime, "Cache-Control": "private, max-age=300",
                                               "X-Content-Type-Options": "nosniff"})

    async def model(request: web.Request) -> web.StreamResponse:
        mid = request.match_info["model_id"]
        return web.json_response(await ctx.call(lambda lib: lib.get_model(mid)))

    async def import_(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        paths = body.get("paths")
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise BadInputError("paths must be a non-empty list of absolute paths")
        mode = body.get("mode", "auto")
        if mode not in IMPORT_MODES:
            raise BadInputError(f"mode {mode!r} must be one of {', '.join(IMPORT_MODES)}")
        mtype, family = _opt_str(body, "type"), _opt_str(body, "family")
        tags = body.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BadInputError("tags must be a list of strings")
        accept = body.get("accept_pickle") is True
        roots = await ctx.call(ctx.allowed_roots)
        real = [str(confine(p, roots)) for p in paths]
        return _job(ctx.submit("import", lambda lib, progress: lib.import_paths(
            real, mode=mode, model_type=mtype, family=family, tags=tuple(tags),
            accept_pickle=accept, progress=progress, within_roots=roots), refresh=True))

    async def upload(request: web.Request) -> web.StreamResponse:
        name = upload_name(request.headers.get("X-Pumas-Filename"))
        accept = request.headers.get("X-Pumas-Accept-Pickle", "").strip().lower() in ("1", "true", "yes")
        mtype = request.headers.get("X-Pumas-Type") or None
        size = request.content_length
        loop = asyncio.get_running_loop()

        async def receive(progress: Progress) -> JobResult:
            up = await loop.run_in_executor(ctx.executor, lambda: ctx.library().begin_upload(
                name, size=size, model_type=mtype, accept_pickle=accept, progress=progress))
            try:  # the body is read on the loop; a worker thread only for each write
                await receive_body(request.content, up, name=name, size=size, executor=ctx.executor)
            except BaseException:
                await asyncio.shield(loop.run_in_executor(ctx.executor, up.abort))  # staging removed
                raise
            return await loop.run_in_executor(ctx.executor, up.finish)

        # the job runs in its own task: if aiohttp cancels this handler (client gone), the job
        # still ends (failed, "interrupted") and the staging is cleaned
        _, task = ctx.jobs.spawn_async("upload", receive, refresh=True)
        record = await asyncio.shield(task)
        body, status = {**record, "job": record["job_id"]}, 200
        result = record.get("result") or {}
        if record["state"] == "failed":
            status = http_status_of(record.get("code"), 500)
        elif result.get("failed") and not result.get("imported") and not result.get("skipped"):
            first = result["failed"][0]  # the one file was refused: answer with its error
            body.update(error=first.get("error"), code=first.get("code", "bad_input"))
            status = http_status_of(body["code"], 400)
        resp = web.json_response(body, status=status)
        if record.get("code") == "upload_too_slow":  # answer, then hang up: no lingering read of the rest
            await resp.prepare(request)
            await resp.write_eof()
            request.protocol.force_close()
        return resp

    async def delete(request: web.Request) -> web.StreamResponse:
        mid = request.match_info["model_id"]
        await _body(request)
        result = await ctx.call(lambda lib: lib.delete_model(mid))
        ctx.jobs.announce({"job": None, "kind": "delete", "state": "done", "refresh": True, "result": result})
        return web.json_response(result)

    async def metadata(request: web.Request) -> web.StreamResponse:
        mid = request.match_info["model_id"]
        changes = await _body(request)
        if not changes:
            raise BadInputError("no metadata changes given")
        return web.json_response(await ctx.call(lambda lib: lib.update_metadata(mid, changes)))

    async def sync_preview(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        app_id = _opt_str(body, "app_id")
        return web.json_response(await ctx.call(lambda lib: lib.sync(app_id=app_id, dry_run=True)))

    async def sync(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        app_id = _opt_str(body, "app_id")
        res = body.get("resolutions", body.get("resolve"))
        if res is not None and not isinstance(res, (dict, list, str)):
            raise BadInputError(
                "resolutions must be an object {link_path: skip|backup|rename}, a list, or one of those words")
        return _job(ctx.submit("sync", lambda lib, progress: lib.sync(
            app_id=app_id, dry_run=False, resolutions=res), refresh=True))

    async def health(request: web.Request) -> web.StreamResponse:
        return web.json_response(await ctx.call(lambda lib: lib.health()))

    async def repair(request: web.Request) -> web.StreamResponse:
        await _body(request)
        return _job(ctx.submit("repair", lambda lib, progress: lib.repair(), refresh=True))

    async def clean(request: web.Request) -> web.StreamResponse:
        await _body(request)
        return _job(ctx.submit("clean", lambda lib, progress: lib.clean(), refresh=True))

    async def relocate(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        old, new = body.get("old"), body.get("new")
        if not isinstance(old, str) or not old or not os.path.isabs(old):
            raise BadInputError("old must be an absolute path")
        roots = await ctx.call(ctx.allowed_roots)
        new_real = str(confine(new, roots, what="new"))
        return _job(ctx.submit("relocate", lambda lib, progress: lib.relocate(old, new_real), refresh=True))

    async def rebuild(request: web.Request) -> web.StreamResponse:
        await _body(request)
        return _job(ctx.submit("rebuild", lambda lib, progress: lib.rebuild(progress=progress), refresh=True))

    async def lookup(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        ids = body.get("model_ids")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
            raise BadInputError("model_ids must be a list of strings")
        return _job(ctx.submit("lookup", lambda lib, progress: lib.lookup(ids)))  # not-vocab: a job kind

    async def job(request: web.Request) -> web.StreamResponse:
        record = ctx.jobs.get(request.match_info["job_id"])
        if record is None:
            raise NotFoundError(f"job {request.match_info['job_id']} not found")
        return web.json_response(record)

    async def jobs(request: web.Request) -> web.StreamResponse:
        return web.json_response({"jobs": ctx.jobs.list()})

    async def browse(request: web.Request) -> web.StreamResponse:
        path = request.query.get("path") or None
        return web.json_response(await ctx.call(
            lambda lib: browse_mod.browse(path, ctx.import_roots(lib))))

    async def get_settings(request: web.Request) -> web.StreamResponse:
        return web.json_response(await ctx.call(ctx.settings))

    async def post_settings(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        result = await ctx.call(lambda lib: lib.update_settings(body))
        if "library" in body:
            ctx.reopen()
        return web.json_response(result)

    get, post = "GET", "POST"
    table: list[RouteRow] = [
        (get, "/pumas/status", status, None),
        (get, "/pumas/models", models, None),
        (get, "/pumas/models/{model_id}", model, None),
        (get, "/pumas/models/{model_id}/preview", preview, None),
        (post, "/pumas/import", import_, JSON),
        (post, "/pumas/upload", upload, OCTET),
        (post, "/pumas/models/{model_id}/delete", delete, JSON),
        (post, "/pumas/models/{model_id}/metadata", metadata, JSON),
        (post, "/pumas/sync/preview", sync_preview, JSON),
        (post, "/pumas/sync", sync, JSON),
        (get, "/pumas/health", health, None),
        (post, "/pumas/health/repair", repair, JSON),
        (post, "/pumas/health/clean", clean, JSON),
        (post, "/pumas/relocate", relocate, JSON),
        (post, "/pumas/rebuild", rebuild, JSON),
        (post, "/pumas/lookup", lookup, JSON),
        (get, "/pumas/jobs", jobs, None),
        (get, "/pumas/jobs/{job_id}", job, None),
        (get, "/pumas/browse", browse, None),
        (get, "/pumas/settings", get_settings, None),
        (post, "/pumas/settings", post_settings, JSON),
    ]
    table += extra_routes(ctx, _body, _job)
    table += workflow_routes(ctx, _body, _job)
    table += adopt_routes(ctx, _body, _job)
    return [(m, p, guard(_errors(h), ctx.policy, body)) for m, p, h, body in table]


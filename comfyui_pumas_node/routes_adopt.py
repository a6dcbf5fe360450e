"""Routes of the adoption wizard ("Bring in models from this ComfyUI"); logic in ``pumas_core.facade_adopt``.

* ``POST /pumas/adopt/plan`` ``{"dirs": [abs folders], "accept_pickle"?}`` → the dry-run document
  (``files``, ``duplicates``, ``reclaimable_bytes``, ``estimated_seconds``, ``totals``...). ``dirs``
  defaults to every registered install; each must lie in the allowed roots.
* ``POST /pumas/adopt/apply`` ``{"dirs", "accept_pickle"?}`` or ``{"resume": true, "journal_id"?}`` →
  job (result: the adoption report).  Progress events carry ``total_bytes_done``, ``total_bytes``,
  ``eta_seconds``.
* ``POST /pumas/adopt/cancel`` ``{"job": id}`` → ``{"cancelling": bool}``: the job stops between files
  (its journal is then resumable).
* ``POST /pumas/adopt/undo`` ``{"journal_id"?}`` → job (result: the undo report; latest by default).
* ``GET /pumas/adopt/journals`` → ``{"journals": [...]}``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pumas_core.errors import BadInputError
from pumas_core.facade_adopt import directories_to_adopt

from .context import PumasContext
from .security import JSON, BodyOf, JobResponse, RouteRow, confine

if TYPE_CHECKING:
    from pumas_core.facade import Library

_cancels: dict[str, threading.Event] = {}


def _dirs(body: dict[str, Any], lib: Library, roots: list[str]) -> list[str]:
    """The body's ``dirs`` (each confined to the allowed roots), or — absent — every registered install."""
    dirs = body.get("dirs")
    if dirs is not None:
        if not isinstance(dirs, list) or not dirs or not all(isinstance(d, str) for d in dirs):
            raise BadInputError("dirs must be a non-empty list of absolute folder paths")
        dirs = [str(confine(d, roots, what="dirs")) for d in dirs]
    return directories_to_adopt(lib, dirs)


def _journal_id(body: dict[str, Any]) -> str | None:
    jid = body.get("journal_id")
    if jid is not None and (not isinstance(jid, str) or not jid):
        raise BadInputError("journal_id must be a non-empty string")
    return jid if jid is None else str(jid)


def adopt_routes(ctx: PumasContext, body_of: BodyOf, job_response: JobResponse) -> list[RouteRow]:
    """The route rows above (same shape as :func:`routes_extra.extra_routes`)."""

    async def plan(request: web.Request) -> web.StreamResponse:
        body = await body_of(request)
        accept = body.get("accept_pickle") is True

        def run(lib: Library) -> dict[str, Any]:
            doc: dict[str, Any] = lib.adopt_plan(_dirs(body, lib, lib.allowed_roots()), accept_pickle=accept)
            return doc

        return web.json_response(await ctx.call(run))

    async def apply(request: web.Request) -> web.StreamResponse:
        body = await body_of(request)
        cancel = threading.Event()
        if body.get("resume") is True:
            jid = _journal_id(body)
            job_id = ctx.submit("adopt", lambda lib, progress: lib.adopt_resume(jid, progress=progress, cancel=cancel),
                                refresh=True)
        else:
            accept = body.get("accept_pickle") is True
            dirs = await ctx.call(lambda lib: _dirs(body, lib, lib.allowed_roots()))
            job_id = ctx.submit("adopt", lambda lib, progress: lib.adopt(dirs, accept_pickle=accept,
                                                                          progress=progress, cancel=cancel),
                                refresh=True)
        _cancels[job_id] = cancel
        while len(_cancels) > 50:
            _cancels.pop(next(iter(_cancels)))
        return job_response(job_id)

    async def cancel(request: web.Request) -> web.StreamResponse:
        body = await body_of(request)
        ev = _cancels.get(str(body.get("job")))
        if ev is not None:
            ev.set()
        return web.json_response({"cancelling": ev is not None})

    async def undo(request: web.Request) -> web.StreamResponse:
        body = await body_of(request)
        jid = _journal_id(body)
        return job_response(ctx.submit("adopt-undo", lambda lib, progress: lib.adopt_undo(jid, progress=progress),
                                       refresh=True))

    async def journals(request: web.Request) -> web.StreamResponse:
        return web.json_response({"journals": await ctx.call(lambda lib: lib.adopt_journals())})

    return [
        ("POST", "/pumas/adopt/plan", plan, JSON),
        ("POST", "/pumas/adopt/apply", apply, JSON),
        ("POST", "/pumas/adopt/cancel", cancel, JSON),
        ("POST", "/pumas/adopt/undo", undo, JSON),
        ("GET", "/pumas/adopt/journals", journals, None),
    ]

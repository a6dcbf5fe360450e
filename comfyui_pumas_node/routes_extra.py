"""Routes for Hub downloads and ComfyUI install registration (split from :mod:`routes` to keep it small).

* ``POST /pumas/download`` ``{"repo_id", "files"?: [repo paths], "revision"?, "accept_pickle"?}`` → job
  running ``Library.download`` (result: the import report + ``downloaded``).
* ``POST /pumas/models/{model_id}/download-missing`` ``{}`` → job running ``Library.download_missing``
  (result: the import report + ``replaced``); 404 at once for an unknown model.
* ``GET /pumas/models/{model_id}/overrides`` → ``{"model_id", "overrides": the overrides.json object ({} when
  none), "error": why the file is invalid or null}`` (``Library.get_overrides``).
* ``POST /pumas/models/{model_id}/overrides`` with the whole overrides object (``{}`` removes the file) →
  ``{"model_id", "overrides", "error": null, "sync": summary of re-linking that model}``
  (``Library.set_overrides``); an invalid object is 400 ``bad_input`` naming the problem.
* ``GET /pumas/apps`` → ``{"apps": [app dict of the registry]}``.
* ``POST /pumas/apps`` ``{"path": abs ComfyUI folder}`` → ``{"app": app dict}``: the folder must exist and
  be recognised by :func:`pumas_core.links.comfyui.detect_install` (else 400 ``bad_input``).

:func:`extra_routes` returns ``(method, path, handler, content_type)`` rows; :func:`routes.build_routes`
wraps them with the same ``guard`` (Host / Origin / Sec-Fetch-Site / Content-Type) and error mapping.
HuggingFace repo id rules (``owner/name``, letters, digits, ``._-``, no ``..``, at most 96 characters
per part) follow huggingface_hub's ``validate_repo_id``.
"""

from __future__ import annotations

import os
import re

from aiohttp import web

from pumas_core.errors import BadInputError

from .context import PumasContext
from .security import JSON, BodyOf, JobResponse, RouteRow

_REPO_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
_REPO_RE = re.compile(rf"^{_REPO_PART}(/{_REPO_PART})?$")
_REVISION_RE = re.compile(r"^[A-Za-z0-9._/-]{1,255}$")
MAX_FILES = 1000


def check_repo_id(value: object) -> str:
    """A HuggingFace repo id (``owner/name`` or ``name``); BadInputError naming the value otherwise."""
    if not isinstance(value, str) or not _REPO_RE.match(value) or ".." in value or "--" in value:
        raise BadInputError(f"repo_id {value!r} is not a HuggingFace repository id (owner/name)")
    return value


def check_repo_files(value: object) -> list[str]:
    """Relative POSIX paths inside a repo (no ``..``, no leading ``/``, no backslash or NUL)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_FILES:
        raise BadInputError(f"files must be a list of at most {MAX_FILES} repository paths")
    for f in value:
        if (not isinstance(f, str) or not f or f.startswith("/") or "\\" in f or "\x00" in f
                or any(part in ("", ".", "..") for part in f.split("/"))):
            raise BadInputError(f"files: {f!r} is not a relative path inside the repository")
    return list(value)


def check_revision(value: object) -> str | None:
    """A branch, tag or commit name, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not _REVISION_RE.match(value) or ".." in value:
        raise BadInputError(f"revision {value!r} is not a branch, tag or commit name")
    return value


def check_install_dir(value: object) -> str:
    """The real path of an existing ComfyUI folder; BadInputError (naming it and the reason) otherwise."""
    from pumas_core.links.comfyui import detect_install

    if not isinstance(value, str) or not value or "\x00" in value:
        raise BadInputError(f"path {value!r} must be the absolute path of a ComfyUI folder")
    raw = os.path.expanduser(value)
    if not os.path.isabs(raw):
        raise BadInputError(f"path {value!r} must be absolute")
    real = os.path.realpath(raw)
    if not os.path.isdir(real):
        raise BadInputError(f"{value}: not an existing folder")
    detect_install(real)  # BadInputError: not a ComfyUI folder
    return real


def extra_routes(ctx: PumasContext, body_of: BodyOf, job_response: JobResponse) -> list[RouteRow]:
    """The route rows above. ``body_of(request)`` parses the JSON object body; ``job_response(id)``
    is the 202 ``{"job", "job_id"}`` answer (both from :mod:`routes`)."""

    async def download(request: web.Request) -> web.StreamResponse:
        body = await body_of(request)
        unknown = set(body) - {"repo_id", "files", "revision", "accept_pickle"}
        if unknown:
            raise BadInputError(f"unknown fields: {', '.join(sorted(unknown))}")
        repo_id = check_repo_id(body.get("repo_id"))
        files = check_repo_files(body.get("files"))
        revision = check_revision(body.get("revision"))
        accept = body.get("accept_pickle") is True
        return job_response(ctx.submit("download", lambda lib, progress: lib.download(
            repo_id, files, revision=revision, accept_pickle=accept, progress=progress), refresh=True))

    async def download_missing(request: web.Request) -> web.StreamResponse:
        await body_of(request)
        mid = await ctx.call(lambda lib: lib.resolve_id(request.match_info["model_id"]))
        return job_response(ctx.submit("download", lambda lib, progress: lib.download_missing(
            mid, progress=progress), refresh=True))

    async def get_overrides(request: web.Request) -> web.StreamResponse:
        mid = request.match_info["model_id"]
        return web.json_response(await ctx.call(lambda lib: lib.get_overrides(mid)))

    async def set_overrides(request: web.Request) -> web.StreamResponse:
        mid = request.match_info["model_id"]
        body = await body_of(request)
        result = await ctx.call(lambda lib: lib.set_overrides(mid, body))
        ctx.jobs.announce({"job": None, "kind": "sync", "state": "done", "refresh": True, "result": result["sync"]})
        return web.json_response(result)

    async def apps(request: web.Request) -> web.StreamResponse:
        return web.json_response({"apps": await ctx.call(lambda lib: lib.list_apps())})

    async def add_app(request: web.Request) -> web.StreamResponse:
        body = await body_of(request)
        path = check_install_dir(body.get("path"))
        return web.json_response({"app": await ctx.call(lambda lib: lib.add_app(path))})

    return [
        ("POST", "/pumas/download", download, JSON),
        ("POST", "/pumas/models/{model_id}/download-missing", download_missing, JSON),
        ("GET", "/pumas/models/{model_id}/overrides", get_overrides, None),
        ("POST", "/pumas/models/{model_id}/overrides", set_overrides, JSON),
        ("GET", "/pumas/apps", apps, None),
        ("POST", "/pumas/apps", add_app, JSON),
    ]

"""Workflow routes: resolve a workflow's models and write identity back.

* ``POST /pumas/resolve`` ``{"workflow": {...}, "app_id"?, "dry_run"?, "download"?, "confirmed"?: {key: model_id},
  "conflicts"?: "skip"|"backup"}`` → the ``Library.resolve_workflow`` shape ``{"references", "created",
  "downloaded", ...}``; with ``"download": true`` a job (202 ``{"job"}``) whose result is that shape.
  Inside ComfyUI the default install is the running one, and loader inputs come from its live node
  definitions (``nodes.NODE_CLASS_MAPPINGS`` + ``folder_paths``) as well as the built-in table.
* ``POST /pumas/workflow/annotate`` ``{"workflow": {...}, "app_id"?}`` → ``{"workflow", "annotated", "skipped"}``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pumas_core.errors import BadInputError
from pumas_core.facade_workflows import check_resolve_options

from .adapter import comfyui_root, folder_paths_module, nodes_module
from .context import PumasContext
from .security import JSON, BodyOf, JobResponse, RouteRow


def live_loaders(doc: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Loader definitions for the node types of ``doc`` from the running ComfyUI, or None outside it.

    A combo input counts as a model input when its choices contain every file ComfyUI lists for
    exactly one non-empty ``folder_paths`` key (the built-in table still wins for core loaders).
    """
    folder_paths, nodes = folder_paths_module(), nodes_module()
    if folder_paths is None or nodes is None:
        return None
    types = {n.get("type") for g in [doc, *((doc.get("definitions") or {}).get("subgraphs") or [])]
             for n in (g.get("nodes") or []) if isinstance(n, dict)}
    types |= {v.get("class_type") for v in doc.values() if isinstance(v, dict)}
    lists: dict[str, set[str]] = {}
    out: dict[str, dict[str, Any]] = {}
    for t in sorted(x for x in types if isinstance(x, str) and x in nodes.NODE_CLASS_MAPPINGS):
        try:
            spec = nodes.NODE_CLASS_MAPPINGS[t].INPUT_TYPES()
        except Exception:
            continue
        widgets: list[str] = []
        models: dict[str, str] = {}
        for section in ("required", "optional"):
            for name, desc in (spec.get(section) or {}).items():
                kind = desc[0] if isinstance(desc, (list, tuple)) and desc else None
                if isinstance(kind, list):
                    widgets.append(name)
                    choices = set(map(str, kind))
                    for key in folder_paths.folder_names_and_paths:
                        if key not in lists:
                            try:
                                lists[key] = set(folder_paths.get_filename_list(key))
                            except Exception:
                                lists[key] = set()
                        if lists[key] and lists[key] <= choices:
                            models[name] = key
                            break
                elif kind in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"):
                    widgets.append(name)
        if models:
            out[t] = {"widgets": widgets, "models": models}
    return out


def _workflow(body: dict[str, Any]) -> dict[str, Any]:
    wf = body.get("workflow")
    if not isinstance(wf, dict) or not wf:
        raise BadInputError("workflow must be a workflow JSON object (app.graph.serialize() or an API prompt)")
    return wf


def _app_args(ctx: PumasContext, body: dict[str, Any]) -> dict[str, Any]:
    app_id = body.get("app_id")
    if app_id is not None and (not isinstance(app_id, str) or not app_id):
        raise BadInputError("app_id must be a non-empty string")
    if app_id or ctx.server != "comfyui":
        return {"app_id": app_id}
    return {"comfyui_dir": comfyui_root()}


def workflow_routes(ctx: PumasContext, body_of: BodyOf, job_response: JobResponse) -> list[RouteRow]:
    """Route rows ``(method, path, handler, content_type)`` (wrapped by :func:`routes.build_routes`)."""

    async def resolve(request: web.Request) -> web.StreamResponse:
        body = await body_of(request)
        unknown = set(body) - {"workflow", "app_id", "dry_run", "download", "confirmed", "conflicts"}
        if unknown:
            raise BadInputError(f"unknown fields: {', '.join(sorted(unknown))}")
        wf = _workflow(body)
        confirmed = body.get("confirmed") or {}
        conflicts = body.get("conflicts")
        check_resolve_options(confirmed, conflicts)  # before a download job starts: a 400, not a failed job
        kw = dict(_app_args(ctx, body), dry_run=body.get("dry_run") is True, confirmed=confirmed,
                  conflicts=conflicts, loaders=live_loaders(wf))
        if body.get("download") is True and not kw["dry_run"]:
            return job_response(ctx.submit("resolve", lambda lib, progress: lib.resolve_workflow(
                wf, download=True, progress=progress, **kw), refresh=True))
        return web.json_response(await ctx.call(lambda lib: lib.resolve_workflow(wf, **kw)))

    async def annotate(request: web.Request) -> web.StreamResponse:
        body = await body_of(request)
        unknown = set(body) - {"workflow", "app_id"}
        if unknown:
            raise BadInputError(f"unknown fields: {', '.join(sorted(unknown))}")
        wf = _workflow(body)
        kw = dict(_app_args(ctx, body), loaders=live_loaders(wf))
        return web.json_response(await ctx.call(lambda lib: lib.annotate_workflow(wf, **kw)))

    return [("POST", "/pumas/resolve", resolve, JSON), ("POST", "/pumas/workflow/annotate", annotate, JSON)]

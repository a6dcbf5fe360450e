"""Workflow resolution and annotation for the ``Library`` facade (the facade delegates here).

``resolve_workflow`` returns the contract shape ``{"references": [...], "created": N, "downloaded": N}``
(plus ``dry_run``, ``app_id``, ``format``); each reference has ``node_id, node_type, input, directory,
name, status, matched_by, model_id, url`` and details (``hash``, ``hash_type``, ``key``, ``link_path``,
``note``, ``candidates``, ``rewrite_to``, ``subgraph``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from .errors import BadInputError, PumasError
from .links.mapping import load_mapping
from .workflows.extract import extract_refs, load_workflow, workflow_format
from .workflows.resolve import Resolution, Resolver

if TYPE_CHECKING:
    from .facade import Library

#: A workflow: the parsed JSON object, or the path of a ``.json`` / PNG / WebP file.
Workflow = dict[str, Any] | str | os.PathLike[str]
#: A progress callback (one event dict per call).
Progress = Callable[[dict[str, Any]], None]


def _doc(workflow: object) -> dict[str, Any]:
    if isinstance(workflow, dict):
        return workflow
    if isinstance(workflow, (str, os.PathLike)):
        return load_workflow(os.fspath(workflow))
    raise BadInputError("workflow must be a JSON object or the path of a workflow file")


@overload
def _app(lib: Library, app_id: str | None, comfyui_dir: str | Path | None,
         required: Literal[True]) -> dict[str, Any]: ...
@overload
def _app(lib: Library, app_id: str | None, comfyui_dir: str | Path | None,
         required: bool) -> dict[str, Any] | None: ...
def _app(lib: Library, app_id: str | None, comfyui_dir: str | Path | None, required: bool) -> dict[str, Any] | None:
    """The install a workflow is resolved against: ``comfyui_dir`` (registered on the fly), ``app_id``, or
    the only registered one; None when there is none and ``required`` is false.

    Raises:
        BadInputError: ``required`` and no (or more than one) install to choose.  NotFoundError: unknown ``app_id``.
    """
    app: dict[str, Any] | None
    if comfyui_dir:
        app = lib.registry.find_app_by_root(str(Path(comfyui_dir).expanduser().resolve()))
        return app or lib.add_app(comfyui_dir)
    if app_id:
        app = lib.registry.get_app(app_id)
        return app
    apps = lib.list_apps()
    if len(apps) == 1:
        return apps[0]
    if not required:
        return None
    if not apps:
        raise BadInputError("no ComfyUI install registered: use `pumas apps add DIR` or `--comfyui DIR`")
    raise BadInputError(f"{len(apps)} ComfyUI installs are registered: choose one with --app ID or --comfyui DIR")


def _download_missing(lib: Library, results: list[Resolution],
                      progress: Progress | None) -> tuple[dict[str, str], dict[str, str]]:
    """Download every missing reference's URL once: ``({url: model_id}, {url: failure note})``."""
    from .workflows.fetch import download_ref

    got: dict[str, str] = {}
    notes: dict[str, str] = {}
    for res in results:
        url = res.ref.url
        if res.status != "missing" or not url or url in got or url in notes:
            continue
        try:
            got[url] = download_ref(lib, res.ref, progress)
        except PumasError as exc:
            notes[url] = f"download failed: {exc}"
    return got, notes


#: most answers a caller may give to ambiguous references in one request
MAX_CONFIRMED = 1000


def check_resolve_options(confirmed: object, conflicts: object) -> None:
    """Check :func:`resolve_workflow`'s ``confirmed`` (``{reference key: model_id}`` strings, at most
    :data:`MAX_CONFIRMED`) and ``conflicts`` (None, ``"skip"`` or ``"backup"``).  Raises BadInputError."""
    if confirmed is not None and (not isinstance(confirmed, dict) or len(confirmed) > MAX_CONFIRMED or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in confirmed.items())):
        raise BadInputError("confirmed must map reference keys to model ids")
    if conflicts not in (None, "skip", "backup"):
        raise BadInputError("conflicts must be 'skip' or 'backup'")


def resolve_workflow(lib: Library, workflow: Workflow, *, app_id: str | None = None,
                     comfyui_dir: str | Path | None = None, dry_run: bool = False, download: bool = False,
                     confirmed: dict[str, str] | None = None, conflicts: str | None = None,
                     loaders: Mapping[str, Any] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Resolve a workflow's models against the library and link them into one install (see module doc).

    Args:
        workflow: the workflow object, or the path of a ``.json`` / PNG / WebP file (never modified).
        confirmed: ``{reference key: model_id}`` answers to ``ambiguous`` references.
        conflicts: None, ``"skip"`` or ``"backup"`` for names held by something else.
        loaders: extra loader definitions (``{class: {"widgets": [...], "models": {input: key}}}``).
    Raises:
        BadInputError: not a workflow, no/unclear install, bad ``confirmed``/``conflicts``.
        NotFoundError: unknown ``app_id``.
    """
    from .workflows.apply import apply_links

    check_resolve_options(confirmed, conflicts)

    doc = _doc(workflow)
    refs = extract_refs(doc, loaders)
    app = _app(lib, app_id, comfyui_dir, required=True)
    mapping = load_mapping(lib.state_dir)
    resolver = Resolver(lib, app, mapping, confirmed)  # one library snapshot for every reference
    results = [resolver.resolve(r) for r in refs]
    got: dict[str, str] = {}
    notes: dict[str, str] = {}
    if download and not dry_run:
        got, notes = _download_missing(lib, results, progress)
        if got:  # the downloads are library models now; a URL's model answers its reference (verified hash)
            resolver = Resolver(lib, app, mapping, confirmed)
            results = [resolver.resolve_as(r, got[r.url], "sha256") if r.url is not None and r.url in got
                       else resolver.resolve(r) for r in refs]
    downloaded = len(got)
    for res in results:
        url = res.ref.url
        if res.status == "missing" and url is not None and url in notes:
            res.note = notes[url]
    created = apply_links(lib, app, results, dry_run=dry_run, conflicts=conflicts)
    if downloaded:
        lib.sync_new_models(sorted({r.entry.model_id for r in results if r.entry is not None}))
    return {"references": [r.to_dict() for r in results], "created": created, "downloaded": downloaded,
            "dry_run": dry_run, "app_id": app["app_id"], "format": workflow_format(doc)}


def annotate_workflow(lib: Library, workflow: Workflow, *, app_id: str | None = None,
                      comfyui_dir: str | Path | None = None,
                      loaders: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fill ``properties.models`` with SHA-256 (and URL where known) for every model whose file is known.

    Returns ``{"workflow": annotated copy, "annotated": N, "skipped": [...]}``.  Uses the install (when one
    is given or exactly one is registered) to see which file a name means there; else the library.
    Raises BadInputError for an API-format prompt or a non-workflow.
    """
    from .workflows.annotate import annotate

    doc = _doc(workflow)
    refs = extract_refs(doc, loaders)
    app = _app(lib, app_id, comfyui_dir, required=False)
    resolver = Resolver(lib, app, load_mapping(lib.state_dir))
    out, report = annotate(doc, [resolver.resolve(r) for r in refs])
    return {"workflow": out, **report}

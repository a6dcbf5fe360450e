"""The only module that touches ComfyUI (``folder_paths``, ``nodes``, ``server.PromptServer``,
``comfy.cli_args``), plus route registration for both servers.

Inside ComfyUI, :func:`setup_comfyui` runs while the extension's ``__init__.py`` is
imported — the only moment routes can be added (``PromptServer.add_routes`` copies the
table, adding the ``/api`` alias, after custom nodes load).  ComfyUI's modules are not
installed packages: they are imported lazily with :func:`importlib.import_module` and seen
through the typed :class:`~typing.Protocol` views below (only the attributes Pumas reads),
so this module imports fine without ComfyUI and type-checks without its sources.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:  # aiohttp is not imported at run time: prestartup_script.py loads this module early
    from aiohttp import web

    from pumas_core.facade import Library

    from .context import PumasContext
    from .security import Route

log = logging.getLogger("pumas")


class FolderPathsModule(Protocol):
    """What Pumas reads of ComfyUI's ``folder_paths`` module."""

    #: ``{key: ([abs dirs], {extensions})}``
    folder_names_and_paths: Mapping[str, Sequence[Any]]
    #: ComfyUI's base directory (``--base-directory`` or the code dir).
    base_path: str

    def get_filename_list(self, folder_name: str) -> list[str]:
        """Relative file names ComfyUI lists for one folder key."""
        ...


class NodeClass(Protocol):
    """A ComfyUI node class: only its input declaration is read."""

    def INPUT_TYPES(self) -> Mapping[str, Any]:
        """``{"required": {name: (type_or_choices, opts?)}, "optional": {...}}``."""
        ...


class NodesModule(Protocol):
    """What Pumas reads of ComfyUI's ``nodes`` module."""

    NODE_CLASS_MAPPINGS: Mapping[str, NodeClass]


class PromptServerInstance(Protocol):
    """``server.PromptServer.instance``: its route table and its event sender."""

    routes: web.RouteTableDef

    def send_sync(self, event: str, data: dict[str, Any], sid: str | None = None) -> None:
        """Queue a websocket event for the browser (thread-safe)."""
        ...


def _comfy_module(name: str) -> ModuleType | None:
    """ComfyUI's module ``name`` (already loaded, or importable), or None outside ComfyUI."""
    try:
        return importlib.import_module(name)
    except Exception:  # not in ComfyUI, or its import failed: no ComfyUI data
        return None


def folder_paths_module() -> FolderPathsModule | None:
    """ComfyUI's ``folder_paths`` module, or None outside ComfyUI."""
    return cast("FolderPathsModule | None", _comfy_module("folder_paths"))


def nodes_module() -> NodesModule | None:
    """ComfyUI's ``nodes`` module (``NODE_CLASS_MAPPINGS``), or None outside ComfyUI."""
    return cast("NodesModule | None", _comfy_module("nodes"))


def folder_paths_snapshot() -> dict[str, list[str]] | None:
    """``{key: [abs dirs]}`` from ComfyUI's ``folder_paths.folder_names_and_paths``, or None
    outside ComfyUI (module not importable) or if it has an unexpected shape."""
    fp = folder_paths_module()
    if fp is None:
        return None
    try:
        return {str(k): [str(p) for p in v[0]] for k, v in fp.folder_names_and_paths.items()}
    except Exception:
        return None


def comfyui_root() -> str | None:
    """ComfyUI's base directory (``folder_paths.base_path``: ``--base-directory`` or the
    code dir, the parent of ``models/``), or None outside ComfyUI."""
    fp = folder_paths_module()
    base = getattr(fp, "base_path", None) if fp is not None else None
    return os.path.abspath(base) if base else None


def store_live_folder_paths(lib: Library) -> bool:
    """Record ComfyUI's live ``folder_paths`` (search order, keys other packs added after our
    ``__init__``) for this install if they differ from the registry's; True when updated.

    Called when the routes first open the library (every custom node is loaded by then), so
    health's shadow check uses the order ComfyUI really searches.  Raises what the library raises."""
    fp, root = folder_paths_snapshot(), comfyui_root()
    if fp is None or root is None:
        return False
    return lib.links.refresh_app(root, fp, comfyui_version())


def comfyui_version() -> str | None:
    """ComfyUI's version from ``comfyui_version.py`` in its code folder (where ``folder_paths`` lives;
    with ``--base-directory`` that is not :func:`comfyui_root`), or None outside ComfyUI."""
    fp = sys.modules.get("folder_paths")
    where = getattr(fp, "__file__", None)
    if not where:
        return None
    try:
        from pumas_core.links.comfyui import detect_install

        version = detect_install(os.path.dirname(os.path.abspath(where)))["version"]
    except Exception:  # any failure: the version is unknown, never a reason to stop ComfyUI
        return None
    return str(version) if version else None


def comfyui_listen_hosts() -> list[str]:
    """Host names ComfyUI was told to listen as (``--listen``, comma-separated), or []."""
    cli_args = _comfy_module("comfy.cli_args")
    try:
        listen = getattr(getattr(cli_args, "args", None), "listen", None)
        return [h.strip() for h in str(listen or "").split(",") if h.strip()]
    except Exception:
        return []


def register_routes(table: web.RouteTableDef, routes: Iterable[Route]) -> None:
    """Add ``[(method, path, handler)]`` to an aiohttp ``RouteTableDef`` (ComfyUI's
    ``PromptServer.instance.routes``; ComfyUI adds the ``/api`` alias itself)."""
    for method, path, handler in routes:
        table.route(method, path)(handler)


def register_app(app: web.Application, routes: Iterable[Route], prefixes: Iterable[str] = ("", "/api")) -> None:
    """Add the routes to a standalone ``web.Application`` under each prefix (``/pumas/...``
    and ``/api/pumas/...``, so the panel's ``api.fetchApi`` works unchanged)."""
    rows = list(routes)
    for prefix in prefixes:
        for method, path, handler in rows:
            app.router.add_route(method, prefix + path, handler)


def setup_comfyui() -> PumasContext:
    """Register the Pumas routes on ``PromptServer.instance.routes`` with events going to
    ``PromptServer.instance.send_sync``; return the :class:`PumasContext`.

    Raises whatever the imports raise (the caller, ``__init__.py``, logs it); AttributeError
    if ComfyUI's ``server`` module has no ``PromptServer.instance`` yet."""
    server_mod = importlib.import_module("server")
    server = cast(PromptServerInstance, server_mod.PromptServer.instance)

    from .context import PumasContext
    from .routes import build_routes
    from .security import HostPolicy

    policy_cache: list[HostPolicy] = []

    def policy() -> HostPolicy:
        if not policy_cache:
            policy_cache.append(HostPolicy.from_listen(comfyui_listen_hosts()))
        return policy_cache[0]

    def emit(event: str, data: dict[str, Any]) -> None:
        server.send_sync(event, data)

    ctx = PumasContext(emit=emit, policy=policy, server="comfyui", on_open=store_live_folder_paths)
    register_routes(server.routes, build_routes(ctx))
    return ctx

"""The only module that touches ComfyUI (``folder_paths``, ``server.PromptServer``,
``comfy.cli_args``), plus route registration for both servers.

Inside ComfyUI, :func:`setup_comfyui` runs while the extension's ``__init__.py`` is
imported — the only moment routes can be added (``PromptServer.add_routes`` copies the
table, adding the ``/api`` alias, after custom nodes load; see
reference/comfyui-integration.md §2).  Everything ComfyUI-specific is imported lazily, so
this module imports fine without ComfyUI.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Iterable

log = logging.getLogger("pumas")


def folder_paths_snapshot() -> dict[str, list[str]] | None:
    """``{key: [abs dirs]}`` from ComfyUI's ``folder_paths.folder_names_and_paths``, or None
    outside ComfyUI (module not importable) or if it has an unexpected shape."""
    fp = sys.modules.get("folder_paths")
    if fp is None:
        try:
            import folder_paths as fp  # type: ignore[import-not-found]
        except Exception:
            return None
    try:
        return {str(k): [str(p) for p in v[0]] for k, v in fp.folder_names_and_paths.items()}
    except Exception:
        return None


def comfyui_root() -> str | None:
    """ComfyUI's base directory (``folder_paths.base_path``: ``--base-directory`` or the
    code dir, the parent of ``models/``), or None outside ComfyUI."""
    fp = sys.modules.get("folder_paths")
    if fp is None:
        try:
            import folder_paths as fp  # type: ignore[import-not-found]
        except Exception:
            return None
    base = getattr(fp, "base_path", None)
    return os.path.abspath(base) if base else None


def store_live_folder_paths(lib) -> bool:
    """Record ComfyUI's live ``folder_paths`` (search order, keys other packs added after our
    ``__init__``) for this install if they differ from the registry's; True when updated.

    Called when the routes first open the library (every custom node is loaded by then), so
    health's shadow check uses the order ComfyUI really searches.  Raises what the library raises."""
    fp, root = folder_paths_snapshot(), comfyui_root()
    if fp is None or root is None:
        return False
    from pumas_core.links.comfyui import normalize_folder_paths

    app = lib.registry.find_app_by_root(root) or lib.registry.find_app_by_root(os.path.realpath(root))
    version = comfyui_version()
    if app is None or (normalize_folder_paths(fp) == app.get("folder_paths") and version in (None, app.get("version"))):
        return False
    lib.add_app(root, fp, version)
    return True


def comfyui_version() -> str | None:
    """ComfyUI's version from ``comfyui_version.py`` in its code folder (where ``folder_paths`` lives;
    with ``--base-directory`` that is not :func:`comfyui_root`), or None outside ComfyUI."""
    fp = sys.modules.get("folder_paths")
    where = getattr(fp, "__file__", None)
    if not where:
        return None
    try:
        from pumas_core.links.comfyui import detect_install

        return detect_install(os.path.dirname(os.path.abspath(where)))["version"]
    except Exception:
        return None


def comfyui_listen_hosts() -> list[str]:
    """Host names ComfyUI was told to listen as (``--listen``, comma-separated), or []."""
    try:
        from comfy.cli_args import args  # type: ignore[import-not-found]

        return [h.strip() for h in str(args.listen or "").split(",") if h.strip()]
    except Exception:
        return []


def register_routes(table, routes: Iterable[tuple[str, str, object]]) -> None:
    """Add ``[(method, path, handler)]`` to an aiohttp ``RouteTableDef`` (ComfyUI's
    ``PromptServer.instance.routes``; ComfyUI adds the ``/api`` alias itself)."""
    for method, path, handler in routes:
        table.route(method, path)(handler)


def register_app(app, routes: Iterable[tuple[str, str, object]], prefixes=("", "/api")) -> None:
    """Add the routes to a standalone ``web.Application`` under each prefix (``/pumas/...``
    and ``/api/pumas/...``, so the panel's ``api.fetchApi`` works unchanged)."""
    routes = list(routes)
    for prefix in prefixes:
        for method, path, handler in routes:
            app.router.add_route(method, prefix + path, handler)


def setup_comfyui():
    """Register the Pumas routes on ``PromptServer.instance.routes`` with events going to
    ``PromptServer.instance.send_sync``; return the :class:`PumasContext`.

    Raises whatever the imports raise (the caller, ``__init__.py``, logs it)."""
    from server import PromptServer  # type: ignore[import-not-found]

    from .context import PumasContext
    from .routes import build_routes
    from .security import HostPolicy

    server = PromptServer.instance
    policy_cache: list = []

    def policy():
        if not policy_cache:
            policy_cache.append(HostPolicy.from_listen(comfyui_listen_hosts()))
        return policy_cache[0]

    def emit(event: str, data: dict) -> None:
        server.send_sync(event, data)

    ctx = PumasContext(emit=emit, policy=policy, server="comfyui", on_open=store_live_folder_paths)
    register_routes(server.routes, build_routes(ctx))
    return ctx

"""Register ComfyUI installs in the registry (detection + folder keys + mount point), and recognise
an install that moved (same install, new root) so it is relocated instead of registered twice."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from ..errors import PumasError
from . import fsops
from .comfyui import discover_folder_paths, install_info
from .mapping_configs import write_default_config
from .registry import Registry
from .volumes import mount_point

log = logging.getLogger("pumas")

#: registered links probed to recognise a moved install
PROBES = 24


def register_app(registry: Registry, directory: str | os.PathLike[str],
                 folder_paths: Mapping[str, Any] | None = None, version: str | None = None) -> dict[str, Any]:
    """Detect the ComfyUI install at ``directory`` and add (or refresh) it; returns the app dict.

    ``folder_paths``: ComfyUI's ``{key: [abs dirs]}`` when the extension knows it; otherwise the keys
    are the install's ``models/`` sub-folders, added to those (and their search order) that the
    extension stored for an install already registered, so a CLI ``apps add``/``sync --comfyui``
    never forgets ``extra_model_paths.yaml`` folders (health's shadow check depends on that order).
    ``version``: ComfyUI's version as the extension read it from its code folder (with
    ``--base-directory`` the install root holds no ``comfyui_version.py``); else read from the root,
    else the one already registered.
    Raises BadInputError if it is not a ComfyUI folder, or ``folder_paths`` is not ``{key: [dirs]}``.
    """
    info = install_info(directory, folder_paths)
    known = registry.find_app_by_root(info["root"])
    info["version"] = version or info["version"] or (known or {}).get("version")
    if known and known.get("folder_paths") and folder_paths is None:  # keep ComfyUI's (order, extra roots)
        info["folder_paths"] = {**known["folder_paths"],
                                **{k: v for k, v in info["folder_paths"].items() if k not in known["folder_paths"]}}
    app = registry.add_app(info["root"], info["models_dir"], info["version"], info["folder_paths"],
                           kind="comfyui", mount=mount_point(info["root"]))
    _write_default(registry, app)
    return app


def _write_default(registry: Registry, app: Mapping[str, Any]) -> None:
    """Write/extend the default mapping config from this install's folder keys (never fails registration)."""
    try:
        write_default_config(registry.state_dir, (app.get("folder_paths") or {}).keys())
    except (PumasError, OSError) as exc:
        log.warning("[pumas] default mapping config not written: %s", exc)


def refresh_folder_keys(registry: Registry, app: dict[str, Any]) -> dict[str, Any]:
    """Add folder keys that appeared in the install's ``models/`` since it was registered.

    Keys and directories already known (for example from ComfyUI's ``folder_paths`` and
    ``extra_model_paths.yaml``) are kept as they are; a new ``models/<key>`` sub-folder is appended.
    Returns the (possibly updated) app dict.
    """
    known = dict(app.get("folder_paths") or {})
    found = discover_folder_paths(app["models_dir"])
    new = {k: v for k, v in found.items() if k not in known}
    if not new:
        return app
    known.update(new)
    app = registry.add_app(app["root"], app["models_dir"], app.get("version"), known,
                           kind=app.get("kind") or "comfyui", mount=app.get("mount"))
    _write_default(registry, app)
    return app


def find_moved_install(registry: Registry, root: str) -> dict[str, Any] | None:
    """The registered install that moved to ``root``, or None.

    Install identity is its layout: a registered install whose root is gone, and whose registered
    links (probed: up to :data:`PROBES`) sit at the same relative places under ``root`` as symlinks
    (at least half of the probes, and at least one).  An install whose old root still exists is a
    copy, not a move.  Cost: one ``stat`` per registered install, plus one small query and a few
    ``lstat`` per *gone* install.
    """
    root = os.path.normpath(os.path.abspath(root))
    best: dict[str, Any] | None = None
    best_hits = 0
    for app in registry.list_apps():
        old = os.path.normpath(app["root"])
        if old == root or os.path.isdir(old):
            continue
        rows = [r for r in registry.sample_links(app["app_id"], PROBES) if fsops.is_within(r["link_path"], old)]
        if not rows:
            continue
        hits = sum(1 for r in rows if os.path.islink(os.path.join(root, os.path.relpath(r["link_path"], old))))
        if hits and hits * 2 >= len(rows) and hits > best_hits:
            best, best_hits = app, hits
    return best


def adopt_moved_install(registry: Registry, root: str) -> dict[str, Any] | None:
    """If an install moved to ``root`` (see :func:`find_moved_install`), relocate its registration and
    re-point its links (merging with a registration of ``root`` made meanwhile).

    Returns ``{"kind": "install", "old", "new", "apps_updated", "links_updated", "links_rebuilt",
    "errors"}`` or None when nothing moved.
    """
    from .relocate import relocate

    app = find_moved_install(registry, root)
    if app is None:
        return None
    r = relocate(registry, app["root"], root)
    return {"kind": "install", "old": os.path.normpath(app["root"]), "new": os.path.normpath(root), **r}

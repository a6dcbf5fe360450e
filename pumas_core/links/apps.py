"""Register ComfyUI installs in the registry (detection + folder keys + mount point)."""

from __future__ import annotations

import os

import logging

from ..errors import PumasError
from .comfyui import discover_folder_paths, install_info
from .mapping_configs import write_default_config
from .registry import Registry
from .volumes import mount_point

log = logging.getLogger("pumas")


def register_app(registry: Registry, directory: str | os.PathLike, folder_paths: dict | None = None) -> dict:
    """Detect the ComfyUI install at ``directory`` and add (or refresh) it; returns the app dict.

    ``folder_paths``: ComfyUI's ``{key: [abs dirs]}`` when the extension knows it; otherwise the keys
    are the install's ``models/`` sub-folders.  Raises BadInputError if it is not a ComfyUI folder.
    """
    info = install_info(directory, folder_paths)
    app = registry.add_app(info["root"], info["models_dir"], info["version"], info["folder_paths"],
                           kind="comfyui", mount=mount_point(info["root"]))
    _write_default(registry, app)
    return app


def _write_default(registry: Registry, app: dict) -> None:
    """Write/extend the default mapping config from this install's folder keys (never fails registration)."""
    try:
        write_default_config(registry.state_dir, (app.get("folder_paths") or {}).keys())
    except (PumasError, OSError) as exc:
        log.warning("[pumas] default mapping config not written: %s", exc)


def refresh_folder_keys(registry: Registry, app: dict) -> dict:
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

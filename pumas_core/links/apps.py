"""Register ComfyUI installs in the registry (detection + folder keys + mount point)."""

from __future__ import annotations

import os

from .comfyui import install_info
from .registry import Registry
from .volumes import mount_point


def register_app(registry: Registry, directory: str | os.PathLike, folder_paths: dict | None = None) -> dict:
    """Detect the ComfyUI install at ``directory`` and add (or refresh) it; returns the app dict.

    ``folder_paths``: ComfyUI's ``{key: [abs dirs]}`` when the extension knows it; otherwise the keys
    are the install's ``models/`` sub-folders.  Raises BadInputError if it is not a ComfyUI folder.
    """
    info = install_info(directory, folder_paths)
    return registry.add_app(info["root"], info["models_dir"], info["version"], info["folder_paths"],
                            kind="comfyui", mount=mount_point(info["root"]))

"""Recognise a ComfyUI install and learn its model folder keys.

Facts (ComfyUI 0.3.64, see ``reference/comfyui-integration.md`` §3): ``models_dir = <base>/models``;
``folder_paths.folder_names_and_paths`` maps a key to a list of directories; ``map_legacy`` turns
``unet`` into ``diffusion_models`` and ``clip`` into ``text_encoders``.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import BadInputError

LEGACY_KEYS = {"unet": "diffusion_models", "clip": "text_encoders"}
# keys that never hold models (folder_paths registers them, we never link into them)
NON_MODEL_KEYS = frozenset({"custom_nodes", "configs"})


def _read_version(root: Path) -> str | None:
    """``__version__`` from ``comfyui_version.py`` parsed with :mod:`ast` (never imported), else None."""
    f = root / "comfyui_version.py"
    try:
        tree = ast.parse(f.read_text(encoding="utf-8", errors="replace"), filename=str(f))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)):
            return node.value.value
    return None


def detect_install(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Check that ``directory`` is a ComfyUI root and describe it.

    Returns:
        ``{"root": abs str, "models_dir": abs str (<root>/models), "version": str or None}``.
    Raises:
        BadInputError: the path is missing, not a directory, or has none of ``main.py``, ``comfy/``,
            ``models/`` (names the path and the reason; ``.path`` = the folder).
    """
    root = Path(os.path.abspath(os.fspath(directory)))
    if not root.exists():
        raise BadInputError(f"{root}: does not exist", path=root)
    if not root.is_dir():
        raise BadInputError(f"{root}: not a directory (expected a ComfyUI folder)", path=root)
    markers = [(root / "main.py").is_file(), (root / "comfy").is_dir(), (root / "models").is_dir()]
    if not any(markers):
        raise BadInputError(f"{root}: not a ComfyUI folder (no main.py, comfy/ or models/)", path=root)
    return {"root": str(root), "models_dir": str(root / "models"), "version": _read_version(root)}


def normalize_folder_paths(folder_paths: Mapping[str, Any]) -> dict[str, list[str]]:
    """ComfyUI's ``{key: [dirs]}`` (or ``{key: ([dirs], exts)}``) with legacy keys folded in.

    Returns ``{key: [abs dir, ...]}`` in first-seen order, duplicates removed; non-model keys dropped.
    Raises BadInputError on a shape that is not a mapping of key to a list of paths.
    """
    if not isinstance(folder_paths, Mapping):
        raise BadInputError(f"folder_paths: expected an object {{key: [dirs]}}, got {type(folder_paths).__name__}")
    out: dict[str, list[str]] = {}
    for key, dirs in folder_paths.items():
        if isinstance(dirs, tuple) and len(dirs) == 2 and isinstance(dirs[0], (list, tuple)):
            dirs = dirs[0]  # folder_names_and_paths value: (paths, extensions)
        if isinstance(dirs, str) or not isinstance(dirs, (list, tuple)):
            raise BadInputError(f"folder_paths[{key!r}]: expected a list of directories")
        key = LEGACY_KEYS.get(str(key), str(key))
        if key in NON_MODEL_KEYS:
            continue
        lst = out.setdefault(key, [])
        for d in dirs:
            d = os.path.abspath(os.fspath(d))
            if d not in lst:
                lst.append(d)
    return out


def discover_folder_paths(models_dir: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Folder keys of an install from its ``models/`` sub-folders (legacy names folded in).

    A missing ``models_dir`` gives ``{}``.  Symlinked sub-folders count (ComfyUI follows them).
    """
    found: dict[str, list[str]] = {}
    try:
        entries = sorted(os.scandir(os.fspath(models_dir)), key=lambda e: e.name)
    except OSError:
        return {}
    for e in entries:
        if e.name.startswith(".") or not e.is_dir(follow_symlinks=True):
            continue
        found[e.name] = [e.path]
    return normalize_folder_paths(found)


def install_info(directory: str | os.PathLike[str],
                 folder_paths: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:func:`detect_install` plus ``folder_paths`` (given by the extension, or discovered).

    Raises BadInputError: see :func:`detect_install` and :func:`normalize_folder_paths`.
    """
    info = detect_install(directory)
    if folder_paths is not None:
        info["folder_paths"] = normalize_folder_paths(folder_paths)
    else:
        info["folder_paths"] = discover_folder_paths(info["models_dir"])
    return info

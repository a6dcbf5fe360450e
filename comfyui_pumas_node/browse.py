"""Folder browser for the import dialog, confined to the configured import roots.

``browse(path, roots) -> {"path", "parent", "entries", "roots"}``; ``path=None`` lists the
roots themselves.  Entries are sub-folders and model-ish files
(:data:`MODEL_EXTENSIONS`), hidden names skipped, entries whose real path escapes the
roots (symlinks pointing out) skipped, sorted folders first then by name (case-insensitive).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from pumas_core.errors import BadInputError, NotFoundError

from .security import confine, within

#: file suffixes offered for import (ComfyUI's pt extensions + gguf/onnx + sharded-set indexes).
MODEL_EXTENSIONS = frozenset({
    ".safetensors", ".sft", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".pkl", ".gguf", ".onnx",
    ".json", ".part00",
})
MAX_ENTRIES = 5000


def _entry(p: Path, is_dir: bool) -> dict[str, Any]:
    e: dict[str, Any] = {"name": p.name, "path": str(p), "is_dir": is_dir}
    if not is_dir:
        with contextlib.suppress(OSError):
            e["size"] = p.stat().st_size
    return e


def browse(path: str | None, roots: list[str]) -> dict[str, Any]:
    """List one folder inside the import roots.

    Args:
        path: absolute folder path, or None / "" for the list of roots.
        roots: absolute import roots (from the settings).
    Returns:
        ``{"path": str|None, "parent": str|None, "entries": [{"name","path","is_dir","size"?}],
        "roots": [str], "truncated": bool}``; ``parent`` is None at a root.
    Raises:
        PathNotAllowedError: ``path`` (after realpath) is outside every root.
        NotFoundError: the folder does not exist; BadInputError: it is not a folder.
    """
    real_roots = [os.path.realpath(r) for r in roots]
    if not path:
        listed = [_entry(Path(r), True) | {"name": r} for r in real_roots if os.path.isdir(r)]
        return {"path": None, "parent": None, "entries": listed, "roots": real_roots, "truncated": False}
    folder = confine(path, real_roots, what="folder")
    if not folder.exists():
        raise NotFoundError(f"{path}: folder does not exist", path=folder)
    if not folder.is_dir():
        raise BadInputError(f"{path}: not a folder", path=folder)
    entries: list[dict[str, Any]] = []
    try:
        with os.scandir(folder) as it:
            items = list(it)
    except OSError as exc:
        raise BadInputError(f"{path}: cannot list folder ({exc.strerror or exc})", path=folder) from exc
    for item in items:
        if item.name.startswith("."):
            continue
        p = Path(item.path)
        try:
            is_dir = item.is_dir()
        except OSError:
            continue
        if not is_dir and p.suffix.lower() not in MODEL_EXTENSIONS:
            continue
        if item.is_symlink() and not within(item.path, real_roots):
            continue
        entries.append(_entry(p, is_dir))
    entries.sort(key=lambda e: (not e["is_dir"], e["name"].casefold()))
    truncated = len(entries) > MAX_ENTRIES
    parent = str(folder.parent) if str(folder) not in real_roots and within(folder.parent, real_roots) else None
    return {"path": str(folder), "parent": parent, "entries": entries[:MAX_ENTRIES],
            "roots": real_roots, "truncated": truncated}

"""What the panel's model list shows beyond metadata.json: a preview image and the link count.

A preview is a file named ``preview.png``, ``preview.jpg``, ``preview.jpeg`` or ``preview.webp``
directly in the model's folder (the sidecar convention of ComfyUI model managers; CivitAI/HF
card images saved there are picked up too).  Only that folder is looked at, and symlinks that
lead out of it are refused, so a preview route cannot be turned into a file reader.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: Accepted preview file names, in order of preference, with their MIME types.
PREVIEW_TYPES = {"preview.png": "image/png", "preview.jpg": "image/jpeg", "preview.jpeg": "image/jpeg",
                 "preview.webp": "image/webp"}
#: Larger preview files are ignored (a preview is a thumbnail, not a photo archive).
MAX_PREVIEW_BYTES = 16 * 1024 * 1024


def find_preview(model_dir: str | os.PathLike[str]) -> tuple[Path, str] | None:
    """The preview image in ``model_dir`` as ``(path, mime_type)``, or None.

    The file must be a regular file (symlinks allowed only when they stay inside the folder) of
    at most :data:`MAX_PREVIEW_BYTES`.  Never raises for missing or unreadable folders.
    """
    folder = Path(model_dir)
    try:
        real_folder = folder.resolve(strict=True)
    except OSError:
        return None
    for name, mime in PREVIEW_TYPES.items():
        cand = folder / name
        try:
            real = cand.resolve(strict=True)
            st = real.stat()
        except OSError:
            continue
        if real.parent != real_folder or not real.is_file() or st.st_size > MAX_PREVIEW_BYTES:
            continue
        return real, mime
    return None


def annotate(models: list[dict[str, Any]], link_counts: dict[str, int]) -> list[dict[str, Any]]:
    """Add ``has_preview`` (bool) and ``link_count`` (int) to each model dict (in place; returned).

    ``models``: model dicts (metadata + ``path``); ``link_counts``: ``{model_id: number of links}``.
    """
    for m in models:
        m["has_preview"] = bool(m.get("path")) and find_preview(m["path"]) is not None
        m["link_count"] = int(link_counts.get(str(m.get("model_id")), 0))
    return models

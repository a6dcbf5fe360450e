"""Why a file met while walking a plain folder is not imported (``ImportPlan.skipped`` reasons)."""

from __future__ import annotations

_ARCHIVES = (".zip", ".7z", ".rar", ".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".gz", ".xz")
_DOCS = (".txt", ".md", ".json", ".yaml", ".yml", ".html", ".pdf", ".py", ".csv")
_IMAGES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


def skip_reason(name: str) -> str:
    """Why a file met in a plain folder is not imported (one line)."""
    low = name.lower()
    if low.endswith(_ARCHIVES):
        return "archive: unpack it first, then import the folder"
    if low.endswith(_IMAGES):
        return "image, not a model file"
    if low.endswith(_DOCS):
        return "text or document, not a model file"
    return "not a model file (unknown extension)"

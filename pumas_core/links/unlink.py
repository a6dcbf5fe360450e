"""Take a model's or an app's links away (cascade delete, app removal)."""

from __future__ import annotations

import os
from typing import Any

from . import fsops
from .registry import Registry


def _remove(registry: Registry, rows: list[dict[str, Any]]) -> dict[str, Any]:
    removed = 0
    errors: list[dict[str, str]] = []
    done: list[str] = []
    for r in rows:
        lp = r["link_path"]
        try:
            if fsops.ownership(r) in ("ours", "dangling"):  # anything else is the user's: left, row forgotten
                os.unlink(lp)
                removed += 1
        except OSError as exc:
            errors.append({"link_path": lp, "error": f"{lp}: cannot remove ({exc.strerror})"})
            continue
        done.append(lp)
    registry.delete_links(done)
    registry.clear_stamps({r["app_id"] for r in rows})
    return {"links_removed": removed, "errors": errors}


def unlink_model(registry: Registry, model_id: str) -> dict[str, Any]:
    """Remove every link of ``model_id`` (exact match) from disk and registry — call before deleting its files.

    Only symlinks that still point at the registered target (or dangle), hard links of the library
    file's inode and clones proven to hold its bytes (:func:`.cloneproof.is_clone_of`, the full check)
    are removed; anything else (a clone edited in place or replaced) is left and just forgotten.
    Returns ``{"links_removed": N, "errors": [{"link_path","error"}]}``.
    """
    return _remove(registry, registry.links_for_model(model_id))


def unlink_app(registry: Registry, app_id: str, forget_app: bool = True) -> dict[str, Any]:
    """Remove every link of an app, then (by default) the app row.  Same return shape as :func:`unlink_model`."""
    out = _remove(registry, registry.links_for_app(app_id))
    if forget_app and not out["errors"]:
        registry.remove_app(app_id)
    return out

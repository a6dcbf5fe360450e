"""Self-healing: re-create broken links whose model still exists, and clean up what is ours.

Neither function ever touches a real file: only symlinks are removed, and only those that are ours
(registered, or unregistered dangling links into the library).
"""

from __future__ import annotations

import os

from ..errors import LibraryUnavailableError
from . import fsops
from .health import check
from .registry import Registry
from .sync import sync_app


def repair(registry: Registry, library_root: str | os.PathLike, models_by_id: dict) -> dict:
    """Re-create or re-point broken links of models that still exist (found by ``model_id``).

    ``models_by_id``: ``{model_id: LinkableModel}`` with the models' *current* folders (after a library
    move the new ones), so links are re-pointed there.
    Returns ``{"repaired": N, "unrepairable": [broken entries whose model is gone], "conflicts": [...],
    "errors": [...]}``.  Raises LibraryUnavailableError when the library is on an offline volume.
    """
    lib = os.path.abspath(library_root)
    health = check(registry, lib, models_by_id)
    if any(v["kind"] == "library" for v in health["offline_volumes"]):
        raise LibraryUnavailableError(f"{lib}: library volume is offline; nothing repaired")
    per_app: dict[str, set[str]] = {}
    unrepairable = []
    for b in health["broken_links"]:
        if b["model_id"] in models_by_id:
            per_app.setdefault(b["app_id"], set()).add(b["model_id"])
        else:
            unrepairable.append(b)
    out = {"repaired": 0, "unrepairable": unrepairable, "conflicts": [], "errors": []}
    for app_id, mids in sorted(per_app.items()):
        rep = sync_app(registry, app_id, [models_by_id[m] for m in sorted(mids)], only_model_ids=mids,
                       library_root=lib)
        out["repaired"] += rep.created + rep.repointed
        out["conflicts"] += rep.conflicts
        out["errors"] += rep.errors
    registry.clear_stamps(per_app)
    return out


def clean(registry: Registry, library_root: str | os.PathLike) -> dict:
    """Remove broken links that are ours, dangling orphans into the library, and ghost apps' rows.

    Broken registered links: a dangling symlink is unlinked and its row dropped; a link the user
    re-pointed or replaced by a real file is left alone and only its row is dropped.  Working
    orphans (unregistered links into the library that resolve) are kept and listed.
    Returns ``{"removed_links": N, "forgotten_rows": N, "removed_orphans": N, "kept_orphans": [...],
    "removed_apps": [app_id...], "errors": [...]}``.
    Raises LibraryUnavailableError when the library is on an offline volume.
    """
    lib = os.path.abspath(library_root)
    health = check(registry, lib)
    if any(v["kind"] == "library" for v in health["offline_volumes"]):
        raise LibraryUnavailableError(f"{lib}: library volume is offline; nothing cleaned")
    out = {"removed_links": 0, "forgotten_rows": 0, "removed_orphans": 0, "kept_orphans": [],
           "removed_apps": [], "errors": []}
    drop = []
    for b in health["broken_links"]:
        lp = b["link_path"]
        if b["reason"] == "target_missing" and os.path.islink(lp) and not os.path.exists(lp):
            try:
                os.unlink(lp)
                out["removed_links"] += 1
            except OSError as exc:
                out["errors"].append({"link_path": lp, "error": f"{lp}: cannot remove ({exc.strerror})"})
                continue
        else:
            out["forgotten_rows"] += 1
        drop.append(lp)
    registry.delete_links(drop)
    for o in health["orphaned_links"]:
        if not o["dangling"]:
            out["kept_orphans"].append(o)
            continue
        try:
            if not os.path.exists(o["link_path"]) and fsops.unlink_if_symlink(o["link_path"]):
                out["removed_orphans"] += 1
        except OSError as exc:
            out["errors"].append({"link_path": o["link_path"], "error": f"{o['link_path']}: cannot remove ({exc.strerror})"})
    for g in health["ghost_apps"]:
        registry.remove_app(g["app_id"])
        out["removed_apps"].append(g["app_id"])
    registry.clear_stamps()
    return out

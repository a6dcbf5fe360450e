"""Self-healing: re-create or re-point broken links whose model still exists (by model id, wherever
its folder now is), and clean up what is ours and truly gone.

Neither function ever touches a real file: only symlinks are removed, and only those that are ours
(registered, or unregistered dangling links into the library).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import LibraryUnavailableError
from . import fsops
from .diagnose import check
from .registry import Registry
from .sync import sync_app

if TYPE_CHECKING:
    from .models import LinkableModel


def _not_fixed(item: Mapping[str, Any], why: str | None = None) -> dict[str, Any]:
    return {"link_path": item["link_path"], "model_id": item["model_id"], "app_id": item["app_id"],
            "action": item["action"], "fixable_by": item["fixable_by"], "reason": why or item["fix_reason"]}


def repair(registry: Registry, library_root: str | os.PathLike[str], models_by_id: Mapping[str, LinkableModel],
           moved_models: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Re-create or re-point broken links of models that still exist (found by ``model_id``).

    ``models_by_id``: ``{model_id: LinkableModel}`` of the models whose files are complete, with their
    *current* folders (after a library move, or a model folder moved by hand, the new ones), so links
    are re-pointed there.
    Returns ``{"repaired": N, "not_fixed": [{"link_path","model_id","app_id","action","fixable_by","reason"}],
    "unrepairable": [broken entries whose model's content is gone], "conflicts": [...], "errors": [...]}``:
    every broken link that is still broken afterwards is in ``not_fixed`` with the reason (content gone
    → ``clean``; a conflict or error while re-linking → its message).
    Raises LibraryUnavailableError (``.path`` = the library) when the library is on an offline volume.
    """
    lib = os.path.abspath(library_root)
    health = check(registry, lib, models_by_id, moved_models=moved_models)
    if any(v["kind"] == "library" for v in health["offline_volumes"]):
        raise LibraryUnavailableError(f"{lib}: library volume is offline; nothing repaired", path=lib)
    per_app: dict[str, set[str]] = {}
    unrepairable: list[dict[str, Any]] = []
    not_fixed: list[dict[str, Any]] = []
    todo: list[dict[str, Any]] = []
    for b in health["broken_links"]:
        if b["fixable_by"] == "repair":
            per_app.setdefault(b["app_id"], set()).add(b["model_id"])
            todo.append(b)
        else:
            unrepairable.append(b)
            not_fixed.append(_not_fixed(b))
    out: dict[str, Any] = {"repaired": 0, "not_fixed": not_fixed, "unrepairable": unrepairable, "conflicts": [],
                           "errors": []}
    problems: dict[str, str] = {}
    for app_id, mids in sorted(per_app.items()):
        rep = sync_app(registry, app_id, [models_by_id[m] for m in sorted(mids)], only_model_ids=mids,
                       library_root=lib)
        out["repaired"] += rep.created + rep.repointed
        out["conflicts"] += rep.conflicts
        out["errors"] += rep.errors
        for c in rep.conflicts:
            problems[c["link_path"]] = f"conflict: {c['reason']}"
        for e in rep.errors:
            problems[e["link_path"]] = e["error"]
    registry.clear_stamps(per_app)
    if todo:
        still = {b["link_path"] for b in check(registry, lib, models_by_id)["broken_links"]}
        for b in todo:
            if b["link_path"] in still:
                why = problems.get(b["link_path"]) or ("the link is still broken after re-linking "
                                                       "(its name is now planned elsewhere)")
                not_fixed.append(_not_fixed(b, why))
    return out


def clean(registry: Registry, library_root: str | os.PathLike[str],
          models_by_id: Mapping[str, LinkableModel] | None = None) -> dict[str, Any]:
    """Remove broken links that are ours and whose content is truly gone, dangling orphans into the
    library, and ghost apps' rows.

    ``models_by_id``: models whose files are complete (as for :func:`repair`); a broken link of one of
    them is **kept** (``repair`` re-points it) and listed in ``kept`` — a model folder moved by hand
    never loses its links.  Broken registered links of models that are gone: a dangling symlink is
    unlinked and its row dropped; a link the user re-pointed or replaced by a real file is left alone
    and only its row is dropped.  Working orphans (unregistered links into the library that resolve)
    are kept and listed.
    Returns ``{"removed_links": N, "removed": [{"link_path","model_id","reason"}], "kept": [...],
    "forgotten_rows": N, "removed_orphans": N, "kept_orphans": [...], "removed_apps": [app_id...],
    "errors": [...]}``.
    Raises LibraryUnavailableError (``.path`` = the library) when the library is on an offline volume.
    """
    lib = os.path.abspath(library_root)
    health = check(registry, lib, models_by_id)
    if any(v["kind"] == "library" for v in health["offline_volumes"]):
        raise LibraryUnavailableError(f"{lib}: library volume is offline; nothing cleaned", path=lib)
    out: dict[str, Any] = {"removed_links": 0, "removed": [], "kept": [], "forgotten_rows": 0, "removed_orphans": 0,
           "kept_orphans": [], "removed_apps": [], "errors": []}
    drop: list[str] = []
    for b in health["broken_links"]:
        lp = b["link_path"]
        if b["fixable_by"] == "repair":
            out["kept"].append(_not_fixed(b))
            continue
        if b["action"] == "remove" and os.path.islink(lp) and not os.path.exists(lp):
            try:
                os.unlink(lp)
                out["removed_links"] += 1
                out["removed"].append({"link_path": lp, "model_id": b["model_id"], "reason": b["fix_reason"]})
            except FileNotFoundError:
                pass
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
            out["errors"].append({"link_path": o["link_path"],
                                  "error": f"{o['link_path']}: cannot remove ({exc.strerror})"})
    for g in health["ghost_apps"]:
        registry.remove_app(g["app_id"])
        out["removed_apps"].append(g["app_id"])
    registry.clear_stamps()
    return out

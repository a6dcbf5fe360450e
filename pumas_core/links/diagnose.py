"""Diagnose the links: broken, orphaned, ghost installs, phantom models, offline volumes.

Cost: one ``readlink`` + one ``stat`` per registered link and one ``scandir`` per model folder of each
install (symlinks found there are only read when they are not registered), so 10,000 links take a
few tens of milliseconds.  Ghost-app detection asks whether the *registered app root* exists (exact
``app_id`` rows, never name matching); an app root or library on an unplugged drive is reported as an
offline volume instead, and its links are not called broken.

Shared by :mod:`pumas_core.links.health` (which re-exports :func:`check`) and
:mod:`pumas_core.links.repair` (which acts on what :func:`check` finds).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import fsops
from .fastpath import LIBRARY_MOUNT_KEY
from .registry import Registry
from .volumes import is_offline

if TYPE_CHECKING:
    from .models import LinkableModel

SCAN_DEPTH = 2  # key folder + one level of sub-folders (collision folders of sharded sets)


def _scan_dirs(app: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> set[str]:
    dirs = {os.path.join(app["models_dir"], k) for k in app.get("folder_paths") or {}}
    for key_dirs in (app.get("folder_paths") or {}).values():
        dirs.update(d for d in key_dirs if fsops.is_within(d, app["root"]))
    dirs.update(os.path.dirname(r["link_path"]) for r in rows)
    return dirs


def find_orphans(app: Mapping[str, Any], rows: list[dict[str, Any]], library_root: str,
                 registered: set[str]) -> list[dict[str, Any]]:
    """Symlinks in ``app``'s model folders that point into the library but are not registered.

    Returns ``[{"link_path", "target_path", "app_id", "dangling": bool}]``.
    """
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    todo = [(d, 1) for d in sorted(_scan_dirs(app, rows))]
    while todo:
        d, depth = todo.pop()
        real = os.path.realpath(d)
        if real in seen:
            continue
        seen.add(real)
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if not e.is_symlink():
                    if depth < SCAN_DEPTH and e.is_dir(follow_symlinks=False):
                        todo.append((e.path, depth + 1))
                    continue
                if e.path in registered:
                    continue
                dest = fsops.link_points_to(e.path, os.readlink(e.path))
            except OSError:
                continue
            if fsops.is_within(dest, library_root):
                out.append({"link_path": e.path, "target_path": dest, "app_id": app["app_id"],
                            "dangling": not os.path.exists(e.path)})
    return sorted(out, key=lambda o: o["link_path"])


def fix_for(item: Mapping[str, Any], models_by_id: Mapping[str, LinkableModel],
            moved: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What fixes one broken link: ``{"action", "fixable_by", "reason"}``.

    ``action``: ``"recreate"`` (link gone, model here), ``"repoint"`` (link points at the wrong or a
    vanished place, model here — e.g. its folder was moved by hand), ``"remove"`` (a dangling link whose
    model's content is gone: ``clean`` deletes the link), ``"none"`` (nothing to do on disk: the link is
    already gone or a real file of the user's replaced it; ``clean`` only drops the record).
    ``fixable_by``: ``"repair"`` | ``"clean"`` | None.  ``models_by_id`` holds only models whose files are
    complete (at their indexed place or, for ``moved`` ``{model_id: new_dir}``, at the new one).
    """
    mid, why = item["model_id"], item["reason"]
    moved = moved or {}
    if why == "not_a_link":
        return {"action": "none", "fixable_by": "clean",
                "reason": "a real file or folder replaced the link; it is left alone, clean drops the record"}
    if mid in models_by_id:
        if why == "link_missing":
            return {"action": "recreate", "fixable_by": "repair", "reason": "link deleted; the model is in the library"}
        where = f"model folder moved to {moved[mid]}" if mid in moved else "the model is in the library"
        return {"action": "repoint", "fixable_by": "repair", "reason": f"link points to the wrong place; {where}"}
    if why == "link_missing":
        return {"action": "none", "fixable_by": "clean",
                "reason": f"link already gone and model {mid[:12]} is no longer in the library; clean drops the record"}
    return {"action": "remove", "fixable_by": "clean",
            "reason": f"model {mid[:12]} content is gone from the library (no complete copy found)"}


def _annotate(orphans: list[dict[str, Any]], ghosts: list[dict[str, Any]]) -> None:
    """Give orphaned links and ghost installs their ``action`` / ``fixable_by`` / ``fix_reason`` too
    (offline volumes need the drive back, nothing Pumas can do)."""
    for o in orphans:
        if o["dangling"]:
            o.update(action="remove", fixable_by="clean",
                     fix_reason="unregistered link into the library whose target is gone; clean removes it")
        else:
            o.update(action="none", fixable_by=None,
                     fix_reason="unregistered link into the library that works; left alone")
    for g in ghosts:
        g.update(action="remove", fixable_by="clean",
                 fix_reason="install folder is gone; clean forgets the install and its link records")


def check(registry: Registry, library_root: str | os.PathLike[str],
          models_by_id: Mapping[str, LinkableModel] | None = None,
          phantom_models: list[dict[str, Any]] | None = None,
          moved_models: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Inspect every registered app and link.

    Args:
        library_root: the library folder.
        models_by_id: ``{model_id: LinkableModel}`` of the models whose files are complete (at their
            current folder).  A broken link of such a model is fixed by ``repair``; one whose model is
            absent from it has its content gone and is for ``clean`` (see :func:`fix_for`).
        phantom_models: index entries whose files are gone, as found by the caller (passed through).
        moved_models: ``[{"model_id","old_path","path",...}]`` folders moved by hand inside the library
            (passed through; their links' reasons name the new place).
    Returns:
        ``{"status": "healthy"|"warnings"|"errors", "broken_links": [{"link_path","target_path","model_id",
        "app_id","reason","repairable","action","fixable_by","fix_reason"}], "orphaned_links":
        [{"link_path","target_path","app_id","dangling"}], "ghost_apps": [{"app_id","root","link_count"}],
        "phantom_models": [...], "moved_models": [...], "link_strategies": {strategy: N},
        "offline_volumes": [{"path","kind": "library"|"app","mount","app_id"?}], "links_checked": N}``.
        Each broken link carries its ``strategy`` (how it was made: a hard link or a copy-on-write clone is
        judged by identity, not as a symlink, and a clone whose library file is gone is still complete).
        ``reason`` says what is wrong with the link (``link_missing`` | ``not_a_link`` | ``wrong_target`` |
        ``target_missing``); ``fix_reason`` says why ``action`` fixes it.
        ``errors``: broken links or offline volumes; ``warnings``: orphans, ghosts, phantoms or moved models.
    """
    lib = os.path.abspath(library_root)
    models_by_id = models_by_id or {}
    moved = {m["model_id"]: m["path"] for m in moved_models or []}
    offline: list[dict[str, Any]] = []
    ghosts: list[dict[str, Any]] = []
    broken: list[dict[str, Any]] = []
    orphans: list[dict[str, Any]] = []
    lib_mount = registry.get_setting(LIBRARY_MOUNT_KEY + lib)
    library_missing = not os.path.isdir(lib)
    if library_missing and is_offline(lib, lib_mount):
        offline.append({"path": lib, "kind": "library", "mount": lib_mount})
    rows = registry.all_links()
    rows_by_app: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        rows_by_app.setdefault(r["app_id"], []).append(r)
    active: list[dict[str, Any]] = []
    for app in registry.list_apps():
        if os.path.isdir(app["root"]):
            active.append(app)
        elif is_offline(app["root"], app.get("mount")):
            offline.append({"path": app["root"], "kind": "app", "mount": app.get("mount"), "app_id": app["app_id"]})
        else:
            ghosts.append({"app_id": app["app_id"], "root": app["root"],
                           "link_count": len(rows_by_app.get(app["app_id"], []))})
    lib_unavailable = bool(offline and offline[0]["kind"] == "library")
    registered = {r["link_path"] for r in rows}
    for app in active:
        app_rows = rows_by_app.get(app["app_id"], [])
        for r in app_rows:
            reason = fsops.link_state(r, lib_unavailable)
            if reason is None or reason == "offline":
                continue
            item: dict[str, Any] = {"link_path": r["link_path"], "target_path": r["target_path"],
                                    "model_id": r["model_id"], "app_id": r["app_id"], "reason": reason,
                                    "strategy": r.get("strategy")}
            fix = fix_for(item, models_by_id, moved)
            item.update(repairable=fix["fixable_by"] == "repair", action=fix["action"],
                        fixable_by=fix["fixable_by"], fix_reason=fix["reason"])
            broken.append(item)
        if not lib_unavailable:
            orphans.extend(find_orphans(app, app_rows, lib, registered))
    phantoms = list(phantom_models or [])
    _annotate(orphans, ghosts)
    if broken or offline:
        status = "errors"
    elif orphans or ghosts or phantoms or moved:
        status = "warnings"
    else:
        status = "healthy"
    return {"status": status, "broken_links": broken, "orphaned_links": orphans, "ghost_apps": ghosts,
            "phantom_models": phantoms, "moved_models": list(moved_models or []), "offline_volumes": offline,
            "links_checked": len(rows), "link_strategies": _strategy_counts(rows)}


def _strategy_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """``{strategy: number of registered links}`` (``relative``/``absolute``/``hardlink``/``clone``)."""
    out: dict[str, int] = {}
    for r in rows:
        how = str(r.get("strategy") or "relative")
        out[how] = out.get(how, 0) + 1
    return out

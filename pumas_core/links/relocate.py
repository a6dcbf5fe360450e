"""Drive / folder relocation: rewrite stored paths from one prefix to another and rebuild the links.

Prefixes match whole path components (``/media/a`` matches ``/media/a/x`` but never ``/media/ab``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..errors import BadInputError
from . import fsops
from .fastpath import LIBRARY_MOUNT_KEY
from .registry import Registry
from .volumes import mount_point


def _swapper(old: str, new: str) -> Callable[[str], str]:
    """``p`` with the prefix ``old`` replaced by ``new`` (whole components; other paths unchanged)."""
    def swap(p: str) -> str:
        p = os.path.normpath(p)
        return new + p[len(old):] if fsops.is_within(p, old) else p
    return swap


def _rebuild(lp: str, target: str, is_dir: bool) -> str | None:
    """Make the link at ``lp`` point at ``target``; returns an error line or None."""
    try:
        if os.path.islink(lp):
            if fsops.link_points_to(lp, os.readlink(lp)) != os.path.normpath(target):
                fsops.replace_link(lp, target, is_dir)
        elif os.path.lexists(lp):
            return f"{lp}: a real file is in the way; link not rebuilt"
        elif os.path.isdir(os.path.dirname(lp)):
            fsops.create_link(lp, target, is_dir)
        else:
            return f"{lp}: folder missing; link not rebuilt"
    except OSError as exc:
        return fsops.symlink_error(lp, exc)
    return None


def relocate(registry: Registry, old_prefix: str | os.PathLike[str],
             new_prefix: str | os.PathLike[str]) -> dict[str, Any]:
    """Rewrite every app path, link path and link target under ``old_prefix`` to ``new_prefix``.

    Links whose path or target moved are re-pointed (relative text recomputed); a link whose
    relative text is still right is left as is.  Real files are never touched.  Idempotent: run
    again (or with nothing under ``old_prefix``, or ``old == new``) it changes nothing.  When an
    install's new root is already registered (e.g. ComfyUI booted from the new place first), the two
    registrations are merged: the links move to the registration at the new root (its folder keys,
    fresher, are kept) and the old one is dropped (``apps_merged``).
    Returns ``{"apps_updated": N, "apps_merged": N, "links_updated": N, "links_rebuilt": N,
    "settings_updated": N, "errors": [{"link_path","error"}]}``.
    Raises BadInputError: a prefix is not absolute, or ``new_prefix`` does not exist (``.path`` = it).
    """
    old, new = os.fspath(old_prefix), os.fspath(new_prefix)
    if not (os.path.isabs(old) and os.path.isabs(new)):
        raise BadInputError(f"relocate: both prefixes must be absolute paths ({old!r}, {new!r})")
    old, new = os.path.normpath(old), os.path.normpath(new)
    out: dict[str, Any] = {"apps_updated": 0, "apps_merged": 0, "links_updated": 0, "links_rebuilt": 0,
                           "settings_updated": 0, "errors": []}
    if not os.path.isdir(new):
        raise BadInputError(f"{new}: does not exist (mount the drive or create the folder first)", path=new)
    if old == new:
        return out
    swap = _swapper(old, new)
    merged: dict[str, str] = {}  # old app_id -> app_id of the registration already at the new root
    for app in registry.list_apps():
        root, models = swap(app["root"]), swap(app["models_dir"])
        fp = {k: [swap(d) for d in v] for k, v in app["folder_paths"].items()}
        if (root, models, fp) == (os.path.normpath(app["root"]), os.path.normpath(app["models_dir"]),
                                  app["folder_paths"]):
            continue
        there = registry.find_app_by_root(root)
        if there is not None and there["app_id"] != app["app_id"]:
            merged[app["app_id"]] = there["app_id"]
            continue
        registry.update_app_paths(app["app_id"], root, models, fp, mount_point(root))
        out["apps_updated"] += 1
    changes: list[tuple[str, dict[str, Any]]] = []
    for row in registry.all_links():
        lp, tp = swap(row["link_path"]), swap(row["target_path"])
        app_id = merged.get(row["app_id"], row["app_id"])
        if (lp, tp, app_id) == (os.path.normpath(row["link_path"]), os.path.normpath(row["target_path"]),
                                row["app_id"]):
            continue
        changes.append((row["link_path"], {**row, "link_path": lp, "target_path": tp, "app_id": app_id}))
    registry.rewrite_links(changes)
    for app_id in merged:
        registry.remove_app(app_id)  # its link rows were moved above: only the app row goes
        out["apps_merged"] += 1
    out["links_updated"] = len(changes)
    for _, row in changes:
        if row["strategy"] in ("hardlink", "clone") and fsops.points_to_target(
                row["link_path"], row["target_path"], row["strategy"], thorough=False):  # _rebuild skips files
            continue  # a hard link or a clone holds its content wherever the library is: nothing to re-point
        before = os.readlink(row["link_path"]) if os.path.islink(row["link_path"]) else None
        err = _rebuild(row["link_path"], row["target_path"], row["kind"] == "dir")
        if err:
            out["errors"].append({"link_path": row["link_path"], "error": err})
        elif before != (os.readlink(row["link_path"]) if os.path.islink(row["link_path"]) else None):
            out["links_rebuilt"] += 1
    for key, value in registry.all_settings().items():
        if key.startswith(LIBRARY_MOUNT_KEY):
            path = key[len(LIBRARY_MOUNT_KEY):]
            if fsops.is_within(path, old):
                registry.set_setting(key, None)
                moved = swap(path)
                registry.set_setting(LIBRARY_MOUNT_KEY + moved, mount_point(moved))
                out["settings_updated"] += 1
        elif value and os.path.isabs(value) and fsops.is_within(value, old):
            registry.set_setting(key, swap(value))
            out["settings_updated"] += 1
    if changes or out["apps_updated"] or merged:
        registry.clear_stamps()
    return out

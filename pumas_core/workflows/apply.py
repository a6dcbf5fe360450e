"""Create the links resolution decided on, at exactly ``<folder key>/<sub-folder>/<name>`` the workflow
names, with the sync rules (:func:`pumas_core.links.sync.link_one`): a free name gets a new relative
symlink, our own link is re-pointed, anything else in the way is a ``conflict`` (or is backed up
when the caller passes ``conflicts="backup"``).  Each link is registered like every link and pinned
(:mod:`pumas_core.links.pins`) so later syncs keep it.  A second run finds everything ``present``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..links.pins import pin_link
from ..links.registry import PIN_WORKFLOW
from ..links.sync import link_one
from .resolve import Resolution

if TYPE_CHECKING:
    from ..facade import Library


def apply_links(lib: Library, app: dict[str, Any], resolutions: list[Resolution], *, dry_run: bool = False,
                conflicts: str | None = None) -> int:
    """Link every ``linked`` resolution into ``app``; update each status in place; return links created.

    ``conflicts``: None (report them), ``"skip"`` or ``"backup"`` (rename the user's file aside; a Pumas link
    of another library model under the wanted name is re-pointed).
    In a dry run nothing changes on disk; ``linked`` then means "would be linked".
    """
    done: dict[str, tuple[str, str | None]] = {}
    created = 0
    for res in resolutions:
        if res.status != "linked" or res.entry is None or res.link_path is None or res.folder is None:
            continue
        if res.link_path in done:
            res.status, res.note = done[res.link_path]
            continue
        planned = pin_link(app, res.folder, res.ref.rel_name, res.entry.model)
        if planned is None:  # a Sharded Set (the resolver already reports it as a conflict)
            res.status, res.note = "conflict", "a Sharded Set has no single file to link by name"
            done[res.link_path] = (res.status, res.note)
            continue
        row = lib.registry.get_link(planned.link_path)
        if row is not None and row["model_id"] != planned.model_id and conflicts != "backup" \
                and os.path.lexists(planned.link_path):
            # our link for another library model: other workflows may use that name; change it only when asked
            res.status = "conflict"
            res.note = (f"{planned.link_path}: Pumas links library model {row['model_id'][:12]} under this name "
                        "(re-point it with backup-conflicts)")
            done[res.link_path] = (res.status, res.note)
            continue
        rep = link_one(lib.registry, app, planned, dry_run=dry_run, resolution=conflicts, library_root=lib.root)
        if rep.created or rep.repointed:
            created += 1
            if rep.backed_up:
                res.note = f"your file was kept as {rep.backed_up[0]['backup_path']}"
        elif rep.already_correct:
            res.status = "present"
        elif rep.conflicts:
            c = rep.conflicts[0]
            res.status, res.note = "conflict", f"{planned.link_path}: {c.get('message') or c['reason']} ({c['reason']})"
        elif rep.skipped:
            res.status, res.note = "conflict", f"{planned.link_path}: skipped (something else is in the way)"
        elif rep.errors:
            res.status, res.note = "conflict", rep.errors[0]["error"]
        if not dry_run and res.status in ("linked", "present"):
            lib.registry.pin(planned.link_path, PIN_WORKFLOW, app_id=app["app_id"], folder_key=res.folder,
                             rel_name=res.ref.rel_name, model_id=res.entry.model_id)
        done[res.link_path] = (res.status, res.note)
    if created and not dry_run:
        lib.registry.clear_stamps([app["app_id"]])  # the next boot sync checks the new links too
    return created

"""Taking links away during a sync: registered links the plan no longer wants (stale) or whose target
is gone (broken), and unregistered dangling symlinks into the library.

Only what is provably ours is removed: a symlink whose text still leads to the registered target (or
that dangles), a hard link that is the library file's inode, a clone proven to hold the library file's
bytes (:func:`.cloneproof.is_clone_of`, the full check: FIEMAP shared extents, else a byte comparison)
while the library file is there (so its content is never lost); a clone edited or replaced is the user's.
A real file of the user's that took a link's place is left alone and only its registry row is forgotten.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from . import fsops
from .models import SyncReport

Row = dict[str, Any]


def _planned(report: SyncReport, action: str, row: Row) -> None:
    report.planned.append({"action": action, "link_path": row["link_path"], "target_path": row["target_path"],
                           "model_id": row["model_id"]})


def _unlink(report: SyncReport, row: Row) -> bool:
    """Remove ``row``'s link; False (error recorded) when that fails for another reason than being gone."""
    lp = row["link_path"]
    try:
        os.unlink(lp)
    except FileNotFoundError:
        pass  # another process removed it first
    except OSError as exc:
        report.errors.append({"link_path": lp, "model_id": row["model_id"],
                              "error": f"{lp}: cannot remove ({exc.strerror})"})
        return False
    return True


def remove_unwanted(report: SyncReport, rows: list[Row], dry_run: bool, may_remove_dangling: bool,
                    drop: list[str]) -> None:
    """Take away registry links that the plan no longer wants (stale) or whose target is gone (broken).

    ``may_remove_dangling``: False while the library is offline (a dangling link then proves nothing).
    Paths whose rows should be forgotten are appended to ``drop``; counters and errors go to ``report``.
    """
    for row in rows:
        lp = row["link_path"]
        try:
            whose = fsops.ownership(row)
        except OSError as exc:
            report.errors.append({"link_path": lp, "model_id": row["model_id"], "error": f"{lp}: {exc.strerror}"})
            continue
        if whose in ("gone", "foreign"):
            drop.append(lp)  # already gone, or the user's (a real file, a link re-pointed elsewhere): forget the row
            continue
        dangling = whose == "dangling"
        if dangling and not may_remove_dangling:
            continue  # library offline: keep everything
        action = "remove_broken" if dangling else "remove_stale"
        if dry_run:
            _planned(report, action, row)
        else:
            if not _unlink(report, row):
                continue
            drop.append(lp)
        if dangling:
            report.removed_broken += 1
        else:
            report.removed_stale += 1


def sweep_dangling(report: SyncReport, dirs: Iterable[str], library_root: str, keep: set[str], dry_run: bool) -> None:
    """Remove dangling symlinks in ``dirs`` (one level) that point into the library and are not in ``keep``."""
    for d in sorted(set(dirs)):
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.path in keep or not e.is_symlink():
                continue
            try:
                dest = fsops.link_points_to(e.path, os.readlink(e.path))
            except OSError:
                continue
            if not fsops.is_within(dest, library_root) or os.path.exists(e.path):
                continue
            if dry_run:
                _planned(report, "remove_broken", {"link_path": e.path, "target_path": dest, "model_id": None})
            else:
                try:
                    os.unlink(e.path)
                except FileNotFoundError:
                    continue  # another process removed it first
                except OSError as exc:
                    report.errors.append({"link_path": e.path, "model_id": None,
                                          "error": f"{e.path}: cannot remove ({exc.strerror})"})
                    continue
            report.removed_broken += 1

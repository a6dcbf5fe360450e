"""Never leave a dangling *directory* link in a ComfyUI model folder.

ComfyUI caches each model folder's listing with the mtime of every sub-directory it walked; a directory
link whose target disappears makes ``os.path.getmtime`` raise on the next check, so ``GET /models/<key>``
answers 500 and the loaders of that key drop out of ``/object_info`` until the link is gone
(``reference/comfyui-integration.md`` §3).  A dangling *file* link is only listed (and fails to load), so
broken file links stay for ``pumas health``/``repair``; a directory link whose library folder is missing
is removed by every sync (its registry row stays, so health lists it and repair re-creates it once the
model is back).
"""

from __future__ import annotations

import os

from .models import SyncReport
from .plan import PlannedLink

#: ``PlannedLink.kind`` / registry ``links.kind`` of a directory link (the other value is ``"file"``)
DIR_KIND = "dir"

#: directory links probed by the boot fast path (each one ``stat``); dangling ones force a full sync
MAX_DIR_PROBES = 64


def drop_missing_dir_link(report: SyncReport, p: PlannedLink, dry_run: bool) -> bool:
    """Handle a planned directory link whose library folder is gone; True when nothing else is to be done.

    A dangling symlink at ``p.link_path`` is removed (``remove_broken`` in a dry run's ``planned``); when
    nothing is there, no dangling link is created and a warning says why.  Anything else in the way (a real
    folder, a working link to something else) returns False: the normal conflict rules apply.  A removal
    that fails is reported in ``report.errors``.
    """
    if p.kind != DIR_KIND or os.path.isdir(p.target_path):
        return False
    lp = p.link_path
    if not os.path.lexists(lp):
        report.warnings.append(f"{lp}: not linked, the model folder {p.target_path} is missing (see `pumas health`)")
        return True
    if not os.path.islink(lp) or os.path.exists(lp):
        return False
    if dry_run:
        report.planned.append({"action": "remove_broken", "link_path": lp, "target_path": p.target_path,
                               "model_id": p.model_id})
    else:
        try:
            os.unlink(lp)
        except FileNotFoundError:
            pass  # another process removed it first
        except OSError as exc:
            report.errors.append({"link_path": lp, "model_id": p.model_id,
                                  "error": f"{lp}: cannot remove ({exc.strerror})"})
            return True
    report.removed_broken += 1
    return True


def dir_probes(planned: list[PlannedLink]) -> list[str]:
    """Directory links of ``planned`` whose folder exists (at most :data:`MAX_DIR_PROBES`): the fast path
    re-syncs as soon as one of them dangles."""
    return [p.link_path for p in planned if p.kind == DIR_KIND and os.path.isdir(p.target_path)][:MAX_DIR_PROBES]


def missing_dir_parents(planned: list[PlannedLink]) -> set[str]:
    """Parent folders of the directory links' missing library folders: the fast-path stamp records their
    mtime, so the folder coming back (moved back, re-imported) triggers the sync that links it again."""
    return {os.path.dirname(p.target_path) for p in planned if p.kind == DIR_KIND and not os.path.isdir(p.target_path)}

"""Undo an adoption: every original path gets its own bytes back (checked by BLAKE3), our links go,
previews move back, and models this adoption created are removed from the library (models the
library had before stay).  Groups are undone last-first; each writes ``undo_done`` to the journal,
and every step looks at the file system first, so an interrupted undo can simply run again.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

from ..errors import ConflictError
from ..links.strategy import same_file
from ..vocab import Stage
from .apply import _created_here, find_by_source, record_for
from .fsutil import Progress, blake3_of, clean_leftovers, copy_verified, move_back
from .journal import Journal, Record, State

if TYPE_CHECKING:
    from ..facade import Library


def _group_record(lib: Library, st: State, gi: int, g: dict[str, Any]) -> Record | None:
    rec = st.result("import", gi)
    if rec is not None:
        return None if rec.get("error") else rec
    if st.intent("import", gi) is None:
        return None
    keeper = g["paths"][0]["path"]
    if os.path.isfile(keeper) and not os.path.islink(keeper):
        return None  # the import never happened (or was rolled back by the staging journal)
    model = find_by_source(lib, keeper)
    if model is None:
        return None
    return record_for(model, _created_here(model, g, st.plan["created"]))


def _restore_path(path: str, rec: Record, keep_library_copy: bool, progress: Progress | None) -> str | None:
    """Bring the original bytes back at ``path``; returns an error message or None.

    Raises OSError, or CorruptFileError (a ValueError) when a copy does not verify.
    """
    target = rec["target"]
    if os.path.islink(path):
        if not same_file(path, target) and os.path.exists(path):
            return f"{path}: is a symlink to something else now; left alone"
        if keep_library_copy or not os.path.isfile(target):
            if not os.path.isfile(target):
                return f"{path}: the library copy {target} is missing; cannot restore"
            copy_verified(target, path, rec["blake3"], progress)
        else:
            os.unlink(path)
            move_back(target, path, rec["blake3"], progress)
    elif not os.path.lexists(path):
        if not os.path.isfile(target):
            return f"{path}: missing, and the library copy {target} is missing too"
        if keep_library_copy:
            copy_verified(target, path, rec["blake3"], progress)
        else:
            move_back(target, path, rec["blake3"], progress)
    got = blake3_of(path)
    if got != rec["blake3"]:
        return f"{path}: restored file has BLAKE3 {got[:12]}…, expected {rec['blake3'][:12]}…"
    return None


def _undo_group(lib: Library, st: State, gi: int, g: dict[str, Any], progress: Progress | None) -> dict[str, Any]:
    out: dict[str, Any] = {"restored": 0, "errors": [], "model_removed": None}
    rec = _group_record(lib, st, gi, g)
    if rec is None:
        return out
    sc = st.intent("sidecars", gi)
    pv = sc.get("preview") if sc else None
    if pv and os.path.isfile(pv["dst"]) and not os.path.lexists(pv["src"]):
        shutil.move(pv["dst"], pv["src"])
    paths = [p["path"] for p in g["paths"]]
    pinned = lib.registry.pinned_paths()
    others = [r for r in lib.registry.links_for_model(rec["model_id"])
              if r["link_path"] in pinned and r["link_path"] not in paths]
    remove_model = rec.get("created") and not others  # another adoption links to it too: keep it
    # duplicates first (copies of the library file), the kept path last (the library file itself)
    order = list(reversed(range(len(paths))))
    for pj in order:
        p = paths[pj]
        if progress:
            progress({"stage": Stage.RESTORING, "file": p, "index": len(paths) - 1 - pj, "count": len(paths)})
        link_rec = st.result("link", gi, pj)
        if link_rec is None and st.intent("link", gi, pj) is None and not (pj == 0 and rec.get("created")):
            continue  # never touched: the user's file is still there as it was
        if link_rec is not None and link_rec.get("error"):
            continue  # left in place at adoption
        keep = not (remove_model and pj == 0)
        try:
            err = _restore_path(p, rec, keep, progress)
        except (OSError, ValueError) as exc:  # OSError (WriteFailedError too), ValueError (CorruptFileError):
            # one path that cannot be restored is reported; the others still are
            err = f"{p}: {getattr(exc, 'strerror', None) or exc}"
        if err:
            out["errors"].append(err)
        else:
            out["restored"] += 1
    lib.registry.delete_links(paths)
    lib.registry.unpin(paths)
    if remove_model and not out["errors"] and lib.index.get(rec["model_id"]) is not None:
        try:
            lib.delete_model(rec["model_id"])
            out["model_removed"] = rec["model_id"]
        except ConflictError as exc:
            out["errors"].append(str(exc))
    return out


def undo(lib: Library, journal: Journal, progress: Progress | None = None) -> dict[str, Any]:
    """Undo the adoption recorded in ``journal``.

    Returns ``{"journal_id", "restored": N paths, "models_removed": [ids], "errors": [messages]}``
    (``"already_undone": True`` when it was).  A path that cannot be restored is an ``errors`` entry, not
    an exception.
    """
    st = State(journal.records())
    clean_leftovers(os.path.dirname(p["path"]) for g in st.groups for p in g["paths"])
    out: dict[str, Any] = {"journal_id": journal.journal_id, "restored": 0, "models_removed": [], "errors": []}
    if "undone" in st.flags:
        out["already_undone"] = True
        return out
    journal.write({"type": "undo_started"})
    for gi in reversed(range(len(st.groups))):
        if gi in st.undone_groups:
            continue
        r = _undo_group(lib, st, gi, st.groups[gi], progress)
        out["restored"] += r["restored"]
        out["errors"] += r["errors"]
        if r["model_removed"]:
            out["models_removed"].append(r["model_removed"])
        if not r["errors"]:
            journal.write({"type": "undo_done", "g": gi})
    if not out["errors"]:
        journal.write({"type": "undone"})
    return out

"""Apply (or resume) an adoption from its journal, one content group at a time.

Per group: ``import`` (the kept file is moved into the library with the importer's move mode —
rename then hash in place, its own move journal puts the file back after a crash; across file
systems it is copied while hashed, and at its link step the copy is re-read and verified before the
source is replaced by the link) → ``link`` per original path (a duplicate is
hashed again and must match before it is replaced; the swap is an atomic rename of a symlink) →
``sidecars`` (sidecar data into metadata.json, the preview moved in as ``preview.<ext>``).
Every step writes an intent record before and a done record after; each step checks the file
system first, so running it again after a crash is safe.  Cancelling stops between groups.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..links.strategy import same_file
from ..vocab import Stage
from .fsutil import Progress, blake3_of, clean_leftovers, swap_in_link
from .journal import Journal, Record, State
from .sidecars import apply_to_model, find_preview, preview_name

if TYPE_CHECKING:
    from ..facade import Library


class Totals:
    """Byte totals for progress: ``total`` bytes planned, ``done`` finished, rate-based ETA."""

    def __init__(self, groups: list[dict[str, Any]], progress: Progress | None,
                 point: Callable[[], None] | None = None) -> None:
        self.total = sum(p["size"] for g in groups for p in g["paths"]) or 1
        self.done = 0
        self.t0 = time.monotonic()
        self.progress = progress
        self.point = point  # the journal's kill point (test hook), also hit inside long steps
        self.count = sum(len(g["paths"]) for g in groups)
        self.index = 0

    def emit(self, ev: dict[str, Any], current: int = 0) -> None:
        """Send ``ev`` with the totals added (``index``, ``count``, ``total_bytes_done``, ``total_bytes``,
        ``eta_seconds``); ``current`` is the bytes done of the step in flight."""
        if not self.progress:
            return
        done = self.done + current
        elapsed = time.monotonic() - self.t0
        eta = (self.total - done) * elapsed / done if done and elapsed > 0 else None
        self.progress({**ev, "index": self.index, "count": self.count, "total_bytes_done": done,
                       "total_bytes": self.total, "eta_seconds": round(eta, 1) if eta is not None else None})

    def scoped(self, path: str) -> Progress:
        """A progress callback for the step on ``path`` (its events count towards the totals)."""
        def cb(ev: dict[str, Any]) -> None:
            if self.point is not None:
                self.point()
            self.emit({**ev, "file": path}, ev.get("bytes_done", 0))
        return cb


def find_by_source(lib: Library, path: str) -> dict[str, Any] | None:
    """The library model imported from ``path`` (its ``import_source``), rebuilding the index once
    when a crash left a committed model folder unindexed."""
    for attempt in (0, 1):
        for m in lib.list_models():
            if m.get("import_source") == path:
                return m
        if attempt == 0:
            lib.rebuild()
    return None


def _created_here(model: dict[str, Any], group: dict[str, Any], started: float) -> bool:
    """Did this adoption create ``model``? (imported from one of the group's paths, after it started)."""
    paths = {p["path"] for p in group["paths"]}
    added = model.get("added_date") or ""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(started)))
    return model.get("import_source") in paths and bool(added >= when)


def record_for(model: dict[str, Any], created: bool) -> Record:
    """The journal's record of one adopted group: the library model and its primary file (``target``, hashes),
    ``created`` = whether this adoption imported it."""
    f = model["files"][0]
    return {"model_id": model["model_id"], "target": os.path.join(model["path"], f["name"]),
            "blake3": f["blake3"], "sha256": f["sha256"], "created": created}


class Applier:
    """Runs the steps of one journal (new or resumed) for a :class:`~pumas_core.facade.Library`."""

    def __init__(self, lib: Library, journal: Journal, *, accept_pickle: bool = False,
                 progress: Progress | None = None, cancel: threading.Event | None = None) -> None:
        self.lib, self.journal = lib, journal
        self.state = State(journal.records())
        self.accept_pickle = accept_pickle or bool(self.state.plan.get("accept_pickle"))
        self.cancel = cancel
        self.totals = Totals(self.state.groups, progress, journal.point)
        self.app_ids = {i["root"]: i.get("app_id") for i in self.state.plan.get("installs", [])}

    # -- steps -------------------------------------------------------------------------------------
    def _import(self, gi: int, g: dict[str, Any]) -> Record | None:
        done = self.state.result("import", gi)
        if done is not None:
            return None if done.get("error") else done
        keeper = g["paths"][0]["path"]
        model: dict[str, Any] | None
        if g["action"] == "link_existing":
            model = self.lib.index.get(g["model_id"])
            rec = record_for(model, False) if model else {"error": "the library model is gone"}
            self.journal.write({"type": "done", "step": "import", "g": gi, **rec})
            return None if rec.get("error") else rec
        self.journal.write({"type": "intent", "step": "import", "g": gi, "path": keeper})
        if os.path.isfile(keeper) and not os.path.islink(keeper):
            # across file systems: copy now; the source goes only after the copy is re-read and verified
            mode = "copy" if g["action"] == "copy" else "move"
            r = self.lib.import_paths([keeper], mode=mode, accept_pickle=self.accept_pickle, sync=False,
                                      lookup=False, progress=self.totals.scoped(keeper), sidecars=False)
            if r["imported"]:
                model, created = r["imported"][0], True
            else:
                mid = r["skipped"][0].get("model_id") if r["skipped"] else None
                model = self.lib.index.get(mid) if mid else None  # already in the library
                if model is None:
                    err = r["failed"][0]["error"] if r["failed"] else f"{keeper}: not imported"
                    self.journal.write({"type": "done", "step": "import", "g": gi, "error": err})
                    return None
                created = _created_here(model, g, self.state.plan["created"])
        else:
            model = find_by_source(self.lib, keeper)
            created = True
            if model is None:
                self.journal.write({"type": "done", "step": "import", "g": gi,
                                    "error": f"{keeper}: gone before it could be adopted"})
                return None
        rec = record_for(model, created)
        self.journal.write({"type": "done", "step": "import", "g": gi, **rec})
        return rec

    def _link(self, gi: int, g: dict[str, Any], pj: int, p: dict[str, Any], rec: Record) -> None:
        if self.state.result("link", gi, pj) is not None:
            self.totals.done += p["size"]
            return
        path, target = p["path"], rec["target"]
        self.journal.write({"type": "intent", "step": "link", "g": gi, "p": pj, "path": path})
        error = None
        if os.path.islink(path):
            if not same_file(path, target):
                error = f"{path}: became a symlink to something else; left alone"
        elif os.path.lexists(path):
            if pj == 0 and g["action"] == "copy" and blake3_of(target) != rec["blake3"]:
                error = f"{target}: the library copy does not verify; {path} left in place"
            elif blake3_of(path, self.totals.scoped(path)) != rec["blake3"]:
                error = f"{path}: content changed since the plan; left in place"
            else:
                swap_in_link(path, target)
        else:
            swap_in_link(path, target)
        if error is None:
            app_id = self.app_ids.get(p["app_root"])
            if app_id:
                self.lib.registry.upsert_links([{"link_path": path, "target_path": target, "model_id": rec["model_id"],
                                                 "app_id": app_id, "folder_key": p["folder_key"], "kind": "file"}])
                self.lib.registry.pin(path, f"adopt:{self.journal.journal_id}", app_id=app_id,
                                      folder_key=p["folder_key"], model_id=rec["model_id"])
        self.totals.done += p["size"]
        self.journal.write({"type": "done", "step": "link", "g": gi, "p": pj, **({"error": error} if error else {})})

    def _sidecars(self, gi: int, g: dict[str, Any], rec: Record) -> None:
        if self.state.result("sidecars", gi) is not None:
            return
        intent = self.state.intent("sidecars", gi)
        model = self.lib.index.get(rec["model_id"])
        if model is None:
            return
        model_dir = model["path"]
        if intent is not None:
            preview = intent.get("preview")
        else:
            preview = None
            if not any(n.startswith("preview.") for n in os.listdir(model_dir)):
                for p in g["paths"]:
                    src = find_preview(p["path"])
                    if src:
                        preview = {"src": src, "dst": os.path.join(model_dir, preview_name(src))}
                        break
            self.journal.write({"type": "intent", "step": "sidecars", "g": gi, "preview": preview})
        if preview and os.path.isfile(preview["src"]) and not os.path.lexists(preview["dst"]):
            shutil.move(preview["src"], preview["dst"])
        rels = [(p["path"], "/".join(x for x in (p["subdir"], os.path.basename(p["path"])) if x)) for p in g["paths"]]
        info = apply_to_model(self.lib, rec["model_id"], rels)
        self.journal.write({"type": "done", "step": "sidecars", "g": gi, **info,
                            "preview": os.path.basename(preview["dst"]) if preview else None})

    # -- driver -------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run every step not done yet; returns :func:`summarize` of the journal."""
        clean_leftovers(os.path.dirname(p["path"]) for g in self.state.groups for p in g["paths"])
        for gi, g in enumerate(self.state.groups):
            if self.cancel is not None and self.cancel.is_set():
                self.journal.write({"type": "cancelled"})
                return summarize(self.journal)
            self.totals.emit({"stage": Stage.ADOPTING, "file": g["paths"][0]["path"]})
            rec = self._import(gi, g)
            if rec is None:
                self.totals.done += sum(p["size"] for p in g["paths"])
                continue
            for pj, p in enumerate(g["paths"]):
                self.totals.index += 1
                self._link(gi, g, pj, p, rec)
            self._sidecars(gi, g, rec)
        self.journal.write({"type": "complete"})
        self.totals.emit({"stage": Stage.DONE})
        return summarize(self.journal)


def summarize(journal: Journal) -> dict[str, Any]:
    """The adoption report from a journal: ``{"journal_id", "state", "models_created", "models_existing",
    "linked", "duplicates_linked", "reclaimed_bytes", "sidecars", "previews", "failed": [{"path", "error"}]}``.
    ``state`` is ``complete`` | ``cancelled`` | ``interrupted`` | ``undone``."""
    st = State(journal.records())
    out: dict[str, Any] = {"journal_id": journal.journal_id, "models_created": [], "models_existing": [], "linked": 0,
           "duplicates_linked": 0, "reclaimed_bytes": 0, "sidecars": 0, "previews": 0, "failed": [],
           "sidecar_mismatches": []}
    for gi, g in enumerate(st.groups):
        imp = st.result("import", gi)
        if imp is None:
            continue
        if imp.get("error"):
            out["failed"].append({"path": g["paths"][0]["path"], "error": imp["error"]})
            continue
        out["models_created" if imp.get("created") else "models_existing"].append(imp["model_id"])
        for pj, p in enumerate(g["paths"]):
            r = st.result("link", gi, pj)
            if r is None:
                continue
            if r.get("error"):
                out["failed"].append({"path": p["path"], "error": r["error"]})
                continue
            out["linked"] += 1
            if pj > 0 or not imp.get("created"):
                out["duplicates_linked"] += 1
                out["reclaimed_bytes"] += p["size"]
        sc = st.result("sidecars", gi)
        if sc:
            out["sidecars"] += len(sc.get("sidecars") or [])
            out["previews"] += 1 if sc.get("preview") else 0
            out["sidecar_mismatches"] += sc.get("mismatches") or []
    flags = st.flags
    out["state"] = ("undone" if "undone" in flags else "complete" if "complete" in flags
                    else "cancelled" if "cancelled" in flags else "interrupted")
    return out

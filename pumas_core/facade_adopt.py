"""The adoption half of the ``Library`` facade: bring existing ComfyUI/A1111 model trees into the library.

``Library`` delegates here (see :mod:`pumas_core.adopt` for the steps).  Shapes:

* :func:`plan` → the dry-run document ``{"files": [{"path", "folder_key", "size", "action",
  "library_path"}], "duplicates": [[path, ...]], "reclaimable_bytes", "estimated_seconds", ...}``;
* :func:`adopt` / :func:`resume` → ``{"journal_id", "state", "models_created", "models_existing", "linked",
  "duplicates_linked", "reclaimed_bytes", "sidecars", "previews", "failed", ...}``;
* :func:`undo` → ``{"journal_id", "restored", "models_removed", "errors"}``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import BadInputError, ConflictError
from .vocab import UnitKind

if TYPE_CHECKING:
    from .adopt.journal import Journal
    from .facade import Library

#: A progress callback (one event dict per call, see ``docs/internal-api.md``).
Progress = Callable[[dict[str, Any]], None]
#: The folders to adopt, as given (``~`` is expanded).
Directories = Sequence[str | os.PathLike[str]]


def plan(lib: Library, directories: Directories | None, *, accept_pickle: bool = False,
         progress: Progress | None = None) -> dict[str, Any]:
    """Scan the installs and plan their adoption; changes nothing.  Returns the dry-run document (the
    shape in the module doc; the CLI's ``adopt --dry-run --json`` and ``POST /pumas/adopt/plan`` answer it).

    Raises:
        BadInputError: no directory given, or one is not a ComfyUI/A1111 install.
    """
    doc = _plan(lib, directories, accept_pickle=accept_pickle, progress=progress)
    doc.pop("groups", None)  # the steps apply needs: journal material, not part of the document
    return doc


def directories_to_adopt(lib: Library, directories: Directories | None) -> list[str]:
    """The folders an adoption covers: ``directories`` as absolute paths, or — None — every registered
    install.  Raises BadInputError when that leaves none."""
    if directories is None:
        dirs = [str(a["root"]) for a in lib.list_apps()]
        if not dirs:
            raise BadInputError("no ComfyUI install registered: give dirs")
        return dirs
    dirs = [os.path.abspath(os.path.expanduser(str(d))) for d in directories]
    if not dirs:
        raise BadInputError("give at least one ComfyUI (or A1111) folder to adopt")
    return dirs


def _plan(lib: Library, directories: Directories | None, *, accept_pickle: bool,
          progress: Progress | None) -> dict[str, Any]:
    """:func:`plan` with the ``groups`` the journal needs (see :func:`pumas_core.adopt.plan.build_plan`)."""
    from .adopt.plan import build_plan
    from .adopt.scan import scan

    dirs = directories_to_adopt(lib, directories)
    return build_plan(scan(dirs, lib.root), lib, accept_pickle=accept_pickle, progress=progress)


def _register(lib: Library, scanned: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Register every install (keeping folder paths ComfyUI told us before) and note its ``app_id``."""
    out: list[dict[str, Any]] = []
    for inst in scanned:
        if inst["kind"] == "comfyui":
            old = lib.registry.find_app_by_root(inst["root"])
            fp: dict[str, list[str]] = {k: list(v) for k, v in ((old or {}).get("folder_paths") or {}).items()}
            for k, dirs in inst["folder_paths"].items():
                fp.setdefault(k, [])
                fp[k] += [d for d in dirs if d not in fp[k]]
        else:
            fp = {}  # an A1111 folder: links are recorded, but sync never links into it
        app = lib.add_app(inst["root"], fp)
        out.append({"root": inst["root"], "kind": inst["kind"], "app_id": app["app_id"]})
    return out


def adopt(lib: Library, directories: Directories | None, *, accept_pickle: bool = False,
          progress: Progress | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
    """Plan and apply the adoption of ``directories`` (None: every registered install, see
    :func:`directories_to_adopt`) as one journaled transaction.

    Raises:
        BadInputError: see :func:`plan`.  ConflictError: an earlier adoption is still unfinished.
    """
    from .adopt.apply import Applier
    from .adopt.journal import Journal
    from .adopt.scan import install_folders

    _refuse_if_unfinished(lib)
    directories = directories_to_adopt(lib, directories)
    doc = _plan(lib, directories, accept_pickle=accept_pickle, progress=progress)
    installs = _register(lib, [install_folders(i["root"]) for i in doc["installs"]])
    journal = Journal.create(lib.state_dir, doc, installs=installs, accept_pickle=accept_pickle,
                             directories=[str(d) for d in directories])
    report = Applier(lib, journal, accept_pickle=accept_pickle, progress=progress, cancel=cancel).run()
    return _after(lib, report)


def _refuse_if_unfinished(lib: Library) -> None:
    from .adopt.apply import summarize
    from .adopt.journal import Journal
    from .errors import NotFoundError

    try:
        j = Journal.open(lib.state_dir)
    except NotFoundError:
        return
    st = summarize(j)["state"]
    if st in ("interrupted", "cancelled"):
        raise ConflictError(f"adoption {j.journal_id} is unfinished: run `pumas adopt --resume` "
                            f"or `pumas adopt --undo {j.journal_id}` first")


def resume(lib: Library, journal_id: str | None = None, *, progress: Progress | None = None,
           cancel: threading.Event | None = None) -> dict[str, Any]:
    """Continue an interrupted or cancelled adoption (default: the latest) from its journal.

    Raises:
        NotFoundError: no such journal.  ConflictError: it was undone.
    """
    from .adopt.apply import Applier, summarize
    from .adopt.journal import Journal

    journal = Journal.open(lib.state_dir, journal_id)
    report = summarize(journal)
    if report["state"] == "undone" or "undo_started" in _flags(journal):
        raise ConflictError(f"adoption {journal.journal_id} was undone (or its undo started): nothing to resume")
    if report["state"] == "complete":
        return report
    return _after(lib, Applier(lib, journal, progress=progress, cancel=cancel).run())


def _flags(journal: Journal) -> set[str]:
    from .adopt.journal import State

    return State(journal.records()).flags


def undo(lib: Library, journal_id: str | None = None, *, progress: Progress | None = None) -> dict[str, Any]:
    """Undo an adoption (default: the latest), see :mod:`pumas_core.adopt.undo`.

    Raises:
        NotFoundError: no such journal.
    """
    from .adopt.journal import Journal
    from .adopt.undo import undo as run_undo

    with lib.store.lock():
        return run_undo(lib, Journal.open(lib.state_dir, journal_id), progress=progress)


def journals(lib: Library) -> list[dict[str, Any]]:
    """Every adoption journal, newest first: ``[{"journal_id", "state", "linked", "models_created",
    "reclaimed_bytes"}]`` (``state`` ``unreadable`` and nothing else for a damaged journal)."""
    from .adopt.apply import summarize
    from .adopt.journal import Journal, journal_dir

    out: list[dict[str, Any]] = []
    for p in sorted(journal_dir(lib.state_dir).glob("*.jsonl"), reverse=True):
        try:
            s = summarize(Journal(p))
        except Exception:  # any damage (unreadable, no plan record, bad records): listed, not fatal
            out.append({"journal_id": p.stem, "state": "unreadable"})
            continue
        out.append({"journal_id": s["journal_id"], "state": s["state"], "linked": s["linked"],
                    "models_created": len(s["models_created"]), "reclaimed_bytes": s["reclaimed_bytes"]})
    return out


def _after(lib: Library, report: dict[str, Any]) -> dict[str, Any]:
    """Queue an online lookup for adopted models no sidecar identified (background, never blocking;
    offline — ``lib.offline`` — they stay pending for ``pumas lookup``)."""
    if lib.offline:
        return report
    pending = []
    for mid in report["models_created"]:
        m = lib.index.get(mid)
        if m is not None and m.get("pending_online_lookup"):
            pending.append(mid)
    if pending:
        lib.lookups.enqueue(pending)
    return report


def import_sidecars(lib: Library, report: dict[str, Any], mode: str) -> None:
    """After a plain import: read the sidecars next to each imported single file and bring its preview
    (copied, or moved in ``move`` mode) into the model folder as ``preview.<ext>``."""
    import shutil

    from .adopt.sidecars import apply_to_model, find_preview, preview_name

    for m in report.get("imported", []):
        src = m.get("import_source")
        if m.get("format") != UnitKind.SINGLE_FILE or not src or src == "upload":
            continue
        try:
            apply_to_model(lib, m["model_id"], [(src, None)])
            pv = find_preview(src)
            if pv and not any(n.startswith("preview.") for n in os.listdir(m["path"])):
                (shutil.move if mode == "move" else shutil.copy2)(pv, os.path.join(m["path"], preview_name(pv)))
        except OSError:  # WriteFailedError / FileMissingError too: sidecars are a bonus, never fail an import
            continue

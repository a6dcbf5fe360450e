"""Link sync: make one ComfyUI install hold exactly the links the mapping asks for.

Every link is a **relative** symlink (``os.path.relpath`` from the link's folder), recorded in the
registry.  A sync never overwrites a real file or a symlink that is not ours: it reports a conflict,
unless ``resolutions`` says ``skip`` or ``backup`` (the user's file is renamed to
``<name>.pumas-backup``, never deleted).  New links are made with ``os.symlink`` (atomic, fails if
anything appeared meanwhile); our links are re-pointed with a temp link + ``os.replace``.  No copy is
ever made where symlinks are not allowed: each such link is an error.
"""

from __future__ import annotations

import os
import stat
from typing import Callable, Iterable

from ..errors import BadInputError, NotFoundError
from ..testhooks import phase
from . import fsops
from .fastpath import compute_stamp, needs_sync, pick_probes, record_library_mount
from .mapping import Mapping, load_mapping
from .models import LinkableModel, SyncReport
from .plan import PlannedLink, plan_links
from .registry import Registry

RESOLUTIONS = ("skip", "backup")


def _resolve_app(registry: Registry, app: dict | str) -> dict:
    return registry.get_app(app) if isinstance(app, str) else registry.get_app(app["app_id"])


def _library_online(library_root: str | None) -> bool:
    return library_root is None or os.path.isdir(library_root)


def _remove_unwanted(report: SyncReport, rows: list[dict], dry_run: bool, may_remove_dangling: bool,
                     drop: list[str]) -> None:
    """Take away registry links that the plan no longer wants (stale) or whose target is gone (broken)."""
    for row in rows:
        lp = row["link_path"]
        try:
            st = os.lstat(lp)
        except FileNotFoundError:
            drop.append(lp)  # the link is already gone: forget it
            continue
        except OSError as exc:
            report.errors.append({"link_path": lp, "model_id": row["model_id"], "error": f"{lp}: {exc.strerror}"})
            continue
        if not stat.S_ISLNK(st.st_mode):
            drop.append(lp)  # the user put a real file there: not ours any more, leave it
            continue
        dangling = not os.path.exists(lp)
        points_ours = fsops.link_points_to(lp, os.readlink(lp)) == os.path.normpath(row["target_path"])
        if dangling and not may_remove_dangling:
            continue  # library offline: keep everything
        if not (points_ours or dangling):
            drop.append(lp)  # someone re-pointed it elsewhere: leave the link, forget the row
            continue
        action = "remove_broken" if dangling else "remove_stale"
        if dry_run:
            report.planned.append({"action": action, "link_path": lp, "target_path": row["target_path"],
                                   "model_id": row["model_id"]})
        else:
            try:
                os.unlink(lp)
            except FileNotFoundError:
                pass  # another process removed it first
            except OSError as exc:
                report.errors.append({"link_path": lp, "model_id": row["model_id"], "error": f"{lp}: cannot remove ({exc.strerror})"})
                continue
            drop.append(lp)
        if dangling:
            report.removed_broken += 1
        else:
            report.removed_stale += 1


def _sweep_dangling(report: SyncReport, dirs: Iterable[str], library_root: str, keep: set[str], dry_run: bool) -> None:
    """Remove dangling symlinks in ``dirs`` (one level) that point into the library and are not planned."""
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
                report.planned.append({"action": "remove_broken", "link_path": e.path, "target_path": dest, "model_id": None})
            else:
                try:
                    os.unlink(e.path)
                except FileNotFoundError:
                    continue  # another process removed it first
                except OSError as exc:
                    report.errors.append({"link_path": e.path, "model_id": None, "error": f"{e.path}: cannot remove ({exc.strerror})"})
                    continue
            report.removed_broken += 1


def _apply(report: SyncReport, p: PlannedLink, row: dict | None, library_root: str | None, dry_run: bool,
           resolution: str | None, upserts: list[PlannedLink], drop: list[str], retry: bool = True) -> None:
    """Bring one planned link into place (or report why not).

    Another process syncing the same install may create the link between our ``lstat`` and our
    ``symlink`` (``EEXIST``): then the link is looked at again, so a correct one counts as
    "already correct" rather than an error."""
    lp, is_dir = p.link_path, p.kind == "dir"
    plan = lambda action: report.planned.append(  # noqa: E731
        {"action": action, "link_path": lp, "target_path": p.target_path, "model_id": p.model_id})
    try:
        st = os.lstat(lp)
    except FileNotFoundError:
        st = None
    if st is None:
        if dry_run:
            plan("create")
        else:
            os.makedirs(os.path.dirname(lp), exist_ok=True)
            try:
                fsops.create_link(lp, p.target_path, is_dir)
            except FileExistsError:
                if not retry:
                    raise
                _apply(report, p, row, library_root, dry_run, resolution, upserts, drop, retry=False)
                return
            upserts.append(p)
            phase("sync.link")
        report.created += 1
        return
    if stat.S_ISLNK(st.st_mode):
        dest = fsops.link_points_to(lp, os.readlink(lp))
        if dest == os.path.normpath(p.target_path):
            if row is None or row["target_path"] != p.target_path or row["model_id"] != p.model_id:
                upserts.append(p)  # adopt a correct link we had not recorded
            report.already_correct += 1
            return
        dangling_into_lib = (library_root is not None and fsops.is_within(dest, library_root)
                             and not os.path.exists(lp))
        if row is not None or dangling_into_lib:
            if dry_run:
                plan("repoint")
            else:
                fsops.replace_link(lp, p.target_path, is_dir)
                upserts.append(p)
            report.repointed += 1
            return
        reason = f"another symlink is in the way (points to {dest})"
    else:
        if row is not None:
            drop.append(lp)  # our row, but the user replaced the link with a real file
        reason = "a real folder is in the way" if stat.S_ISDIR(st.st_mode) else "a real file is in the way"
    if resolution == "skip":
        report.skipped += 1
        return
    if resolution == "backup":
        if dry_run:
            plan("backup")
        else:
            saved = fsops.backup(lp)
            fsops.create_link(lp, p.target_path, is_dir)
            upserts.append(p)
            report.backed_up.append({"link_path": lp, "backup_path": saved, "model_id": p.model_id})
        report.created += 1
        return
    report.conflicts.append({"link_path": lp, "reason": reason, "model_id": p.model_id})


def sync_app(registry: Registry, app: dict | str, models: Iterable[LinkableModel], *, dry_run: bool = False,
             resolutions: dict[str, str] | None = None, only_model_ids: Iterable[str] | None = None,
             library_root: str | os.PathLike | None = None, generation: int | None = None,
             mapping: Mapping | None = None, force: bool = False,
             progress: Callable[[dict], None] | None = None) -> SyncReport:
    """Link ``models`` into the install ``app`` (an app dict or ``app_id``).

    Args:
        dry_run: change nothing; the report's ``planned`` lists the actions and counters say what would happen.
        resolutions: ``{link_path: "skip" | "backup"}`` for conflicts the user decided.
        only_model_ids: incremental sync of just these models (no folder walk, no stale removal of others).
        library_root: the library folder; dangling links into it are ours to remove (never while it is offline).
        generation: the library index generation; with it a full sync records the fast-path stamp and,
            unless ``force``/``dry_run``/``resolutions``, returns at once when :func:`needs_sync` says nothing changed.
        mapping: the type→key mapping (default: loaded from ``<state_dir>/mappings/comfyui.json``).
        progress: called with ``{"stage": "syncing", "index", "count", "file"}`` events.
    Returns:
        :class:`SyncReport` (``.to_dict()`` is the JSON shape).
    Raises:
        NotFoundError: unknown app, or its models folder is missing.  BadInputError: bad mapping config
            or resolution value.
    """
    app = _resolve_app(registry, app)
    lib = os.path.abspath(library_root) if library_root is not None else None
    report = SyncReport(app_id=app["app_id"], dry_run=dry_run)
    for lp, res in (resolutions or {}).items():
        if res not in RESOLUTIONS:
            raise BadInputError(f"{lp}: unknown resolution {res!r} (use 'skip' or 'backup')")
    mapping = mapping or load_mapping(registry.state_dir)
    incremental = only_model_ids is not None
    if (generation is not None and not incremental and not dry_run and not force and not resolutions
            and not needs_sync(registry, app, generation, mapping, library_root=lib)):
        report.fast_path = True
        report.already_correct = registry.count_links(app["app_id"])
        return report
    if not os.path.isdir(app["models_dir"]):
        raise NotFoundError(f"{app['models_dir']}: models folder of app {app['app_id']} is missing")
    if incremental:
        wanted = set(only_model_ids)
        models = [m for m in models if m.model_id in wanted]
    else:
        models = list(models)
    model_ids = {m.model_id for m in models}
    rows = registry.links_for_app(app["app_id"])
    by_path = {r["link_path"]: r for r in rows}
    # in a full sync, rows of models no longer present are stale: their names are free again
    owned = {r["link_path"]: r["model_id"] for r in rows if incremental or r["model_id"] in model_ids}
    planned, report.unmapped, report.errors = plan_links(models, app, mapping, owned)
    want = {p.link_path for p in planned}
    scope = rows if not incremental else [r for r in rows if r["model_id"] in model_ids]
    online = _library_online(lib)
    upserts: list[PlannedLink] = []
    drop: list[str] = []
    unwanted = [r for r in scope if r["link_path"] not in want]
    if not incremental:  # absence from the index is not evidence: a link whose content is still there
        # stays while its model is missing from the index (an index being rebuilt, a corrupt metadata.json)
        unwanted = [r for r in unwanted if r["model_id"] in model_ids or not os.path.exists(r["link_path"])]
    _remove_unwanted(report, unwanted, dry_run, online, drop)
    for i, p in enumerate(planned):
        if progress and i % 500 == 0:
            progress({"stage": "syncing", "index": i, "count": len(planned), "file": p.link_path})
        try:
            _apply(report, p, by_path.get(p.link_path), lib, dry_run, (resolutions or {}).get(p.link_path), upserts, drop)
        except OSError as exc:
            report.errors.append({"link_path": p.link_path, "model_id": p.model_id, "error": fsops.symlink_error(p.link_path, exc)})
        except Exception as exc:  # ConflictError from a race: report, keep going
            report.errors.append({"link_path": p.link_path, "model_id": p.model_id, "error": str(exc)})
    link_dirs = {os.path.dirname(p.link_path) for p in planned}
    if not incremental and lib is not None and online:
        key_dirs = {os.path.join(app["models_dir"], k) for k in app.get("folder_paths") or {}}
        _sweep_dangling(report, link_dirs | key_dirs, lib, want, dry_run)
    if dry_run:
        return report
    registry.delete_links(drop)
    registry.upsert_links(p.row(app["app_id"]) for p in upserts)
    phase("sync.registered")
    if lib is not None and online:
        record_library_mount(registry, lib)
    if not incremental and generation is not None and not report.errors:
        registry.set_stamp(app["app_id"], generation, compute_stamp(
            app, mapping, link_dirs, library_root=lib, probes=pick_probes([p.link_path for p in planned])))
    return report

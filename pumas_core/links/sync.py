"""Link sync: make one ComfyUI install hold exactly the links the mapping asks for.

Every link is a **relative** symlink (``os.path.relpath`` from the link's folder) where possible; the
platform layer :mod:`.strategy` falls back to absolute symlinks across file systems and hard links
where symlinks are refused; each link and its strategy are recorded in the registry.  A sync never overwrites a real file or a symlink that is not ours: it reports a conflict,
unless ``resolutions`` says ``skip`` or ``backup`` (the user's file is renamed to
``<name>.pumas-backup``, never deleted).  New links are made with ``os.symlink`` (atomic, fails if
anything appeared meanwhile); our links are re-pointed with a temp link + ``os.replace``.  No copy is
ever made: where neither symlinks nor hard links work, each such link is an error.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from typing import Callable, Iterable

from ..errors import BadInputError, NotFoundError
from ..testhooks import phase
from . import fsops, preflight
from . import strategy as strategies
from .dangling import dir_probes, drop_missing_dir_link, missing_dir_parents
from .fastpath import compute_stamp, needs_sync, pick_probes, record_library_mount
from .mapping import Mapping, load_mapping
from .models import LinkableModel, SyncReport
from .names import suffixed
from .pins import pinned_links
from .plan import PlannedLink, plan_links
from .registry import Registry

RESOLUTIONS = ("skip", "backup", "rename")
CONFLICT_REASONS = ("file_exists", "linked_to_different_source", "already_linked")


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
            if row.get("strategy") == "hardlink" and strategies.is_hardlink_of(lp, row["target_path"]):
                _remove_hardlink(report, row, dry_run, drop)  # proof: the library still holds this inode
            else:
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


def _remove_hardlink(report: SyncReport, row: dict, dry_run: bool, drop: list[str]) -> None:
    lp = row["link_path"]
    if dry_run:
        report.planned.append({"action": "remove_stale", "link_path": lp, "target_path": row["target_path"],
                               "model_id": row["model_id"]})
    else:
        try:
            os.unlink(lp)
        except OSError as exc:
            report.errors.append({"link_path": lp, "model_id": row["model_id"], "error": f"{lp}: cannot remove ({exc.strerror})"})
            return
        drop.append(lp)
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
            _warn_cross_fs(report, lp, p.target_path)
        else:
            os.makedirs(os.path.dirname(lp), exist_ok=True)
            try:
                result = fsops.create_link(lp, p.target_path, is_dir)
            except FileExistsError:
                if not retry:
                    raise
                _apply(report, p, row, library_root, dry_run, resolution, upserts, drop, retry=False)
                return
            _made(report, p, result, upserts)
            phase("sync.link")
        report.created += 1
        return
    if stat.S_ISLNK(st.st_mode):
        dest = fsops.link_points_to(lp, os.readlink(lp))
        if dest == os.path.normpath(p.target_path):
            how = "absolute" if os.path.isabs(os.readlink(lp)) else "relative"
            if (row is None or row["target_path"] != p.target_path or row["model_id"] != p.model_id
                    or row.get("strategy") != how):
                upserts.append(dataclasses.replace(p, strategy=how))  # adopt a correct link we had not recorded
            report.already_correct += 1
            return
        dangling_into_lib = (library_root is not None and fsops.is_within(dest, library_root)
                             and not os.path.exists(lp))
        if row is not None or dangling_into_lib:
            if dry_run:
                plan("repoint")
            else:
                _made(report, p, fsops.replace_link(lp, p.target_path, is_dir), upserts)
            report.repointed += 1
            return
        code, reason = _symlink_conflict(lp, dest, p.target_path)
    else:
        if row is not None and row.get("strategy") == "hardlink" and strategies.is_hardlink_of(lp, p.target_path):
            report.already_correct += 1  # our hard link, same inode as the library file
            return
        if row is not None:
            drop.append(lp)  # our row, but the user replaced the link with a real file
        code, reason = _file_conflict(lp, st, p.target_path)
    if resolution == "skip":
        report.skipped += 1
        return
    if resolution == "backup":
        if dry_run:
            plan("backup")
        else:
            saved = fsops.backup(lp)
            _made(report, p, fsops.create_link(lp, p.target_path, is_dir), upserts)
            report.backed_up.append({"link_path": lp, "backup_path": saved, "model_id": p.model_id})
        report.created += 1
        return
    if resolution == "rename" and _keep_both(report, p, dry_run, upserts):
        return
    report.conflicts.append({"link_path": lp, "reason": code, "message": reason, "model_id": p.model_id,
                             "target_path": p.target_path})
    if dry_run:
        report.planned.append({"action": "conflict", "reason": code, "link_path": lp, "target_path": p.target_path,
                               "model_id": p.model_id})


def _made(report: SyncReport, p: PlannedLink, result: tuple[str, str | None], upserts: list[PlannedLink]) -> None:
    """Record a link just made with its strategy; keep each warning once."""
    how, warning = result
    upserts.append(dataclasses.replace(p, strategy=how))
    if warning and warning not in report.warnings:
        report.warnings.append(warning)


def _warn_cross_fs(report: SyncReport, lp: str, target: str) -> None:
    """Dry run: the warning a real run would give for links across file systems (nothing is written)."""
    folder = os.path.dirname(lp)
    if os.path.isdir(folder) and not strategies.same_file_system(folder, target):
        w = f"{folder}: the library is on another file system; absolute links will be used"
        if w not in report.warnings:
            report.warnings.append(w)


def _symlink_conflict(lp: str, dest: str, target: str) -> tuple[str, str]:
    """Reason code + message for a foreign symlink at ``lp`` (pointing to ``dest``)."""
    if strategies.same_file(lp, target):
        return "already_linked", f"a link that is not Pumas' already points to this model ({dest})"
    return "linked_to_different_source", f"another symlink is in the way (points to {dest})"


def _file_conflict(lp: str, st: os.stat_result, target: str) -> tuple[str, str]:
    """Reason code + message for a real file or folder at ``lp``."""
    if stat.S_ISDIR(st.st_mode):
        return "file_exists", "a real folder is in the way"
    if strategies.same_file(lp, target):
        return "already_linked", "a hard link to this model's file is already there"
    return "file_exists", "a real file is in the way"


def _keep_both(report: SyncReport, p: PlannedLink, dry_run: bool, upserts: list[PlannedLink]) -> bool:
    """Resolution ``rename``: link under the collision name (``stem-<8 hex>.ext``) beside the user's file."""
    is_dir = p.kind == "dir"
    alt = os.path.join(os.path.dirname(p.link_path), suffixed(os.path.basename(p.link_path), p.model_id, is_dir))
    alt_p = dataclasses.replace(p, link_path=alt)
    if os.path.lexists(alt):
        if os.path.islink(alt) and fsops.link_points_to(alt, os.readlink(alt)) == os.path.normpath(p.target_path):
            upserts.append(alt_p)
            report.already_correct += 1
            return True
        return False
    if dry_run:
        report.planned.append({"action": "rename", "link_path": alt, "target_path": p.target_path,
                               "model_id": p.model_id, "instead_of": p.link_path})
    else:
        _made(report, alt_p, fsops.create_link(alt, p.target_path, is_dir), upserts)
    report.renamed.append({"link_path": alt, "instead_of": p.link_path, "model_id": p.model_id})
    report.created += 1
    return True


def sync_app(registry: Registry, app: dict | str, models: Iterable[LinkableModel], *, dry_run: bool = False,
             resolutions: dict[str, str] | None = None, only_model_ids: Iterable[str] | None = None,
             library_root: str | os.PathLike | None = None, generation: int | None = None,
             mapping: Mapping | None = None, force: bool = False, default_resolution: str | None = None,
             progress: Callable[[dict], None] | None = None) -> SyncReport:
    """Link ``models`` into the install ``app`` (an app dict or ``app_id``).

    Args:
        dry_run: change nothing; the report's ``planned`` lists the actions and counters say what would happen.
        resolutions: ``{link_path: "skip" | "backup" | "rename"}`` for conflicts the user decided.
        default_resolution: the choice for every other conflict (``None``: the mapping config's
            ``conflict`` policy — ``ask`` reports the conflict, ``skip``/``backup`` apply).
        only_model_ids: incremental sync of just these models (no folder walk, no stale removal of others).
        library_root: the library folder; dangling links into it are ours to remove (never while it is offline).
        generation: the library index generation; with it a full sync records the fast-path stamp and,
            unless ``force``/``dry_run``/``resolutions``, returns at once when :func:`needs_sync` says nothing changed.
        mapping: the mapping rules (default: the configs in ``<state_dir>/mappings/`` for this install).
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
            raise BadInputError(f"{lp}: unknown resolution {res!r} (use 'skip', 'backup' or 'rename')")
    if default_resolution is not None and default_resolution not in RESOLUTIONS:
        raise BadInputError(f"unknown resolution {default_resolution!r} (use 'skip', 'backup' or 'rename')")
    mapping = mapping or load_mapping(registry.state_dir, app)
    if default_resolution is None and mapping.conflict in ("skip", "backup"):
        default_resolution = mapping.conflict
    incremental = only_model_ids is not None
    if (generation is not None and not incremental and not dry_run and not force and not resolutions
            and not default_resolution and not needs_sync(registry, app, generation, mapping, library_root=lib)):
        report.fast_path = True
        report.already_correct = registry.count_links(app["app_id"])
        return report
    if not os.path.isdir(app["models_dir"]):
        raise NotFoundError(f"{app['models_dir']}: models folder of app {app['app_id']} is missing")
    blocked = preflight.check_writable(app["models_dir"])
    if blocked:  # say it once, before anything is written
        report.errors.append({"link_path": None, "model_id": None, "error": blocked})
        return report
    note = preflight.sandbox_warning(preflight.sandbox(), lib) if dry_run else None
    if note:  # in the preview only: a sync inside the same container as ComfyUI needs no reminder each time
        report.warnings.append(note)
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
    planned += pinned_links(registry, app, models, {p.link_path for p in planned})
    held = {e["model_id"] for e in report.errors if e.get("keep_links")}
    want = {p.link_path for p in planned} | {r["link_path"] for r in rows if r["model_id"] in held}
    scope = rows if not incremental else [r for r in rows if r["model_id"] in model_ids]
    online = _library_online(lib)
    upserts: list[PlannedLink] = []
    drop: list[str] = []
    pinned = registry.pinned_paths()  # adopted links replaced a user's file: never stale
    unwanted = [r for r in scope if r["link_path"] not in want and r["link_path"] not in pinned]
    if not incremental:  # absence from the index is not evidence: a link whose content is still there
        # stays while its model is missing from the index (an index being rebuilt, a corrupt metadata.json)
        unwanted = [r for r in unwanted if r["model_id"] in model_ids or not os.path.exists(r["link_path"])]
    _remove_unwanted(report, unwanted, dry_run, online, drop)
    for i, p in enumerate(planned):
        if progress and i % 500 == 0:
            progress({"stage": "syncing", "index": i, "count": len(planned), "file": p.link_path})
        try:
            if lib is not None and online and drop_missing_dir_link(report, p, dry_run):
                continue  # a dangling directory link makes ComfyUI's /models/<key> answer 500
            _apply(report, p, by_path.get(p.link_path), lib, dry_run,
                   (resolutions or {}).get(p.link_path, default_resolution), upserts, drop)
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
            app, mapping, link_dirs | missing_dir_parents(planned), library_root=lib,
            probes=list(dict.fromkeys(pick_probes([p.link_path for p in planned]) + dir_probes(planned)))))
    return report


def link_one(registry: Registry, app: dict, p: PlannedLink, *, dry_run: bool = False, resolution: str | None = None,
             library_root: str | os.PathLike | None = None) -> SyncReport:
    """Bring one planned link into place with the sync rules (create, adopt, re-point ours, report conflicts).

    Used for links a workflow asks for by exact name.  Returns a :class:`SyncReport` whose counters and
    ``conflicts``/``errors`` describe this one link.  Raises BadInputError for a bad ``resolution``.
    """
    if resolution is not None and resolution not in RESOLUTIONS:
        raise BadInputError(f"{p.link_path}: unknown resolution {resolution!r} (use 'skip' or 'backup')")
    report = SyncReport(app_id=app["app_id"], dry_run=dry_run)
    lib = os.path.abspath(library_root) if library_root is not None else None
    upserts: list[PlannedLink] = []
    drop: list[str] = []
    try:
        _apply(report, p, registry.get_link(p.link_path), lib, dry_run, resolution, upserts, drop)
    except OSError as exc:
        report.errors.append({"link_path": p.link_path, "model_id": p.model_id, "error": fsops.symlink_error(p.link_path, exc)})
    except Exception as exc:  # ConflictError from a race
        report.errors.append({"link_path": p.link_path, "model_id": p.model_id, "error": str(exc)})
    if not dry_run:
        registry.delete_links(drop)
        registry.upsert_links(u.row(app["app_id"]) for u in upserts)
    return report

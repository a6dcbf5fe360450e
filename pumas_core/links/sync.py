"""Link sync: make one ComfyUI install hold exactly the links the mapping asks for.

Every link is a **relative** symlink (``os.path.relpath`` from the link's folder) where possible; the
platform layer :mod:`.strategy` falls back to absolute symlinks across file systems, hard links where
symlinks are refused and copy-on-write clones where hard links are refused too (or first, when
``config.json`` says ``"link_strategy": "clone"``); each link and its strategy are recorded in the
registry.  A sync never overwrites a real file or a symlink that is not ours: it reports a conflict,
unless ``resolutions`` says ``skip`` or ``backup`` (the user's file is renamed to
``<name>.pumas-backup``, never deleted).  New links are made atomically (they fail if anything appeared
meanwhile); our links are re-pointed with a temp link + ``os.replace``.  No plain copy is ever made:
where no strategy works, each such link is an error saying what the file system refused.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from typing import Any, Callable, Iterable

from ..errors import BadInputError, NotFoundError
from ..testhooks import phase
from ..vocab import Stage
from . import fsops, preflight
from . import strategy as strategies
from .dangling import dir_probes, drop_missing_dir_link, missing_dir_parents
from .fastpath import compute_stamp, needs_sync, pick_probes, record_library_mount
from .mapping import Mapping, load_mapping
from .models import LinkableModel, SyncReport
from .names import suffixed
from .pins import pinned_links
from .plan import PlannedLink, plan_links
from .registry import PIN_WORKFLOW, Registry
from .stale import remove_unwanted, sweep_dangling
from .strategy import LinkStrategy

RESOLUTIONS = ("skip", "backup", "rename")
PREFERENCE_KEY = "link_strategy:"  # registry setting + app_id: the link preference of the app's last full sync
Row = dict[str, Any]


@dataclasses.dataclass
class _Run:
    """What one sync (or one :func:`link_one`) carries from link to link."""

    report: SyncReport
    library_root: str | None
    dry_run: bool
    prefer: str = strategies.PREFER_AUTO
    upserts: list[PlannedLink] = dataclasses.field(default_factory=list)
    drop: list[str] = dataclasses.field(default_factory=list)

    def plan(self, action: str, p: PlannedLink) -> None:
        self.report.planned.append({"action": action, "link_path": p.link_path, "target_path": p.target_path,
                                    "model_id": p.model_id})

    def made(self, p: PlannedLink, result: tuple[str, str | None]) -> None:
        """Record a link just made with its strategy; keep each warning once."""
        how, warning = result
        self.upserts.append(dataclasses.replace(p, strategy=how))
        self.warn(warning)

    def warn(self, warning: str | None) -> None:
        if warning and warning not in self.report.warnings:
            self.report.warnings.append(warning)


def _resolve_app(registry: Registry, app: Row | str) -> Row:
    return registry.get_app(app) if isinstance(app, str) else registry.get_app(app["app_id"])


def _library_online(library_root: str | None) -> bool:
    return library_root is None or os.path.isdir(library_root)


def _apply(run: _Run, p: PlannedLink, row: Row | None, resolution: str | None, retry: bool = True) -> None:
    """Bring one planned link into place (or report why not).

    Another process syncing the same install may create the link between our ``lstat`` and our
    ``symlink`` (``EEXIST``): then the link is looked at again, so a correct one counts as
    "already correct" rather than an error."""
    report, lp, is_dir = run.report, p.link_path, p.kind == "dir"
    try:
        st = os.lstat(lp)
    except FileNotFoundError:
        st = None
    if st is None:
        if run.dry_run:
            run.plan("create", p)
            _warn_cross_fs(run, lp, p.target_path)
        else:
            os.makedirs(os.path.dirname(lp), exist_ok=True)
            try:
                result = fsops.create_link(lp, p.target_path, is_dir, run.prefer)
            except FileExistsError:
                if not retry:
                    raise
                _apply(run, p, row, resolution, retry=False)
                return
            run.made(p, result)
            phase("sync.link")
        report.created += 1
        return
    if stat.S_ISLNK(st.st_mode):
        dest = fsops.link_points_to(lp, os.readlink(lp))
        if dest == os.path.normpath(p.target_path):
            if row is not None and _to_clone(run, p):
                return
            how = LinkStrategy.ABSOLUTE if os.path.isabs(os.readlink(lp)) else LinkStrategy.RELATIVE
            if (row is None or row["target_path"] != p.target_path or row["model_id"] != p.model_id
                    or row.get("strategy") != how):
                run.upserts.append(dataclasses.replace(p, strategy=how))  # adopt a correct link we had not recorded
            report.already_correct += 1
            return
        dangling_into_lib = (run.library_root is not None and fsops.is_within(dest, run.library_root)
                             and not os.path.exists(lp))
        if row is not None or dangling_into_lib:
            if run.dry_run:
                run.plan("repoint", p)
            else:
                run.made(p, fsops.replace_link(lp, p.target_path, is_dir, prefer=run.prefer))
            report.repointed += 1
            return
        code, reason = _symlink_conflict(lp, dest, p.target_path)
    else:
        kept = row.get("strategy") if row is not None else None
        if (kept in (LinkStrategy.HARDLINK, LinkStrategy.CLONE)
                and fsops.points_to_target(lp, p.target_path, kept, thorough=False)):
            # our hard link (the library file's inode) or clone (cheap check: nothing is written here)
            report.already_correct += 1
            return
        if row is not None:
            run.drop.append(lp)  # our row, but the user replaced the link with a real file
        code, reason = _file_conflict(lp, st, p.target_path)
    if resolution == "skip":
        report.skipped += 1
        return
    if resolution == "backup":
        if run.dry_run:
            run.plan("backup", p)
        else:
            saved = fsops.backup(lp)
            run.made(p, fsops.create_link(lp, p.target_path, is_dir, run.prefer))
            report.backed_up.append({"link_path": lp, "backup_path": saved, "model_id": p.model_id})
        report.created += 1
        return
    if resolution == "rename" and _keep_both(run, p):
        return
    report.conflicts.append({"link_path": lp, "reason": code, "message": reason, "model_id": p.model_id,
                             "target_path": p.target_path})
    if run.dry_run:
        report.planned.append({"action": "conflict", "reason": code, "link_path": lp, "target_path": p.target_path,
                               "model_id": p.model_id})


def _to_clone(run: _Run, p: PlannedLink) -> bool:
    """``link_strategy: clone``: turn our correct symlink to a file into a clone where one can be made
    (counted as re-pointed); False when it stays a symlink."""
    if run.prefer != strategies.PREFER_CLONE or p.kind == "dir":
        return False
    if strategies.choose(p.link_path, p.target_path, False, run.prefer)[0] != LinkStrategy.CLONE:
        return False
    if run.dry_run:
        run.plan("repoint", p)
    else:
        run.made(p, fsops.replace_link(p.link_path, p.target_path, False, prefer=run.prefer))
    run.report.repointed += 1
    return True


def _warn_cross_fs(run: _Run, lp: str, target: str) -> None:
    """Dry run: the warning a real run would give for links across file systems (nothing is written)."""
    folder = os.path.dirname(lp)
    if os.path.isdir(folder) and not strategies.same_file_system(folder, target):
        run.warn(f"{folder}: the library is on another file system; absolute links will be used")


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


def _keep_both(run: _Run, p: PlannedLink) -> bool:
    """Resolution ``rename``: link under the collision name (``stem-<8 hex>.ext``) beside the user's file."""
    report, is_dir = run.report, p.kind == "dir"
    alt = os.path.join(os.path.dirname(p.link_path), suffixed(os.path.basename(p.link_path), p.model_id, is_dir))
    alt_p = dataclasses.replace(p, link_path=alt)
    if os.path.lexists(alt):
        if os.path.islink(alt) and fsops.link_points_to(alt, os.readlink(alt)) == os.path.normpath(p.target_path):
            run.upserts.append(alt_p)
            report.already_correct += 1
            return True
        return False
    if run.dry_run:
        report.planned.append({"action": "rename", "link_path": alt, "target_path": p.target_path,
                               "model_id": p.model_id, "instead_of": p.link_path})
    else:
        run.made(alt_p, fsops.create_link(alt, p.target_path, is_dir, run.prefer))
    report.renamed.append({"link_path": alt, "instead_of": p.link_path, "model_id": p.model_id})
    report.created += 1
    return True


def _link_error(run: _Run, p: PlannedLink, exc: Exception) -> None:
    """A link that could not be made: one error line naming it (the other links go on)."""
    msg = fsops.symlink_error(p.link_path, exc) if isinstance(exc, OSError) else str(exc)
    run.report.errors.append({"link_path": p.link_path, "model_id": p.model_id, "error": msg})


def _check_resolutions(resolutions: dict[str, str] | None, default_resolution: str | None) -> None:
    for lp, res in (resolutions or {}).items():
        if res not in RESOLUTIONS:
            raise BadInputError(f"{lp}: unknown resolution {res!r} (use 'skip', 'backup' or 'rename')")
    if default_resolution is not None and default_resolution not in RESOLUTIONS:
        raise BadInputError(f"unknown resolution {default_resolution!r} (use 'skip', 'backup' or 'rename')")


def sync_app(registry: Registry, app: dict[str, Any] | str, models: Iterable[LinkableModel], *, dry_run: bool = False,
             resolutions: dict[str, str] | None = None, only_model_ids: Iterable[str] | None = None,
             library_root: str | os.PathLike[str] | None = None, generation: int | None = None,
             mapping: Mapping | None = None, force: bool = False, default_resolution: str | None = None,
             progress: Callable[[dict[str, Any]], None] | None = None, link_strategy: str | None = None) -> SyncReport:
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
        link_strategy: ``"auto"`` | ``"clone"`` (:data:`.strategy.PREFERENCES`); default: the
            ``link_strategy`` of ``<state_dir>/config.json`` (an unknown value there is a warning).
    Returns:
        :class:`SyncReport` (``.to_dict()`` is the JSON shape).
    Raises:
        NotFoundError: unknown app, or its models folder is missing.  BadInputError: bad mapping config,
            resolution or ``link_strategy`` value.
    """
    app = _resolve_app(registry, app)
    lib = os.path.abspath(library_root) if library_root is not None else None
    report = SyncReport(app_id=app["app_id"], dry_run=dry_run)
    _check_resolutions(resolutions, default_resolution)
    if link_strategy is not None and link_strategy not in strategies.PREFERENCES:
        raise BadInputError(f"unknown link strategy {link_strategy!r} (use {' or '.join(strategies.PREFERENCES)})")
    mapping = mapping or load_mapping(registry.state_dir, app)
    if default_resolution is None and mapping.conflict in ("skip", "backup"):
        default_resolution = mapping.conflict
    incremental = only_model_ids is not None
    prefer, note = (link_strategy, None) if link_strategy else strategies.preference(registry.state_dir)
    pref_key = PREFERENCE_KEY + app["app_id"]  # the preference of the last full sync: a change is not a no-op
    if (generation is not None and not incremental and not dry_run and not force and not resolutions
            and not default_resolution and registry.get_setting(pref_key, strategies.PREFER_AUTO) == prefer
            and not needs_sync(registry, app, generation, mapping, library_root=lib)):
        report.fast_path = True
        report.already_correct = registry.count_links(app["app_id"])
        return report
    if not os.path.isdir(app["models_dir"]):
        raise NotFoundError(f"{app['models_dir']}: models folder of app {app['app_id']} is missing",
                            path=app["models_dir"])
    blocked = preflight.check_writable(app["models_dir"])
    if blocked:  # say it once, before anything is written
        report.errors.append({"link_path": None, "model_id": None, "error": blocked})
        return report
    run = _Run(report, lib, dry_run, prefer)
    run.warn(note)
    if dry_run:  # in the preview only: a sync inside the same container as ComfyUI needs no reminder each time
        run.warn(preflight.sandbox_warning(preflight.sandbox(), lib))
    if only_model_ids is not None:
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
    # workflow pins are kept by being planned; the others (adopted links replaced a user's file) are never stale
    pinned = {p["link_path"] for p in registry.pins() if p["reason"] != PIN_WORKFLOW}
    unwanted = [r for r in scope if r["link_path"] not in want and r["link_path"] not in pinned]
    if not incremental:  # absence from the index is not evidence: a link whose content is still there
        # stays while its model is missing from the index (an index being rebuilt, a corrupt metadata.json)
        unwanted = [r for r in unwanted if r["model_id"] in model_ids or not os.path.exists(r["link_path"])]
    remove_unwanted(report, unwanted, dry_run, online, run.drop)
    for i, p in enumerate(planned):
        if progress and i % 500 == 0:
            progress({"stage": Stage.SYNCING, "index": i, "count": len(planned), "file": p.link_path})
        try:
            if lib is not None and online and drop_missing_dir_link(report, p, dry_run):
                continue  # a dangling directory link makes ComfyUI's /models/<key> answer 500
            _apply(run, p, by_path.get(p.link_path), (resolutions or {}).get(p.link_path, default_resolution))
        except Exception as exc:  # OSError: the file system said no; ConflictError from a race: report, keep going
            _link_error(run, p, exc)
    link_dirs = {os.path.dirname(p.link_path) for p in planned}
    if not incremental and lib is not None and online:
        key_dirs = {os.path.join(app["models_dir"], k) for k in app.get("folder_paths") or {}}
        sweep_dangling(report, link_dirs | key_dirs, lib, want, dry_run)
    if dry_run:
        return report
    registry.delete_links(run.drop)
    registry.upsert_links(p.row(app["app_id"]) for p in run.upserts)
    phase("sync.registered")
    if lib is not None and online:
        record_library_mount(registry, lib)
    if not incremental and not report.errors and registry.get_setting(pref_key, strategies.PREFER_AUTO) != prefer:
        registry.set_setting(pref_key, prefer)
    if not incremental and generation is not None and not report.errors:
        registry.set_stamp(app["app_id"], generation, compute_stamp(
            app, mapping, link_dirs | missing_dir_parents(planned), library_root=lib,
            probes=list(dict.fromkeys(pick_probes([p.link_path for p in planned]) + dir_probes(planned)))))
    return report


def link_one(registry: Registry, app: dict[str, Any], p: PlannedLink, *, dry_run: bool = False,
             resolution: str | None = None, library_root: str | os.PathLike[str] | None = None) -> SyncReport:
    """Bring one planned link into place with the sync rules (create, adopt, re-point ours, report conflicts).

    Used for links a workflow asks for by exact name; the link strategy preference is the one of
    ``config.json`` (see :func:`sync_app`).  Returns a :class:`SyncReport` whose counters and
    ``conflicts``/``errors`` describe this one link.  Raises BadInputError for a bad ``resolution``.
    """
    _check_resolutions({p.link_path: resolution} if resolution is not None else None, None)
    run = _Run(SyncReport(app_id=app["app_id"], dry_run=dry_run),
               os.path.abspath(library_root) if library_root is not None else None, dry_run)
    run.prefer, note = strategies.preference(registry.state_dir)
    run.warn(note)
    try:
        _apply(run, p, registry.get_link(p.link_path), resolution)
    except Exception as exc:  # OSError from the file system, ConflictError from a race
        _link_error(run, p, exc)
    if not dry_run:
        registry.delete_links(run.drop)
        registry.upsert_links(u.row(app["app_id"]) for u in run.upserts)
    return run.report

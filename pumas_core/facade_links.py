"""The link half of the :class:`~pumas_core.facade.Library` facade: installs, sync, health, relocation.

:class:`LinkService` is built by the facade with exactly what the link layer needs — the library root
and id, the model index and store, and this machine's ``registry.db`` (a :class:`RegistryHandle`) — and
knows nothing of the facade.  It turns indexed models into :class:`~pumas_core.links.LinkableModel` and
calls :mod:`pumas_core.links`.  ``Library``'s link methods (``add_app``, ``sync``, ``boot_sync``,
``health``, ``repair``...) delegate here one to one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BadInputError, NotFoundError
from .facade_open import check_available
from .vocab import UnitKind

if TYPE_CHECKING:
    from .library.index import LinkRow, ModelIndex
    from .library.locate import ModelLocations
    from .library.store import ModelStore
    from .links import LinkableModel, Registry

#: a progress callback: receives one event dict (``{"stage", ...}``)
Progress = Callable[[dict[str, Any]], None]
#: sync conflict answers: one for all, ``{link_path: answer}``, or the panel's ``[{"link_path", "resolution"}]``
Resolutions = str | dict[str, str] | list[dict[str, str]] | None
_COUNTS = ("created", "already_correct", "repointed", "removed_broken", "removed_stale", "skipped")
_LISTS = ("conflicts", "errors", "unmapped", "warnings", "backed_up", "renamed")


class RegistryHandle:
    """This machine's ``registry.db`` at ``path``, opened on first use (an open that never needs it —
    a read-only ``pumas list`` — creates nothing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._registry: Registry | None = None

    def get(self) -> Registry:
        """The :class:`~pumas_core.links.Registry`.  Raises BadInputError: the file is not a registry;
        SchemaTooNewError: a newer Pumas wrote it."""
        if self._registry is None:
            from .links import Registry

            self._registry = Registry(self.path)
        return self._registry


class LinkService:
    """Links of one library into the registered ComfyUI installs.

    Args:
        root: the library folder.  library_id: its id (marker file), None for a legacy library.
        registry: this machine's registry.  index, store: the library's model index and its one writer.
        relocation: what the open found when the library had moved (``boot_sync`` reports it), or None.
    """

    def __init__(self, *, root: Path, library_id: str | None, registry: RegistryHandle, index: ModelIndex,
                 store: ModelStore, relocation: dict[str, Any] | None = None) -> None:
        self.root = root
        self.library_id = library_id
        self._registry = registry
        self.index = index
        self.store = store
        self.relocation = relocation

    @property
    def registry(self) -> Registry:
        """The machine's ``registry.db`` (opened on first use)."""
        return self._registry.get()

    def check_available(self) -> None:
        """Raise :class:`~pumas_core.errors.LibraryOfflineError` if the library vanished since it was opened."""
        check_available(self.root, self.library_id)

    # -- models as the link code sees them -------------------------------------------------------
    def linkable_models(self, model_ids: Collection[str] | None = None) -> Iterator[LinkableModel]:
        """Yield :class:`LinkableModel` for every indexed model (or just ``model_ids``), lazily."""
        return self._linkable(self.index.iter_link_rows(), model_ids)

    def _linkable(self, rows: Iterable[LinkRow], model_ids: Collection[str] | None = None) -> Iterator[LinkableModel]:
        """:class:`LinkableModel` of each index row ``(model_id, rel_path, model_type, format, meta_json)``."""
        from .links import LinkableModel
        from .links.overrides import read_overrides

        wanted = set(model_ids) if model_ids is not None else None
        for mid, rel, mtype, fmt, meta_json in rows:
            if wanted is not None and mid not in wanted:
                continue
            meta = json.loads(meta_json)
            files = tuple(f["name"] for f in meta["files"])
            link_name = meta["official_name"] if fmt == UnitKind.SINGLE_FILE else meta["cleaned_name"]
            model_dir = self.root / rel
            overrides, overrides_error = read_overrides(model_dir)
            tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
            yield LinkableModel(model_id=mid, model_type=mtype, kind=fmt, model_dir=model_dir,
                                files=files, link_name=link_name, link_subdir=meta.get("link_subdir") or "",
                                family=meta.get("family"), base_model=meta.get("base_model"),
                                precision=meta.get("precision"), tags=tuple(str(t) for t in tags),
                                overrides=overrides, overrides_error=overrides_error)

    def adoption_roots(self) -> list[str]:
        """The real paths of every registered install's model folders, in registry order."""
        return [os.path.realpath(d) for app in self.list_apps()
                for dirs in (app.get("folder_paths") or {}).values() for d in dirs]

    def adoption_subdir(self, source: str | os.PathLike[str], roots: list[str] | None = None) -> str:
        """Where ``source`` sat inside a registered install's model folder, as a sub-folder to keep.

        ``<models>/checkpoints/SDXL/x.safetensors`` → ``"SDXL"``; a file directly in a folder key, or
        outside every install, gives ``""``.  ``roots``: :meth:`adoption_roots`, when the caller asks for
        many sources at once (read once, not per source).
        """
        parent = os.path.realpath(os.path.dirname(os.path.abspath(source)))
        for real in self.adoption_roots() if roots is None else roots:
            if parent != real and parent.startswith(real + os.sep):
                return os.path.relpath(parent, real).replace(os.sep, "/")
        return ""

    # -- installs ----------------------------------------------------------------------------------
    def add_app(self, comfyui_dir: str | os.PathLike[str], folder_paths: dict[str, Any] | None = None,
                version: str | None = None) -> dict[str, Any]:
        """Register (or refresh) a ComfyUI install; returns the app dict (``app_id``, ``root``, ``version``...).

        Raises :class:`BadInputError` when the folder is not a ComfyUI install.
        """
        from .links.apps import register_app

        return register_app(self.registry, Path(comfyui_dir).expanduser(), folder_paths, version)

    def list_apps(self) -> list[dict[str, Any]]:
        """Registered installs (app dicts: ``app_id``, ``root``, ``models_dir``, ``folder_paths``...)."""
        apps: list[dict[str, Any]] = self.registry.list_apps()
        return apps

    def remove_app(self, app_id: str) -> dict[str, Any]:
        """Unregister an install after removing the links Pumas made in it: ``{"app_id", "links_removed",
        "errors"}``.  Raises NotFoundError for an unknown ``app_id``."""
        from .links.unlink import unlink_app

        self.registry.get_app(app_id)  # NotFoundError for an unknown id
        return {"app_id": app_id, **unlink_app(self.registry, app_id)}

    def _apps_for(self, app_id: str | None, comfyui_dir: str | os.PathLike[str] | None) -> list[dict[str, Any]]:
        if comfyui_dir:
            return [self.add_app(comfyui_dir)]
        if app_id:
            app: dict[str, Any] = self.registry.get_app(app_id)
            return [app]
        apps = self.list_apps()
        if not apps:
            raise BadInputError("no ComfyUI install registered: use `pumas apps add DIR` or `--comfyui DIR`")
        return apps

    # -- sync ----------------------------------------------------------------------------------------
    def sync(self, app_id: str | None = None, comfyui_dir: str | os.PathLike[str] | None = None,
             dry_run: bool = False, resolutions: Resolutions = None, model_ids: Collection[str] | None = None,
             progress: Progress | None = None, force: bool = False) -> dict[str, Any]:
        """Link models into one install (``app_id`` / ``comfyui_dir``) or every registered one.

        ``resolutions``: ``{link_path: "skip"|"backup"|"rename"}``, or one of those strings for every
        conflict; without one, the mapping config's ``conflict`` policy applies (``ask`` = report).
        A full sync first picks up folder keys created in the install since it was registered.
        Returns the DESIGN.md sync shape summed over installs (``created``, ``already_correct``,
        ``conflicts``, ``removed_broken``, ``removed_stale``, ``errors``, ``unmapped``, ``warnings``...),
        plus ``apps`` (per-install reports).  Raises BadInputError (no install, bad ``resolutions``),
        LibraryOfflineError (the library vanished).
        """
        from .links import sync_app
        from .links.apps import refresh_folder_keys

        self.check_available()
        apps = self._apps_for(app_id, comfyui_dir)
        if isinstance(resolutions, list):  # [{"link_path", "resolution"}] as the panel may send it
            try:
                resolutions = {r["link_path"]: r["resolution"] for r in resolutions}
            except (TypeError, KeyError):
                raise BadInputError("resolutions list items must be {\"link_path\", \"resolution\"}") from None
        default = resolutions if isinstance(resolutions, str) else None
        per_path = resolutions if isinstance(resolutions, dict) else None
        total: dict[str, Any] = {
            "created": 0, "already_correct": 0, "repointed": 0, "conflicts": [], "removed_broken": 0,
            "removed_stale": 0, "skipped": 0, "backed_up": [], "renamed": [], "errors": [], "unmapped": [],
            "warnings": [], "dry_run": dry_run, "apps": []}
        for app in apps:
            try:
                if not model_ids:
                    app = refresh_folder_keys(self.registry, app)
                r = sync_app(self.registry, app, self.linkable_models(model_ids), dry_run=dry_run,
                             resolutions=per_path, default_resolution=default, only_model_ids=model_ids,
                             library_root=self.root, generation=None if model_ids else self.index.generation(),
                             force=force, progress=progress).to_dict()
            except NotFoundError as exc:
                total["errors"].append(str(exc))
                continue
            if not dry_run:
                _note_shadowed(r, self.registry, app)
            total["apps"].append(r)
            for key in _COUNTS:
                total[key] += r.get(key, 0)
            for key in _LISTS:
                total[key] += r.get(key, [])
            if dry_run:
                total.setdefault("planned", []).extend(r.get("planned", []))
        if not model_ids:
            total["unmapped"] = list({u["model_id"]: u for u in total["unmapped"]}.values())
        return total

    def sync_new_models(self, model_ids: Collection[str]) -> dict[str, Any]:
        """Incremental sync of just these models into every registered install (after an import);
        the :meth:`sync` shape with ``apps`` = the number of installs."""
        if not self.list_apps():
            return {"created": 0, "apps": 0, "errors": []}
        r = self.sync(model_ids=list(model_ids))
        r["apps"] = len(r["apps"])
        return r

    def boot_sync(self, comfyui_dir: str | os.PathLike[str], folder_paths: dict[str, Any] | None = None,
                  version: str | None = None) -> dict[str, Any]:
        """Register this install (idempotent) and run the link-only sync with the no-op fast path.

        No hashing, no network.  An install that moved (its old root is gone and its links are at the
        same places under the new root) is relocated first, never registered twice.  Returns the sync
        shape with ``fast_path`` when nothing changed and ``relocated``: ``[{"kind": "library"|"install",
        "old", "new", "links_rebuilt", ...}]``.  Raises LibraryOfflineError when the library vanished.
        """
        from .links import sync_app
        from .links.apps import adopt_moved_install

        self.check_available()
        root = os.path.realpath(comfyui_dir)
        moved = adopt_moved_install(self.registry, root)
        app: dict[str, Any] | None = self.registry.find_app_by_root(root)
        if app is None or _app_outdated(app, folder_paths, version):
            app = self.add_app(comfyui_dir, folder_paths, version)
        report = sync_app(self.registry, app, self.linkable_models(), library_root=self.root,
                          generation=self.index.generation()).to_dict()
        report["relocated"] = [r for r in (self.relocation, moved) if r]
        return report

    def refresh_app(self, comfyui_dir: str | os.PathLike[str], folder_paths: dict[str, Any],
                    version: str | None = None) -> bool:
        """Re-register an install that is already registered when ComfyUI's live ``folder_paths`` (search
        order, keys packs added) or ``version`` differ from the registry's; True when it was updated.  An
        install that is not registered is left alone (False)."""
        root = os.fspath(comfyui_dir)
        app = self.registry.find_app_by_root(root) or self.registry.find_app_by_root(os.path.realpath(root))
        if app is None or not _app_outdated(app, folder_paths, version):
            return False
        self.add_app(comfyui_dir, folder_paths, version)
        return True

    def links_for_model(self, model_id: str) -> list[dict[str, Any]]:
        """Registered links of one model (``link_path``, ``app_id``, ``folder_key``, ``exists``)."""
        from .links.fsops import link_state

        rows: list[dict[str, Any]] = self.registry.links_for_model(model_id)
        for r in rows:  # a hard link or a clone is a regular file: judged by identity (link_state)
            lp = r["link_path"]
            r["exists"] = (os.path.islink(lp) and os.path.exists(lp)) or link_state(r, False) is None
        return rows

    def unlink_model(self, model_id: str) -> dict[str, Any]:
        """Remove every registered link of a model and its registry rows: ``{"links_removed", "errors"}``."""
        from .links.unlink import unlink_model

        return unlink_model(self.registry, model_id)

    # -- health --------------------------------------------------------------------------------------
    def _locations(self) -> tuple[dict[str, LinkableModel], ModelLocations, list[dict[str, Any]]]:
        """``(models_by_id, locations, moved_items)``: every model whose files are complete, at its
        current folder (moved-by-hand folders found by model id), plus the :class:`ModelLocations`."""
        import dataclasses

        from .library.locate import locate_models

        rows = self.index.iter_link_rows()
        loc = locate_models(self.root, rows)
        models: dict[str, LinkableModel] = {}
        for m in self._linkable(rows):  # the rows locate_models read: one query for both
            if m.model_id in loc.present:
                models[m.model_id] = m
            elif m.model_id in loc.moved:
                models[m.model_id] = dataclasses.replace(m, model_dir=loc.moved[m.model_id])
        moved = loc.moved_list(self.root, {r[0]: r[1] for r in rows})
        return models, loc, moved

    def health(self) -> dict[str, Any]:
        """DESIGN.md health shape: broken/orphaned links, ghost apps, phantom and moved models, offline
        volumes, ``shadowed_links``.  Every broken link carries ``action`` / ``fixable_by`` / ``fix_reason``
        (see :func:`pumas_core.links.health.fix_for`).  Raises LibraryOfflineError."""
        from .links import health
        from .links.shadow import shadowed_links

        self.check_available()
        models, loc, moved = self._locations()
        h = health.check(self.registry, self.root, models, phantom_models=loc.phantoms, moved_models=moved)
        h["shadowed_links"] = [s for app in self.list_apps()
                               for s in shadowed_links(app, self.registry.links_for_app(app["app_id"]))]
        if h["shadowed_links"] and h.get("status") == "healthy":
            h["status"] = "warnings"
        return h

    def repair(self) -> dict[str, Any]:
        """Self-heal by identity: index model folders moved by hand at their new place, then re-create or
        re-point the broken links of every model whose content is still in the library.

        Returns the :func:`pumas_core.links.repair.repair` shape plus ``reindexed`` (moved models now
        indexed at their new folder); ``not_fixed`` lists every broken link left, with the reason.
        Raises LibraryOfflineError, LibraryUnavailableError (the library's volume is offline).
        """
        from .links.repair import repair

        self.check_available()
        models, _loc, moved = self._locations()
        reindexed = []
        for m in moved:
            self.store.move_indexed(m["model_id"], Path(m["path"]))
            reindexed.append({"model_id": m["model_id"], "old_path": m["old_path"], "path": m["path"]})
        out = repair(self.registry, self.root, models, moved_models=moved)
        out["reindexed"] = reindexed
        return out

    def clean(self) -> dict[str, Any]:
        """Remove our broken links whose content is truly gone (never those of a model that is still in
        the library, e.g. moved by hand: ``repair`` re-points them), dangling orphans and ghost
        installs; never a real file.  ``removed`` says which links went and why; ``forgotten_models``
        lists index entries whose folder (``metadata.json`` included) is gone from the library.  A phantom
        that kept its ``metadata.json`` stays listed until its content is re-imported or it is deleted.
        Raises LibraryOfflineError, LibraryUnavailableError (the library's volume is offline)."""
        from .links.repair import clean

        self.check_available()
        models, loc, _moved = self._locations()
        out = clean(self.registry, self.root, models)
        out["forgotten_models"] = []
        for p in loc.phantoms:  # no metadata.json left anywhere: the index row is all that remains
            if not (Path(p["path"]) / "metadata.json").exists() and self.store.forget(p["model_id"]):
                out["forgotten_models"].append({"model_id": p["model_id"], "path": p["path"]})
        return out

    def relocate(self, old: str | os.PathLike[str], new: str | os.PathLike[str]) -> dict[str, Any]:
        """Rewrite registry paths after a drive or folder move from ``old`` to ``new``, then re-link
        (``sync``: the forced full sync's report, None without installs).  Raises BadInputError (see
        :func:`pumas_core.links.relocate.relocate`)."""
        from .links.relocate import relocate

        r = relocate(self.registry, str(old), str(new))
        r["sync"] = self.sync(force=True) if self.list_apps() else None
        return r


def _note_shadowed(report: dict[str, Any], registry: Registry, app: dict[str, Any]) -> None:
    """Add ``shadowed`` (links ComfyUI will not pick: an earlier folder of the key has the name) + warnings."""
    from .links.shadow import shadowed_links

    report["shadowed"] = shadowed_links(app, registry.links_for_app(app["app_id"]))
    report.setdefault("warnings", []).extend(
        f"{s['folder_key']}/{s['name']}: ComfyUI loads {s['shadowed_by']} instead of Pumas' link"
        for s in report["shadowed"])


def _app_outdated(app: dict[str, Any], folder_paths: dict[str, Any] | None, version: str | None) -> bool:
    """True when ComfyUI's live ``folder_paths`` or its ``version`` (read by the extension from ComfyUI's code
    folder) differ from what the registry holds for ``app``."""
    return _paths_changed(app, folder_paths) or bool(version and version != app.get("version"))


def _paths_changed(app: dict[str, Any], folder_paths: dict[str, Any] | None) -> bool:
    if folder_paths is None:
        return False
    from .links.comfyui import normalize_folder_paths

    return normalize_folder_paths(folder_paths) != app.get("folder_paths")

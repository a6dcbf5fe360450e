"""``Library``: the one entry point the CLI, the HTTP routes and the tests use.

It composes the services of one library — the metadata files and their index (:attr:`Library.store`,
:attr:`Library.index`), the import pipeline, remote lookups, and the link layer
(:class:`~pumas_core.facade_links.LinkService`, :attr:`Library.links`) — each built with exactly what it
needs; none of them holds the facade.  No logic lives only in a route or a command: if the CLI and the
panel both need it, it is a method here.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import drives, facade_adopt, facade_import, facade_models, facade_open, facade_overrides
from .config import Paths, resolve_paths
from .errors import LibraryUnavailableError, NotFoundError
from .facade_links import LinkService, Progress, RegistryHandle, Resolutions
from .facade_models import EDITABLE, IDENTITY_FIELDS
from .library import deepscan
from .library.store import ModelStore, conflict_if_links_left
from .lookups import LookupRunner

if TYPE_CHECKING:
    from .downloads import DownloadClients
    from .ingest.importer import Importer
    from .links import Registry
    from .remote import RemoteLookup

__all__ = ["EDITABLE", "IDENTITY_FIELDS", "Library"]
PathArg = str | os.PathLike[str]


class Library:
    """A library root + its index + this machine's state directory.

    Create with :meth:`open`.  Thread-safe for concurrent readers; writers (threads and processes)
    are serialised by :attr:`store`'s library lock (see :mod:`pumas_core.library.store`).  ``offline``:
    no remote lookup or download request leaves the machine (answers already cached still serve).
    Raises :class:`LibraryUnavailableError` when the root cannot be created or written,
    :class:`LibraryOfflineError` when a known library is not there, :class:`NoLibraryError` when there is
    none and this open may not create one (see :meth:`open` and :mod:`pumas_core.facade_open`).
    """

    def __init__(self, paths: Paths, *, remote: RemoteLookup | None = None, offline: bool = False,
                 read_only: bool = False, create: bool | None = None, force: bool = False) -> None:
        self.paths = paths
        self.root = paths.root
        self.state_dir = paths.state_dir
        self.read_only = read_only
        self.offline = offline
        self.recovery_notes: list[str] = []
        registry = RegistryHandle(paths.registry_path)
        if not read_only:
            try:
                self.state_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LibraryUnavailableError(f"{self.state_dir}: cannot create the state dir ({exc.strerror})",
                                              path=self.state_dir) from None
        probe = facade_open.identify(self.root, registry, read_only=read_only, create=create, force=force)
        self.library_id: str | None = probe.library_id
        self.created = probe.state == "created"
        if not read_only and not os.access(self.root, os.W_OK):
            raise LibraryUnavailableError(f"{self.root}: library is not writable", path=self.root)
        self.index = facade_open.open_index(paths, read_only, self.recovery_notes)
        self.store = ModelStore(self.root, self.index)  # the one writer of model folders (+ library lock)
        if not read_only or facade_open.crash_leftovers(self.root):
            # Abandoned staging only; adopts interrupted commits.  A read-only open (``pumas list``) runs it
            # too when a crashed process left something behind (issue 7: the next open of any kind shows
            # the interrupted import and cleans staging); that finishes or undoes work, it creates nothing.
            self.recovery_notes += self.store.recover()
        self._importer_obj: Importer | None = None
        self._lookups = LookupRunner(self.store, self.state_dir, remote, offline=offline)
        #: set when this open found the library moved and re-pointed links
        self.relocation = (facade_open.remember(self.root, registry, probe, self.recovery_notes)
                           if not read_only else None)
        self.links = LinkService(root=self.root, library_id=self.library_id, registry=registry, index=self.index,
                                 store=self.store, relocation=self.relocation)

    @classmethod
    def open(cls, library: PathArg | None = None, state: PathArg | None = None, *,
             remote: RemoteLookup | None = None, offline: bool | None = None, read_only: bool = False,
             create: bool | None = None, force: bool = False) -> Library:
        """Open the library resolved like the CLI does (see :mod:`pumas_core.config`).

        ``create``: None = create only at an unknown path whose parent exists (or the platform default),
        True = explicit creation (``pumas init``, import; parents too), False = never.  ``read_only``:
        never create or change anything (a missing index is read into memory).  ``force``: with
        ``create=True``, replace a known library location that is gone (``pumas init --force``).
        ``offline``: None = ``$PUMAS_OFFLINE`` (read here, once; see :func:`.facade_open.offline_from_env`).

        Raises:
            LibraryOfflineError: the library should be there but is not (unplugged, empty mount point).
            NoLibraryError: no library there and this open may not create one.
            LibraryUnavailableError: the root cannot be created or written.
        """
        if offline is None:
            offline = facade_open.offline_from_env()
        return cls(resolve_paths(library, state), remote=remote, offline=offline, read_only=read_only,
                   create=create, force=force)

    def check_available(self) -> None:
        """Raise :class:`~pumas_core.errors.LibraryOfflineError` if the library vanished since it was opened."""
        self.links.check_available()

    @property
    def importer(self) -> Importer:
        """The import pipeline, created on first use (keeps ComfyUI's boot path free of its imports)."""
        if self._importer_obj is None:
            from .ingest.importer import Importer

            self._importer_obj = Importer(self.store)
        return self._importer_obj

    @property
    def lookups(self) -> LookupRunner:
        """The remote-lookup service: queue, retry loop, ``apply`` of an answer (through :attr:`store`)."""
        return self._lookups

    def settings(self) -> dict[str, Any]:
        """``{"library", "state_dir", "import_roots", "import_roots_configured"}`` (see :mod:`.settings`)."""
        from .settings import read_settings

        result: dict[str, Any] = read_settings(self.root, self.state_dir, self.list_apps())
        return result

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate and store ``import_roots`` / ``library`` / ``import_mode`` / ``lookups``; returns :meth:`settings`.

        A new ``library`` takes effect the next time a Library is opened.  Raises :class:`BadInputError`.
        """
        from .settings import write_settings

        write_settings(self.state_dir, changes)
        if "lookups" in changes:
            self._lookups.set_online(bool(changes["lookups"]))
        return self.settings()

    def allowed_roots(self) -> list[str]:
        """Every folder a path received from the panel may lie in: the library, registered installs
        (root and models folder) and the import roots."""
        roots = [str(self.root), *self.settings()["import_roots"]]
        for app in self.list_apps():
            roots += [str(app[k]) for k in ("root", "models_dir") if app.get(k)]
        return roots

    # -- links (pumas_core.facade_links.LinkService) ---------------------------------------------
    @property
    def registry(self) -> Registry:
        """The machine's ``registry.db`` (opened on first use)."""
        return self.links.registry

    def adoption_subdir(self, source: PathArg) -> str:
        """See :meth:`LinkService.adoption_subdir`."""
        return self.links.adoption_subdir(source)

    def add_app(self, comfyui_dir: PathArg, folder_paths: dict[str, Any] | None = None,
                version: str | None = None) -> dict[str, Any]:
        """Register (or refresh) a ComfyUI install (see :meth:`LinkService.add_app`).  Raises BadInputError."""
        return self.links.add_app(comfyui_dir, folder_paths, version)

    def list_apps(self) -> list[dict[str, Any]]:
        """Registered installs."""
        return self.links.list_apps()

    def remove_app(self, app_id: str) -> dict[str, Any]:
        """Unregister an install after removing its links (see :meth:`LinkService.remove_app`)."""
        return self.links.remove_app(app_id)

    def sync(self, app_id: str | None = None, comfyui_dir: PathArg | None = None, dry_run: bool = False,
             resolutions: Resolutions = None, model_ids: Collection[str] | None = None,
             progress: Progress | None = None, force: bool = False) -> dict[str, Any]:
        """Link models into one install or every registered one (see :meth:`LinkService.sync`)."""
        return self.links.sync(app_id, comfyui_dir, dry_run, resolutions, model_ids, progress, force)

    def sync_new_models(self, model_ids: Collection[str]) -> dict[str, Any]:
        """Incremental sync of just these models into every registered install (after an import)."""
        return self.links.sync_new_models(model_ids)

    def boot_sync(self, comfyui_dir: PathArg, folder_paths: dict[str, Any] | None = None,
                  version: str | None = None) -> dict[str, Any]:
        """ComfyUI's start-up sync: link-only, no-op fast path (see :meth:`LinkService.boot_sync`)."""
        return self.links.boot_sync(comfyui_dir, folder_paths, version)

    def links_for_model(self, model_id: str) -> list[dict[str, Any]]:
        """Registered links of one model (``link_path``, ``app_id``, ``folder_key``, ``exists``)."""
        return self.links.links_for_model(model_id)

    def unlink_model(self, model_id: str) -> dict[str, Any]:
        """Remove every registered link of a model: ``{"links_removed", "errors"}``."""
        return self.links.unlink_model(model_id)

    def health(self) -> dict[str, Any]:
        """DESIGN.md health shape (see :meth:`LinkService.health`)."""
        return self.links.health()

    def repair(self) -> dict[str, Any]:
        """Self-heal links by model identity (see :meth:`LinkService.repair`)."""
        return self.links.repair()

    def clean(self) -> dict[str, Any]:
        """Remove our links whose content is gone, orphans, ghost installs (see :meth:`LinkService.clean`)."""
        return self.links.clean()

    def relocate(self, old: PathArg, new: PathArg) -> dict[str, Any]:
        """Rewrite registry paths after a move from ``old`` to ``new``, re-link (see :meth:`LinkService.relocate`)."""
        return self.links.relocate(old, new)

    # -- import (pumas_core.facade_import) -----------------------------------------------------
    import_paths = facade_import.import_paths
    import_stream = facade_import.import_stream
    begin_upload = facade_import.begin_upload
    _run_unit = staticmethod(facade_import.run_unit)

    # -- adoption (pumas_core.facade_adopt) ------------------------------------------------------
    adopt_plan = facade_adopt.plan
    adopt = facade_adopt.adopt
    adopt_resume = facade_adopt.resume
    adopt_undo = facade_adopt.undo
    adopt_journals = facade_adopt.journals

    # -- per-model overrides.json (pumas_core.facade_overrides) -----------------------------------
    get_overrides = facade_overrides.get_overrides
    set_overrides = facade_overrides.set_overrides

    # -- browse --------------------------------------------------------------------------------
    def list_models(self, model_type: str | None = None, limit: int | None = None,
                    offset: int = 0) -> list[dict[str, Any]]:
        """Models sorted by name; each is its metadata plus an absolute ``path``."""
        models: list[dict[str, Any]] = self.index.list(model_type=model_type, limit=limit, offset=offset)
        return models

    def annotate_listing(self, models: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add ``has_preview`` and ``link_count`` to listed models (see :mod:`.listing`)."""
        from .listing import annotate

        return annotate(models, self.registry.link_counts())

    def preview(self, model_id: str) -> tuple[Path, str]:
        """``(path, mime_type)`` of the model's preview image. Raises NotFoundError (no model or no preview)."""
        from .listing import find_preview

        found = find_preview(facade_models.model_or_404(self.index, self.resolve_id(model_id))["path"])
        if found is None:
            raise NotFoundError(f"model {model_id}: no preview image")
        return found

    def search(self, query: str, limit: int = 50, model_type: str | None = None) -> dict[str, Any]:
        """FTS5 prefix search: ``{"models": [...], "query_time_ms": float}``."""
        models, ms = self.index.search(query, limit=limit, model_type=model_type)
        return {"models": models, "query_time_ms": round(ms, 3)}

    def resolve_id(self, model_id: str) -> str:
        """A full id, a ``blake3:`` id or a unique prefix of 4+ hex digits → the model id (see
        :func:`.facade_models.resolve_id`).  Raises NotFoundError (unknown, ambiguous, too short)."""
        return facade_models.resolve_id(self.index, model_id)

    def get_model(self, model_id: str) -> dict[str, Any]:
        """One model: metadata + ``path`` + ``links`` (where it is linked) + ``phantom_files`` (listed files
        that are gone from disk; ``missing_files`` is the metadata's list of shards a set lacked at import).

        Raises:
            NotFoundError: unknown id.
        """
        mid = self.resolve_id(model_id)
        model = facade_models.model_or_404(self.index, mid)
        model["links"] = self.links_for_model(mid)
        model["phantom_files"] = deepscan.missing_files(Path(model["path"]), model)
        return model

    def update_metadata(self, model_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply a user's edit (``changes`` ⊆ :data:`EDITABLE` keys) to metadata.json, then the index.

        Editing an identity field (type, family, base model, upstream ids) records
        ``match_source: manual`` so later lookups never overwrite it (see :mod:`.facade_models`).
        Raises :class:`BadInputError` for unknown keys or bad values, :class:`NotFoundError`.
        """
        changes = facade_models.check_changes(changes)
        mid = self.resolve_id(model_id)
        self.store.update(mid, facade_models.edit(changes))
        if "model_type" in changes:
            self.sync_new_models([mid])
        return self.get_model(mid)

    def delete_model(self, model_id: str) -> dict[str, Any]:
        """Cascade delete: unlink every registered link, purge registry rows, then delete the files.

        The index row goes last but one, the folder last, so a crash mid-way leaves a model that
        Deep Scan finds again rather than dangling links.  Returns ``{"model_id", "links_removed",
        "files_removed"}``.  Raises :class:`NotFoundError`.
        """
        mid = self.resolve_id(model_id)
        removed: dict[str, Any] = {}

        def unlink_first(model: dict[str, Any]) -> None:
            removed.update(self.unlink_model(mid))
            conflict_if_links_left(model, removed)

        r = self.store.delete(mid, before=unlink_first)
        return {"model_id": mid, "links_removed": removed["links_removed"], "files_removed": r["files_removed"]}

    def rebuild(self, progress: Progress | None = None) -> dict[str, Any]:
        """Deep Scan: recreate the index from the metadata files (see :mod:`.library.deepscan`)."""
        with self.store.lock():
            result: dict[str, Any] = deepscan.rebuild(self.root, self.index, progress,
                                                      drive_overrides=drives.config_overrides(self.state_dir))
            return result

    # -- remote --------------------------------------------------------------------------------
    def lookup(self, model_ids: Collection[str] | None = None, *, force: bool = False) -> dict[str, Any]:
        """(Re)try remote lookups now for ``model_ids`` (default: every pending model).

        Returns ``{"updated": [...], "pending": [...], "unchanged": [...], "missing": [...]}`` (model ids);
        a model marked ``manual`` keeps its identity fields whatever the answer.  Raises NotFoundError.
        """
        ids = [self.resolve_id(m) for m in model_ids] if model_ids else None
        result: dict[str, Any] = self._lookups.run(ids, force=force)
        return result

    def download(self, repo_id: str, files: Collection[str] = (), *, revision: str | None = None,
                 accept_pickle: bool = False, progress: Progress | None = None) -> dict[str, Any]:
        """Download files of a HuggingFace repo (default: its weights), verify, import (see :mod:`.downloads`)."""
        from .downloads import download

        result: dict[str, Any] = download(self._download_clients(), repo_id, list(files), revision=revision,
                                          accept_pickle=accept_pickle, progress=progress)
        return result

    def download_missing(self, model_id: str, progress: Progress | None = None) -> dict[str, Any]:
        """Complete an incomplete Sharded Set from its HuggingFace match (see :mod:`.downloads`)."""
        from .downloads import download_missing

        result: dict[str, Any] = download_missing(self._download_clients(), self.resolve_id(model_id),
                                                  progress=progress)
        return result

    def _download_clients(self) -> DownloadClients:
        from .downloads import DownloadClients

        return DownloadClients(store=self.store, lookups=self._lookups, import_paths=self.import_paths,
                               get_model=self.get_model, delete_model=self.delete_model)

    def resolve_workflow(self, workflow: dict[str, Any] | PathArg, **kw: Any) -> dict[str, Any]:
        """Link a workflow's models at the names it uses (see :mod:`.facade_workflows`)."""
        from .facade_workflows import resolve_workflow

        result: dict[str, Any] = resolve_workflow(self, workflow, **kw)
        return result

    def annotate_workflow(self, workflow: dict[str, Any] | PathArg, **kw: Any) -> dict[str, Any]:
        """Write SHA-256/URL identity into a workflow's ``properties.models`` (see :mod:`.facade_workflows`)."""
        from .facade_workflows import annotate_workflow

        result: dict[str, Any] = annotate_workflow(self, workflow, **kw)
        return result

    def start_background_lookups(self, interval: float = 300.0) -> None:
        """Servers call this: pending lookups are retried every ``interval`` seconds when hosts are reachable."""
        self._lookups.start_retry_loop(interval)

    def wait_for_lookups(self, timeout: float | None = None) -> bool:
        """Block until queued background lookups are done (True) or ``timeout`` seconds pass."""
        done: bool = self._lookups.wait(timeout)
        return done

    def status(self) -> dict[str, Any]:
        """``{"library", "state_dir", "models", "apps", "network", "read_only", "recovery"}`` for the panel."""
        from . import __version__

        network: dict[str, Any] = self._lookups.status()
        return {"library": str(self.root), "library_id": self.library_id, "state_dir": str(self.state_dir),
                "models": self.index.count(),
                "apps": len(self.list_apps()), "network": network, "offline": not network.get("online", False),
                "pending_lookups": len(self.index.pending_ids()), "read_only": self.read_only,
                "recovery": list(self.recovery_notes), "version": __version__}

    def close(self) -> None:
        """Stop background work and close databases (idempotent)."""
        self._lookups.close()
        self.index.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


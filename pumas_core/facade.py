"""``Library``: the one entry point the CLI, the HTTP routes and the tests use.

It ties together the metadata files, the index, the import pipeline, remote lookups and (through
:class:`~pumas_core.facade_links.LinkOps`) the link registry.  No logic lives only in a route or a
command: if the CLI and the panel both need it, it is a method here.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import drives, facade_adopt, facade_import, facade_open
from .config import Paths, resolve_paths
from .errors import BadInputError, LibraryUnavailableError, NotFoundError
from .facade_links import LinkOps
from .library import deepscan
from .library.metadata import MATCH_SOURCES, TRUSTS
from .library.store import LOCK_NAME, ModelStore, conflict_if_links_left
from .lookups import LookupRunner

EDITABLE = {"model_type", "family", "official_name", "tags", "description", "base_model", "trust",
            "match_source", "huggingface", "civitai", "notes"}
IDENTITY_FIELDS = {"model_type", "family", "base_model", "huggingface", "civitai"}


class Library(LinkOps):
    """A library root + its index + this machine's state directory.

    Create with :meth:`open`.  Thread-safe for concurrent readers; writers (threads and processes)
    are serialised by :attr:`store`'s library lock (see :mod:`pumas_core.library.store`).  Raises
    :class:`LibraryUnavailableError` when the root cannot be created or written,
    :class:`LibraryOfflineError` when a known library is not there, :class:`NoLibraryError` when there is
    none and this open may not create one (see :meth:`open` and :mod:`pumas_core.facade_open`).
    """

    def __init__(self, paths: Paths, *, remote=None, read_only: bool = False, create: bool | None = None,
                 force: bool = False):
        self.paths = paths
        self.root = paths.root
        self.state_dir = paths.state_dir
        self.read_only = read_only
        self.recovery_notes: list[str] = []
        self.relocation: dict | None = None  # set when this open found the library moved and re-pointed links
        LinkOps.__init__(self)
        if not read_only:
            try:
                self.state_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LibraryUnavailableError(f"{self.state_dir}: cannot create the state dir ({exc.strerror})") from None
        probe = facade_open.identify(self, create, force)
        self.library_id: str | None = probe.library_id
        self.created = probe.state == "created"
        if not read_only:
            if not os.access(self.root, os.W_OK):
                raise LibraryUnavailableError(f"{self.root}: library is not writable")
        self.index = facade_open.open_index(self)
        self.store = ModelStore(self.root, self.index)  # the one writer of model folders (+ library lock)
        if not read_only or _crash_leftovers(self.root):
            # Abandoned staging only; adopts interrupted commits.  A read-only open (``pumas list``) runs it
            # too when a crashed process left something behind (issue 7: the next open of any kind shows
            # the interrupted import and cleans staging); that finishes or undoes work, it creates nothing.
            self.recovery_notes += self.store.recover()
        self._importer_obj = None
        self._lookups = LookupRunner(self.store, self.state_dir, remote)
        if not read_only:
            try:
                facade_open.remember(self, probe)
            except Exception as exc:  # noqa: BLE001 - a busy registry must not make the library unusable
                self.recovery_notes.append(f"could not record the library's location: {exc}")

    @classmethod
    def open(cls, library=None, state=None, *, remote=None, read_only: bool = False, create: bool | None = None,
             force: bool = False) -> "Library":
        """Open the library resolved like the CLI does (see :mod:`pumas_core.config`).

        ``create``: None = create only at an unknown path whose parent exists (or the platform default),
        True = explicit creation (``pumas init``, import; parents too), False = never.  ``read_only``:
        never create or change anything (a missing index is read into memory).  ``force``: with
        ``create=True``, replace a known library location that is gone (``pumas init --force``).

        Raises:
            LibraryOfflineError: the library should be there but is not (unplugged, empty mount point).
            NoLibraryError: no library there and this open may not create one.
            LibraryUnavailableError: the root cannot be created or written.
        """
        return cls(resolve_paths(library, state), remote=remote, read_only=read_only, create=create, force=force)

    def check_available(self) -> None:
        """Raise :class:`~pumas_core.errors.LibraryOfflineError` if the library vanished since it was opened."""
        facade_open.check_available(self)

    @property
    def _importer(self):
        """The import pipeline, created on first use (keeps ComfyUI's boot path free of its imports)."""
        if self._importer_obj is None:
            from .ingest.importer import Importer

            self._importer_obj = Importer(self.store)
        return self._importer_obj

    def settings(self) -> dict:
        """``{"library", "state_dir", "import_roots", "import_roots_configured"}`` (see :mod:`.settings`)."""
        from .settings import read_settings

        return read_settings(self.root, self.state_dir, self.list_apps())

    def update_settings(self, changes: dict) -> dict:
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

    # -- import (pumas_core.facade_import) -----------------------------------------------------
    import_paths = facade_import.import_paths
    import_stream = facade_import.import_stream
    begin_upload = facade_import.begin_upload
    _run_unit = staticmethod(facade_import.run_unit)
    _after_import = facade_import.after_import

    # -- adoption (pumas_core.facade_adopt) ------------------------------------------------------
    adopt_plan = facade_adopt.plan
    adopt = facade_adopt.adopt
    adopt_resume = facade_adopt.resume
    adopt_undo = facade_adopt.undo
    adopt_journals = facade_adopt.journals

    # -- browse --------------------------------------------------------------------------------
    def list_models(self, model_type: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict]:
        """Models sorted by name; each is its metadata plus an absolute ``path``."""
        return self.index.list(model_type=model_type, limit=limit, offset=offset)

    def annotate_listing(self, models: list[dict]) -> list[dict]:
        """Add ``has_preview`` and ``link_count`` to listed models (see :mod:`.listing`)."""
        from .listing import annotate

        counts: dict[str, int] = {}
        for row in self.registry.all_links():
            counts[row["model_id"]] = counts.get(row["model_id"], 0) + 1
        return annotate(models, counts)

    def preview(self, model_id: str):
        """``(path, mime_type)`` of the model's preview image. Raises NotFoundError (no model or no preview)."""
        from .listing import find_preview

        model = self.index.get(self.resolve_id(model_id))
        found = find_preview(model["path"])
        if found is None:
            raise NotFoundError(f"model {model_id}: no preview image")
        return found

    def search(self, query: str, limit: int = 50, model_type: str | None = None) -> dict:
        """FTS5 prefix search: ``{"models": [...], "query_time_ms": float}``."""
        models, ms = self.index.search(query, limit=limit, model_type=model_type)
        return {"models": models, "query_time_ms": round(ms, 3)}

    def resolve_id(self, model_id: str) -> str:
        """Accept a full id, a ``blake3:`` id, or a unique prefix of at least 4 hex digits (``8087``).

        Raises:
            NotFoundError: no model matches; or ``ambiguous: N models start with <prefix>`` when
                more than one does; or the prefix is shorter than 4 hex digits.
        """
        mid = model_id.strip().lower().removeprefix("blake3:")
        if self.index.get(mid):
            return mid
        if len(mid) >= 4 and all(c in "0123456789abcdef" for c in mid):
            hits = self.index.ids_with_prefix(mid, limit=100_000)
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise NotFoundError(f"ambiguous: {len(hits)} models start with {mid} (give more digits)")
        elif mid and len(mid) < 4 and all(c in "0123456789abcdef" for c in mid):
            raise NotFoundError(f"model id prefix {model_id!r} is too short: give at least 4 hex digits")
        raise NotFoundError(f"no model with id {model_id!r}")

    def get_model(self, model_id: str) -> dict:
        """One model: metadata + ``path`` + ``links`` (where it is linked) + ``phantom_files`` (listed files
        that are gone from disk; ``missing_files`` is the metadata's list of shards a set lacked at import).

        Raises:
            NotFoundError: unknown id.
        """
        mid = self.resolve_id(model_id)
        model = self.index.get(mid)
        model["links"] = self.links_for_model(mid)
        model["phantom_files"] = deepscan.missing_files(Path(model["path"]), model)
        return model

    def update_metadata(self, model_id: str, changes: dict) -> dict:
        """Apply a user's edit (``changes`` ⊆ editable keys) to metadata.json, then the index.

        Editing an identity field (type, family, base model, upstream ids) records
        ``match_source: manual`` so later lookups never overwrite it.  Raises
        :class:`BadInputError` for unknown keys or bad values, :class:`NotFoundError`.
        """
        if not isinstance(changes, dict) or not changes:
            raise BadInputError("no changes given")
        bad = set(changes) - EDITABLE
        if bad:
            raise BadInputError(f"cannot edit {', '.join(sorted(bad))}")
        if "match_source" in changes and changes["match_source"] not in MATCH_SOURCES:
            raise BadInputError(f"match_source must be one of {', '.join(MATCH_SOURCES)}")
        if "trust" in changes and changes["trust"] not in TRUSTS:
            raise BadInputError(f"trust must be one of {', '.join(TRUSTS)}")
        if "tags" in changes and not (isinstance(changes["tags"], list) and all(isinstance(t, str) for t in changes["tags"])):
            raise BadInputError("tags must be a list of strings")
        mid = self.resolve_id(model_id)

        def change(meta: dict) -> dict:
            meta.update(changes)
            touched = IDENTITY_FIELDS & set(changes)
            if touched or changes.get("match_source") == "manual":
                meta["match_source"] = "manual"
                meta["pending_online_lookup"] = False
                meta["manual_fields"] = sorted(set(meta.get("manual_fields", [])) | touched)
            if "model_type" in changes:
                from .ingest.records import category_for

                meta["category"] = category_for(changes["model_type"])
            return meta

        self.store.update(mid, change)
        if "model_type" in changes:
            self.sync_new_models([mid])
        return self.get_model(mid)

    def delete_model(self, model_id: str) -> dict:
        """Cascade delete: unlink every registered link, purge registry rows, then delete the files.

        The index row goes last but one, the folder last, so a crash mid-way leaves a model that
        Deep Scan finds again rather than dangling links.  Raises :class:`NotFoundError`.
        """
        mid = self.resolve_id(model_id)
        removed = {}

        def unlink_first(model: dict) -> None:
            removed.update(self.unlink_model(mid))
            conflict_if_links_left(model, removed)

        r = self.store.delete(mid, before=unlink_first)
        return {"model_id": mid, "links_removed": removed["links_removed"], "files_removed": r["files_removed"]}

    def rebuild(self, progress=None) -> dict:
        """Deep Scan: recreate the index from the metadata files (see :mod:`.library.deepscan`)."""
        with self.store.lock():
            return deepscan.rebuild(self.root, self.index, progress,
                                    drive_overrides=drives.config_overrides(self.state_dir))

    # -- remote --------------------------------------------------------------------------------
    def lookup(self, model_ids=None, *, force: bool = False) -> dict:
        """(Re)try remote lookups now for ``model_ids`` (default: every pending model).

        Returns ``{"updated": [...], "pending": [...], "unchanged": [...], "missing": [...]}`` (model ids);
        a model marked ``manual`` keeps its identity fields whatever the answer.
        """
        ids = [self.resolve_id(m) for m in model_ids] if model_ids else None
        return self._lookups.run(ids, force=force)

    def download(self, repo_id: str, files=(), *, revision: str | None = None, accept_pickle: bool = False,
                 progress=None) -> dict:
        """Download files of a HuggingFace repo (default: its weights), verify, import (see :mod:`.downloads`)."""
        from .downloads import download

        return download(self._download_clients(), repo_id, list(files), revision=revision, accept_pickle=accept_pickle,
                        progress=progress)

    def download_missing(self, model_id: str, progress=None) -> dict:
        """Complete an incomplete Sharded Set from its HuggingFace match (see :mod:`.downloads`)."""
        from .downloads import download_missing

        return download_missing(self._download_clients(), self.resolve_id(model_id), progress=progress)

    def _download_clients(self):
        from .downloads import DownloadClients

        return DownloadClients(store=self.store, lookups=self._lookups, import_paths=self.import_paths,
                               get_model=self.get_model, delete_model=self.delete_model)

    def resolve_workflow(self, workflow, **kw) -> dict:
        """Link a workflow's models at the names it uses (see :mod:`.facade_workflows`)."""
        from .facade_workflows import resolve_workflow

        return resolve_workflow(self, workflow, **kw)

    def annotate_workflow(self, workflow, **kw) -> dict:
        """Write SHA-256/URL identity into a workflow's ``properties.models`` (see :mod:`.facade_workflows`)."""
        from .facade_workflows import annotate_workflow

        return annotate_workflow(self, workflow, **kw)

    def start_background_lookups(self, interval: float = 300.0) -> None:
        """Servers call this: pending lookups are retried every ``interval`` seconds when hosts are reachable."""
        self._lookups.start_retry_loop(interval)

    def wait_for_lookups(self, timeout: float | None = None) -> bool:
        """Block until queued background lookups are done (True) or ``timeout`` seconds pass."""
        return self._lookups.wait(timeout)

    def status(self) -> dict:
        """``{"library", "state_dir", "models", "apps", "network", "read_only", "recovery"}`` for the panel."""
        network = self._lookups.status()
        return {"library": str(self.root), "library_id": self.library_id, "state_dir": str(self.state_dir),
                "models": self.index.count(),
                "apps": len(self.list_apps()), "network": network, "offline": not network.get("online", False),
                "pending_lookups": len(self.index.pending_ids()), "read_only": self.read_only,
                "recovery": list(self.recovery_notes), "version": __import__("pumas_core").__version__}

    def close(self) -> None:
        """Stop background work and close databases (idempotent)."""
        self._lookups.close()
        self.index.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _crash_leftovers(root: Path) -> bool:
    """True when ``<root>/.staging`` holds anything but the writer lock file and the root is writable
    (one ``scandir`` of a folder that is empty in normal use)."""
    try:
        with os.scandir(Path(root) / ".staging") as it:
            left = any(e.name != LOCK_NAME for e in it)
    except OSError:
        return False
    return left and os.access(root, os.W_OK)

"""``ModelStore``: the one owner of model folders — "write ``metadata.json``, then update the index".

Every writer (import commit, remote lookups, manual edits, delete, downloads, adoption after a crash,
re-pointing a model folder moved by hand) goes through this class, under one writer lock:

* a thread lock for the threads of this process, and
* a file lock ``<root>/.staging/library.lock`` (:mod:`filelock`: ``fcntl.flock`` on POSIX,
  ``msvcrt.locking`` on Windows, released by the kernel when a process dies) for every other process
  on the machine or share — two ComfyUI installs booting on one library, the CLI importing while
  ComfyUI runs.

The lock is held only for the *commit* (dedupe check + rename into place + index) and for short
read-modify-writes, never for the long copy/hash, so an import in one process does not stall the
others, the same content never becomes two models, and SQLite never reports "database is locked".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .. import vocab
from ..errors import ConflictError, CorruptFileError, LibraryUnavailableError, NotFoundError
from ..ingest.staging import JOURNAL, Stage, new_stage, recover_staging, staging_root
from ..testhooks import phase
from .deepscan import missing_files
from .index import Model, ModelIndex
from .metadata import METADATA_NAME, ModelMetadata, now_iso, read_metadata, validate_metadata, write_metadata

#: A progress callback: receives ``{"stage": vocab.Stage value, "file": name, ...}`` events.
Progress = Callable[[dict[str, Any]], None]

LOCK_NAME = "library.lock"
LOCK_TIMEOUT = 300.0  # seconds a writer waits for another process's commit before giving up
#: keys of a phantom's metadata that a re-import keeps (what the user or a lookup added)
KEPT_ON_RESTORE = ("added_date", "tags", "description", "notes", "match_source", "trust", "huggingface",
                   "civitai", "manual_fields", "model_type", "family", "base_model", "category",
                   "pending_online_lookup", "last_lookup", "link_subdir")


class ModelStore:
    """Model folders + ``metadata.json`` + the index of one library.

    Args:
        root: the library folder.
        index: its :class:`~pumas_core.library.index.ModelIndex`.
        lock_timeout: seconds to wait for another process's writer lock.
    """

    def __init__(self, root: Path, index: ModelIndex, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.root = Path(root)
        self.index = index
        self._thread_lock = threading.RLock()
        self._file_lock: FileLock | None = None
        self._depth = 0
        self.lock_timeout = lock_timeout

    # -- the writer lock -------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[ModelStore]:
        """Hold the library's writer lock (re-entrant in one thread).

        Raises:
            LibraryUnavailableError: another process held it for ``lock_timeout`` seconds, or the
                lock file cannot be created (read-only library).
        """
        with self._thread_lock:
            if self._depth == 0:
                if self._file_lock is None:
                    try:
                        path = staging_root(self.root) / LOCK_NAME
                    except OSError as exc:
                        raise LibraryUnavailableError(f"{self.root}: cannot lock the library ({exc.strerror})",
                                                      path=self.root) from None
                    self._file_lock = FileLock(str(path), timeout=self.lock_timeout, thread_local=False)
                try:
                    self._file_lock.acquire()
                except Timeout:
                    raise LibraryUnavailableError(
                        f"{self._file_lock.lock_file}: another Pumas process has held the library for "
                        f"{self.lock_timeout:.0f} s; try again later", path=self._file_lock.lock_file) from None
                except OSError as exc:
                    raise LibraryUnavailableError(f"{self._file_lock.lock_file}: cannot lock the library "
                                                  f"({exc.strerror or exc})", path=self._file_lock.lock_file) from None
            file_lock = self._file_lock
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
                if self._depth == 0 and file_lock is not None:
                    file_lock.release()

    # -- reads -----------------------------------------------------------------------------------
    def get(self, model_id: str) -> Model | None:
        """The indexed model (metadata + ``path``) or None."""
        return self.index.get(model_id)

    # -- writes ----------------------------------------------------------------------------------
    def save(self, model_dir: Path, meta: Mapping[str, Any]) -> None:
        """Write ``meta`` (a :class:`~pumas_core.library.metadata.ModelMetadata`) to
        ``model_dir/metadata.json`` (atomic, unknown keys kept), then index what was written.

        Raises:
            CorruptFileError: ``meta`` misses a required key (nothing written).
            WriteFailedError: the folder is not writable (nothing indexed); see :func:`write_metadata`.
        """
        with self.lock():
            self.index.upsert(write_metadata(model_dir, meta), model_dir)

    def update(self, model_id: str,
               change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> ModelMetadata | None:
        """Read-modify-write one model under the lock.

        ``change(meta)`` edits the metadata dict (the ``metadata.json`` content) in place (or returns
        a new one) and returns None to leave the model untouched.  ``updated_date`` is set for you.
        Returns the written metadata, or None when ``change`` declined.

        Raises:
            NotFoundError: the model is not indexed.
            FileNotFoundError: its ``metadata.json`` is gone (a ``FileMissingError`` when its folder is).
            CorruptFileError: the result misses a required key (nothing written).
            WriteFailedError: the folder is not writable (nothing written or indexed).
        """
        with self.lock():
            model = self.index.get(model_id)
            if model is None:
                raise NotFoundError(f"no model with id {model_id!r}")
            model_dir = Path(model["path"])
            meta: dict[str, Any] = dict(read_metadata(model_dir))
            new = change(meta)
            if new is None:
                return None
            new["updated_date"] = now_iso()
            written = write_metadata(model_dir, new)
            self.index.upsert(written, model_dir)
            return written

    def commit(self, stage: Stage, meta: Mapping[str, Any],
               progress: Progress | None = None) -> tuple[str, Model]:
        """Put an assembled stage into the library: the import's commit step.

        Under the writer lock: if the content (``model_id``) is already indexed with its files, the
        stage is discarded and ``("skipped", {...reason "already in the library"})`` returned.  If it
        is indexed (or lies at its folder) as a *phantom* — files deleted by hand, ``metadata.json``
        left — the stage replaces the phantom folder in place (same path, so its links resolve again;
        the user's tags/notes/identity are kept) and ``("imported", model)`` is returned with
        ``"restored": True``.  A complete folder of this content at its name that the index lost is
        indexed (``"adopted": True``; the stage is discarded).  Otherwise ``metadata.json`` is written
        into the stage, a commit intent recorded, the stage renamed into
        ``<root>/<category>/<family>/<cleaned_name>`` (a short hash is added when another model has
        that name) and indexed: ``("imported", model)``.  The stage is released in every case.
        ``meta``: the new model's :class:`~pumas_core.library.metadata.ModelMetadata` (not changed).

        Raises:
            CorruptFileError: ``meta`` misses a required key or has a value outside its vocabulary.
            WriteFailedError / OSError: the metadata or the rename could not be written (nothing is
                indexed; the caller discards the stage).
        """
        from ..ingest.staging import discard_stage

        meta = validate_metadata(dict(meta))
        with self.lock():
            existing = self.index.get(meta["model_id"])
            if existing is not None and not missing_files(Path(existing["path"]), existing):
                discard_stage(stage, self.root)
                return "skipped", {"model_id": meta["model_id"], "reason": "already in the library",
                                   "path": existing["path"], "official_name": existing["official_name"]}
            if progress:
                progress({"stage": vocab.Stage.WRITING_METADATA, "file": meta["official_name"]})
            if existing is None:
                hidden = self._same_content_at_name(meta)
                if hidden is not None and not missing_files(hidden, meta):
                    # complete but unindexed (a crash of an older version): index it, never add a twin
                    discard_stage(stage, self.root)
                    adopted = read_metadata(hidden)
                    self.index.upsert(adopted, hidden)
                    return "imported", {**adopted, "path": str(hidden), "adopted": True}
                phantom_dir = hidden
            else:
                phantom_dir = Path(existing["path"])
            if phantom_dir is not None:
                return "imported", self._restore_phantom(stage, meta, phantom_dir, progress)
            final = self._final_dir(meta)
            write_metadata(stage.path, meta)
            phase("import.metadata_written")
            stage.write_intent(final, meta["model_id"])
            phase("import.intent_written")
            os.rename(stage.path, final)
            phase("import.renamed")
            try:
                self._finish(stage, final, meta, progress)
            except BaseException:
                _put_back(final, stage)  # not indexed: take it out again, the caller discards the stage
                raise
            return "imported", {**meta, "path": str(final)}

    def _finish(self, stage: Stage, final: Path, meta: ModelMetadata, progress: Progress | None) -> None:
        if progress:
            progress({"stage": vocab.Stage.INDEXING, "file": meta["official_name"]})
        self.index.upsert(meta, final)
        phase("import.indexed")
        journal = final / JOURNAL
        if journal.exists():
            journal.unlink()
        stage.clear_intent()
        stage.release()

    def _same_content_at_name(self, meta: ModelMetadata) -> Path | None:
        """The folder this model would get, when it already holds this model's ``metadata.json`` (a phantom,
        or a complete folder the index lost)."""
        target = self.root / meta["category"] / meta["family"] / meta["cleaned_name"]
        try:
            old = read_metadata(target)
        except (OSError, CorruptFileError):
            return None
        return target if old["model_id"] == meta["model_id"] else None

    def _restore_phantom(self, stage: Stage, meta: ModelMetadata, phantom_dir: Path,
                         progress: Progress | None) -> Model:
        old: dict[str, Any] = {}
        with contextlib.suppress(OSError, CorruptFileError):  # nothing of the phantom's to keep
            old = dict(read_metadata(phantom_dir))
        update: dict[str, Any] = {k: old[k] for k in KEPT_ON_RESTORE if k in old}
        update["cleaned_name"] = phantom_dir.name
        update["updated_date"] = now_iso()
        merged = write_metadata(stage.path, {**meta, **update})
        stage.write_intent(phantom_dir, meta["model_id"])
        trash = new_stage(self.root)
        try:
            os.rmdir(trash.path)
            if phantom_dir.exists():
                os.rename(phantom_dir, trash.path)  # the phantom's leftovers (metadata, stray files)
            phantom_dir.parent.mkdir(parents=True, exist_ok=True)
            os.rename(stage.path, phantom_dir)
        except BaseException:
            if trash.path.exists() and not phantom_dir.exists():
                os.rename(trash.path, phantom_dir)  # put the phantom back as it was
            raise
        finally:
            shutil.rmtree(trash.path, ignore_errors=True)
            trash.release()
        self._finish(stage, phantom_dir, merged, progress)
        return {**merged, "path": str(phantom_dir), "restored": True}

    def _final_dir(self, meta: ModelMetadata) -> Path:
        parent = self.root / meta["category"] / meta["family"]
        target = parent / meta["cleaned_name"]
        if os.path.lexists(target):  # a different model already has this name: add a short hash
            meta["cleaned_name"] = f"{meta['cleaned_name']}-{meta['model_id'][:8]}"
            target = parent / meta["cleaned_name"]
            n = 1
            while os.path.lexists(target):
                target = parent / f"{meta['cleaned_name']}-{n}"
                n += 1
            meta["cleaned_name"] = target.name
        parent.mkdir(parents=True, exist_ok=True)
        return target

    def delete(self, model_id: str, before: Callable[[Model], None] | None = None) -> dict[str, Any]:
        """Delete a model: ``before(model)`` (e.g. unlink its links; raise to abort), then the index row,
        then the folder (renamed into an owned stage first, so it vanishes at once).

        Returns ``{"model_id", "files_removed", "path"}``.

        Raises:
            NotFoundError: the model is not indexed.
        """
        with self.lock():
            model = self.index.get(model_id)
            if model is None:
                raise NotFoundError(f"no model with id {model_id!r}")
            if before is not None:
                before(model)
            self.index.delete(model_id)
            model_dir = Path(model["path"])
            files = sum(1 for p in model_dir.rglob("*") if p.is_file()) if model_dir.is_dir() else 0
            trash = new_stage(self.root)
            try:
                os.rmdir(trash.path)
                os.replace(model_dir, trash.path)
                shutil.rmtree(trash.path, ignore_errors=True)
            except OSError:
                shutil.rmtree(model_dir, ignore_errors=True)
            finally:
                trash.release()
            self._prune_empty_parents(model_dir.parent)
            return {"model_id": model_id, "files_removed": files, "path": str(model_dir)}

    def _prune_empty_parents(self, d: Path) -> None:
        while d != self.root and self.root in d.parents:
            try:
                d.rmdir()
            except OSError:
                return
            d = d.parent

    def forget(self, model_id: str) -> bool:
        """Drop a model's index row when its folder holds no ``metadata.json`` any more (checked under the
        lock: a concurrent re-import may just have restored it).  True when dropped."""
        with self.lock():
            model = self.index.get(model_id)
            if model is None or (Path(model["path"]) / METADATA_NAME).exists():
                return False
            return self.index.delete(model_id)

    def move_indexed(self, model_id: str, new_dir: Path) -> Model:
        """Record that a model's folder now lives at ``new_dir`` (moved by hand inside the library).

        The metadata there is read (it must name ``model_id``) and indexed.  Returns the model.

        Raises:
            NotFoundError: ``new_dir`` does not hold that model (``path`` names it).
            FileNotFoundError / CorruptFileError: its ``metadata.json`` is missing or unreadable.
        """
        with self.lock():
            meta = read_metadata(new_dir)
            if meta["model_id"] != model_id:
                raise NotFoundError(f"{new_dir}: does not hold model {model_id}", path=new_dir)
            self.index.upsert(meta, new_dir)
            return {**meta, "path": str(new_dir)}

    # -- recovery --------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Clean abandoned staging entries and adopt models a crashed process renamed into place but
        did not index (commit intents; see :mod:`pumas_core.ingest.staging`).  Never touches what a
        live process owns; cost is one listing of ``.staging``.  Returns notes."""
        return recover_staging(self.root, adopt=self._adopt)

    def _adopt(self, final: Path, intent: dict[str, Any]) -> list[str]:
        with self.lock():  # only taken when there is something to adopt
            return self._adopt_locked(final, intent)

    def _adopt_locked(self, final: Path, intent: dict[str, Any]) -> list[str]:
        try:
            meta = read_metadata(final)
        except (OSError, CorruptFileError):
            return []
        if intent.get("model_id") and meta["model_id"] != intent["model_id"]:
            return []
        journal = final / JOURNAL
        if journal.exists():
            journal.unlink()  # the moved files are complete in the library: nothing to put back
        known = self.index.get(meta["model_id"])
        if known is not None and Path(known["path"]) != final and not missing_files(Path(known["path"]), known):
            return [f"{final}: same content as {known['path']}; left unindexed (remove one)"]
        self.index.upsert(meta, final)
        return [f"adopted {os.path.relpath(final, self.root)} into the index (its import was interrupted)"]


def _put_back(final: Path, stage: Stage) -> None:
    """Undo a rename into place whose indexing failed (the stage's move journal, if any, comes back too)."""
    try:
        os.rename(final, stage.path)
    except OSError:
        return  # it stays in place with its intent: the next open adopts it


def conflict_if_links_left(model: Mapping[str, Any], unlinked: Mapping[str, Any]) -> None:
    """Raise :class:`ConflictError` when some of a model's links could not be removed (delete aborts)."""
    if unlinked["errors"]:
        raise ConflictError(f"{model['official_name']}: not deleted, a link could not be removed "
                            f"({unlinked['errors'][0]['error']})")

"""The staging area ``<root>/.staging/``: where imports are assembled before an atomic rename.

Each import unit gets ``<root>/.staging/<hex>.tmp/`` and an owner lock ``<hex>.lock`` that its process
holds (an OS file lock through :mod:`filelock`, released by the kernel when the process dies, even on
SIGKILL) for as long as the stage lives.  Copy mode writes copies there, so a crash leaves only a
``*.tmp`` folder that :func:`recover_staging` deletes at the next start — **only** when nobody holds
its lock, so a ``pumas list`` in one process never touches an import running in another.
Move mode renames the user's files there; before the first rename a journal
(``.pumas-move.json``: original path ↔ staged name) is written and fsynced, so recovery
puts every moved file back where it came from instead of deleting it — nothing is lost.

Commit intents: just before a stage is renamed into the library, ``<hex>.intent`` records the final
folder (relative to the root).  If the process dies after the rename but before the index was
updated, the next open finds the intent (its owner lock is free), sees the folder in place and adopts
it into the index (:meth:`pumas_core.library.store.ModelStore.recover`) — the model is never hidden
and never imported twice.  Recovery therefore only looks inside ``.staging``, never walks the library.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from filelock import BaseFileLock, FileLock, Timeout

from ..atomic import atomic_write_text, fsync_dir, read_json_object

STAGING = ".staging"
JOURNAL = ".pumas-move.json"
RECOVERED = "recovered"
LOCK_SUFFIX = ".lock"
INTENT_SUFFIX = ".intent"
#: a staging entry: ``<32 hex>`` (or a legacy ``delete-<hex>``) + ``.tmp`` (folder), ``.lock`` or ``.intent``
ENTRY = re.compile(r"^([0-9a-f]{32}|delete-[0-9a-f]+)(\.tmp|\.lock|\.intent)$")
STALE_SECONDS = 3600.0  # stray temp/lock files are only swept when older than this


def staging_root(root: Path) -> Path:
    """``<root>/.staging`` (created)."""
    p = Path(root) / STAGING
    p.mkdir(parents=True, exist_ok=True)
    return p


class Stage(os.PathLike[str]):
    """One staging folder owned by this process: ``path`` (``<root>/.staging/<hex>.tmp``) plus its held
    owner lock.  Behaves like the folder path (``stage / "name"``, ``os.fspath(stage)``).

    Call :meth:`release` (done by :func:`discard_stage` and after a commit) when the folder is gone.
    """

    def __init__(self, root: Path, key: str, lock: BaseFileLock) -> None:
        self.root = Path(root)
        self.key = key
        self.path = staging_root(root) / f"{key}.tmp"
        self._lock: BaseFileLock | None = lock

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, other: str | os.PathLike[str]) -> Path:
        return self.path / other

    def __str__(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        """The folder name (``<hex>.tmp``)."""
        return self.path.name

    @property
    def intent_path(self) -> Path:
        """``<root>/.staging/<hex>.intent``."""
        return self.path.with_name(self.key + INTENT_SUFFIX)

    def write_intent(self, final_dir: Path, model_id: str) -> None:
        """Durably record that this stage is about to become ``final_dir`` (model ``model_id``)."""
        rel = os.path.relpath(final_dir, self.root).replace(os.sep, "/")
        atomic_write_text(self.intent_path, json.dumps({"final": rel, "model_id": model_id}))

    def clear_intent(self) -> None:
        """Forget the commit intent (the index now knows the model)."""
        _unlink_quiet(self.intent_path)

    def release(self) -> None:
        """Drop the owner lock and its file (idempotent)."""
        if self._lock is None:
            return
        lock_file = self._lock.lock_file
        # unlink first, while held (POSIX); Windows refuses while open, so try again after release
        with contextlib.suppress(OSError):
            os.unlink(lock_file)
        with contextlib.suppress(OSError):
            self._lock.release(force=True)
        self._lock = None
        with contextlib.suppress(OSError):
            os.unlink(lock_file)


def _unlink_quiet(path: str | os.PathLike[str]) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _try_lock(path: Path) -> FileLock | None:
    """The owner lock at ``path`` if no live process holds it (non-blocking), else None."""
    lock = FileLock(str(path), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        return None
    except OSError:
        return None
    return lock


def new_stage(root: Path) -> Stage:
    """Create and return a fresh, owned ``<root>/.staging/<hex>.tmp/`` folder (lock taken first)."""
    base = staging_root(root)
    key = uuid.uuid4().hex
    lock = FileLock(str(base / f"{key}{LOCK_SUFFIX}"), timeout=10, thread_local=False)
    lock.acquire()  # a fresh name: only a recovery probing it this instant can hold it, briefly
    stage = Stage(root, key, lock)
    stage.path.mkdir()
    return stage


def journal_moves(stage: Path, moves: list[tuple[Path, str]]) -> None:
    """Record ``(original absolute path, name inside stage)`` pairs durably before moving."""
    atomic_write_text(Path(stage) / JOURNAL, json.dumps([[str(src), rel] for src, rel in moves]))


def _restore_moves(stage: Path, root: Path) -> list[str]:
    """Move journaled files back to their original paths; return what was restored or parked."""
    notes = []
    try:
        moves = json.loads((stage / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        moves = []
    for src, rel in moves:
        staged = stage / rel
        if not staged.exists():
            continue
        target = Path(src)
        if target.exists():
            # the user put something new there: park ours instead of overwriting it
            park = staging_root(root) / RECOVERED / f"{stage.name[:-4]}" / rel
            park.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, park)
            notes.append(f"kept {park} (original place {src} is taken)")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            fsync_dir(target.parent)
            notes.append(f"restored {src}")
    return notes


def discard_stage(stage: Stage | Path, root: Path) -> list[str]:
    """Undo a stage: restore moved files (per the journal), delete the folder and its intent, release it.

    When the folder is already gone but an intent remains (renamed into place, not indexed), the
    intent is kept so the next open adopts the model."""
    path = Path(stage)
    notes: list[str] = []
    if path.is_dir():
        notes = _restore_moves(path, root) if (path / JOURNAL).exists() else []
        shutil.rmtree(path, ignore_errors=True)
        if isinstance(stage, Stage):
            stage.clear_intent()
    # no folder but an intent: it was renamed into place and not indexed; the intent stays for adoption
    if isinstance(stage, Stage):
        stage.release()
    return notes


Adopt = Callable[[Path, dict[str, Any]], list[str]]


def recover_staging(root: Path, adopt: Adopt) -> list[str]:
    """Clean what crashed processes left in ``<root>/.staging`` — never what a live process owns.

    For every stage folder (``<hex>.tmp``) or commit intent (``<hex>.intent``) whose owner lock
    (``<hex>.lock``) can be taken: a leftover stage folder is undone (moved files restored, copies
    deleted); an intent whose stage is gone means the folder was renamed into place, so
    ``adopt(final_dir, intent)`` is called (``intent``: ``{"final": rel, "model_id": id}``).
    Entries without a lock file (older versions) count as abandoned.  A bare
    ``<hex>.lock`` is never taken while young (its owner may be about to create the folder); stray temp
    files are swept after an hour.  Returns human-readable notes; never raises for an entry it cannot
    clean (it stays for the next start).
    """
    base = Path(root) / STAGING
    notes: list[str] = []
    if not base.is_dir():
        return notes
    keys: set[str] = set()
    now = time.time()
    for entry in base.iterdir():
        m = ENTRY.match(entry.name)
        if m is None:
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                _remove_if_old(entry, now)  # an atomic write's temp file whose writer died long ago
            continue
        if m.group(2) == LOCK_SUFFIX:
            _remove_if_old(entry, now, only_unlocked=True)  # a bare owner lock: its stage never got made
            continue
        keys.add(m.group(1))  # a stage folder or a commit intent
    for key in sorted(keys):
        lock = _try_lock(base / f"{key}{LOCK_SUFFIX}")
        if lock is None:
            continue  # a live process owns it
        stage = Stage(root, key, lock)
        try:
            notes += _recover_one(stage, root, adopt)
        except OSError as exc:
            notes.append(f"could not clean {stage.path}: {exc}")
            lock.release(force=True)
            continue
        stage.release()
    return notes


def _remove_if_old(entry: Path, now: float, only_unlocked: bool = False) -> None:
    try:
        if now - entry.lstat().st_mtime < STALE_SECONDS:
            return
        if only_unlocked:
            lock = _try_lock(entry)
            if lock is None:
                return
            _unlink_quiet(entry)
            lock.release(force=True)
        else:
            _unlink_quiet(entry)
    except OSError:
        pass


def _recover_one(stage: Stage, root: Path, adopt: Adopt) -> list[str]:
    notes: list[str] = []
    path = stage.path
    if path.is_dir():
        notes += discard_stage(path, root)
        stage.clear_intent()
        notes.append(f"removed leftover {path.name}")
    elif path.exists() or path.is_symlink():
        path.unlink()
        notes.append(f"removed leftover {path.name}")
    elif stage.intent_path.exists():
        intent = read_json_object(stage.intent_path)
        if intent.get("final"):
            notes += adopt(Path(root) / intent["final"], intent)
        stage.clear_intent()
    return notes

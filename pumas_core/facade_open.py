"""How :class:`~pumas_core.facade.Library` opens a library: identity, availability, the index.

Kept apart from the facade so each file has one job.  The rules (issue 7):

* a library that is not there (unplugged drive, empty mount point, unreachable share, missing parent
  folder) is **offline** (:class:`LibraryOfflineError`): nothing is created, nothing is changed;
* nothing creates a library implicitly at a path the state dir knows as a library, or whose parent
  folder is missing (except the platform default location); read-only opens never create anything
  (:class:`NoLibraryError`);
* a missing, corrupt or empty ``models.db`` next to ``metadata.json`` files is rebuilt by Deep Scan
  before anything reads it (read-only opens build it in memory, touching nothing on disk);
* a library whose id was last seen at another root has moved: the registry's paths are rewritten and
  the links re-pointed (:func:`pumas_core.links.relocate.relocate`).

The functions take what they use (root, paths, the registry), never the ``Library`` itself.  The one
environment switch of the open, ``PUMAS_OFFLINE``, is read here (:func:`offline_from_env`) and only by
:meth:`Library.open <pumas_core.facade.Library.open>`: everything after it gets the explicit flag.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Paths, default_library_root
from .errors import LibraryOfflineError, LibraryUnavailableError, NoLibraryError
from .library import deepscan, identity
from .library.index import ModelIndex

if TYPE_CHECKING:
    from .facade_links import RegistryHandle
    from .links import Registry

OFFLINE_ENV = "PUMAS_OFFLINE"
_TRUE = ("1", "true", "yes")


def offline_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``$PUMAS_OFFLINE`` is ``1``/``true``/``yes`` (any case): no request leaves the machine.

    Read once, where a library is opened from the environment (``Library.open`` without ``offline=``:
    the CLI, ComfyUI's boot, the routes, tests); the flag is then passed on explicitly.
    """
    env = os.environ if environ is None else environ
    return env.get(OFFLINE_ENV, "").strip().lower() in _TRUE


def registry_settings(registry: RegistryHandle, writable: bool) -> dict[str, str]:
    """The registry's settings; a read-only open reads them without creating or changing anything."""
    if writable:
        return registry.get().all_settings()
    if not registry.path.exists():
        return {}
    try:
        with closing(sqlite3.connect(f"file:{registry.path}?mode=ro", uri=True, timeout=5)) as con:
            return dict(con.execute("SELECT key, value FROM settings").fetchall())
    except sqlite3.Error:
        return {}


def identify(root: Path, registry: RegistryHandle, *, read_only: bool, create: bool | None,
             force: bool = False) -> identity.Probe:
    """Check the library root; create it when allowed; return the :class:`identity.Probe`.

    ``create``: None = implicit (only at an unknown path whose parent folder exists, or the platform
    default), True = explicit (``pumas init``, import, settings: parent folders are made too),
    False = never.  ``force`` (``pumas init --force``): forget a known location that is gone and
    create a new library there.

    Raises:
        LibraryOfflineError: the library should be there but is not.
        NoLibraryError: no library and ``create`` is False (or the open is read-only).
        LibraryUnavailableError: the root cannot be created or is not writable (``.path`` = the root).
    """
    writable = not read_only
    settings = registry_settings(registry, writable)
    p = identity.probe(root, settings)
    if p.state == "offline" and force and writable and create:
        for key, value in settings.items():
            if identity.known_roots({key: value}).keys() == {p.root}:
                registry.get().set_setting(key, None)  # the user says the old library there is gone
        p = identity.probe(root, {})
    if p.state == "unusable":
        raise LibraryUnavailableError(f"{p.root}: cannot use it as a library ({p.reason})", path=p.root)
    if p.state == "offline":
        raise LibraryOfflineError(p.root, p.reason)
    if p.state == "absent":
        if read_only:
            raise NoLibraryError(p.root)
        if p.parent_missing and create is not True and Path(p.root) != default_library_root().absolute():
            raise LibraryOfflineError(p.root, p.reason)
        if create is False:
            raise NoLibraryError(p.root)
        try:
            root.mkdir(parents=True, exist_ok=True)
            p.library_id = identity.write_marker(root)["library_id"]
        except OSError as exc:
            raise LibraryUnavailableError(f"{root}: cannot create the library ({exc.strerror or exc})",
                                          path=root) from None
        p.state = "created"
        return p
    if p.legacy and writable and os.access(root, os.W_OK):
        with contextlib.suppress(OSError):  # a library made before markers existed: give it its identity now
            p.library_id = identity.write_marker(root, p.library_id)["library_id"]
            p.legacy = False
    return p


def remember(root: Path, registry: RegistryHandle, p: identity.Probe, notes: list[str]) -> dict[str, Any] | None:
    """Record where this library was seen (only when that changed); after a move, re-point the links.

    Returns the relocation (``{"kind": "library", "old", "new", **relocate report}``) when the library
    had moved, else None.  Appends one line to ``notes`` per event; never raises: a busy or broken
    registry must not make the library unusable (the failure becomes a note).
    """
    if not p.library_id:
        return None
    relocation = None
    try:
        reg = registry.get()
        if p.moved_from:
            relocation = _follow_move(root, reg, p.moved_from, notes)
        key, value = identity.known_entry(str(root), p.library_id)
        old = identity.known_libraries({key: reg.get_setting(key) or "{}"}).get(p.library_id)
        if not old or os.path.normpath(old["root"]) != os.path.normpath(str(root)):
            reg.set_setting(key, value)
    except Exception as exc:  # any failure: a busy registry must not make the library unusable
        notes.append(f"could not record the library's location: {exc}")
    return relocation


def _follow_move(root: Path, reg: Registry, moved_from: str, notes: list[str]) -> dict[str, Any]:
    from .links.relocate import relocate

    r = relocate(reg, moved_from, str(root))
    notes.append(f"library moved from {moved_from}: {r['links_rebuilt']} links re-pointed"
                 + (f", {len(r['errors'])} could not be" if r["errors"] else ""))
    return {"kind": "library", "old": moved_from, "new": str(root), **r}


def _has_models(root: Path) -> bool:
    return next(iter(deepscan.iter_model_dirs(root)), None) is not None


def open_index(paths: Paths, read_only: bool, notes: list[str]) -> ModelIndex:
    """Open ``models.db``; rebuild it by Deep Scan when it is missing, corrupt or empty while model
    folders exist (one line appended to ``notes``).  Read-only opens never write: they rebuild in memory."""
    db, root = paths.db_path, paths.root
    existed = db.exists()
    if read_only:
        if existed:
            try:
                index = ModelIndex(db, root)
                if index.count() or not _has_models(root):
                    return index
                index.close()
                why = "is empty"
            except sqlite3.DatabaseError:
                why = "is corrupt"
        else:
            why = "is missing"
            if not _has_models(root):
                return ModelIndex(Path(":memory:"), root)
        index = ModelIndex(Path(":memory:"), root)
        r = deepscan.rebuild(root, index)
        notes.append(f"index {why}: {r['indexed']} models read from metadata.json for this command "
                     "(the next writable open rebuilds models.db)")
        return index
    try:
        index = ModelIndex(db, root)
        why = "was missing" if not existed else "was empty"
    except sqlite3.DatabaseError:
        broken = db.with_name(db.name + ".corrupt")  # the index is disposable: keep it aside, rebuild
        os.replace(db, broken)
        for ext in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(str(db) + ext)
        index = ModelIndex(db, root)
        why = f"was corrupt (kept as {broken.name})"
    if index.count() == 0 and _has_models(root):
        r = deepscan.rebuild(root, index)
        notes.append(f"index {why}: rebuilt from metadata.json ({r['indexed']} models)")
    return index


def check_available(root: Path, library_id: str | None) -> None:
    """Raise :class:`LibraryOfflineError` when the open library vanished (drive unplugged since open):
    its folder is gone, or (for a library with an id) its marker file is."""
    try:
        ok = os.path.isdir(root) and (not library_id or os.path.exists(os.path.join(root, identity.MARKER_NAME)))
    except OSError:
        ok = False
    if not ok:
        raise LibraryOfflineError(str(root), "the library is gone since it was opened")


def crash_leftovers(root: Path) -> bool:
    """True when ``<root>/.staging`` holds anything but the writer lock file and the root is writable
    (one ``scandir`` of a folder that is empty in normal use): a crashed process left work to recover."""
    from .library.store import LOCK_NAME

    try:
        with os.scandir(Path(root) / ".staging") as it:
            left = any(e.name != LOCK_NAME for e in it)
    except OSError:
        return False
    return left and os.access(root, os.W_OK)

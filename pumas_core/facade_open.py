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
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from .config import default_library_root
from .errors import LibraryOfflineError, LibraryUnavailableError, NoLibraryError
from .library import deepscan, identity
from .library.index import ModelIndex


def registry_settings(lib, writable: bool) -> dict[str, str]:
    """The registry's settings; a read-only open reads them without creating or changing anything."""
    if writable:
        return lib.registry.all_settings()
    path = lib.paths.registry_path
    if not path.exists():
        return {}
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as con:
            return dict(con.execute("SELECT key, value FROM settings").fetchall())
    except sqlite3.Error:
        return {}


def identify(lib, create: bool | None, force: bool = False) -> identity.Probe:
    """Check the library root; create it when allowed; return the :class:`identity.Probe`.

    ``create``: None = implicit (only at an unknown path whose parent folder exists, or the platform
    default), True = explicit (``pumas init``, import, settings: parent folders are made too),
    False = never.  ``force`` (``pumas init --force``): forget a known location that is gone and
    create a new library there.

    Raises:
        LibraryOfflineError: the library should be there but is not.
        NoLibraryError: no library and ``create`` is False (or the open is read-only).
        LibraryUnavailableError: the root cannot be created or is not writable.
    """
    writable = not lib.read_only
    settings = registry_settings(lib, writable)
    p = identity.probe(lib.root, settings)
    if p.state == "offline" and force and writable and create:
        for key, value in settings.items():
            if identity.known_roots({key: value}).keys() == {p.root}:
                lib.registry.set_setting(key, None)  # the user says the old library there is gone
        p = identity.probe(lib.root, {})
    if p.state == "unusable":
        raise LibraryUnavailableError(f"{p.root}: cannot use it as a library ({p.reason})")
    if p.state == "offline":
        raise LibraryOfflineError(p.root, p.reason)
    if p.state == "absent":
        if lib.read_only:
            raise NoLibraryError(p.root)
        if p.parent_missing and create is not True and Path(p.root) != default_library_root().absolute():
            raise LibraryOfflineError(p.root, p.reason)
        if create is False:
            raise NoLibraryError(p.root)
        try:
            lib.root.mkdir(parents=True, exist_ok=True)
            p.library_id = identity.write_marker(lib.root)["library_id"]
        except OSError as exc:
            raise LibraryUnavailableError(f"{lib.root}: cannot create the library ({exc.strerror or exc})") from None
        p.state = "created"
        return p
    if p.legacy and writable and os.access(lib.root, os.W_OK):
        try:  # a library made before markers existed: give it its identity now
            p.library_id = identity.write_marker(lib.root, p.library_id)["library_id"]
            p.legacy = False
        except OSError:
            pass
    return p


def remember(lib, p: identity.Probe) -> None:
    """Record where this library was seen (only when that changed); after a move, re-point the links."""
    if not p.library_id:
        return
    reg = lib.registry
    if p.moved_from:
        from .links.relocate import relocate

        r = relocate(reg, p.moved_from, str(lib.root))
        lib.relocation = {"kind": "library", "old": p.moved_from, "new": str(lib.root), **r}
        lib.recovery_notes.append(f"library moved from {p.moved_from}: {r['links_rebuilt']} links re-pointed"
                                  + (f", {len(r['errors'])} could not be" if r["errors"] else ""))
    key, value = identity.known_entry(str(lib.root), p.library_id)
    old = identity.known_libraries({key: reg.get_setting(key) or "{}"}).get(p.library_id)
    if not old or os.path.normpath(old["root"]) != os.path.normpath(str(lib.root)):
        reg.set_setting(key, value)


def _has_models(root: Path) -> bool:
    return next(iter(deepscan.iter_model_dirs(root)), None) is not None


def open_index(lib) -> ModelIndex:
    """Open ``models.db``; rebuild it by Deep Scan when it is missing, corrupt or empty while model
    folders exist (one recovery note).  Read-only opens never write: they rebuild in memory."""
    db, root = lib.paths.db_path, lib.root
    existed = db.exists()
    if lib.read_only:
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
                return ModelIndex(":memory:", root)
        index = ModelIndex(":memory:", root)
        r = deepscan.rebuild(root, index)
        lib.recovery_notes.append(f"index {why}: {r['indexed']} models read from metadata.json for this command "
                                  "(the next writable open rebuilds models.db)")
        return index
    try:
        index = ModelIndex(db, root)
        why = "was missing" if not existed else "was empty"
    except sqlite3.DatabaseError:
        broken = db.with_name(db.name + ".corrupt")  # the index is disposable: keep it aside, rebuild
        os.replace(db, broken)
        for ext in ("-wal", "-shm"):
            try:
                os.unlink(str(db) + ext)
            except OSError:
                pass
        index = ModelIndex(db, root)
        why = f"was corrupt (kept as {broken.name})"
        existed = False
    if index.count() == 0 and _has_models(root):
        r = deepscan.rebuild(root, index)
        lib.recovery_notes.append(f"index {why}: rebuilt from metadata.json ({r['indexed']} models)")
    return index


def check_available(lib) -> None:
    """Raise :class:`LibraryOfflineError` when the open library vanished (drive unplugged since open)."""
    root = str(lib.root)
    try:
        ok = os.path.isdir(root) and (not lib.library_id
                                      or os.path.exists(os.path.join(root, identity.MARKER_NAME)))
    except OSError:
        ok = False
    if not ok:
        raise LibraryOfflineError(root, "the library is gone since it was opened")

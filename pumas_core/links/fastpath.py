"""The boot-time no-op check: is a full sync needed at all?

Stamp (kept per app in ``registry.db`` by every successful full sync): the library index
``generation`` (an integer the caller bumps whenever the model set or a model's type/files change),
the mapping digest, and ``st_mtime_ns`` of ``models_dir`` and of every folder holding our links.
Adding or removing an entry in a folder changes its mtime (POSIX; NTFS likewise), so a user deleting
a link, a new folder key, or a new mapping all trigger a sync.  The check costs two SQLite reads,
one small file read and a handful of ``stat`` calls, independent of the number of models.
"""

from __future__ import annotations

import os
from typing import Iterable

from ..errors import PumasError
from .mapping import Mapping, load_mapping
from .registry import Registry
from .volumes import mount_point

LIBRARY_MOUNT_KEY = "library_mount:"


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def compute_stamp(app: dict, mapping: Mapping, link_dirs: Iterable[str]) -> dict:
    """``{"mapping": digest, "dirs": {abs dir: mtime_ns or None}}`` as seen right now."""
    dirs = {app["models_dir"], *link_dirs}
    return {"mapping": mapping.digest, "dirs": {d: _mtime(d) for d in sorted(dirs)}}


def needs_sync(registry: Registry, app: dict | str, generation: int, mapping: Mapping | None = None) -> bool:
    """True unless the last full sync of ``app`` saw this ``generation``, this mapping and the same folder mtimes.

    Never raises for file-system trouble: anything unexpected answers True (a sync will tell).
    """
    app_id = app if isinstance(app, str) else app["app_id"]
    gen, stamp = registry.get_stamp(app_id)
    if stamp is None or gen != generation:
        return True
    try:
        mapping = mapping or load_mapping(registry.state_dir, app if isinstance(app, dict) else registry.get_app(app))
    except PumasError:
        return True
    if stamp.get("mapping") != mapping.digest:
        return True
    for d, m in stamp.get("dirs", {}).items():
        if m is None or _mtime(d) != m:
            return True
    return False


def record_library_mount(registry: Registry, library_root: str) -> None:
    """Remember the mount point of the library root (health tells an unplugged drive from a deletion)."""
    key = LIBRARY_MOUNT_KEY + os.path.abspath(library_root)
    mp = mount_point(library_root)
    if registry.get_setting(key) != mp:
        registry.set_setting(key, mp)

"""The boot-time no-op check: is a full sync needed at all?

Stamp (kept per app in ``registry.db`` by every successful full sync): the library index
``generation`` (an integer the caller bumps whenever the model set or a model's type/files change),
the mapping digest, and ``st_mtime_ns`` of ``models_dir`` and of every folder holding our links.
Adding or removing an entry in a folder changes its mtime (POSIX; NTFS likewise), so a user deleting
a link, a new folder key, or a new mapping all trigger a sync.  The check costs two SQLite reads,
one small file read and a handful of ``stat`` calls, independent of the number of models.

The stamp is also keyed on the library: its real root path and its id (the marker file), so a
library that moved (``PUMAS_LIBRARY`` updated) or another library mounted at the same path never
passes for "nothing changed"; and a few of the links made (``probes``) must still resolve, so links
broken behind our back (a model folder moved by hand) are noticed too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

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


def _library_key(library_root: str | None) -> dict[str, Any]:
    if library_root is None:
        return {}
    from ..library.identity import read_marker

    marker = read_marker(library_root) or {}
    return {"library": os.path.realpath(library_root), "library_id": marker.get("library_id")}


def compute_stamp(app: dict[str, Any], mapping: Mapping, link_dirs: Iterable[str], *,
                  library_root: str | None = None,
                  probes: Iterable[str] = ()) -> dict[str, Any]:
    """``{"mapping": digest, "dirs": {abs dir: mtime_ns or None}, "library", "library_id", "probes": [link paths]}``
    as seen right now (``probes``: a few links that must still resolve at the next check)."""
    dirs = {app["models_dir"], *link_dirs}
    return {"mapping": mapping.digest, "dirs": {d: _mtime(d) for d in sorted(dirs)},
            **_library_key(library_root), "probes": [p for p in probes if os.path.exists(p)]}


def pick_probes(link_paths: list[str], n: int = 4) -> list[str]:
    """Up to ``n`` link paths spread over the list (first, last and between)."""
    if len(link_paths) <= n:
        return list(link_paths)
    step = (len(link_paths) - 1) / (n - 1)
    return [link_paths[round(i * step)] for i in range(n)]


def needs_sync(registry: Registry, app: dict[str, Any] | str, generation: int, mapping: Mapping | None = None, *,
               library_root: str | None = None) -> bool:
    """True unless the last full sync of ``app`` saw this ``generation``, this mapping, the same folder
    mtimes and this library (root and id), and its probe links still resolve.

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
    if library_root is not None and any(stamp.get(k) != v for k, v in _library_key(library_root).items()):
        return True
    if not all(os.path.exists(p) for p in stamp.get("probes") or ()):
        return True
    return any(m is None or _mtime(d) != m for d, m in stamp.get("dirs", {}).items())


def record_library_mount(registry: Registry, library_root: str) -> None:
    """Remember the mount point of the library root (health tells an unplugged drive from a deletion)."""
    key = LIBRARY_MOUNT_KEY + os.path.abspath(library_root)
    mp = mount_point(library_root)
    if registry.get_setting(key) != mp:
        registry.set_setting(key, mp)

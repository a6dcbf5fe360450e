"""Library identity and availability: is the library at a path really there?

A library has an identity: the marker file ``<root>/.pumas-library.json``
(``{"library_id": uuid4 hex string, "created": ISO-8601 UTC}``), written when the library is created
(``pumas init``, the first import, an explicit setting) and, for libraries made before markers
existed, on the first writable open of a root that already holds ``models.db`` or model folders.

The state dir remembers where each library was last seen (``registry.db`` settings, key
``library:<library_id>`` → ``{"root", "mount", "seen"}`` JSON; older registries only hold
``library_mount:<root>`` keys, which count as known locations too).  With both, :func:`probe` tells:

* ``present``: the marker (or a pre-marker library) is at the root;
* ``absent``: nothing there and nothing known about the path: a library may be created;
* ``offline``: the path is a *known* library location but the library is not there (unplugged
  drive, empty mount point, unreachable share), or the root's parent folder is missing.  Nothing
  about an offline library may be changed: no creation, no sync, no health clean-up.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text, read_json_object

MARKER_NAME = ".pumas-library.json"
KNOWN_PREFIX = "library:"
LEGACY_MOUNT_PREFIX = "library_mount:"
SKIP = {".staging", ".trash", ".git", "__pycache__"}
#: model folders sit at ``<root>/<category>/<family>/<name>/``; look a little deeper for odd layouts
SCAN_DEPTH = 5


@dataclass
class Probe:
    """What :func:`probe` found at a library root.

    ``state``: ``"present"`` | ``"absent"`` | ``"offline"`` | ``"unusable"`` (a file is in the way);
    ``library_id``: from the marker (or the state dir's memory for a pre-marker library), else None;
    ``legacy``: a library without marker; ``reason``: why it is offline (one short phrase);
    ``moved_from``: the root this library id was last seen at, when that differs from the probed root
    and no longer holds it; ``parent_missing``: absent *and* its parent folder is missing (an
    unmounted drive, unless the user asks to create it).
    """

    state: str
    root: str
    library_id: str | None = None
    legacy: bool = False
    reason: str = ""
    moved_from: str | None = None
    parent_missing: bool = False


def now_iso() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_marker(root: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The marker's content (``{"library_id", "created"}``), or None when there is no usable marker."""
    data = read_json_object(Path(root) / MARKER_NAME)
    return data if isinstance(data.get("library_id"), str) and data["library_id"] else None


def write_marker(root: str | os.PathLike[str], library_id: str | None = None) -> dict[str, str]:
    """Write the marker atomically (a new uuid4 unless ``library_id`` is given); returns its content
    ``{"library_id", "created"}``.

    The file gets ``0666 & ~umask`` so a library shared on a NAS stays readable by other users.

    Raises:
        WriteFailedError: the root is not writable (an ``OSError``; ``path`` names the marker).
        FileMissingError: the root does not exist (a ``FileNotFoundError``).
        OSError: ENOSPC/EDQUOT/EFBIG, the disk is full.
    """
    data = {"library_id": library_id or uuid.uuid4().hex, "created": now_iso()}
    path = Path(root) / MARKER_NAME
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")  # mode 0666 & ~umask (atomic.file_mode)
    return data


def holds_models(root: str | os.PathLike[str]) -> bool:
    """True when ``root`` holds ``models.db`` or at least one model folder (``metadata.json``)."""
    top = os.fspath(root)
    if os.path.exists(os.path.join(top, "models.db")):
        return True
    stack = [(top, 0)]
    while stack:
        d, depth = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError:
            continue
        for e in entries:
            if e.name == "metadata.json" and depth > 0 and e.is_file(follow_symlinks=False):
                return True
        if depth < SCAN_DEPTH:
            stack.extend((e.path, depth + 1) for e in entries
                         if e.name not in SKIP and e.is_dir(follow_symlinks=False))
    return False


def known_libraries(settings: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``{library_id: {"root", "mount", "seen"}}`` from the registry's settings."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in settings.items():
        if key.startswith(KNOWN_PREFIX):
            try:
                info = json.loads(value)
            except json.JSONDecodeError:
                continue
            if isinstance(info, dict) and isinstance(info.get("root"), str):
                out[key[len(KNOWN_PREFIX):]] = info
    return out


def known_roots(settings: dict[str, str]) -> dict[str, str | None]:
    """``{abs root: library_id or None}`` of every library location the state dir has seen."""
    roots: dict[str, str | None] = {}
    for key in settings:
        if key.startswith(LEGACY_MOUNT_PREFIX):
            roots.setdefault(os.path.normpath(key[len(LEGACY_MOUNT_PREFIX):]), None)
    for lid, info in known_libraries(settings).items():
        roots[os.path.normpath(info["root"])] = lid
    return roots


def _reachable(path: str) -> tuple[bool, str]:
    """(exists as a folder, reason when not) without raising (EIO/ENOTCONN of a dead share count)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False, "missing"
    except OSError as exc:
        return False, f"unreachable: {exc.strerror or exc}"
    return os.path.isdir(path), "not a folder"


def probe(root: str | os.PathLike[str], settings: dict[str, str] | None = None) -> Probe:
    """Decide whether the library at ``root`` is present, absent or offline (changes nothing).

    ``settings``: the registry's settings (``{}`` when the state dir has no registry yet).
    """
    return _probe(os.path.normpath(os.path.abspath(os.fspath(root))), settings or {})


def _probe(root: str, settings: dict[str, str]) -> Probe:
    roots = known_roots(settings)
    known_id = roots.get(root)
    is_known = root in roots
    ok, why = _reachable(root)
    if not ok:
        if why.startswith("unreachable"):
            return Probe("offline", root, known_id, reason=why)
        if why == "not a folder":
            return Probe("unusable", root, known_id, reason="the library path is a file, not a folder")
        parent = os.path.dirname(root)
        if is_known:
            return Probe("offline", root, known_id, reason="the library folder is missing")
        pok, pwhy = _reachable(parent)
        if not pok and pwhy == "not a folder":
            return Probe("unusable", root, None, reason=f"{parent} is a file, not a folder")
        if not pok:  # absent, but only an explicit creation may make the parents (see parent_missing)
            return Probe("absent", root, None, reason=f"its parent folder {parent} is {pwhy}", parent_missing=True)
        return Probe("absent", root)
    marker = read_marker(root)
    if marker:
        lid = marker["library_id"]
        p = Probe("present", root, lid)
        info = known_libraries(settings).get(lid)
        if info and os.path.normpath(info["root"]) != root:
            old = os.path.normpath(info["root"])
            old_marker = read_marker(old) if os.path.isdir(old) else None
            if not old_marker or old_marker.get("library_id") != lid:
                p.moved_from = old
        return p
    if holds_models(root):
        return Probe("present", root, known_id, legacy=True)
    if is_known:
        return Probe("offline", root, known_id, reason="a known library location is empty (empty mount point?)")
    return Probe("absent", root)


def known_entry(root: str, library_id: str) -> tuple[str, str]:
    """The registry setting ``(key, value)`` that remembers ``library_id`` at ``root``."""
    from ..links.volumes import mount_point

    return KNOWN_PREFIX + library_id, json.dumps({"root": os.path.normpath(root), "mount": mount_point(root),
                                                   "seen": now_iso()}, sort_keys=True)

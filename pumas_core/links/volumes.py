"""Mount points: tell an unplugged drive (offline volume) from a deleted folder (ghost)."""

from __future__ import annotations

import os


def mount_point(path: str) -> str:
    """The mount point holding ``path`` (nearest existing ancestor that :func:`os.path.ismount`)."""
    p = os.path.abspath(path)
    while not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            return p
        p = parent
    while not os.path.ismount(p):
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return p


def is_offline(path: str, recorded_mount: str | None) -> bool:
    """True when ``path`` is missing because its volume is gone.

    ``recorded_mount`` is the mount point seen when the path was registered.  The volume counts as
    offline when the path does not exist, the recorded mount is not the file-system root, and that
    mount point is no longer mounted (missing, or now a plain directory).
    """
    if os.path.exists(path) or not recorded_mount:
        return False
    rm = os.path.abspath(recorded_mount)
    if os.path.dirname(rm) == rm:  # "/" or "C:\\" is always there
        return False
    return not os.path.ismount(rm)

"""File-system pre-flight before a sync writes anything: read-only mounts, permissions, sandboxes.

``seeds/01-performance-and-integrity.md`` (Filesystem Pre-Flight Validation, Sandbox Detection): a sync
into a folder it cannot write must say so once, before touching anything, instead of failing link by
link; and when Pumas itself runs inside Flatpak, Snap or a container, the links it makes point to
paths as this sandbox sees them — the user must bind-mount the library at the same path wherever
ComfyUI runs, or every link dangles there.
"""

from __future__ import annotations

import os
from typing import Mapping

ST_RDONLY: int = getattr(os, "ST_RDONLY", 1)  # statvfs flag (absent on Windows, where statvfs is too)


def sandbox(environ: Mapping[str, str] | None = None, root: str = "/") -> str | None:
    """``"flatpak"`` | ``"snap"`` | ``"docker"`` | ``"podman"`` when running inside one, else None."""
    env = os.environ if environ is None else environ
    if env.get("FLATPAK_ID") or os.path.exists(os.path.join(root, ".flatpak-info")):
        return "flatpak"
    if env.get("SNAP") and env.get("SNAP_NAME"):
        return "snap"
    if os.path.exists(os.path.join(root, ".dockerenv")):
        return "docker"
    if os.path.exists(os.path.join(root, "run", ".containerenv")):
        return "podman"
    return None


def sandbox_warning(kind: str | None, library_root: str | None) -> str | None:
    """What the user must bind-mount, in one line (None outside a sandbox)."""
    if not kind or not library_root:
        return None
    how = {"flatpak": f"flatpak override --filesystem={library_root}",
           "snap": "snap connect <snap>:removable-media (or keep the library under $HOME)",
           "docker": f"docker run -v {library_root}:{library_root} ...",
           "podman": f"podman run -v {library_root}:{library_root} ..."}[kind]
    return (f"Pumas runs inside {kind}: links point to {library_root} as this sandbox sees it; "
            f"mount the library at that same path wherever ComfyUI runs ({how})")


def check_writable(folder: str) -> str | None:
    """None when links can be made in ``folder``; otherwise one line saying why not (read-only mount,
    no permission)."""
    try:
        st = os.statvfs(folder) if hasattr(os, "statvfs") else None
    except OSError as exc:
        return f"{folder}: cannot inspect ({exc.strerror})"
    if st is not None and st.f_flag & ST_RDONLY:
        return f"{folder}: the file system is mounted read-only; no link can be made here (remount it read-write)"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder}: no permission to create links here (owner uid {os.stat(folder).st_uid}); fix its permissions"
    return None

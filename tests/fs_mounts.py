"""Real file systems on loop files for the link-strategy tests (root only, as in CI).

``mounts`` fixture: ``mounts("xfs-reflink" | "vfat" | "tmpfs", name, opts="")`` makes the file
system and mounts it under ``tmp_path/name``, or skips the test saying exactly what is missing (not root,
the mkfs tool, the kernel driver, FUSE).  Everything is unmounted at the end.  vfat is mounted with the
kernel driver when it has one, else through FUSE (Debian ``fusefat``).  ``.ci/run`` installs
``xfsprogs``, ``dosfstools`` and ``fusefat``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = os.name == "posix" and hasattr(os, "geteuid") and os.geteuid() == 0


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (Debian package {package})")


def _image(tmp_path: Path, name: str, mb: int) -> Path:
    img = tmp_path / f"{name}.img"
    with open(img, "wb") as f:
        f.truncate(mb << 20)
    return img


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    made: list[Path] = []

    def do(kind: str, name: str, opts: str = "") -> Path:
        if not ROOT:
            pytest.skip("needs root to make and mount file systems (CI runs as root)")
        d = tmp_path / name
        d.mkdir()
        extra = ["-o", opts] if opts else []
        if kind == "tmpfs":
            r = _run(["mount", "-t", "tmpfs", "-o", ",".join(filter(None, ["size=16m", opts])), "tmpfs", str(d)])
        elif kind == "xfs-reflink":
            _need("mkfs.xfs", "xfsprogs")
            img = _image(tmp_path, name, 320)
            r = _run(["mkfs.xfs", "-q", "-m", "reflink=1", str(img)])
            if r.returncode == 0:
                r = _run(["mount", "-o", ",".join(filter(None, ["loop", opts])), str(img), str(d)])
        elif kind == "vfat":
            _need("mkfs.vfat", "dosfstools")
            img = _image(tmp_path, name, 64)
            r = _run(["mkfs.vfat", str(img)])
            if r.returncode == 0:
                r = _run(["mount", "-t", "vfat", "-o", "loop", str(img), str(d)])
                if r.returncode != 0:  # no vfat in this kernel: the FUSE driver
                    if shutil.which("fusefat") is None or not os.path.exists("/dev/fuse"):
                        pytest.skip(f"kernel has no vfat ({r.stderr.strip()}) and fusefat or /dev/fuse is missing")
                    r = _run(["fusefat", "-o", "rw+", *extra, str(img), str(d)])
        else:
            raise ValueError(kind)
        if r.returncode != 0:
            pytest.skip(f"cannot make/mount {kind}: {(r.stderr or r.stdout).strip()}")
        made.append(d)
        return d

    yield do
    for d in reversed(made):
        if _run(["umount", str(d)]).returncode != 0:
            _run(["umount", "-l", str(d)])


def comfy(base: Path) -> Path:
    """A minimal ComfyUI tree at ``base`` (models/checkpoints, loras, diffusers; version 0.3.64)."""
    for key in ("checkpoints", "loras", "diffusers"):
        (base / "models" / key).mkdir(parents=True)
    (base / "comfyui_version.py").write_text('__version__ = "0.3.64"\n')
    return base

"""File moves for adoption and undo: atomic link swaps, verified copies, crash leftovers."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import blake3 as _blake3

from ..atomic import discard, fsync_dir
from ..errors import CorruptFileError
from ..links.fsops import replace_link
from ..vocab import Stage

TMP_PREFIX = ".pumas-adopt-"

#: A progress callback: receives one event dict (``{"stage", "file"?, "bytes_done"?, "bytes_total"?, ...}``).
Progress = Callable[[dict[str, Any]], None]


def blake3_of(path: str, progress: Progress | None = None) -> str:
    """BLAKE3 hex of a file (memory-mapped): the identity check for verifying and
    restoring.  ``progress`` gets one ``{"stage": "verifying", "bytes_done", "bytes_total"}`` at the end.

    Raises:
        OSError: the file cannot be read.
    """
    h = _blake3.blake3()  # single-threaded: a rayon pool does not survive fork()
    size = os.path.getsize(path)
    if size:
        h.update_mmap(path)
    if progress:
        progress({"stage": Stage.VERIFYING, "bytes_done": size, "bytes_total": size})
    return str(h.hexdigest())


def swap_in_link(path: str, target: str) -> None:
    """Atomically replace whatever is at ``path`` (a verified duplicate, or nothing) by a link to
    ``target`` made by the one link layer (:func:`pumas_core.links.fsops.replace_link`: a link under a
    hidden ``.pumas-adopt-*`` temp name in the same folder, then ``os.replace``)."""
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    replace_link(path, target, False, tmp_prefix=TMP_PREFIX)
    fsync_dir(Path(d))


def copy_verified(src: str, dst: str, blake3: str, progress: Progress | None = None) -> None:
    """Copy ``src`` to a temp file next to ``dst``, fsync, check its BLAKE3, then ``os.replace`` onto
    ``dst`` (which may be a link).

    Raises:
        OSError: reading or writing failed.
        CorruptFileError: the copy's BLAKE3 differs from ``blake3`` (a ``ValueError``; ``path`` is ``dst``).
    """
    d = os.path.dirname(dst)
    tmp = os.path.join(d, f"{TMP_PREFIX}{secrets.token_hex(6)}")
    try:
        with open(src, "rb") as fi, open(tmp, "wb") as fo:
            shutil.copyfileobj(fi, fo, 4 << 20)
            fo.flush()
            os.fsync(fo.fileno())
        shutil.copystat(src, tmp)
        got = blake3_of(tmp, progress)
        if got != blake3:
            raise CorruptFileError(f"{dst}: restored copy has BLAKE3 {got[:12]}…, expected {blake3[:12]}…", path=dst)
        os.replace(tmp, dst)
        fsync_dir(Path(d))
    except BaseException:
        discard(tmp)
        raise


def move_back(src: str, dst: str, blake3: str, progress: Progress | None = None) -> None:
    """Put the library file ``src`` back at ``dst`` (nothing or our link there): rename on the same
    file system, else a verified copy then removal of ``src``.  Raises as :func:`copy_verified`."""
    try:
        same_fs = os.stat(src).st_dev == os.stat(os.path.dirname(dst)).st_dev
    except OSError:
        same_fs = False
    if same_fs:
        os.replace(src, dst)
        fsync_dir(Path(os.path.dirname(dst)))
    else:
        copy_verified(src, dst, blake3, progress)
        os.unlink(src)


def clean_leftovers(dirs: Iterable[str]) -> int:
    """Remove our hidden temp entries (``.pumas-adopt-*``) left by a crash in these folders."""
    n = 0
    for d in set(dirs):
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.name.startswith(TMP_PREFIX):
                try:
                    os.unlink(e.path)
                    n += 1
                except OSError:
                    pass
    return n

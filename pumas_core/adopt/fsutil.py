"""File moves for adoption and undo: atomic link swaps, verified copies, crash leftovers."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import blake3 as _blake3

from ..atomic import discard, fsync_dir
from ..links.fsops import replace_link

TMP_PREFIX = ".pumas-adopt-"


def blake3_of(path: str, progress=None) -> str:
    """BLAKE3 hex of a file (memory-mapped): the identity check for verifying and
    restoring.  ``progress`` gets one ``{"stage": "verifying", "bytes_done", "bytes_total"}`` at the end."""
    h = _blake3.blake3()  # single-threaded: a rayon pool does not survive fork()
    size = os.path.getsize(path)
    if size:
        h.update_mmap(path)
    if progress:
        progress({"stage": "verifying", "bytes_done": size, "bytes_total": size})
    return h.hexdigest()


def same_file(path: str, target: str) -> bool:
    """True when ``path`` resolves to ``target`` (our link, or the file itself)."""
    try:
        return os.path.samefile(path, target)
    except OSError:
        return False


def swap_in_link(path: str, target: str) -> None:
    """Atomically replace whatever is at ``path`` (a verified duplicate, or nothing) by a link to
    ``target`` made by the one link layer (:func:`pumas_core.links.fsops.replace_link`: a link under a
    hidden ``.pumas-adopt-*`` temp name in the same folder, then ``os.replace``)."""
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    replace_link(path, target, False, tmp_prefix=TMP_PREFIX)
    fsync_dir(Path(d))


def copy_verified(src: str, dst: str, blake3: str, progress=None) -> None:
    """Copy ``src`` to a temp file next to ``dst``, fsync, check its BLAKE3, then ``os.replace`` onto
    ``dst`` (which may be a link).  Raises OSError, or ValueError when the copy's hash differs."""
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
            raise ValueError(f"{dst}: restored copy has BLAKE3 {got[:12]}…, expected {blake3[:12]}…")
        os.replace(tmp, dst)
        fsync_dir(Path(d))
    except BaseException:
        discard(tmp)
        raise


def move_back(src: str, dst: str, blake3: str, progress=None) -> None:
    """Put the library file ``src`` back at ``dst`` (nothing or our link there): rename on the same
    file system, else a verified copy then removal of ``src``."""
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


def clean_leftovers(dirs) -> int:
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

"""The one platform layer that makes links: which strategy a target folder allows, and making it.

Strategies, in order of preference (``seeds/01-performance-and-integrity.md``, Cross-Filesystem
Detection):

- ``relative`` symlink when the link's folder and the library file are on the same file system
  (moving the folder that holds both keeps every link valid: the "Move Test");
- ``absolute`` symlink across file systems, with a warning (unplugging the drive breaks it);
- ``hardlink`` when the target folder refuses symlinks (a canary symlink is made and followed once per
  folder: NTFS through ntfs-3g/lowntfs-3g, exFAT/FAT, SMB mounts, ``nosymfollow`` mounts) and the
  library is on the same file system; hard links are only possible within one file system, and
  never for folders (Diffusion Folders need symlinks).

Where none works the caller gets an :class:`OSError` it reports; no copy is ever made.
No other module calls :func:`os.symlink` or :func:`os.link` for model links.
"""

from __future__ import annotations

import errno
import os
import secrets

STRATEGIES = ("relative", "absolute", "hardlink")
_SYMLINK_OK: dict[tuple[int, str], bool] = {}


def _dev(path: str) -> int | None:
    """``st_dev`` of ``path`` or of its nearest existing ancestor."""
    p = os.path.abspath(path)
    while True:
        try:
            return os.stat(p).st_dev
        except OSError:
            parent = os.path.dirname(p)
            if parent == p:
                return None
            p = parent


def same_file_system(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` (or their nearest existing ancestors) are on one device."""
    da, db = _dev(a), _dev(b)
    return da is not None and da == db


def symlinks_work(folder: str) -> bool:
    """Make a canary symlink in ``folder``, follow it, remove it (cached per folder for this process).

    False when the file system refuses symlinks or does not follow them; True when the canary
    could not even be written for another reason (the real link creation will then report why).
    """
    key = (_dev(folder) or -1, os.path.abspath(folder))
    if key in _SYMLINK_OK:
        return _SYMLINK_OK[key]
    canary = os.path.join(folder, f".pumas-canary-{secrets.token_hex(4)}")
    ok = True
    try:
        os.symlink(".", canary, target_is_directory=True)
        try:
            ok = os.path.isdir(os.path.join(canary, "."))
        finally:
            os.unlink(canary)
    except OSError as exc:
        ok = exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.ELOOP,
                               errno.EACCES) and getattr(exc, "winerror", None) != 1314
    _SYMLINK_OK[key] = ok
    return ok


def choose(link_path: str, target: str, is_dir: bool) -> tuple[str, str | None]:
    """``(strategy, warning or None)`` for a link at ``link_path`` to ``target``.

    Raises:
        OSError(EPERM): the folder refuses symlinks and a hard link is impossible (a folder, or
            another file system).
    """
    folder = os.path.dirname(link_path)
    same = same_file_system(folder, target)
    if symlinks_work(folder):
        if same:
            return "relative", None
        return "absolute", (f"{folder}: the library is on another file system; absolute links are used "
                            f"(unplugging that drive breaks them until it is back)")
    if is_dir or not same:
        why = "a folder cannot be hard-linked" if is_dir else "hard links need the library on the same file system"
        raise OSError(errno.EPERM, f"symlinks are not allowed in {folder} and {why}")
    return "hardlink", f"{folder}: symlinks are not allowed here; hard links are used"


def link_text(strategy: str, link_path: str, target: str) -> str:
    """What a symlink of ``strategy`` contains: ``os.path.relpath`` from the link's folder, or ``target``."""
    return os.path.relpath(target, os.path.dirname(link_path)) if strategy == "relative" else os.path.abspath(target)


def make(link_path: str, target: str, is_dir: bool, strategy: str) -> None:
    """Create a new link of ``strategy`` at ``link_path``; never replaces anything (EEXIST)."""
    if strategy == "hardlink":
        os.link(target, link_path)
    else:
        os.symlink(link_text(strategy, link_path, target), link_path, target_is_directory=is_dir)


def same_file(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` (symlinks followed) are the same inode; False when either is missing."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def is_hardlink_of(path: str, target: str) -> bool:
    """True when ``path`` is a regular file that is the same inode as ``target`` (proof the content stays)."""
    return not os.path.islink(path) and same_file(path, target)

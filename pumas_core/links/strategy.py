"""The one platform layer that makes links: which strategy a target folder allows, and making it.

Strategies, in order of preference (``seeds/01-performance-and-integrity.md``, Cross-Filesystem
Detection):

- ``relative`` symlink when the link's folder and the library file are on the same file system
  (moving the folder that holds both keeps every link valid: the "Move Test");
- ``absolute`` symlink across file systems, with a warning (unplugging the drive breaks it);
- ``hardlink`` when the target folder refuses symlinks (a canary symlink is made and followed once per
  folder: SMB mounts, NTFS drivers set up without symlink support, ``nosymfollow`` mounts) and the
  library is on the same file system; hard links are only possible within one file system, and
  never for folders (Diffusion Folders need symlinks);
- ``clone``: a copy-on-write clone (Linux ``FICLONE`` ioctl; btrfs, XFS with reflink, bcachefs…) when
  the folder refuses symlinks *and* hard links (a canary hard link tells) but clones work there
  (a canary clone tells).  A clone is a complete file of its own that shares its blocks with the
  library file: it survives the library file's deletion, costs no space until one side is rewritten,
  and like a hard link needs the same file system.  Being a file of its own, a clone is only taken
  for ours with proof (:mod:`.cloneproof`: FIEMAP shared extents, else the same bytes).

The user can ask for clones first with ``"link_strategy": "clone"`` in ``<state>/config.json``
(:data:`PREFERENCES`); where a clone is impossible the usual chain applies, with a warning saying why.
Where nothing works (FAT and exFAT have neither symlinks nor hard links nor clones) the caller gets a
:class:`~pumas_core.errors.WriteFailedError` that says what the file system refused; no plain copy is
ever made.  No other module calls :func:`os.symlink`, :func:`os.link` or ``FICLONE`` for model links.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import sys
from enum import Enum
from pathlib import Path

from ..errors import WriteFailedError
from . import cloneproof


class LinkStrategy(str, Enum):
    """How one link is made (the registry's ``links.strategy`` column); members equal their text."""

    RELATIVE = "relative"
    ABSOLUTE = "absolute"
    HARDLINK = "hardlink"
    CLONE = "clone"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


STRATEGIES = tuple(LinkStrategy)
PREFER_AUTO = "auto"
PREFER_CLONE = "clone"
PREFERENCES = (PREFER_AUTO, PREFER_CLONE)
FICLONE = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h
_REFUSED = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.ELOOP, errno.EACCES)
_SYMLINK_OK: dict[tuple[int, str], bool] = {}
_HARDLINK_OK: dict[tuple[int, str], bool] = {}
_CLONE_ERR: dict[tuple[int, str], str | None] = {}


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


def _key(folder: str) -> tuple[int, str]:
    return (_dev(folder) or -1, os.path.abspath(folder))


def _canary(folder: str) -> str:
    return os.path.join(folder, f".pumas-canary-{secrets.token_hex(4)}")


def _refused(exc: OSError) -> bool:
    """True when ``exc`` says the file system (not a missing folder) refuses the operation."""
    return exc.errno in _REFUSED or getattr(exc, "winerror", None) == 1314


def same_file_system(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` (or their nearest existing ancestors) are on one device."""
    da, db = _dev(a), _dev(b)
    return da is not None and da == db


def symlinks_work(folder: str) -> bool:
    """Make a canary symlink in ``folder``, follow it, remove it (cached per folder for this process).

    False when the file system refuses symlinks or does not follow them; True when the canary
    could not even be written for another reason (the real link creation will then report why).
    """
    key = _key(folder)
    if key in _SYMLINK_OK:
        return _SYMLINK_OK[key]
    canary = _canary(folder)
    ok = True
    try:
        os.symlink(".", canary, target_is_directory=True)
        try:
            ok = os.path.isdir(os.path.join(canary, "."))
        finally:
            os.unlink(canary)
    except OSError as exc:
        ok = not _refused(exc)
    _SYMLINK_OK[key] = ok
    return ok


def hardlinks_work(folder: str) -> bool:
    """Hard-link a canary file inside ``folder`` once (cached per folder); False when refused (FAT, some FUSE).

    True when the canary could not be written for another reason (the real link then reports why).
    """
    key = _key(folder)
    if key in _HARDLINK_OK:
        return _HARDLINK_OK[key]
    a, b = _canary(folder), _canary(folder)
    ok = True
    try:
        with open(a, "xb"):
            pass
        try:
            os.link(a, b)
            os.unlink(b)
        except OSError as exc:
            ok = not _refused(exc)
        finally:
            os.unlink(a)
    except OSError:
        pass  # the canary itself cannot be written: the real link creation says why
    _HARDLINK_OK[key] = ok
    return ok


def clone_file(src: str, dst: str) -> None:
    """Make ``dst`` (must not exist) a copy-on-write clone of ``src`` with its mode and times.

    Raises:
        OSError: ``EOPNOTSUPP``/``ENOTTY``/``EINVAL`` where the file system cannot clone, ``EXDEV``
            across file systems, ``FileExistsError`` when ``dst`` exists; a half-made ``dst`` is removed.
    """
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOTSUP, "copy-on-write clones are only made on Linux (FICLONE)")
    st = os.stat(src)
    sfd = os.open(src, os.O_RDONLY)
    try:
        dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, st.st_mode & 0o777)
        try:
            fcntl.ioctl(dfd, FICLONE, sfd)
            os.fsync(dfd)
        except BaseException:
            os.close(dfd)
            os.unlink(dst)
            raise
        os.close(dfd)
    finally:
        os.close(sfd)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def clone_error(folder: str) -> str | None:
    """None when copy-on-write clones work inside ``folder`` (a canary clone, cached per folder),
    else why not (one phrase, e.g. ``"Operation not supported"``)."""
    key = _key(folder)
    if key in _CLONE_ERR:
        return _CLONE_ERR[key]
    a, b = _canary(folder), _canary(folder)
    err: str | None = None
    try:
        with open(a, "xb") as f:
            f.write(b"pumas")
        try:
            clone_file(a, b)
            os.unlink(b)
        except OSError as exc:
            err = exc.strerror or str(exc)
        finally:
            os.unlink(a)
    except OSError as exc:
        err = exc.strerror or str(exc)
    _CLONE_ERR[key] = err
    return err


def _clone_first(folder: str, same: bool) -> str | None:
    """None when a file clone can be made in ``folder``; else why not (for the fallback warning)."""
    if not same:
        return "a clone needs the library on the same file system"
    why = clone_error(folder)
    return None if why is None else f"this file system cannot make copy-on-write clones ({why})"


def choose(link_path: str, target: str, is_dir: bool, prefer: str = PREFER_AUTO) -> tuple[LinkStrategy, str | None]:
    """``(strategy, warning or None)`` for a link at ``link_path`` to ``target`` (see the module docstring).

    ``prefer``: ``"auto"`` (symlinks, then hard links, then clones) or ``"clone"`` (clones first).

    Raises:
        WriteFailedError: the folder refuses symlinks and neither a hard link nor a clone can stand in
            (a folder, another file system, or a file system that refuses both); ``.path`` is the folder.
    """
    folder = os.path.dirname(link_path)
    same = same_file_system(folder, target)
    note = None
    if prefer == PREFER_CLONE and not is_dir:  # folders (Diffusion Folders) are never cloned: the chain, quietly
        why = _clone_first(folder, same)
        if why is None:
            return LinkStrategy.CLONE, None
        note = f"{folder}: link_strategy 'clone' (config.json) is not possible here: {why}"
    if symlinks_work(folder):
        if same:
            return LinkStrategy.RELATIVE, note and f"{note}; relative symlinks are used"
        warn = (f"{folder}: the library is on another file system; absolute links are used "
                f"(unplugging that drive breaks them until it is back)")
        return LinkStrategy.ABSOLUTE, f"{note}; {warn}" if note else warn
    if is_dir or not same:
        why = ("a folder cannot be hard-linked or cloned" if is_dir
               else "hard links and clones need the library on the same file system")
        raise WriteFailedError(f"{folder}: this file system or account does not allow symlinks here, and {why}; "
                               f"no copy was made", path=folder)
    if hardlinks_work(folder):
        warn = f"{folder}: symlinks are not allowed here; hard links are used"
        return LinkStrategy.HARDLINK, f"{note}; {warn}" if note else warn
    why = clone_error(folder)
    if why is None:
        return LinkStrategy.CLONE, (f"{folder}: neither symlinks nor hard links are allowed here; copy-on-write "
                                    f"clones are used (full files sharing their blocks with the library)")
    raise WriteFailedError(f"{folder}: this file system does not allow symlinks, hard links or copy-on-write clones "
                           f"({why}; FAT/exFAT cannot link at all); no copy was made: keep ComfyUI's models folder "
                           f"on a file system that supports links", path=folder)


def link_text(strategy: str, link_path: str, target: str) -> str:
    """What a symlink of ``strategy`` contains: ``os.path.relpath`` from the link's folder, or ``target``."""
    if strategy == LinkStrategy.RELATIVE:
        return os.path.relpath(target, os.path.dirname(link_path))
    return os.path.abspath(target)


def make(link_path: str, target: str, is_dir: bool, strategy: str) -> None:
    """Create a new link of ``strategy`` at ``link_path``; never replaces anything (EEXIST). Raises OSError."""
    if strategy == LinkStrategy.HARDLINK:
        os.link(target, link_path)
    elif strategy == LinkStrategy.CLONE:
        clone_file(target, link_path)
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


def is_clone_of(path: str, target: str, *, thorough: bool = True) -> bool:
    """True when ``path`` is a regular file holding ``target``'s bytes: our clone of it.

    ``thorough`` (the default, for every destructive decision): proven by FIEMAP (the same physical
    extents) or else by comparing the bytes — removing the clone then loses nothing.
    ``thorough=False`` (routine health): size, and FIEMAP where it can tell.  See
    :func:`.cloneproof.is_clone_of` (the kernel's ``linux/fiemap.h`` layout).  False when either is missing.
    """
    return cloneproof.is_clone_of(path, target, thorough=thorough)


def preference(state_dir: str | os.PathLike[str]) -> tuple[str, str | None]:
    """``(prefer, warning or None)``: the ``link_strategy`` of ``<state_dir>/config.json``
    (:data:`PREFERENCES`; missing → ``"auto"``; an unknown value → ``"auto"`` and a warning naming it)."""
    from ..config import CONFIG_NAME, load_config

    value = load_config(Path(state_dir)).get("link_strategy", PREFER_AUTO)
    if value in PREFERENCES:
        return str(value), None
    return PREFER_AUTO, (f"{Path(state_dir) / CONFIG_NAME}: link_strategy {value!r} is not one of "
                         f"{', '.join(PREFERENCES)}; 'auto' is used")

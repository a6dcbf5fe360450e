"""Small file-system operations for links: relative targets, atomic creation, safe backups."""

from __future__ import annotations

import errno
import os
import secrets

from ..atomic import discard
from ..errors import ConflictError
from . import strategy as strategies

BACKUP_SUFFIX = ".pumas-backup"


def rel_target(link_path: str, target: str) -> str:
    """The relative symlink text that makes ``link_path`` point at ``target`` (``os.path.relpath``)."""
    return os.path.relpath(target, os.path.dirname(link_path))


def points_to_target(link_path: str, target: str) -> bool:
    """True when ``link_path`` is our link to ``target``: a symlink whose text leads there
    (relative or absolute), or a hard link of the same inode."""
    if os.path.islink(link_path):
        try:
            return link_points_to(link_path, os.readlink(link_path)) == os.path.normpath(target)
        except OSError:
            return False
    return strategies.is_hardlink_of(link_path, target)


def link_points_to(link_path: str, link_text: str) -> str:
    """Absolute, normalised (lexical, no symlink resolution) path a link text points to."""
    return os.path.normpath(os.path.join(os.path.dirname(link_path), link_text))


def is_within(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or lies below it (lexical, component-wise)."""
    path, root = os.path.normpath(path), os.path.normpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def symlink_error(link_path: str, exc: OSError) -> str:
    """One-line reason for a failed link creation, naming the link."""
    if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS) or getattr(exc, "winerror", None) == 1314:
        return f"{link_path}: cannot create symlink here ({exc.strerror}); this file system or account does not allow symlinks (no copy was made)"
    return f"{link_path}: cannot create symlink ({exc.strerror or exc})"


def create_link(link_path: str, target: str, is_dir: bool) -> tuple[str, str | None]:
    """Create a new link (strategy chosen by :mod:`.strategy`); never replaces anything (EEXIST).

    Returns ``(strategy, warning or None)``.  Raises OSError (``FileExistsError`` if something
    appeared at ``link_path``).
    """
    how, warning = strategies.choose(link_path, target, is_dir)
    strategies.make(link_path, target, is_dir, how)
    return how, warning


def replace_link(link_path: str, target: str, is_dir: bool, *, tmp_prefix: str = ".pumas-tmp-") -> tuple[str, str | None]:
    """Atomically re-point our link at ``link_path``: a new link under a temp name, then ``os.replace``.

    Only call this for a link that is ours (the caller checked).  Returns ``(strategy, warning)``.
    Raises OSError.
    """
    d = os.path.dirname(link_path)
    tmp = os.path.join(d, f"{tmp_prefix}{secrets.token_hex(6)}")
    how, warning = strategies.choose(link_path, target, is_dir)
    strategies.make(tmp, target, is_dir, how)
    try:
        if os.path.isdir(link_path) and not os.path.islink(link_path):
            raise ConflictError(f"{link_path}: became a real folder; not replaced")
        os.replace(tmp, link_path)
    except BaseException:
        discard(tmp)
        raise
    return how, warning


def backup_name(path: str) -> str:
    """A free ``<path>.pumas-backup`` name (``.pumas-backup.1``, ``.2``… when taken)."""
    cand = path + BACKUP_SUFFIX
    n = 0
    while os.path.lexists(cand):
        n += 1
        cand = f"{path}{BACKUP_SUFFIX}.{n}"
    return cand


def backup(path: str) -> str:
    """Rename the user's file or folder at ``path`` to a free backup name (never deletes); returns it."""
    dest = backup_name(path)
    os.rename(path, dest)
    return dest


def unlink_if_symlink(path: str) -> bool:
    """Remove ``path`` only if it is a symlink; returns whether something was removed."""
    try:
        if os.path.islink(path):
            os.unlink(path)
            return True
    except FileNotFoundError:
        pass
    return False

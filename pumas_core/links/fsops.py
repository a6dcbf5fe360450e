"""Small file-system operations for links: relative targets, atomic creation, safe backups."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Mapping
from typing import Any

from ..atomic import discard
from ..errors import ConflictError, PumasError
from . import strategy as strategies

BACKUP_SUFFIX = ".pumas-backup"


def points_to_target(link_path: str, target: str, strategy: str | None = None, *, thorough: bool = True) -> bool:
    """True when ``link_path`` holds our link to ``target``: a symlink whose text leads there (relative
    or absolute), a hard link of the same inode, or — when ``strategy`` is ``"clone"`` — a regular
    file holding ``target``'s bytes (:func:`.cloneproof.is_clone_of`; ``target`` must exist).

    ``thorough`` only matters for clones: True (the default) proves the bytes (FIEMAP shared extents,
    else a streamed comparison) and is what every delete, removal or replacement must use; False is
    the cheap routine check (size, and FIEMAP where it can tell) for reports that touch nothing."""
    if os.path.islink(link_path):
        try:
            return link_points_to(link_path, os.readlink(link_path)) == os.path.normpath(target)
        except OSError:
            return False
    if strategy == strategies.LinkStrategy.CLONE:
        return strategies.is_clone_of(link_path, target, thorough=thorough)
    return strategies.is_hardlink_of(link_path, target)


def ownership(row: Mapping[str, Any]) -> str:
    """Whose is what stands at a registered link's path (the one rule every path that deletes links uses):

    ``"gone"`` (nothing there), ``"dangling"`` (a symlink whose target is missing), ``"ours"`` (a symlink that
    leads to the registered target, a hard link of its inode, or a clone proven to hold its bytes — the full
    :func:`points_to_target` check), ``"foreign"`` (anything else: a user's file, a link re-pointed elsewhere,
    a clone edited in place; never deleted).  Raises OSError when the path cannot be inspected.
    """
    lp = row["link_path"]
    try:
        st = os.lstat(lp)
    except FileNotFoundError:
        return "gone"
    if stat.S_ISLNK(st.st_mode):
        if not os.path.exists(lp):
            return "dangling"
        return "ours" if link_points_to(lp, os.readlink(lp)) == os.path.normpath(row["target_path"]) else "foreign"
    how = row.get("strategy")
    if (how in (strategies.LinkStrategy.HARDLINK, strategies.LinkStrategy.CLONE)
            and points_to_target(lp, row["target_path"], how, thorough=True)):
        return "ours"
    return "foreign"


def link_state(row: Mapping[str, Any], library_missing: bool) -> str | None:
    """Why the registered link ``row`` (a ``links`` row) is broken, or None when it is fine.

    ``link_missing`` | ``not_a_link`` (a real file or folder of the user's took its place) |
    ``wrong_target`` | ``target_missing``, or ``"offline"`` when its target is on a missing library.
    A hard link is fine while it is the library file's inode (or, its target gone, still a file: the
    content is there); a clone while the cheap check holds (``thorough=False``: the target's size, and
    FIEMAP shows the same physical extents where it can tell) — a clone edited in place or replaced is
    ``not_a_link`` (reported, never deleted) — and a clone whose target is gone is still a complete
    file, never broken.  Deletes never rely on this: they re-prove with the full check.
    """
    lp, target = row["link_path"], row["target_path"]
    how = row.get("strategy") or strategies.LinkStrategy.RELATIVE
    try:
        st = os.lstat(lp)
    except OSError:
        return "link_missing"
    if how in (strategies.LinkStrategy.HARDLINK, strategies.LinkStrategy.CLONE) and stat.S_ISREG(st.st_mode):
        if not os.path.exists(target):
            return None  # the file still holds the whole content (its own blocks or the shared inode)
        return None if points_to_target(lp, target, how, thorough=False) else "not_a_link"
    if not stat.S_ISLNK(st.st_mode):
        return "not_a_link"
    try:
        text = os.readlink(lp)
    except OSError:
        return "link_missing"
    if link_points_to(lp, text) != os.path.normpath(target):
        return "wrong_target"
    try:
        os.stat(lp)
    except OSError:
        return "offline" if library_missing else "target_missing"
    return None


def link_points_to(link_path: str, link_text: str) -> str:
    """Absolute, normalised (lexical, no symlink resolution) path a link text points to."""
    return os.path.normpath(os.path.join(os.path.dirname(link_path), link_text))


def is_within(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or lies below it (lexical, component-wise)."""
    path, root = os.path.normpath(path), os.path.normpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def symlink_error(link_path: str, exc: OSError) -> str:
    """One-line reason for a failed link creation, naming the link."""
    if isinstance(exc, PumasError):  # the strategy layer's own explanation (what the file system refused)
        return f"{link_path}: {exc}"
    refused = exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS)
    if refused or getattr(exc, "winerror", None) == 1314:
        return (f"{link_path}: cannot create symlink here ({exc.strerror}); this file system or account does not "
                f"allow symlinks (no copy was made)")
    return f"{link_path}: cannot create symlink ({exc.strerror or exc})"


def create_link(link_path: str, target: str, is_dir: bool,
                prefer: str = strategies.PREFER_AUTO) -> tuple[strategies.LinkStrategy, str | None]:
    """Create a new link (strategy chosen by :func:`.strategy.choose` with ``prefer``); never replaces
    anything (EEXIST).

    Returns ``(strategy, warning or None)``.  Raises OSError (``FileExistsError`` if something
    appeared at ``link_path``; :class:`~pumas_core.errors.WriteFailedError` when no strategy works here).
    """
    how, warning = strategies.choose(link_path, target, is_dir, prefer)
    strategies.make(link_path, target, is_dir, how)
    return how, warning


def replace_link(link_path: str, target: str, is_dir: bool, *, tmp_prefix: str = ".pumas-tmp-",
                 prefer: str = strategies.PREFER_AUTO) -> tuple[strategies.LinkStrategy, str | None]:
    """Atomically re-point our link at ``link_path``: a new link under a temp name, then ``os.replace``.

    Only call this for a link that is ours (the caller checked).  Returns ``(strategy, warning)``.
    Raises OSError; :class:`~pumas_core.errors.ConflictError` when a real folder took the link's place.
    """
    d = os.path.dirname(link_path)
    tmp = os.path.join(d, f"{tmp_prefix}{secrets.token_hex(6)}")
    how, warning = strategies.choose(link_path, target, is_dir, prefer)
    strategies.make(tmp, target, is_dir, how)
    try:
        if os.path.isdir(link_path) and not os.path.islink(link_path):
            raise ConflictError(f"{link_path}: became a real folder; not replaced", path=link_path)
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
    """Rename the user's file or folder at ``path`` to a free backup name (never deletes); returns it.
    Raises OSError when the rename fails (the file stays where it was)."""
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

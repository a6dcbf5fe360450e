"""Link sync at ComfyUI boot: fast, idempotent, link-only, and it never raises.

Called from ``prestartup_script.py`` (earliest hook, before ``PromptServer`` exists; custom
folder keys of other packs are not registered yet) and again from ``__init__.py``.  It
calls ``Library.boot_sync``: register this install (idempotent) and run the link-only
sync, which skips all work when the index generation, the mapping and the install's
folder mtimes are unchanged (``pumas_core.links.fastpath``).  No hashing, no network.

Only the standard library is imported at module level: ``pumas_core`` is imported inside
:func:`boot_sync`, so a missing core is reported as one log line, not an exception.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported inside boot_sync at run time (see the module docstring)
    from pumas_core.facade import Library

log = logging.getLogger("pumas")


def _say(line: str) -> None:
    if log.isEnabledFor(logging.INFO) and log.hasHandlers():
        log.info(line)
    else:  # ComfyUI's logger not configured yet (or a bare script): still one visible line
        print(line, file=sys.stderr, flush=True)


def _count(value: Any) -> int:
    """A report field as a number: the length of a list/dict, else the int itself (None is 0)."""
    return len(value) if isinstance(value, (list, tuple, dict)) else int(value or 0)


def boot_sync(folder_paths: dict[str, list[str]] | None, comfyui_root: str | os.PathLike[str] | None, *,
              library: str | os.PathLike[str] | None = None, state: str | os.PathLike[str] | None = None,
              lib: Library | None = None, quiet: bool = False, version: str | None = None) -> dict[str, Any]:
    """Register the install and run a link-only sync into it; log one line.

    Args:
        folder_paths: ``{key: [abs dirs]}`` from ComfyUI's ``folder_paths`` (None: the
            library derives the folders from ``<comfyui_root>/models``).
        comfyui_root: the ComfyUI base directory (the parent of ``models/``).
        library, state: overrides of the library root / state dir (else env, config, defaults).
        lib: an already open ``Library`` (then it is not closed here).
        quiet: do not log (the caller logs the summary).
        version: ComfyUI's version read from its code folder (``adapter.comfyui_version``).
    Returns:
        ``{"ok": bool, "skipped": reason or None, "created": N, "already_correct": N,
        "conflicts": N, "errors": N, "repointed": N, "removed": N (dead or stale links taken away),
        "fast_path": bool, "app_id": str or None,
        "relocated": [{"kind": "library"|"install", "old", "new", "links_rebuilt", ...}],
        "notes": [recovery notes], "ms": float}``.  An offline library (unplugged drive, empty mount
        point) is skipped with ``library offline (<path> not mounted?)`` and nothing is changed.
        Never raises (``BaseException`` other than KeyboardInterrupt/SystemExit is caught).
    """
    t0 = time.perf_counter()
    summary: dict[str, Any] = {"ok": False, "skipped": None, "created": 0, "already_correct": 0, "conflicts": 0,
                               "errors": 0, "repointed": 0, "removed": 0,
                               "fast_path": False, "app_id": None, "relocated": [], "notes": [],
               "ms": 0.0}
    opened: Library | None = None
    try:
        if not comfyui_root:
            raise _Skip("ComfyUI directory unknown")
        root = os.path.abspath(os.fspath(comfyui_root))
        if not os.path.isdir(root):
            raise _Skip(f"ComfyUI directory {root} does not exist")
        if lib is None:
            try:
                from pumas_core.facade import Library
            except ImportError as exc:
                raise _Skip(f"pumas_core not importable ({exc})") from None
            try:
                opened = lib = Library.open(library=library, state=state, create=False)
            except Exception as exc:
                _no_library(exc, root, folder_paths, library, state, version)
                raise
        report = lib.boot_sync(root, folder_paths, version)
        summary["app_id"] = report.get("app_id")
        summary["relocated"] = report.get("relocated") or []
        summary["repointed"] = _count(report.get("repointed"))
        summary["removed"] = _count(report.get("removed_broken")) + _count(report.get("removed_stale"))
        summary["notes"] = list(getattr(lib, "recovery_notes", []) or [])
        summary.update(
            ok=True,
            created=_count(report.get("created")),
            already_correct=_count(report.get("already_correct")),
            conflicts=_count(report.get("conflicts")),
            errors=_count(report.get("errors")),
            fast_path=bool(report.get("fast_path")),
        )
    except _Skip as exc:
        summary["skipped"] = str(exc)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # never break ComfyUI's boot
        msg = str(exc).splitlines()[0] if str(exc) else ""
        summary["skipped"] = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    finally:
        if opened is not None:
            with contextlib.suppress(BaseException):
                opened.close()
    summary["ms"] = round((time.perf_counter() - t0) * 1000, 1)
    if not quiet:
        _say(summary_line(summary))
    return summary


def summary_line(summary: dict[str, Any]) -> str:
    """The one log line for a :func:`boot_sync` summary (what was repaired on the way is appended)."""
    if summary.get("skipped"):
        return f"[pumas] boot sync skipped: {summary['skipped']}"
    line = (f"[pumas] boot sync: {summary['created']} created, {summary['already_correct']} ok, "
            f"{summary['conflicts']} conflicts in {summary['ms']:.0f} ms")
    if summary.get("repointed"):
        line += f", {summary['repointed']} re-pointed"
    if summary.get("removed"):
        line += f", {summary['removed']} dead links removed"
    if summary.get("errors"):
        line += f" ({summary['errors']} errors, see `pumas health`)"
    for r in summary.get("relocated") or []:
        if r.get("kind") == "install":
            line += f"; ComfyUI moved from {r['old']}: {r.get('links_rebuilt', 0)} links re-pointed"
    for note in summary.get("notes") or []:  # library moved, index rebuilt, staging cleaned
        line += f"; {note}"
    return line


def _no_library(exc: BaseException, root: str, folder_paths: dict[str, list[str]] | None,
                library: str | os.PathLike[str] | None, state: str | os.PathLike[str] | None,
                version: str | None = None) -> None:
    """Turn "no library yet" / "library offline" into a skip reason.

    With no library yet, the install is still registered, so the first import links into it.
    An offline library touches nothing (not even the registry).
    """
    from pumas_core.errors import LibraryOfflineError, NoLibraryError

    if isinstance(exc, LibraryOfflineError):
        raise _Skip(f"{exc}; nothing changed") from None
    if isinstance(exc, NoLibraryError):
        from pumas_core.config import resolve_paths
        from pumas_core.links import Registry
        from pumas_core.links.apps import register_app

        try:
            register_app(Registry(resolve_paths(library, state).registry_path), root, folder_paths, version)
            done = "install registered"
        except Exception as reg_exc:  # any failure is reported in the skip line, never raised
            done = f"install not registered: {reg_exc}"
        raise _Skip(f"no library yet at {exc.path} ({done}; import models with `pumas import` or the panel, "
                    "or run `pumas init`)") from None


class _Skip(Exception):
    """A reason to skip the boot sync that is not an error."""

"""Starting out with the CLI: ``pumas init``, ``pumas`` with no command, and how each command opens
the library: read-only commands never create anything; ``init``, ``import`` and ``download`` create
a library (parent folders too); the others only where ``Library.open`` allows an implicit one (an
unknown path whose parent exists), never at a known library location that is offline."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from . import cmd_overrides, output

if TYPE_CHECKING:
    from ..facade import Library

#: commands that only read: the library is opened read-only (nothing is created or changed)
READ_ONLY = {"list", "search", "show"}
#: commands that may create the library (explicitly asked for by the user)
CREATING = {"import", "download", "init"}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pumas init [DIR] [--force]``."""
    c = sub.add_parser("init", help="create a library (default: the configured or platform location)")
    c.add_argument("dir", nargs="?", help="where (it becomes the configured library)")
    c.add_argument("--force", action="store_true",
                   help="a library known at DIR is gone for good: start a new one there")


def open_for(args: argparse.Namespace) -> Library:
    """Open the library the way ``args.command`` needs it (see :data:`READ_ONLY`, :data:`CREATING`).

    Raises what :meth:`Library.open` raises (``LibraryOfflineError``, ``NoLibraryError``...).
    """
    from ..config import relocated_library
    from ..facade import Library

    cmd = args.command
    read_only = (cmd in READ_ONLY or (cmd == "health" and not getattr(args, "fix", False))
                 or (cmd == "overrides" and not cmd_overrides.edits(args)))
    create = True if cmd in CREATING else None  # None: only where no library was ever seen (see Library.open)
    library = relocated_library(args.library, args.state, args.old, args.new) if cmd == "relocate" else args.library
    offline = True if args.offline else None  # None: $PUMAS_OFFLINE decides (read by Library.open)
    lib = Library.open(library, args.state, read_only=read_only, create=create, offline=offline)
    for note in lib.recovery_notes:
        print(f"pumas: {note}", file=sys.stderr)
    return lib


def run_init(args: argparse.Namespace) -> int:
    """``pumas init``: create the library (or say where the existing one is); exit 0."""
    from ..config import load_config, resolve_paths, save_config
    from ..facade import Library

    target = args.dir or args.library
    paths = resolve_paths(target, args.state)
    with Library.open(target, args.state, create=True, force=args.force) as lib:
        result: dict[str, Any] = {"library": str(lib.root), "library_id": lib.library_id, "created": lib.created,
                  "models": lib.index.count()}
    if args.dir:  # an explicit location becomes the configured one
        cfg = load_config(paths.state_dir)
        if cfg.get("library") != str(paths.root):
            cfg["library"] = str(paths.root)
            save_config(paths.state_dir, cfg)
    env = os.environ.get("PUMAS_LIBRARY")
    if args.json:
        output.emit_json(result)
        return 0
    print(("created a new library at " if result["created"] else "library already at ") + result["library"]
          + f" (id {result['library_id']}, {result['models']} models)")
    if env and os.path.abspath(os.path.expanduser(env)) != result["library"]:
        print(f"note: PUMAS_LIBRARY={env} overrides it in this shell")
    print("next: pumas import FILE_OR_FOLDER...   then   pumas apps add COMFYUI_DIR")
    return 0


def print_start(args: argparse.Namespace) -> int:
    """``pumas`` with no command: where the library is (or is not yet) and how to start; exit 0."""
    from ..config import resolve_paths
    from ..errors import PumasError
    from ..facade import Library

    paths = resolve_paths(args.library, args.state)
    info: dict[str, Any] = {"library": str(paths.root), "exists": False, "models": 0, "error": None}
    try:
        with Library.open(args.library, args.state, read_only=True) as lib:
            info.update(exists=True, models=lib.index.count())
            line = f"library: {lib.root} ({info['models']} models, {len(lib.list_apps())} ComfyUI installs)"
            first = None
    except PumasError as exc:
        info["error"] = str(exc)
        line = f"library: {exc}"
        first = paths.root
    if args.json:
        output.emit_json(info)
        return 0
    print("pumas: one canonical model library for ComfyUI")
    print(line)
    if first is not None:
        print("start with one of:")
        print(f"  pumas init [DIR]                  create an empty library (default {first})")
        print("  pumas import FILE_OR_FOLDER...    import models (creates the library if needed)")
        print("  pumas apps add COMFYUI_DIR        then link the models into a ComfyUI install")
    print("all commands: pumas --help")
    return 0

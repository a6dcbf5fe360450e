"""``pumas``: the command line of Pumas Library (contract in DESIGN.md, "CLI").

Exit codes: 0 success, 1 handled failure (one line on stderr, never a traceback for bad input),
2 bad usage.  ``--json`` prints exactly one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import PumasError
from ..settings import IMPORT_MODE_HELP, IMPORT_MODES
from . import cmd_adopt, cmd_overrides, output, start
from .progress import ProgressBars

if TYPE_CHECKING:
    from ..facade import Library
    from ..ingest.report import ImportReport


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    p = argparse.ArgumentParser(prog="pumas", description="One canonical model library for ComfyUI.")
    p.add_argument("--library", help="library root (default: $PUMAS_LIBRARY, config, platform data dir)")
    p.add_argument("--state", help="state dir (default: $PUMAS_STATE or the platform state dir)")
    p.add_argument("--json", action="store_true", help="machine-readable output: one JSON document on stdout")
    p.add_argument("--offline", action="store_true", help="no network: remote lookups stay pending")
    p.add_argument("-v", "--verbose", action="store_true", help="more detail, tracebacks on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    start.add_parser(sub)

    c = sub.add_parser("import", help="import files and folders into the library")
    c.add_argument("paths", nargs="+")
    c.add_argument("--mode", choices=IMPORT_MODES, default="auto", help=IMPORT_MODE_HELP)
    c.add_argument("--type", dest="model_type", help="override the detected model type (recorded as manual)")
    c.add_argument("--family")
    c.add_argument("--tag", action="append", default=[])
    c.add_argument("--accept-pickle", action="store_true", help="allow pickle-based formats (.pt/.ckpt/.bin)")
    c.add_argument("--no-lookup", action="store_true", help="skip the HuggingFace/CivitAI lookup")

    c = sub.add_parser("list", help="list models")
    c.add_argument("--type", dest="model_type")
    c.add_argument("--limit", type=int)
    c = sub.add_parser("search", help="full-text search (prefix match)")
    c.add_argument("query")
    c.add_argument("--limit", type=int, default=50)
    c.add_argument("--type", dest="model_type")
    c = sub.add_parser("show", help="show one model (id, blake3:id or a unique prefix of 4+ hex digits)")
    c.add_argument("model_id")

    apps = sub.add_parser("apps", help="register ComfyUI installs").add_subparsers(dest="apps_cmd", required=True)
    a = apps.add_parser("add", help="register a ComfyUI install")
    a.add_argument("comfyui_dir")
    apps.add_parser("list", help="list registered installs")
    a = apps.add_parser("remove", help="unregister an install (its links are removed)")
    a.add_argument("app_id")

    c = sub.add_parser("sync", help="link models into ComfyUI installs")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--app", dest="app_id")
    g.add_argument("--comfyui", dest="comfyui_dir", help="a ComfyUI folder (registered on the fly)")
    c.add_argument("--dry-run", action="store_true",
                   help="show what would change (conflicts with reasons); change nothing")
    c.add_argument("--resolve", choices=("skip", "backup", "rename"),
                   help="for every conflict: skip it, rename the file in the way to <name>.pumas-backup then link, "
                        "or keep both (link under another name)")
    c.add_argument("--backup-conflicts", action="store_true", help="same as --resolve backup")

    c = sub.add_parser("health", help="check links, installs and model files")
    c.add_argument("--fix", action="store_true", help="repair, then clean what cannot be repaired")
    sub.add_parser("repair", help="re-create broken links of existing models")
    c = sub.add_parser("relocate", help="a library or install moved (e.g. another drive letter/mount)")
    c.add_argument("old")
    c.add_argument("new")
    sub.add_parser("rebuild", help="Deep Scan: recreate the index from metadata.json files")
    c = sub.add_parser("delete", help="delete a model: its links, registry rows, then its files")
    c.add_argument("model_id")
    c.add_argument("--yes", action="store_true", help="do not ask")
    c = sub.add_parser("lookup", help="(re)try HuggingFace/CivitAI lookups")  # not-vocab: a command name
    c.add_argument("model_ids", nargs="*")
    c = sub.add_parser("download", help="download files of a HuggingFace repo and import them")
    c.add_argument("repo_id")
    c.add_argument("files", nargs="*")
    c.add_argument("--revision")
    c.add_argument("--accept-pickle", action="store_true")
    cmd_adopt.add_parser(sub)
    cmd_overrides.add_parser(sub)
    c = sub.add_parser("serve", help="serve the panel and the /pumas routes on a standalone server")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8189)
    from . import cmd_workflow

    cmd_workflow.add_parsers(sub)
    return p


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    """Execute parsed ``args``; returns the exit code."""
    cmd = args.command
    if cmd is None:
        return start.print_start(args)
    if cmd == "init":
        return start.run_init(args)
    if cmd == "serve":
        from comfyui_pumas_node.standalone import serve

        serve(library=args.library, state=args.state, host=args.host, port=args.port,
              offline=True if args.offline else None)
        return 0
    lib = start.open_for(args)
    try:
        return _dispatch(lib, args)
    finally:
        lib.close()


def _dispatch(lib: Library, args: argparse.Namespace) -> int:
    cmd, js = args.command, args.json
    from . import cmd_workflow

    if cmd in cmd_workflow.COMMANDS:
        return cmd_workflow.run(lib, args)
    if cmd == "import":
        bars = ProgressBars(enabled=None if not js else False)
        report = lib.import_paths(args.paths, mode=args.mode, model_type=args.model_type, family=args.family,
                                  tags=args.tag, accept_pickle=args.accept_pickle, progress=bars,
                                  lookup=not args.no_lookup)
        bars.close()
        if not js:
            output.print_import(report)  # the import is done: show it before any network wait
        if not args.no_lookup and not lib.offline and report["imported"]:
            _await_lookups(lib, report, js)
        if js:
            output.emit_json(report)
        return 1 if report["failed"] else 0
    if cmd == "adopt":
        return cmd_adopt.run(lib, args)
    if cmd in cmd_overrides.COMMANDS:
        return cmd_overrides.run(lib, args)
    if cmd == "list":
        models = lib.list_models(model_type=args.model_type, limit=args.limit)
        output.emit_json({"models": models}) if js else output.print_models(models)
    elif cmd == "search":
        res = lib.search(args.query, limit=args.limit, model_type=args.model_type)
        output.emit_json(res) if js else output.print_models(res["models"])
    elif cmd == "show":
        m = lib.get_model(args.model_id)
        output.emit_json(m) if js else output.print_model(m)
    elif cmd == "apps":
        if args.apps_cmd == "add":
            app = lib.add_app(args.comfyui_dir)
            if js:
                output.emit_json(app)
            else:
                print(f"registered {app['app_id']}  {app['root']}  (ComfyUI {app.get('version') or '?'})")
        elif args.apps_cmd == "list":
            apps = lib.list_apps()
            if js:
                output.emit_json({"apps": apps})
            else:
                for a in apps:
                    print(f"{a['app_id']}  {a.get('version') or '?':<8} {a['root']}")
                if not apps:
                    print("no installs registered")
        else:
            r = lib.remove_app(args.app_id)
            output.emit_json(r) if js else print(f"removed {args.app_id} ({r.get('links_removed', 0)} links removed)")
    elif cmd == "sync":
        resolutions = args.resolve or ("backup" if args.backup_conflicts else None)
        r = lib.sync(app_id=args.app_id, comfyui_dir=args.comfyui_dir, dry_run=args.dry_run,
                     resolutions=resolutions)
        output.emit_json(r) if js else output.print_sync(r)
        return 1 if r.get("errors") or r.get("conflicts") else 0
    elif cmd == "health":
        h = lib.health()
        if args.fix:
            h = {"before": h, "repair": lib.repair(), "clean": lib.clean()}
            h["after"] = lib.health()
            output.emit_json(h) if js else output.print_fix(h)
            return 0 if h["after"]["status"] != "errors" else 1
        output.emit_json(h) if js else output.print_health(h)
        return 0 if h["status"] != "errors" else 1
    elif cmd == "repair":
        r = lib.repair()
        output.emit_json(r) if js else print("\n".join(output.repair_lines(r)))
    elif cmd == "rebuild":
        r = lib.rebuild(progress=ProgressBars(enabled=not js and None))
        output.emit_json(r) if js else _print_summary(cmd, r)
    elif cmd == "relocate":
        r = lib.relocate(args.old, args.new)
        output.emit_json(r) if js else _print_summary(cmd, r)
    elif cmd == "delete":
        m = lib.get_model(args.model_id)
        if not args.yes and not _confirm(f"delete {m['official_name']} and its {len(m.get('links', []))} links?"):
            raise PumasError("not deleted: pass --yes to confirm")
        r = lib.delete_model(m["model_id"])
        if js:
            output.emit_json(r)
        else:
            print(f"deleted {m['official_name']}: {r['links_removed']} links, {r['files_removed']} files")
    elif cmd == "lookup":  # not-vocab: a command name
        r = lib.lookup(args.model_ids or None)
        output.emit_json(r) if js else _print_summary(cmd, {k: len(v) for k, v in r.items()})
    elif cmd == "download":
        r = lib.download(args.repo_id, args.files, revision=args.revision, accept_pickle=args.accept_pickle,
                         progress=ProgressBars(enabled=None if not js else False))
        output.emit_json(r) if js else output.print_import(r)
        return 1 if r["failed"] else 0
    return 0


def _await_lookups(lib: Library, report: ImportReport, js: bool, timeout: float = 30.0) -> None:
    """Give the background HuggingFace/CivitAI lookups of just-imported models a short while.

    The models are already in the library; Ctrl+C (or the timeout) leaves them pending for
    ``pumas lookup`` / the server's retry.
    """
    if not js:
        print("looking up the new models on HuggingFace/CivitAI (Ctrl+C to skip)…", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        lib.wait_for_lookups(timeout=timeout)
    report["imported"] = [lib.get_model(m["model_id"]) for m in report["imported"]]
    if not js:
        output.print_identities(report["imported"])


def _print_summary(cmd: str, r: dict[str, Any]) -> None:
    parts = [f"{k}={len(v) if isinstance(v, list) else v}" for k, v in r.items()]
    print(f"{cmd}: " + ", ".join(parts))
    for key in ("phantoms", "errors"):
        for item in r.get(key) or []:
            print(f"  {key[:-1]}: {item}")
    for m in r.get("reindexed") or []:
        print(f"  moved: {m['old_path']} -> {m['path']}")
    for item in r.get("not_fixed") or []:
        print(f"  not fixed: {item['link_path']}: {item['reason']}")


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: parse, run, map errors to exit codes."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except PumasError as exc:
        print(f"pumas: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pumas: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if args.verbose:
            raise
        print(f"pumas: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

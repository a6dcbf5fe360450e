"""``pumas resolve`` and ``pumas workflow annotate``: the workflow commands (logic in ``Library``).

* ``pumas resolve WORKFLOW [--comfyui DIR | --app ID] [--dry-run] [--download] [--confirm KEY=MODEL_ID]...
  [--backup-conflicts]`` — ``--json`` prints ``{"references": [...], "created": N, "downloaded": N, ...}``.
  Exit 0 when it ran (the statuses say what is still missing), 1 on a handled failure.
* ``pumas workflow annotate IN OUT [--comfyui DIR | --app ID]`` — writes the annotated workflow to OUT
  (atomically; IN is never touched unless OUT is IN); ``--json`` prints ``{"annotated", "skipped", "out"}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_write_text
from ..errors import BadInputError, PumasError, WriteFailedError
from . import output
from .progress import ProgressBars

if TYPE_CHECKING:
    from ..facade import Library

COMMANDS = ("resolve", "workflow")


def _target(c: argparse.ArgumentParser) -> None:
    g = c.add_mutually_exclusive_group()
    g.add_argument("--comfyui", dest="comfyui_dir", help="a ComfyUI folder (registered on the fly)")
    g.add_argument("--app", dest="app_id")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``resolve`` and ``workflow annotate`` to the ``pumas`` sub-command parser."""
    c = sub.add_parser("resolve", help="link a workflow's models at the names it uses (download with --download)")
    c.add_argument("workflow", help="workflow .json (UI or API format) or a PNG/WebP with an embedded workflow")
    _target(c)
    c.add_argument("--dry-run", action="store_true", help="change nothing; say what would happen")
    c.add_argument("--download", action="store_true", help="download missing models that have a HuggingFace URL")
    c.add_argument("--confirm", action="append", default=[], metavar="KEY=MODEL_ID",
                   help="accept a library model for an 'ambiguous' reference (KEY as printed)")
    c.add_argument("--backup-conflicts", action="store_true",
                   help="rename a real file that holds a wanted name to *.pumas-backup, then link")
    wf = sub.add_parser("workflow", help="workflow tools").add_subparsers(dest="workflow_cmd", required=True)
    a = wf.add_parser("annotate", help="write SHA-256/URL of each model into the workflow (properties.models)")
    a.add_argument("inp", metavar="IN")
    a.add_argument("out", metavar="OUT")
    _target(a)


def _confirmed(items: list[str]) -> dict[str, str]:
    """``["KEY=MODEL_ID", ...]`` → ``{KEY: MODEL_ID}`` (the key may itself hold ``=``).  Raises BadInputError."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, mid = item.rpartition("=")
        if not sep or not key or not mid:
            raise BadInputError(f"--confirm {item!r}: expected KEY=MODEL_ID")
        out[key] = mid
    return out


def _print_refs(r: dict[str, Any]) -> None:
    for ref in r["references"]:
        where = f"{ref['directory']}/{ref['name']}"
        how = f" by {ref['matched_by']}" if ref["matched_by"] else ""
        print(f"{ref['status']:<13} {where}{how}")
        print(f"{'':13}   key {ref['key']}" + (f"  — {ref['note']}" if ref.get("note") else ""))
        if ref["status"] == "missing" and ref.get("url"):
            print(f"{'':13}   url {ref['url']}")
    verb = "would create" if r["dry_run"] else "created"
    print(f"resolve: {len(r['references'])} references, {verb} {r['created']} links, downloaded {r['downloaded']}")


def run(lib: Library, args: argparse.Namespace) -> int:
    """Run a workflow command for parsed ``args``; returns the exit code."""
    js = args.json
    if args.command == "resolve":
        bars = ProgressBars(enabled=None if not js else False)
        r = lib.resolve_workflow(args.workflow, app_id=args.app_id, comfyui_dir=args.comfyui_dir,
                                 dry_run=args.dry_run, download=args.download, confirmed=_confirmed(args.confirm),
                                 conflicts="backup" if args.backup_conflicts else None, progress=bars)
        bars.close()
        output.emit_json(r) if js else _print_refs(r)
        return 0
    r = lib.annotate_workflow(args.inp, app_id=args.app_id, comfyui_dir=args.comfyui_dir)
    out = Path(args.out)
    try:
        atomic_write_text(out, json.dumps(r["workflow"], indent=2, ensure_ascii=False) + "\n")
    except PumasError:  # already says what failed (WriteFailedError is an OSError too)
        raise
    except OSError as exc:
        raise WriteFailedError(f"{out}: cannot write ({exc.strerror or exc})", path=out) from None
    if js:
        output.emit_json({"annotated": r["annotated"], "skipped": r["skipped"], "out": str(out)})
    else:
        print(f"annotate: {r['annotated']} models annotated, {len(r['skipped'])} left as they were → {out}")
        for s in r["skipped"]:
            print(f"  {s['name']}: {s['reason']}")
    return 0

"""``pumas adopt``: bring existing ComfyUI/A1111 model folders into the library (thin: logic in
:mod:`pumas_core.facade_adopt`).

``pumas adopt DIR... [--dry-run]``, ``pumas adopt --resume [JOURNAL_ID]``, ``pumas adopt --undo
[JOURNAL_ID]`` (latest by default), ``pumas adopt --list``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..errors import BadInputError
from ..vocab import Stage
from . import output
from .progress import ProgressBars

if TYPE_CHECKING:
    from tqdm import tqdm

    from ..facade import Library


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``adopt`` sub-command to ``sub`` (an argparse sub-parsers object)."""
    c = sub.add_parser("adopt", help="adopt the models of ComfyUI/A1111 folders (move in, link back; undoable)")
    c.add_argument("dirs", nargs="*", metavar="DIR", help="ComfyUI (or A1111) folders")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    g.add_argument("--resume", nargs="?", const="", metavar="JOURNAL_ID", help="continue an interrupted adoption")
    g.add_argument("--undo", nargs="?", const="", metavar="JOURNAL_ID",
                   help="restore the original tree (latest by default)")
    g.add_argument("--list", action="store_true", help="list adoption journals")
    c.add_argument("--accept-pickle", action="store_true", help="also adopt pickle-based files (.ckpt/.pt/.bin)")


class _Bars:
    """Per-file bars (:class:`ProgressBars`) plus one total bar with ETA, on stderr."""

    def __init__(self, enabled: bool | None) -> None:
        """``enabled``: None = when stderr is a terminal."""
        self.files = ProgressBars(enabled=enabled)
        self.enabled = self.files.enabled
        self.total: tqdm[Any] | None = None

    def __call__(self, ev: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if ev.get("total_bytes"):
            from tqdm import tqdm

            if self.total is None:
                self.total = tqdm(total=ev["total_bytes"], unit="B", unit_scale=True, unit_divisor=1024,
                                  desc=Stage.ADOPTING, file=sys.stderr, position=1, leave=False)
            self.total.update(max(0, ev["total_bytes_done"] - self.total.n))
        self.files(ev)

    def close(self) -> None:
        """Finish every bar."""
        self.files.close()
        if self.total is not None:
            self.total.close()


def _print_plan(doc: dict[str, Any]) -> None:
    h = output.human_size
    for f in doc["files"]:
        dest = f" -> {f['library_path']}" if f.get("library_path") else f"  ({f.get('reason', '')})"
        print(f"{f['action']:<15} {h(f['size']):>9}  {f['path']}{dest}")
    for grp in doc["duplicates"]:
        print("same content: " + "  =  ".join(grp))
    t = doc["totals"]
    print(f"{t['files']} files ({h(t['bytes'])}) as {t['models']} models; {t['duplicates']} duplicates, "
          f"{h(doc['reclaimable_bytes'])} reclaimable; {t['refused']} refused, {t['skipped']} already links; "
          f"about {doc['estimated_seconds']:.0f} s")


def _print_report(r: dict[str, Any]) -> None:
    print(f"adoption {r['journal_id']}: {r['state']}; {r['linked']} paths linked, "
          f"{len(r['models_created'])} new models, {len(r['models_existing'])} already in the library, "
          f"{r['duplicates_linked']} duplicates ({output.human_size(r['reclaimed_bytes'])} reclaimed), "
          f"{r['sidecars']} sidecars, {r['previews']} previews")
    for f in r["failed"]:
        print(f"  not adopted: {f['error']}")
    for m in r.get("sidecar_mismatches") or []:
        print(f"  sidecar ignored: {m}")
    if r["state"] in ("interrupted", "cancelled"):
        print(f"  continue with: pumas adopt --resume {r['journal_id']}")
    print(f"  undo with: pumas adopt --undo {r['journal_id']}")


def run(lib: Library, args: argparse.Namespace) -> int:
    """Execute ``pumas adopt``; returns the exit code."""
    js = args.json
    if args.list:
        js_out = {"journals": lib.adopt_journals()}
        if js:
            output.emit_json(js_out)
        for j in js_out["journals"] if not js else []:
            print(f"{j['journal_id']}  {j['state']:<11} {j.get('linked', 0)} linked")
        return 0
    if args.undo is not None:
        r = lib.adopt_undo(args.undo or None)
        if js:
            output.emit_json(r)
        else:
            print(f"undo {r['journal_id']}: {r['restored']} files restored (hash-checked), "
                  f"{len(r['models_removed'])} models removed from the library")
            for e in r["errors"]:
                print(f"  error: {e}")
        return 1 if r["errors"] else 0
    if args.resume is None and not args.dirs:
        raise BadInputError("give ComfyUI folders to adopt, or --resume / --undo / --list")
    if args.resume is not None and args.dirs:
        raise BadInputError("--resume takes a journal id, not folders")
    bars = _Bars(enabled=None if not js else False)
    try:
        if args.dry_run:
            doc = lib.adopt_plan(args.dirs, accept_pickle=args.accept_pickle, progress=bars)
            bars.close()
            output.emit_json(doc) if js else _print_plan(doc)
            return 0
        if args.resume is not None:
            r = lib.adopt_resume(args.resume or None, progress=bars)
        else:
            r = lib.adopt(args.dirs, accept_pickle=args.accept_pickle, progress=bars)
    except KeyboardInterrupt:
        bars.close()
        print("pumas: adoption interrupted; continue with `pumas adopt --resume` or roll back with "
              "`pumas adopt --undo`", file=sys.stderr)
        return 130
    bars.close()
    output.emit_json(r) if js else _print_report(r)
    return 1 if r["failed"] else 0

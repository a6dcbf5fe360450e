"""``pumas overrides``: show or edit a model's ``overrides.json`` (logic in ``Library``).

* ``pumas overrides MODEL_ID`` — print the current overrides (``--json``: ``{"model_id", "overrides",
  "error"}``); exit 1 when the file is invalid (the error is printed).
* ``pumas overrides MODEL_ID [--comfyui SPEC] [--tag T]... [--link-name NAME] [--subfolder DIR] [--clear]``
  — merge the options into the file (``--clear`` starts from an empty file; an empty value such as
  ``--comfyui ""`` removes that key), write it and re-link the model into every registered install
  (``--json``: ``{"model_id", "overrides", "error", "sync"}``).  Bad input: exit 1 with one line.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from . import output

if TYPE_CHECKING:
    from ..facade import Library

COMMANDS = ("overrides",)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``overrides`` to the ``pumas`` sub-command parser."""
    c = sub.add_parser("overrides", help="show or edit a model's overrides.json (ComfyUI versions, tags, link name)")
    c.add_argument("model_id", help="model id, blake3:id or a unique prefix of 4+ hex digits")
    c.add_argument("--comfyui", metavar="SPEC",
                   help="PEP 440 specifier of the ComfyUI versions the model may be linked into, e.g. '<0.3.60'")
    c.add_argument("--tag", action="append", default=None, help="extra tag for mapping rules (repeatable)")
    c.add_argument("--link-name", metavar="NAME", help="the file name the links get")
    c.add_argument("--subfolder", metavar="DIR", help="fixed sub-folder inside the folder key")
    c.add_argument("--clear", action="store_true", help="start from an empty overrides.json (alone: remove it)")
    c.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="same as pumas --json")


def merged(current: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """``current`` (the file's object) with the options of ``args`` applied (``--clear`` drops it first)."""
    out = {} if args.clear else json.loads(json.dumps(current))  # a deep copy
    if args.comfyui is not None:
        versions = out["versions"] if isinstance(out.get("versions"), dict) else {}
        out["versions"] = {**versions, "comfyui": args.comfyui.strip()}
    if args.tag is not None:
        out["tags"] = [t.strip() for t in args.tag if t.strip()]
    if args.link_name is not None:
        out["link_name"] = args.link_name
    if args.subfolder is not None:
        out["subfolder"] = args.subfolder
    return out


def _print(r: dict[str, Any]) -> None:
    ov = r["overrides"]
    if not ov:
        print(f"{r['model_id'][:12]}: no overrides")
    else:
        print(f"{r['model_id'][:12]}: overrides.json")
        spec = (ov.get("versions") or {}).get("comfyui") if isinstance(ov.get("versions"), dict) else None
        for label, value in (("ComfyUI versions", spec), ("tags", ", ".join(map(str, ov.get("tags") or []))),
                             ("link name", ov.get("link_name")), ("subfolder", ov.get("subfolder"))):
            if value:
                print(f"  {label:<17} {value}")
    if r.get("error"):
        print(f"  error: {r['error']}")


def edits(args: argparse.Namespace) -> bool:
    """True when the command changes the file (any option given); False when it only shows it (the library is
    then opened read-only)."""
    return bool(args.clear) or any(getattr(args, k) is not None for k in ("comfyui", "tag", "link_name", "subfolder"))


def run(lib: Library, args: argparse.Namespace) -> int:
    """Run ``pumas overrides`` for parsed ``args``; returns the exit code."""
    js = args.json
    current = lib.get_overrides(args.model_id)
    if not edits(args):
        output.emit_json(current) if js else _print(current)
        return 1 if current["error"] else 0
    r = lib.set_overrides(current["model_id"], merged(current["overrides"], args))
    sync = r["sync"]
    if js:
        output.emit_json(r)
    else:
        _print(r)
        if not sync.get("apps"):
            print("links: no ComfyUI install registered")
        else:
            print("links: ", end="")
            output.print_sync(sync)
    return 1 if sync.get("errors") or sync.get("conflicts") else 0

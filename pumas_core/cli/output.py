"""Human-readable output of the CLI (the ``--json`` output is the facade's dicts as they are)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any


def human_size(n: int | None) -> str:
    """``1536`` → ``1.5 KiB``."""
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def emit_json(doc: object) -> None:
    """Print one JSON document on stdout."""
    json.dump(doc, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def model_line(m: dict[str, Any]) -> str:
    """One line per model: short id, type, format, size, trust, name."""
    flags = "" if m.get("complete", True) else "  [incomplete]"
    return (f"{m['model_id'][:12]}  {m['model_type']:<15} {m['file_format']:<11} {human_size(m.get('size_bytes')):>10}"
            f"  {m.get('trust', 'none'):<8}  {m['official_name']}{flags}")


def print_models(models: list[dict[str, Any]]) -> None:
    """Print a model table (or a note when empty)."""
    if not models:
        print("no models")
        return
    print(f"{'id':<12}  {'type':<15} {'format':<11} {'size':>10}  {'trust':<8}  name")
    for m in models:
        print(model_line(m))


def print_model(m: dict[str, Any]) -> None:
    """Print every detail of one model."""
    rows = [
        ("id", f"blake3:{m['model_id']}"), ("name", m["official_name"]), ("type", m["model_type"]),
        ("format", f"{m['format']} / {m['file_format']}"), ("family", m.get("family")),
        ("base model", m.get("base_model")), ("precision", m.get("precision")),
        ("size", human_size(m.get("size_bytes"))), ("sha256", m["hashes"]["sha256"]),
        ("blake3", m["hashes"]["blake3"]), ("security", m["security_tier"]),
        ("trust", f"{m['trust']} ({m['match_source']})"), ("pending lookup", m.get("pending_online_lookup")),
        ("path", m.get("path")),
    ]
    hub = m.get("huggingface") or {}
    if hub:
        rows.append(("huggingface", f"{hub.get('repo_id')} @ {str(hub.get('revision'))[:12]} : {hub.get('path')}"))
    civ = m.get("civitai") or {}
    if civ:
        rows.append(("civitai", civ.get("page_url") or civ.get("model_id")))
    for key, val in rows:
        if val not in (None, ""):
            print(f"{key:>15}: {val}")
    if not m.get("complete", True):
        print(f"{'incomplete':>15}: missing {', '.join(m.get('missing_files') or [])}")
    for f in m["files"]:
        print(f"{'file':>15}: {f['name']}  {human_size(f['size'])}")
    for link in m.get("links", []):
        print(f"{'linked':>15}: {link.get('link_path')}")
    evidence = (m.get("identification") or {}).get("evidence") or []
    for e in evidence[:8]:
        print(f"{'evidence':>15}: {e}")


def print_import(report: Mapping[str, Any]) -> None:
    """Summarise an import report: imported, then every skipped and failed path with its reason."""
    for m in report["imported"]:
        print(f"imported  {m['model_id'][:12]}  {m['model_type']:<15} {m['official_name']}  → {m['path']}")
    for s in report["skipped"]:
        what = s.get("official_name") or s.get("path")
        mid = f"{s['model_id'][:12]}  " if s.get("model_id") else ""
        print(f"skipped   {mid}{what}: {s.get('reason')}")
    for f in report["failed"]:
        print(f"failed    {f['error']}", file=sys.stderr)
    sync = report.get("sync")
    if sync:
        print(f"linked    {sync.get('created', 0)} new links into {sync.get('apps', 0)} install(s)")
    print(f"{len(report['imported'])} imported, {len(report['skipped'])} skipped, {len(report['failed'])} failed")


def print_identities(models: list[dict[str, Any]]) -> None:
    """One line per model on what the remote lookup found (or that it is still pending)."""
    for m in models:
        hub, civ = m.get("huggingface") or {}, m.get("civitai") or {}
        where = hub.get("repo_id") or civ.get("name") or civ.get("page_url")
        if m.get("pending_online_lookup"):
            state = "pending (offline or host unavailable; `pumas lookup` retries)"
        elif where:
            state = f"{m.get('trust')} ({m.get('match_source')}): {where}"
        else:
            state = "not found upstream"
        print(f"identity  {m['model_id'][:12]}  {state}")


def print_sync(r: dict[str, Any]) -> None:
    """Summarise a sync report."""
    verb = "would create" if r.get("dry_run") else "created"
    print(f"{verb} {r.get('created', 0)}, already correct {r.get('already_correct', 0)}, "
          f"removed broken {r.get('removed_broken', 0)}, removed stale {r.get('removed_stale', 0)}, "
          f"conflicts {len(r.get('conflicts', []))}")
    for p in r.get("planned", []):
        if p.get("action") != "conflict":
            print(f"  {p.get('action'):<14} {p.get('link_path')}")
    for c in r.get("conflicts", []):
        print(f"  conflict ({c.get('reason')}): {c.get('link_path')}: {c.get('message', '')}")
    if r.get("conflicts"):
        print("  resolve with: pumas sync --resolve skip|backup|rename (backup keeps your file as <name>.pumas-backup)")
    for b in r.get("backed_up", []):
        print(f"  backed up: {b.get('backup_path')}")
    for b in r.get("renamed", []):
        print(f"  linked as: {b.get('link_path')} (instead of {b.get('instead_of')})")
    for w in r.get("warnings", []):
        print(f"  warning: {w}", file=sys.stderr)
    for u in r.get("unmapped", []):
        print(f"  not linked: {u.get('model_id', '')[:12]} ({u.get('model_type')}): {u.get('reason')}")
    for e in r.get("errors", []):
        print(f"  error: {e}", file=sys.stderr)


#: Health sections in the order shown, with a title and the default next step when an item has no ``action``.
HEALTH_SECTIONS = (
    ("offline_volumes", "offline drives", "mount the drive; nothing is removed while it is away"),
    ("broken_links", "broken links", None),
    ("orphaned_links", "orphaned links",
     "`pumas health --fix` removes them (they point into the library but are not registered)"),
    ("ghost_apps", "missing ComfyUI installs",
     "`pumas health --fix` forgets the install (its folder is gone); `pumas apps add DIR` if it moved"),
    ("phantom_models", "phantom models", "files are gone from the library: re-import them (restores the model), "
                                         "or `pumas delete MODEL_ID` to forget them"),
    ("moved_models", "model folders moved by hand",
     "`pumas repair` indexes them at their new place and re-points their links"),
    ("shadowed_links", "names ComfyUI loads from another folder",
     "ComfyUI finds a file of the same name in an earlier folder of that key: rename or remove it, "
     "or give the model another link name in its overrides.json"),
)


def _item_subject(it: object) -> str:
    if not isinstance(it, dict):
        return str(it)
    for key in ("link_path", "path", "root", "comfyui_dir", "name", "official_name", "model_id", "app_id"):
        if it.get(key):
            return str(it[key])
    return json.dumps(it, default=str)


def health_next_step(key: str, it: object, default: str | None) -> str | None:
    """The next step for one health item: its own ``action`` (or ``fix``), else what ``fixable_by``
    names, else the section's default; broken links say whether ``repair`` can fix them."""
    if isinstance(it, dict):
        by, why = it.get("fixable_by"), it.get("fix_reason")
        if by:
            cmd = f"`pumas {by}` fixes this" if by in ("repair", "clean", "rebuild") else str(by)
            return f"{cmd}: {why}" if why else cmd
        if why:
            return str(why)
        for k in ("fix", "next_step", "action"):
            if it.get(k):
                return str(it[k])
        if key == "broken_links" and "repairable" in it:
            return ("`pumas repair` re-creates it" if it["repairable"]
                    else "the model is gone: `pumas health --fix` removes the dead link")
    return default


def health_lines(h: dict[str, Any]) -> list[str]:
    """The health report as readable lines: status, then per section each item, why, and what fixes it."""
    lines = [f"status: {h.get('status')}" + (f" ({h['links_checked']} links checked)" if "links_checked" in h else "")]
    for key, title, default in HEALTH_SECTIONS:
        items = h.get(key) or []
        if not items:
            continue
        lines.append(f"{title}: {len(items)}")
        for it in items[:20]:
            reason = it.get("reason") if isinstance(it, dict) else None
            lines.append(f"  {_item_subject(it)}" + (f" — {reason}" if reason else ""))
            step = health_next_step(key, it, default)
            if step:
                lines.append(f"    next: {step}")
        if len(items) > 20:
            lines.append(f"  … and {len(items) - 20} more (`pumas --json health` lists all)")
    if h.get("status") == "healthy":
        lines.append("nothing to do")
    return lines


def print_health(h: dict[str, Any]) -> None:
    """Print :func:`health_lines`."""
    for line in health_lines(h):
        print(line)


def repair_lines(r: dict[str, Any]) -> list[str]:
    """What ``repair`` (or ``clean``) fixed and what it could not fix, with reasons.

    Reads ``fixed``/``not_fixed`` lists when present, else the counts and lists of the older
    shapes (``repaired``, ``unrepairable``, ``conflicts``, ``errors``, ``removed_*``).
    """
    lines: list[str] = []
    fixed = r.get("fixed")
    if isinstance(fixed, list):
        lines.append(f"fixed: {len(fixed)}")
        lines += [f"  {_item_subject(it)}" + (f" — {it['reason']}" if isinstance(it, dict) and it.get("reason") else "")
                  for it in fixed[:50]]
    else:
        counts = [f"{k.replace('_', ' ')} {v}" for k, v in r.items()
                  if isinstance(v, int) and not isinstance(v, bool)
                  and (k in ("repaired",) or k.startswith("removed") or k.startswith("forgotten"))]
        removed_apps = r.get("removed_apps") or []
        if removed_apps:
            counts.append(f"forgot {len(removed_apps)} install(s)")
        lines.append("fixed: " + (", ".join(counts) if counts else "nothing"))
    not_fixed = r.get("not_fixed")
    if not isinstance(not_fixed, list):
        not_fixed = [*(r.get("unrepairable") or []), *(r.get("conflicts") or []), *(r.get("kept_orphans") or []),
                     *(r.get("errors") or [])]
    if not_fixed:
        lines.append(f"not fixed: {len(not_fixed)}")
        for it in not_fixed[:50]:
            why = (it.get("reason") or it.get("error") or "") if isinstance(it, dict) else ""
            lines.append(f"  {_item_subject(it)}" + (f" — {why}" if why else ""))
            step = health_next_step("broken_links", it, None) if isinstance(it, dict) else None
            if step:
                lines.append(f"    next: {step}")
    else:
        lines.append("not fixed: nothing")
    return lines


def print_fix(h: dict[str, Any]) -> None:
    """``health --fix``: what repair and clean fixed and did not fix (with reasons), then the health after."""
    for m in (h.get("repair") or {}).get("reindexed") or []:
        print(f"moved: {m['old_path']} -> {m['path']}")
    for r in (h.get("clean") or {}).get("removed") or []:
        print(f"removed {r['link_path']}: {r.get('reason', '')}")
    for label in ("repair", "clean"):
        print(f"{label}:")
        print("\n".join("  " + line for line in repair_lines(h.get(label) or {})))
    print_health(h["after"])

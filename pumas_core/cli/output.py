"""Human-readable output of the CLI (the ``--json`` output is the facade's dicts as they are)."""

from __future__ import annotations

import json
import sys


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


def emit_json(doc) -> None:
    """Print one JSON document on stdout."""
    json.dump(doc, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def model_line(m: dict) -> str:
    """One line per model: short id, type, format, size, trust, name."""
    flags = "" if m.get("complete", True) else "  [incomplete]"
    return (f"{m['model_id'][:12]}  {m['model_type']:<15} {m['file_format']:<11} {human_size(m.get('size_bytes')):>10}"
            f"  {m.get('trust', 'none'):<8}  {m['official_name']}{flags}")


def print_models(models: list[dict]) -> None:
    """Print a model table (or a note when empty)."""
    if not models:
        print("no models")
        return
    print(f"{'id':<12}  {'type':<15} {'format':<11} {'size':>10}  {'trust':<8}  name")
    for m in models:
        print(model_line(m))


def print_model(m: dict) -> None:
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


def print_import(report: dict) -> None:
    """Summarise an import report."""
    for m in report["imported"]:
        print(f"imported  {m['model_id'][:12]}  {m['model_type']:<15} {m['official_name']}  → {m['path']}")
    for s in report["skipped"]:
        print(f"skipped   {s.get('model_id', '')[:12]}  {s.get('reason')}: {s.get('official_name', s.get('path'))}")
    for f in report["failed"]:
        print(f"failed    {f['error']}", file=sys.stderr)
    sync = report.get("sync")
    if sync:
        print(f"linked    {sync.get('created', 0)} new links into {sync.get('apps', 0)} install(s)")
    print(f"{len(report['imported'])} imported, {len(report['skipped'])} skipped, {len(report['failed'])} failed")


def print_identities(models: list[dict]) -> None:
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


def print_sync(r: dict) -> None:
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


def print_health(h: dict) -> None:
    """Summarise a health report."""
    print(f"status: {h['status']}")
    for key in ("broken_links", "orphaned_links", "ghost_apps", "phantom_models", "offline_volumes"):
        items = h.get(key) or []
        if items:
            print(f"{key.replace('_', ' ')}: {len(items)}")
            for it in items[:20]:
                print(f"  {it if isinstance(it, str) else json.dumps(it, default=str)}")

"""The staging area ``<root>/.staging/``: where imports are assembled before an atomic rename.

Each import unit gets ``<root>/.staging/<random>.tmp/``.  Copy mode writes copies there, so a
crash leaves only a ``*.tmp`` folder that :func:`recover_staging` deletes at the next start.
Move mode renames the user's files there; before the first rename a journal
(``.pumas-move.json``: original path ↔ staged name) is written and fsynced, so recovery
puts every moved file back where it came from instead of deleting it — nothing is lost.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from ..atomic import atomic_write_text, fsync_dir

STAGING = ".staging"
JOURNAL = ".pumas-move.json"
RECOVERED = "recovered"


def staging_root(root: Path) -> Path:
    """``<root>/.staging`` (created)."""
    p = Path(root) / STAGING
    p.mkdir(parents=True, exist_ok=True)
    return p


def new_stage(root: Path) -> Path:
    """Create and return a fresh ``<root>/.staging/<hex>.tmp/`` folder."""
    d = staging_root(root) / f"{uuid.uuid4().hex}.tmp"
    d.mkdir()
    return d


def journal_moves(stage: Path, moves: list[tuple[Path, str]]) -> None:
    """Record ``(original absolute path, name inside stage)`` pairs durably before moving."""
    atomic_write_text(stage / JOURNAL, json.dumps([[str(src), rel] for src, rel in moves]))


def _restore_moves(stage: Path, root: Path) -> list[str]:
    """Move journaled files back to their original paths; return what was restored or parked."""
    notes = []
    try:
        moves = json.loads((stage / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        moves = []
    for src, rel in moves:
        staged = stage / rel
        if not staged.exists():
            continue
        target = Path(src)
        if target.exists():
            # the user put something new there: park ours instead of overwriting it
            park = staging_root(root) / RECOVERED / f"{stage.name[:-4]}" / rel
            park.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, park)
            notes.append(f"kept {park} (original place {src} is taken)")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            fsync_dir(target.parent)
            notes.append(f"restored {src}")
    return notes


def discard_stage(stage: Path, root: Path) -> list[str]:
    """Undo a stage: restore moved files (per the journal), then delete the folder."""
    notes = _restore_moves(stage, root) if (stage / JOURNAL).exists() else []
    shutil.rmtree(stage, ignore_errors=True)
    return notes


def recover_staging(root: Path) -> list[str]:
    """Clean crash leftovers: every ``*.tmp`` under ``<root>/.staging`` is undone.

    Returns human-readable notes (empty when nothing was left over). Never raises for a
    leftover it cannot remove; it simply stays for the next start.
    """
    base = Path(root) / STAGING
    notes: list[str] = []
    if not base.is_dir():
        return notes
    for entry in base.iterdir():
        if entry.name.endswith(".tmp"):
            try:
                if entry.is_dir():
                    notes += discard_stage(entry, root)
                else:
                    entry.unlink()
                notes.append(f"removed leftover {entry.name}")
            except OSError as exc:
                notes.append(f"could not clean {entry}: {exc}")
    return notes


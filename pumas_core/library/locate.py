"""Where is each indexed model's content now?  Self-healing by identity.

A model folder moved by hand inside the library keeps its ``metadata.json`` (and so its ``model_id``),
but the index still names the old place and its links dangle.  :func:`locate_models` checks every
indexed model's files (one ``stat`` each, as health always did) and, only when some are missing,
walks the library's ``metadata.json`` files once looking for those ids with complete files:

* found → the model **moved** (links are re-pointed, never deleted);
* not found → the content is gone: a *phantom* (metadata left, files deleted by hand) or a folder
  removed outright.  Re-importing the same bytes restores a phantom
  (:meth:`pumas_core.library.store.ModelStore.commit`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CorruptFileError
from .deepscan import iter_model_dirs, missing_files
from .metadata import read_metadata


@dataclass
class ModelLocations:
    """Outcome of :func:`locate_models`.

    Attributes:
        present: ids whose files are complete at their indexed folder.
        moved: ``{model_id: new_dir}`` complete copies found elsewhere in the library.
        phantoms: ``[{"model_id","path","missing","action","fixable_by","reason"}]`` models whose content
            is gone (``missing``: the absent file names; ``path``: the indexed folder).
    """

    present: set[str] = field(default_factory=set)
    moved: dict[str, Path] = field(default_factory=dict)
    phantoms: list[dict[str, Any]] = field(default_factory=list)

    def moved_list(self, root: Path, rel_by_id: dict[str, str]) -> list[dict[str, Any]]:
        """``moved`` as health items ``{"model_id","old_path","path","action","fixable_by","reason"}``."""
        return [{"model_id": mid, "old_path": str(Path(root) / rel_by_id[mid]), "path": str(new),
                 "action": "repoint", "fixable_by": "repair",
                 "reason": f"model folder moved by hand to {new}; repair updates the index and re-points its links"}
                for mid, new in sorted(self.moved.items())]


def find_model_dirs(root: Path, model_ids: set[str], skip: Collection[str] = frozenset()) -> dict[str, Path]:
    """Walk the library's ``metadata.json`` files for ``model_ids``; return ``{id: folder}`` for those
    found with complete files (folders in ``skip`` — absolute paths as str — are not considered)."""
    found: dict[str, Path] = {}
    if not model_ids:
        return found
    for d in iter_model_dirs(Path(root)):
        if d in skip:
            continue
        try:
            meta = read_metadata(d)
        except (OSError, CorruptFileError):
            continue
        mid = meta["model_id"]
        if mid in model_ids and mid not in found and not missing_files(Path(d), meta):
            found[mid] = Path(d)
            if len(found) == len(model_ids):
                break
    return found


def locate_models(root: Path, rows: Iterable[tuple[str, str, str, str, str]]) -> ModelLocations:
    """Classify indexed models (``rows`` = ``ModelIndex.iter_link_rows()``: ``(id, rel, type, format,
    meta_json)``) as present, moved or gone.  One metadata walk at most, only when something is missing."""
    root = Path(root)
    out = ModelLocations()
    missing: dict[str, tuple[str, list[str]]] = {}
    for mid, rel, _t, _f, meta_json in rows:
        gone = missing_files(root / rel, json.loads(meta_json))
        if gone:
            missing[mid] = (rel, gone)
        else:
            out.present.add(mid)
    if not missing:
        return out
    out.moved = find_model_dirs(root, set(missing), skip={os.path.join(root, rel) for rel, _ in missing.values()})
    for mid, (rel, gone) in sorted(missing.items()):
        if mid in out.moved:
            continue
        path = root / rel
        left = path.is_dir()
        out.phantoms.append({
            "model_id": mid, "path": str(path), "missing": gone, "action": "none", "fixable_by": None,
            "reason": ("files deleted by hand (metadata.json left); import the same file again to restore it"
                       if left else "model folder removed by hand; import the same file again to restore it")})
    return out

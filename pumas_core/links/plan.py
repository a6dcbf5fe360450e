"""Plan the links one install should have: which link path points at which library file.

Naming: a model's link carries its original name (``link_name`` for single files and diffusers
folders, each file's own name for sharded sets).  When two models want the same path the one that
already owns it in the registry keeps it; otherwise the lower ``model_id`` wins, and the other gets
``stem-<8 hex of model_id>.ext`` (a sharded set that collides moves as a whole into a sub-folder
``<set name>-<8 hex>/`` so its index JSON still names its shards).  Deterministic across runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import BadInputError
from ..vocab import UnitKind
from .mapping import Mapping, Placement, resolve_placement, target_dir
from .models import LinkableModel
from .names import safe_link_name, suffixed


@dataclass(frozen=True)
class PlannedLink:
    """One link to have: ``link_path`` → ``target_path`` (both absolute), ``kind`` ``file`` | ``dir``."""

    link_path: str
    target_path: str
    model_id: str
    folder_key: str
    kind: str
    strategy: str = "relative"

    def row(self, app_id: str) -> dict[str, Any]:
        """The registry row for this link."""
        return {"link_path": self.link_path, "target_path": self.target_path, "model_id": self.model_id,
                "app_id": app_id, "folder_key": self.folder_key, "kind": self.kind, "strategy": self.strategy}


def diffusers_root(model: LinkableModel) -> str:
    """The folder to link for a diffusion-folder model: where its ``model_index.json`` is, else ``model_dir``."""
    idx = sorted((f for f in model.files if os.path.basename(f) == "model_index.json"), key=lambda f: f.count("/"))
    base = str(model.model_dir)
    if idx and os.path.dirname(idx[0]):
        return os.path.join(base, os.path.dirname(idx[0]))
    return base


def _subdir(subfolder: str) -> str:
    """A sub-folder as a safe relative path (each part cleaned; ``..`` cannot escape)."""
    parts = [p for p in subfolder.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return os.path.join(*[safe_link_name(p) for p in parts]) if parts else ""


def _variants(model: LinkableModel, place: Placement, tdir: str) -> list[list[PlannedLink]]:
    """Alternative link sets for one model, preferred first (plain names, then collision names)."""
    key = place.folder_key
    tdir = os.path.join(tdir, _subdir(place.subfolder)) if place.subfolder else tdir
    def mk(name: str, target: str, kind: str) -> PlannedLink:
        return PlannedLink(os.path.join(tdir, name), target, model.model_id, key, kind)

    base = str(model.model_dir)
    if not model.files:
        raise BadInputError(f"model {model.model_id}: has no files to link")
    if model.kind == UnitKind.DIFFUSION_FOLDER:
        name, root = safe_link_name(place.link_name or model.link_name), diffusers_root(model)
        return [[mk(name, root, "dir")], [mk(suffixed(name, model.model_id, True), root, "dir")]]
    if model.kind == UnitKind.SHARDED_SET:
        names = [(safe_link_name(os.path.basename(f)), os.path.join(base, f)) for f in model.files]
        if len({n for n, _ in names}) != len(names):
            raise BadInputError(f"model {model.model_id}: two files of the set share a name")
        sub = suffixed(safe_link_name(model.link_name), model.model_id, True)
        return [[mk(n, t, "file") for n, t in names], [mk(os.path.join(sub, n), t, "file") for n, t in names]]
    if model.kind != UnitKind.SINGLE_FILE:
        raise BadInputError(f"model {model.model_id}: unknown unit kind {model.kind!r}")
    name, target = safe_link_name(place.link_name or model.link_name), os.path.join(base, model.files[0])
    return [[mk(name, target, "file")], [mk(suffixed(name, model.model_id), target, "file")]]


def plan_links(models: Iterable[LinkableModel], app: dict[str, Any], mapping: Mapping,
               owned: dict[str, str]) -> tuple[list[PlannedLink], list[dict[str, Any]], list[dict[str, Any]]]:
    """Plan the links of ``models`` in ``app``.

    Args:
        owned: ``{link_path: model_id}`` of registry rows that still hold their name.
    Returns:
        ``(planned, unmapped, errors)``; unmapped entries ``{"model_id","model_type","reason"}``,
        errors ``{"link_path": None, "model_id", "error"}`` (``"keep_links": True`` when the model's
        existing links must stay as they are, e.g. its ``overrides.json`` is invalid).
    """
    unmapped: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    options: dict[str, list[list[PlannedLink]]] = {}
    for m in models:
        if m.overrides_error:
            errors.append({"link_path": None, "model_id": m.model_id, "error": m.overrides_error, "keep_links": True})
            continue
        place, reason = resolve_placement(m, app, mapping)
        if place is None:
            unmapped.append({"model_id": m.model_id, "model_type": m.model_type, "reason": reason})
            continue
        try:
            options[m.model_id] = _variants(m, place, target_dir(app, place.folder_key))
        except BadInputError as exc:
            errors.append({"link_path": None, "model_id": m.model_id, "error": str(exc)})
    claimed: dict[str, str] = {}
    chosen: dict[str, list[PlannedLink]] = {}
    # pass 1: a model keeps the variant it already owns
    for mid in sorted(options):
        for variant in options[mid]:
            if all(owned.get(p.link_path) == mid for p in variant):
                chosen[mid] = variant
                claimed.update((p.link_path, mid) for p in variant)
                break
    # pass 2: the others, lowest model_id first
    for mid in sorted(options):
        if mid in chosen:
            continue
        for variant in options[mid]:
            if all(claimed.get(p.link_path, mid) == mid and owned.get(p.link_path, mid) == mid for p in variant):
                chosen[mid] = variant
                claimed.update((p.link_path, mid) for p in variant)
                break
        else:
            first = options[mid][0][0].link_path
            errors.append({"link_path": first, "model_id": mid,
                           "error": f"{first}: name taken by another model, collision name taken too"})
    planned = [p for mid in sorted(chosen) for p in chosen[mid]]
    return planned, unmapped, errors

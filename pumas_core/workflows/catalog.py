"""The library as the resolver sees it: models by hash, by file name, by folder, with their link targets."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..links.mapping import Mapping, resolve_target
from ..links.models import LinkableModel
from .loaders import LEGACY_KEYS


@dataclass
class Entry:
    """One library model: its :class:`LinkableModel` view and its ``metadata.json`` content."""

    model: LinkableModel
    meta: dict

    @property
    def file_name(self) -> str:
        """The name a loader would list it under (file name, or folder name for Diffusion Folders)."""
        return self.model.link_name

    @property
    def sha256(self) -> str | None:
        return (self.meta.get("hashes") or {}).get("sha256")


#: name parts that tell a precision or packaging variant of the same model (ignored by the fuzzy match)
VARIANT_TOKENS = {"fp32", "fp16", "bf16", "fp8", "e4m3fn", "e5m2", "scaled", "pruned", "emaonly", "ema", "noema",
                  "full", "fp8e4m3fn", "int8", "q8", "q4", "safetensors"}


def _stem_key(name: str) -> str:
    stem = os.path.splitext(name.rsplit("/", 1)[-1])[0].lower()
    words = [w for w in re.split(r"[^a-z0-9]+", stem) if w]
    kept = [w for w in words if w not in VARIANT_TOKENS]
    return " ".join(kept or words)


class Catalog:
    """Lazy, per-call snapshot of the library index (one pass over the index rows on first use)."""

    def __init__(self, lib):
        self.lib = lib
        self._entries: dict[str, Entry] | None = None
        self._by_name: dict[str, list[str]] = {}
        self._by_dir: dict[str, str] = {}

    def _load(self) -> dict[str, Entry]:
        if self._entries is None:
            self._entries = {}
            for mid, rel, mtype, fmt, meta_json in self.lib.index.iter_link_rows():
                meta = json.loads(meta_json)
                files = tuple(f["name"] for f in meta["files"])
                link_name = meta["official_name"] if fmt == "single-file" else meta["cleaned_name"]
                m = LinkableModel(model_id=mid, model_type=mtype, format=fmt, model_dir=self.lib.root / rel,
                                  files=files, link_name=link_name, link_subdir=meta.get("link_subdir") or "")
                self._entries[mid] = Entry(m, meta)
                self._by_name.setdefault(link_name.lower(), []).append(mid)
                self._by_dir[os.path.normpath(str(self.lib.root / rel))] = mid
        return self._entries

    def get(self, model_id: str) -> Entry | None:
        return self._load().get(model_id)

    def by_hash(self, kind: str, value: str) -> Entry | None:
        """The model with this ``sha256``/``blake3`` (primary or one of its files), or None."""
        hit = self.lib.index.find_by_hash(**{kind: value.lower()})
        return self.get(hit["model_id"]) if hit else None

    def by_name(self, name: str) -> list[Entry]:
        """Models whose listed name equals ``name`` (case-insensitive, base name only)."""
        self._load()
        return [self._entries[m] for m in self._by_name.get(name.rsplit("/", 1)[-1].lower(), [])]

    def owner_of(self, real_path: str) -> Entry | None:
        """The model whose folder holds ``real_path`` (an already resolved path), or None."""
        self._load()
        p = Path(os.path.normpath(real_path))
        for d in (p, *p.parents):
            mid = self._by_dir.get(str(d))
            if mid:
                return self._entries[mid]
            if str(d) == os.path.normpath(str(self.lib.root)):
                break
        return None

    def all(self) -> list[Entry]:
        return list(self._load().values())


def same_key(a: str | None, b: str | None) -> bool:
    """Folder keys equal up to case and ComfyUI's legacy names (``clip`` = ``text_encoders``)."""
    if not a or not b:
        return False
    a, b = a.lower(), b.lower()
    return LEGACY_KEYS.get(a, a) == LEGACY_KEYS.get(b, b)


def compatible(entry: Entry, key: str, app: dict | None, mapping: Mapping) -> bool:
    """Whether a model of this type may answer a reference in folder ``key`` (unknown types may)."""
    m = entry.model
    if m.format == "diffusion-folder":
        return same_key(key, "diffusers")
    if m.model_type == "unknown" or m.model_type not in mapping.types:
        return True
    wanted = mapping.types.get(m.model_type)
    if wanted is None:
        return True
    if app is not None:
        got, _ = resolve_target(m, app, mapping)
        wanted = got or wanted
    return same_key(wanted, key)


def fuzzy_best(entries: list[Entry], name: str, threshold: float = 0.8) -> tuple[Entry | None, float]:
    """The one entry whose name is clearly closest to ``name`` (ratio >= threshold and 0.05 ahead of the next)."""
    from difflib import SequenceMatcher

    want = _stem_key(name)
    scored = sorted(((SequenceMatcher(None, want, _stem_key(e.file_name)).ratio(), e.model.model_id, e)
                     for e in entries), key=lambda t: (-t[0], t[1]))
    if not scored or scored[0][0] < threshold:
        return None, scored[0][0] if scored else 0.0
    if len(scored) > 1 and scored[1][0] > scored[0][0] - 0.05:
        return None, scored[0][0]
    return scored[0][2], scored[0][0]

"""The library as the resolver sees it: models by hash, by file name and by folder, loaded once per
resolve from the index's plain columns (no metadata JSON parsed until a model is actually chosen)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..links.comfyui import LEGACY_KEYS
from ..links.mapping import DEFAULT_TYPES, Mapping
from ..links.models import LinkableModel
from ..vocab import ModelType, UnitKind

if TYPE_CHECKING:
    from ..facade import Library

#: One index row: ``(model_id, rel_path, model_type, unit kind, official_name, cleaned_name)``.
NameRow = tuple[str, str, str, str, str, str]

#: name parts that tell a precision or packaging variant of the same model (ignored by the fuzzy match)
VARIANT_TOKENS = {"fp32", "fp16", "bf16", "fp8", "e4m3fn", "e5m2", "scaled", "pruned", "emaonly", "ema", "noema",
                  "full", "fp8e4m3fn", "int8", "q8", "q4",
                  "safetensors"}  # not-vocab: a word in file names


class Entry:
    """One library model.  ``kind`` is its unit kind (``metadata.json`` ``format``); ``file_name`` is the
    name a loader lists it under (file name, or folder name for Diffusion Folders); ``meta``
    (``metadata.json`` + ``path``) and ``model`` (the :class:`LinkableModel`) are read from the index on
    first use."""

    __slots__ = ("_lib", "model_id", "rel", "model_type", "kind", "file_name", "_meta", "_model")

    def __init__(self, lib: Library, model_id: str, rel: str, model_type: str, kind: str, file_name: str) -> None:
        self._lib, self.model_id, self.rel, self.model_type, self.kind = lib, model_id, rel, model_type, kind
        self.file_name = file_name
        self._meta: dict[str, Any] | None = None
        self._model: LinkableModel | None = None

    @property
    def meta(self) -> dict[str, Any]:
        """The model's metadata (``{}`` when it left the index since the catalog was read)."""
        if self._meta is None:
            self._meta = self._lib.index.get(self.model_id) or {}
        return self._meta

    @property
    def model(self) -> LinkableModel:
        """The model as the link layer sees it."""
        if self._model is None:
            meta = self.meta
            self._model = LinkableModel(model_id=self.model_id, model_type=self.model_type, kind=self.kind,
                                        model_dir=Path(self._lib.root) / self.rel,
                                        files=tuple(f["name"] for f in meta.get("files", [])),
                                        link_name=self.file_name, link_subdir=meta.get("link_subdir") or "")
        return self._model

    @property
    def sha256(self) -> str | None:
        """The model's SHA-256 (hex), when known."""
        sha: str | None = (self.meta.get("hashes") or {}).get("sha256")
        return sha


def _stem_key(name: str) -> str:
    stem = os.path.splitext(name.rsplit("/", 1)[-1])[0].lower()
    words = [w for w in re.split(r"[^a-z0-9]+", stem) if w]
    kept = [w for w in words if w not in VARIANT_TOKENS]
    return " ".join(kept or words)


class Catalog:
    """The library index as the resolver asks it: exact look-ups go to SQLite (indexed columns), only
    the fuzzy match reads every model (once per resolve)."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self._entries: dict[str, Entry] = {}
        self._all: list[Entry] | None = None

    def _entry(self, row: NameRow) -> Entry:
        mid, rel, mtype, kind, official, cleaned = row
        if mid not in self._entries:
            self._entries[mid] = Entry(self.lib, mid, rel, mtype, kind,
                                       official if kind == UnitKind.SINGLE_FILE else cleaned)
        return self._entries[mid]

    def get(self, model_id: str) -> Entry | None:
        """The model ``model_id`` (read from the index once), or None."""
        if model_id not in self._entries:
            m = self.lib.index.get(model_id)
            if m is None:
                return None
            self._entry((model_id, m["rel_path"] if "rel_path" in m else os.path.relpath(m["path"], self.lib.root),
                         m["model_type"], m["format"], m["official_name"], m["cleaned_name"]))
        return self._entries[model_id]

    def by_hash(self, kind: str, value: str) -> Entry | None:
        """The model with this ``sha256``/``blake3`` (primary or one of its files), or None."""
        hit = self.lib.index.find_by_hash(**{kind: value.lower()})
        return self.get(hit["model_id"]) if hit else None

    def by_name(self, name: str) -> list[Entry]:
        """Models whose listed name equals ``name`` (case-insensitive, base name only)."""
        base = name.rsplit("/", 1)[-1]
        rows = [r for r in self.lib.index.name_rows_where("official_name", base) if r[3] == UnitKind.SINGLE_FILE]
        rows += [r for r in self.lib.index.name_rows_where("cleaned_name", base) if r[3] != UnitKind.SINGLE_FILE]
        return [self._entry(r) for r in rows]

    def owner_of(self, real_path: str) -> Entry | None:
        """The model whose folder holds ``real_path`` (an already resolved path), or None."""
        root = os.path.realpath(str(self.lib.root))
        rel = os.path.relpath(os.path.normpath(real_path), root)
        if rel.startswith(".."):
            return None
        parts = Path(rel).parts
        for i in range(len(parts), 0, -1):
            rows = self.lib.index.name_rows_where("rel_path", Path(*parts[:i]).as_posix())
            if rows:
                return self._entry(rows[0])
        return None

    def all(self) -> list[Entry]:
        """Every model (read once)."""
        if self._all is None:
            self._all = [self._entry(r) for r in self.lib.index.name_rows()]
        return self._all


def same_key(a: str | None, b: str | None) -> bool:
    """Folder keys equal up to case and ComfyUI's legacy names (``clip`` = ``text_encoders``)."""
    if not a or not b:
        return False
    a, b = a.lower(), b.lower()
    return LEGACY_KEYS.get(a, a) == LEGACY_KEYS.get(b, b)


def compatible(entry: Entry, key: str, app: dict[str, Any] | None, mapping: Mapping) -> bool:
    """Whether a model of this type may answer a reference in folder ``key`` (unknown types may): ``key``
    is a folder that an enabled mapping rule for the model's type and kind, or the built-in table, names."""
    if entry.kind == UnitKind.DIFFUSION_FOLDER:
        return same_key(key, "diffusers")
    if entry.model_type == ModelType.UNKNOWN:
        return True
    wanted = {r.folder for r in mapping.rules
              if r.enabled and r.folder and (not r.model_type or entry.model_type in r.model_type)
              and (not r.kind or entry.kind in r.kind)}
    default = DEFAULT_TYPES.get(entry.model_type)
    if default:
        wanted.add(default)
    return not wanted or any(same_key(w, key) for w in wanted)


def fuzzy_best(entries: list[Entry], name: str, threshold: float = 0.8) -> tuple[Entry | None, float]:
    """The one entry whose name is clearly closest to ``name`` (ratio >= threshold and 0.05 ahead of the next)."""
    from difflib import SequenceMatcher

    want = _stem_key(name)
    sm = SequenceMatcher(None, "", want)
    floor = min(threshold, 0.5)
    scored: list[tuple[float, str, Entry]] = []
    for e in entries:
        sm.set_seq1(_stem_key(e.file_name))
        if sm.real_quick_ratio() < floor or sm.quick_ratio() < floor:
            continue
        scored.append((sm.ratio(), e.model_id, e))
    scored.sort(key=lambda t: (-t[0], t[1]))
    if not scored or scored[0][0] < threshold:
        return None, scored[0][0] if scored else 0.0
    if len(scored) > 1 and scored[1][0] > scored[0][0] - 0.05:
        return None, scored[0][0]
    return scored[0][2], scored[0][0]

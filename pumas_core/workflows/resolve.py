"""Decide, for each model reference of a workflow, what the library and the install hold for it.

Order (first that applies wins):

1. **hash** — ``sha256``/``blake3`` (``hash_type`` case-insensitive; SHA-256 when absent) names a
   library model: link it at the workflow's exact name (``present`` if that name already is it).
2. **path** — the exact folder-relative name already exists in one of the install's folders for
   that key: ``present`` (with a hash given, its content must agree, else ``hash_mismatch``).
3. **name** — one library model with the same file name and a compatible type: link it; several
   distinct models: ``ambiguous``.  A name match whose content contradicts a given hash is
   ``hash_mismatch`` and is never linked.
4. **fuzzy** — one library model with a clearly closest name: ``ambiguous`` (the user confirms it;
   ``confirmed={ref.key: model_id}`` then links it).
5. otherwise ``missing`` (with the workflow's URL when it has one).

This module only decides; :mod:`.apply` creates links.  No file is written here.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..links.mapping import Mapping
from ..vocab import UnitKind
from .catalog import Catalog, Entry, compatible, fuzzy_best
from .extract import ModelRef

if TYPE_CHECKING:
    from ..facade import Library


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...

    def hexdigest(self) -> str: ...

HEX = {"sha256": re.compile(r"^[0-9a-f]{64}$"), "blake3": re.compile(r"^[0-9a-f]{64}$")}


@dataclass
class Resolution:
    """The decision for one reference.  ``status`` is the contract vocabulary (``present``, ``linked``
    (to be linked, until :mod:`.apply` confirms), ``missing``, ``ambiguous``, ``conflict``,
    ``hash_mismatch``); ``link_path`` the absolute path the workflow's name maps to in the install."""

    ref: ModelRef
    status: str
    matched_by: str | None = None
    entry: Entry | None = None
    link_path: str | None = None
    note: str | None = None
    candidates: list[str] = field(default_factory=list)
    found_path: str | None = None
    folder: str | None = None        # the install's spelling of the folder key

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of one reference (contract keys first, then details)."""
        r = self.ref
        d: dict[str, Any] = {
            "node_id": r.node_id, "node_type": r.node_type, "input": r.input, "directory": r.directory,
            "name": r.name, "status": self.status, "matched_by": self.matched_by,
            "model_id": self.entry.model_id if self.entry else None, "url": r.url,
            "hash": r.hash, "hash_type": r.hash_type, "subgraph": r.subgraph, "key": r.key,
            "link_path": self.link_path or self.found_path, "note": self.note}
        if self.candidates:
            d["candidates"] = self.candidates
        if r.rel_name != r.name and os.sep == "/":
            d["rewrite_to"] = r.rel_name  # a POSIX link cannot carry a backslash name
        return d


def file_digest(path: str, kind: str) -> str:
    """Hex ``sha256`` or ``blake3`` of a file (streamed, 1 MiB reads).  Raises OSError."""
    h: _Hasher
    if kind == "blake3":
        import blake3

        h = blake3.blake3()
    else:
        h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def safe_rel(name: str) -> bool:
    """A folder-relative name with no ``..``/``.`` parts, not absolute, no drive letter."""
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and not re.match(r"^[A-Za-z]:", name) \
        and all(p not in ("", ".", "..") for p in parts)


class Resolver:
    """Resolve references against one library (``lib``) and optionally one install (``app`` dict).

    ``confirmed``: ``{ref.key: model_id}`` — the user's answer to an ``ambiguous`` reference.
    """

    def __init__(self, lib: Library, app: dict[str, Any] | None, mapping: Mapping,
                 confirmed: dict[str, str] | None = None) -> None:
        self.lib, self.app, self.mapping = lib, app, mapping
        self.catalog = Catalog(lib)
        self.confirmed = {str(k): str(v).lower().removeprefix("blake3:") for k, v in (confirmed or {}).items()}
        self._digests: dict[tuple[str, str], str] = {}
        self._pools: dict[str, list[Entry]] = {}

    # -- the install side ------------------------------------------------------------------------
    def folder_key(self, key: str) -> str | None:
        """The install's spelling of ``key`` (case-insensitive), or None when it has no such folder."""
        if self.app is None:
            return key
        if key in (".", "..") or "/" in key or "\\" in key:
            return None
        fp: dict[str, list[str]] = self.app.get("folder_paths") or {}
        for k in (key, *sorted(fp)):
            if k.lower() == key.lower() and k in fp:
                return str(k)
        return key if os.path.isdir(os.path.join(self.app["models_dir"], key)) else None

    def link_path(self, key: str, rel: str) -> str | None:
        """Where the link for ``rel`` in folder ``key`` goes in the install (None without an install)."""
        return os.path.join(self.app["models_dir"], key, *rel.split("/")) if self.app else None

    def present_path(self, key: str, rel: str) -> str | None:
        """Where ComfyUI would find ``rel`` in folder ``key`` (first existing, links followed), or None."""
        if self.app is None:
            return None
        dirs = list((self.app.get("folder_paths") or {}).get(key) or []) or [os.path.join(self.app["models_dir"], key)]
        for d in dirs:
            p = os.path.join(d, *rel.split("/"))
            if os.path.exists(p):
                return p
        return None

    def _digest(self, path: str, kind: str) -> str:
        k = (os.path.realpath(path), kind)
        if k not in self._digests:
            self._digests[k] = file_digest(k[0], kind)
        return self._digests[k]

    def _content_of(self, path: str) -> Entry | None:
        return self.catalog.owner_of(os.path.realpath(path))

    # -- one reference ---------------------------------------------------------------------------
    def resolve(self, ref: ModelRef) -> Resolution:
        """The decision for ``ref`` (never raises for bad references: they get a status and a note)."""
        rel = ref.rel_name
        if not ref.directory:
            return Resolution(ref, "missing", note="no folder known for this reference")
        if not safe_rel(rel):
            return Resolution(ref, "conflict", note=f"unsafe model path {ref.name!r}; not linked")
        key = self.folder_key(ref.directory)
        if key is None:
            return Resolution(ref, "missing", note=f"this install has no '{ref.directory}' model folder")
        kind = (ref.hash_type or "sha256").lower().replace("-", "")
        want = ref.hash.strip().lower() if ref.hash else None
        if want and (kind not in HEX or not HEX[kind].match(want)):
            want, note = None, f"hash {ref.hash!r} ({ref.hash_type}) not usable; matched without it"
        else:
            note = None
        res = self._resolve(ref, key, rel, kind, want)
        res.note, res.folder = res.note or note, key
        return res

    def resolve_as(self, ref: ModelRef, model_id: str, how: str) -> Resolution:
        """Resolve ``ref``; if it is still ``missing``, answer it with library model ``model_id`` (e.g. the
        model a download of the reference's URL turned out to be, matched by its verified hash)."""
        res = self.resolve(ref)
        folder = res.folder
        entry = self.catalog.get(model_id) if res.status == "missing" and folder else None
        if entry is None or folder is None:
            return res
        out = self._for_entry(ref, entry, how, self.link_path(folder, ref.rel_name),
                              self.present_path(folder, ref.rel_name))
        out.folder = folder
        return out

    def _resolve(self, ref: ModelRef, key: str, rel: str, kind: str, want: str | None) -> Resolution:
        lp = self.link_path(key, rel)
        found = self.present_path(key, rel)
        if want:
            entry = self.catalog.by_hash(kind, want)
            if entry is not None:
                return self._for_entry(ref, entry, kind, lp, found)
        if found:
            owner = self._content_of(found)
            if want:
                actual = (owner.meta.get("hashes") or {}).get(kind) if owner else None
                if actual is None and os.path.isfile(found):
                    actual = self._digest(found, kind)
                if actual != want:
                    return Resolution(ref, "hash_mismatch", "path", owner, found_path=found,
                                      note=f"{found} has other content than the workflow's {kind}")
                return Resolution(ref, "present", kind, owner, found_path=found)
            return Resolution(ref, "present", "path", owner, found_path=found)
        named = [e for e in self.catalog.by_name(rel) if compatible(e, key, self.app, self.mapping)]
        if want and named:
            return Resolution(ref, "hash_mismatch", "name", named[0], lp, candidates=[e.model_id for e in named],
                              note=f"the library's {named[0].file_name} has other content than the workflow's {kind}")
        if len(named) == 1:
            return self._link(ref, named[0], "name", lp)
        if len(named) > 1:
            chosen = self._confirmed(ref, named)
            if chosen:
                return self._link(ref, chosen, "name", lp)
            return Resolution(ref, "ambiguous", "name", None, lp, candidates=[e.model_id for e in named],
                              note=f"{len(named)} library models are named {rel.rsplit('/', 1)[-1]}")
        if not want:
            pool = self._pool(key)
            best, score = fuzzy_best(pool, rel)
            if best is not None:
                if self.confirmed.get(ref.key) == best.model_id:
                    return self._link(ref, best, "fuzzy", lp)
                return Resolution(ref, "ambiguous", "fuzzy", best, lp, candidates=[best.model_id],
                                  note=f"closest library model {best.file_name} (similarity {score:.2f}); "
                                       "confirm to link")
        return Resolution(ref, "missing", None, None, lp, note=self._missing_note(ref, key, rel))

    def _confirmed(self, ref: ModelRef, entries: list[Entry]) -> Entry | None:
        mid = self.confirmed.get(ref.key)
        return next((e for e in entries if e.model_id == mid), None)

    def _for_entry(self, ref: ModelRef, entry: Entry, kind: str, lp: str | None, found: str | None) -> Resolution:
        if found:
            owner = self._content_of(found)
            if owner is not None and owner.model_id == entry.model_id:
                return Resolution(ref, "present", kind, entry, found_path=found)
            if owner is None and os.path.isfile(found) and entry.sha256 and \
                    os.path.getsize(found) == sum(f.get("size", 0) for f in entry.meta.get("files", [])) and \
                    self._digest(found, "sha256") == entry.sha256:
                return Resolution(ref, "present", kind, entry, found_path=found, note="your own copy of the file")
            if lp is None or os.path.normpath(found) != os.path.normpath(lp):
                return Resolution(ref, "conflict", kind, entry, lp, found_path=found,
                                  note=f"{found} is another file and ComfyUI finds it first")
        return self._link(ref, entry, kind, lp)

    def _link(self, ref: ModelRef, entry: Entry, how: str, lp: str | None) -> Resolution:
        if entry.kind == UnitKind.SHARDED_SET:
            return Resolution(ref, "conflict", how, entry, lp, note="a Sharded Set has no single file to link by name")
        return Resolution(ref, "linked", how, entry, lp)

    def _pool(self, key: str) -> list[Entry]:
        """The library models that may be linked under folder ``key`` of this install (built once per key:
        the catalog is one snapshot for the whole resolve)."""
        if key not in self._pools:
            self._pools[key] = [e for e in self.catalog.all() if compatible(e, key, self.app, self.mapping)]
        return self._pools[key]

    def _missing_note(self, ref: ModelRef, key: str, rel: str) -> str:
        parts = [f"not in the library ({key}/{rel}"]
        parts[0] += f", {ref.hash_type or 'sha256'} {ref.hash[:12]}…)" if ref.hash else ")"
        if not ref.url:
            pool = self._pool(key)
            best, score = fuzzy_best(pool, rel, threshold=0.5)
            if best is None and pool:
                best, score = fuzzy_best(pool, rel, threshold=0.0)
            if best is not None:
                parts.append(f"closest: {best.file_name} ({score:.2f})")
        return "; ".join(parts)

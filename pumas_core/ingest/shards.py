"""Sharded Sets: find multi-file models among the files of one folder and check completeness.

Recognised naming schemes (all matched on the file name only, case-insensitive extension):

* ``<stem>-00001-of-00005.<ext>`` — huggingface_hub's shard names (``serialization/_base.py``:
  ``filename_pattern.format(suffix=f"-{idx + 1:05d}-of-{nb_shards:05d}")``) and llama.cpp's split GGUF
  (``"%s-%05d-of-%05d.gguf"``, gguf-py ``SHARD_NAME_FORMAT``).  The ``-of-N`` count gives completeness.
* ``<joined name>.index.json`` (``model.safetensors.index.json``, ``pytorch_model.bin.index.json``,
  ``diffusion_pytorch_model.safetensors.index.json``, diffusers variants ``….safetensors.index.fp16.json``):
  JSON ``{"metadata": {...}, "weight_map": {tensor: shard file}}``; the distinct ``weight_map`` values are
  the expected shard files.  The index file belongs to the set.  It wins over the ``-of-N`` names when both exist.
* ``<name>.<ext>.partN`` — byte splits (``model.safetensors.part1``, ``x.gguf.part00``); numbering
  starts at 0 when a ``part0``/``part00`` exists, else at 1.  Only gaps can be seen from the names;
  for safetensors the header of the first part gives the joined size, so missing tail parts are found too.
* ``<stem>_00001.<ext>`` — numbered runs (three or more digits, at least two files); only gaps can be
  seen, so the unit carries a warning that trailing files cannot be checked.

Everything here is pure name arithmetic plus bounded reads of small files (index JSON capped at
:data:`MAX_INDEX_BYTES`, a safetensors header by the strict reader of ``formats.safetensors``); nothing is hashed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..vocab import WEIGHT_SUFFIXES

#: extensions of files a folder walk plans as models (lowercase, with the dot): the vocabulary's weight
#: suffixes except ``.pt2`` (a ``torch.export`` archive holds no state-dict ``data.pkl``; a walk skips it).
MODEL_EXTS: frozenset[str] = WEIGHT_SUFFIXES - {".pt2"}
#: index JSON files larger than this are not read (DeepSeek-V3's 91k-tensor index is ~9 MB).
MAX_INDEX_BYTES = 32 << 20
#: stems too generic to name a set; the folder name is used instead.
GENERIC_STEMS = frozenset({
    "model", "pytorch_model", "diffusion_pytorch_model", "tf_model", "flax_model", "consolidated", "ggml-model",
})

_EXT = r"(?P<ext>\.(?:" + "|".join(e[1:] for e in sorted(MODEL_EXTS)) + r"))"
_OF_N = re.compile(r"^(?P<stem>.+)-(?P<idx>\d+)-of-(?P<total>\d+)" + _EXT + r"$", re.IGNORECASE)
_PART = re.compile(r"^(?P<stem>.+?)" + _EXT + r"\.part(?P<idx>\d+)$", re.IGNORECASE)
_RUN = re.compile(r"^(?P<stem>.+)_(?P<idx>\d{3,})" + _EXT + r"$", re.IGNORECASE)
_INDEX = re.compile(r"^(?P<stem>.+?)" + _EXT + r"\.index(?:\.[A-Za-z0-9_-]+)?\.json$", re.IGNORECASE)


@dataclass
class ShardSet:
    """One Sharded Set found in a folder.

    Attributes:
        directory: the folder holding the files (the names are relative to it).
        joined: the name the set would have as one file (``"model.safetensors"``).
        style: ``"index"`` | ``"of-n"`` | ``"part"`` | ``"run"``.
        shards: present shard names in shard order (the first shard first).
        index: name of the index JSON that belongs to the set, or ``None``.
        missing: names of shards that should exist but do not.
        warnings: one-line, human-readable remarks.
    """

    directory: Path
    joined: str
    style: str
    shards: list[str]
    index: str | None = None
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Every file of the set: shards in order, then the index JSON."""
        return self.shards + ([self.index] if self.index else [])

    @property
    def set_name(self) -> str:
        """The user-facing name: the joined file name, or the folder name for generic stems."""
        stem = self.joined.rsplit(".", 1)[0]
        if stem.lower() in GENERIC_STEMS and self.directory.name:
            return self.directory.name
        return self.joined


def is_model_name(name: str) -> bool:
    """True if ``name`` looks like a weights file or a shard of one (by extension only)."""
    low = name.lower()
    return Path(low).suffix in MODEL_EXTS or bool(_PART.match(name))


def is_shard_name(name: str) -> bool:
    """True if ``name`` follows one of the shard naming schemes or is a shard index JSON."""
    return any(rx.match(name) for rx in (_OF_N, _PART, _RUN, _INDEX))


def _read_small_json(path: Path, cap: int) -> tuple[object | None, str | None]:
    """Read and parse a JSON file of at most ``cap`` bytes; return ``(value, None)`` or ``(None, reason)``."""
    try:
        with open(path, "rb") as f:
            raw = f.read(cap + 1)
    except OSError as exc:
        return None, f"cannot read {path.name}: {exc.strerror or exc}"
    if len(raw) > cap:
        return None, f"{path.name} is larger than {cap} bytes; not read"
    from .formats.json_guard import checked_text

    try:  # bounded nesting and size first: a hostile manifest must not raise RecursionError
        return json.loads(checked_text(raw, max_values=1 << 23, max_containers=1 << 21)), None
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"{path.name} is not valid JSON ({str(exc).splitlines()[0]})"


def read_json_manifest(path: Path, cap: int = 1 << 20) -> tuple[dict[str, Any] | None, str | None]:
    """Read a small JSON object (a manifest); return ``(dict, None)`` or ``(None, reason)``."""
    value, err = _read_small_json(path, cap)
    if err is not None:
        return None, err
    if not isinstance(value, dict):
        return None, f"{path.name} is not a JSON object"
    return value, None


def _index_set(directory: Path, index_name: str, present: set[str]) -> ShardSet | None:
    """Build a set from an index JSON, or ``None`` if the index is unusable (a warning is not enough)."""
    m = _INDEX.match(index_name)
    assert m is not None
    joined = m.group("stem") + m.group("ext")
    data, err = _read_small_json(directory / index_name, MAX_INDEX_BYTES)
    if err is not None:
        return ShardSet(directory, joined, "index", [], index_name, warnings=[f"index ignored: {err}"])
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        return ShardSet(directory, joined, "index", [], index_name,
                        warnings=[f"index ignored: {index_name} has no weight_map"])
    expected: list[str] = []
    bad: list[str] = []
    for value in weight_map.values():
        if not isinstance(value, str) or not value or value.startswith(("/", "\\")) or ".." in Path(value).parts:
            bad.append(repr(value))
        elif value not in expected:
            expected.append(value)
    expected.sort(key=_shard_sort_key)
    s = ShardSet(directory, joined, "index", [n for n in expected if n in present], index_name,
                 missing=[n for n in expected if n not in present])
    if bad:
        s.warnings.append(f"{index_name}: {len(bad)} weight_map entries are not file names: {', '.join(bad[:3])}")
    return s


def _shard_sort_key(name: str) -> tuple[str, int, str]:
    for rx in (_OF_N, _PART, _RUN):
        m = rx.match(name)
        if m:
            return (m.group("stem").lower(), int(m.group("idx")), name)
    return (name.lower(), 0, name)


def _safetensors_joined_size(path: Path) -> int | None:
    """Total size in bytes of the safetensors file whose first bytes are in ``path`` (None if unknown)."""
    from ..errors import PumasError
    from .formats import safetensors

    try:  # the strict, bounded reader; the tensors may run past this first piece
        d = safetensors.parse(path, os.stat(path).st_size, partial=True).details
    except (OSError, PumasError):
        return None
    return 8 + int(d["header_size"]) + int(d["data_size"])


def _numbered(directory: Path, joined: str, style: str, items: list[tuple[int, str]], width: int,
              make_name: Callable[[int, int], str]) -> ShardSet:
    """A set known only by numbers: find gaps from the first number (0 or 1) to the highest."""
    items.sort()
    start = 0 if items[0][0] == 0 else 1
    have = {i for i, _ in items}
    missing = [make_name(i, width) for i in range(start, items[-1][0] + 1) if i not in have]
    return ShardSet(directory, joined, style, [n for _, n in items], missing=missing)


def _part_namer(stem: str, ext: str) -> Callable[[int, int], str]:
    """``(index, width) -> "<stem><ext>.part<index>"`` (a byte-split piece's name)."""
    return lambda i, w: f"{stem}{ext}.part{i:0{w}d}"


def _run_namer(stem: str, ext: str) -> Callable[[int, int], str]:
    """``(index, width) -> "<stem>_<index><ext>"`` (a numbered run's file name)."""
    return lambda i, w: f"{stem}_{i:0{w}d}{ext}"


def find_sets(directory: Path, names: list[str]) -> list[ShardSet]:
    """Find the Sharded Sets among ``names`` (regular files directly inside ``directory``).

    Returns the sets sorted by joined name; a file belongs to at most one set.  Index JSON files that
    name no present shard are returned as sets with no shards (callers decide whether that is an error).
    Reads only index JSON files and, for safetensors byte splits, the header of the first part.
    """
    present = set(names)
    claimed: set[str] = set()
    sets: list[ShardSet] = []

    for name in sorted(names):
        if _INDEX.match(name):
            s = _index_set(directory, name, present)
            if s is not None and (s.shards or s.missing):
                claimed.update(s.names)
                sets.append(s)
            elif s is not None:  # unusable index: let the name patterns group the shards; keep the warning
                sets.append(s)
                claimed.add(name)

    of_n: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
    parts: dict[tuple[str, str], list[tuple[int, str]]] = {}
    runs: dict[tuple[str, str, int], list[tuple[int, str]]] = {}
    for name in names:
        if name in claimed:
            continue
        if m := _OF_N.match(name):
            of_n.setdefault((m["stem"], m["total"], m["ext"]), []).append((int(m["idx"]), name))
        elif m := _PART.match(name):
            parts.setdefault((m["stem"], m["ext"]), []).append((int(m["idx"]), name))
        elif m := _RUN.match(name):
            runs.setdefault((m["stem"], m["ext"], len(m["idx"])), []).append((int(m["idx"]), name))

    # an unusable index adopts the name-pattern set with the same joined name
    orphan_index = {s.joined.lower(): s for s in sets if not s.shards and not s.missing}

    for (stem, total_s, ext), items in of_n.items():
        total = int(total_s)
        width = max(len(n.rsplit("-of-", 1)[0].rsplit("-", 1)[1]) for _, n in items)
        have = {i for i, _ in items}
        items.sort()
        s = ShardSet(directory, stem + ext, "of-n", [n for _, n in items],
                     missing=[f"{stem}-{i:0{width}d}-of-{total_s}{ext}" for i in range(1, total + 1) if i not in have])
        out_of_range = [n for i, n in items if i < 1 or i > total]
        if out_of_range:
            s.warnings.append(f"shard numbers outside 1..{total}: {', '.join(out_of_range)}")
        _adopt_index(s, orphan_index, sets)
        sets.append(s)

    for (stem, ext), items in parts.items():
        width = len(items[0][1].rsplit(".part", 1)[1])
        s = _numbered(directory, stem + ext, "part", items, width, _part_namer(stem, ext))
        _check_part_total(s, ext)
        _adopt_index(s, orphan_index, sets)
        sets.append(s)

    for (stem, ext, width), items in runs.items():
        if len(items) < 2:
            continue  # a lone name_00001.safetensors is just a file
        s = _numbered(directory, stem + ext, "run", items, width, _run_namer(stem, ext))
        s.warnings.append("numbered run: the total count is not recorded, so missing trailing files cannot be detected")
        _adopt_index(s, orphan_index, sets)
        sets.append(s)

    sets.sort(key=lambda s: (s.joined.lower(), s.style))
    return sets


def _adopt_index(s: ShardSet, orphans: dict[str, ShardSet], sets: list[ShardSet]) -> None:
    orphan = orphans.pop(s.joined.lower(), None)
    if orphan is not None:
        s.index = orphan.index
        s.warnings.extend(orphan.warnings)
        sets.remove(orphan)


def _check_part_total(s: ShardSet, ext: str) -> None:
    """For byte splits: compare the joined size the first part promises with the sizes present."""
    if s.missing or not s.shards:
        return
    first = s.directory / s.shards[0]
    joined = _safetensors_joined_size(first) if ext.lower() in (".safetensors", ".sft") else None
    if joined is None:
        s.warnings.append("byte-split parts: the number of parts is not recorded, so missing trailing parts "
                          "cannot be detected")
        return
    try:
        have = sum(os.stat(s.directory / n).st_size for n in s.shards)
    except OSError:
        return
    if have < joined:
        last = s.shards[-1].rsplit(".part", 1)
        nxt = f"{last[0]}.part{int(last[1]) + 1:0{len(last[1])}d}"
        s.missing.append(nxt)
        s.warnings.append(f"byte-split parts hold {have} of the {joined} bytes the header promises; "
                          f"{nxt} and possibly more are missing")
    elif have > joined:
        s.warnings.append(f"byte-split parts hold {have} bytes, more than the {joined} the header promises")


def incomplete_warning(s: ShardSet) -> str:
    """The one-line warning for an incomplete set (lists at most five missing names)."""
    shown = ", ".join(s.missing[:5]) + (f", … (+{len(s.missing) - 5})" if len(s.missing) > 5 else "")
    total = len(s.shards) + len(s.missing)
    return f"incomplete sharded set {s.joined}: {len(s.missing)} of {total} shards missing ({shown})"

"""``metadata.json``: the single source of truth for one model folder (schema_version 1).

The file is written atomically (temp file, fsync, rename, fsync of the folder) **before**
the index is touched, so ``models.db`` can always be rebuilt from these files (Deep Scan).
Keys this version does not know are preserved on every rewrite.

:class:`ModelMetadata` spells the schema (``DESIGN.md`` "metadata.json", ``docs/internal-api.md``);
its enumerated fields hold the plain values of the :mod:`pumas_core.vocab` enums.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypedDict, cast

from ..atomic import atomic_write_text, read_json_object
from ..errors import CorruptFileError
from ..vocab import FileFormat, MatchSource, SecurityTier, Trust, UnitKind, values

METADATA_NAME = "metadata.json"
SCHEMA_VERSION = 1
MAX_METADATA_BYTES = 16 << 20


class FileEntry(TypedDict):
    """One file of a model: ``name`` relative to the model folder (``/``-separated), ``size`` in
    bytes, ``sha256``/``blake3`` lowercase hex."""

    name: str
    size: int
    sha256: str
    blake3: str


class Hashes(TypedDict):
    """``{sha256, blake3}`` (lowercase hex) of the primary file (single file) or the composite
    (folder, sharded set); ``blake3`` is the ``model_id``."""

    sha256: str
    blake3: str


class _RequiredMetadata(TypedDict):
    """The keys every ``metadata.json`` has (:data:`REQUIRED_KEYS`).

    Enumerated fields hold vocabulary values (plain strings once read back from JSON):
    ``model_type`` a :class:`~pumas_core.vocab.ModelType`, ``format`` a
    :class:`~pumas_core.vocab.UnitKind` (the unit *kind*), ``file_format`` a
    :class:`~pumas_core.vocab.FileFormat`, ``security_tier`` a :class:`~pumas_core.vocab.SecurityTier`,
    ``match_source`` a :class:`~pumas_core.vocab.MatchSource`, ``trust`` a
    :class:`~pumas_core.vocab.Trust`.  Dates are ISO 8601 UTC (``2026-11-21T05:00:00Z``),
    ``size_bytes`` the sum of the files' sizes.
    """

    schema_version: int
    model_id: str
    official_name: str
    cleaned_name: str
    category: str
    family: str
    model_type: str
    format: str
    file_format: str
    files: list[FileEntry]
    hashes: Hashes
    size_bytes: int
    added_date: str
    updated_date: str
    security_tier: str
    match_source: str
    trust: str
    pending_online_lookup: bool
    tags: list[str]
    description: str


class ModelMetadata(_RequiredMetadata, total=False):
    """The content of one ``metadata.json`` (schema_version 1): the required keys of
    :class:`_RequiredMetadata` plus the optional ones below, written by imports, lookups and edits
    when they apply.  Any other key is kept as it is on every rewrite."""

    base_model: str | None
    precision: str | None
    variant: str | None
    parameter_count: int | None
    architecture: str | None
    identification: dict[str, Any]
    complete: bool
    missing_files: list[str]
    manual_fields: list[str]
    format_details: dict[str, Any]
    pickle_scan: dict[str, Any]
    import_source: str
    import_notices: list[str]
    warnings: list[str]
    notes: str
    link_subdir: str | None
    last_lookup: str
    huggingface: dict[str, Any]
    civitai: dict[str, Any]


#: The required keys, in the order of the schema (error messages list missing ones in this order).
REQUIRED_KEYS: tuple[str, ...] = tuple(_RequiredMetadata.__annotations__)
FORMATS = values(UnitKind)
FILE_FORMATS = values(FileFormat)
SECURITY_TIERS = values(SecurityTier)
MATCH_SOURCES = values(MatchSource)
TRUSTS = values(Trust)
_ENUMERATED = (("format", FORMATS), ("file_format", FILE_FORMATS), ("security_tier", SECURITY_TIERS),
               ("match_source", MATCH_SOURCES), ("trust", TRUSTS))


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds (``2026-11-21T05:00:00Z``)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read_metadata(model_dir: str | os.PathLike[str]) -> ModelMetadata:
    """Read and validate ``<model_dir>/metadata.json``.

    Raises:
        FileNotFoundError: there is no metadata file (other ``OSError``: it cannot be read).
        CorruptFileError: it is not JSON, too large, or misses a required key (``path`` names the file).
    """
    path = os.path.join(model_dir, METADATA_NAME)
    with open(path, "rb") as f:
        raw = f.read(MAX_METADATA_BYTES + 1)
    if len(raw) > MAX_METADATA_BYTES:
        raise CorruptFileError(f"{path}: metadata file larger than {MAX_METADATA_BYTES} bytes", path=path)
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{path}: not valid JSON ({exc})", path=path) from None
    return validate_metadata(meta, path)


def validate_metadata(meta: object, where: object = "metadata") -> ModelMetadata:
    """Check the required keys and enumerations of a metadata dict; returns ``meta`` itself, typed.

    Raises:
        CorruptFileError: naming ``where`` and the first problem found (``path`` is ``where`` when
            that is a path).
    """
    path = where if isinstance(where, (str, os.PathLike)) and where != "metadata" else None
    if not isinstance(meta, dict):
        raise CorruptFileError(f"{where}: metadata is not a JSON object", path=path)
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CorruptFileError(f"{where}: missing keys {', '.join(missing)}", path=path)
    for key, allowed in _ENUMERATED:
        if meta[key] not in allowed:
            raise CorruptFileError(f"{where}: {key}={meta[key]!r} is not one of {', '.join(allowed)}", path=path)
    if not isinstance(meta["files"], list) or not meta["files"]:
        raise CorruptFileError(f"{where}: 'files' must be a non-empty list", path=path)
    for entry in meta["files"]:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or name.startswith("/") or ".." in Path(name).parts:
            raise CorruptFileError(f"{where}: bad file entry {entry!r}", path=path)
    return cast(ModelMetadata, meta)


def write_metadata(model_dir: str | os.PathLike[str], meta: Mapping[str, Any]) -> ModelMetadata:
    """Write ``meta`` (a :class:`ModelMetadata`, or a plain dict with its keys) to
    ``<model_dir>/metadata.json`` atomically, keeping keys of the old file that ``meta`` does not
    mention (unknown keys survive rewrites by older/newer versions).  Returns what was written.

    Raises:
        CorruptFileError: the result misses a required key or has a value outside its vocabulary
            (nothing is written).
        WriteFailedError: the folder is not writable (an ``OSError``; the previous file stays as it was).
        OSError: ENOSPC/EDQUOT/EFBIG, the disk is full (see :func:`pumas_core.atomic.atomic_write_bytes`).
    """
    path = Path(model_dir) / METADATA_NAME
    merged: dict[str, Any] = {**read_json_object(path), **meta}  # no old file, or an unreadable one: nothing kept
    checked = validate_metadata(merged, path)
    atomic_write_text(path, json.dumps(merged, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
    return checked

"""``metadata.json``: the single source of truth for one model folder (schema_version 1).

The file is written atomically (temp file, fsync, rename, fsync of the folder) **before**
the index is touched, so ``models.db`` can always be rebuilt from these files (Deep Scan).
Keys this version does not know are preserved on every rewrite.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import CorruptFileError

METADATA_NAME = "metadata.json"
SCHEMA_VERSION = 1
MAX_METADATA_BYTES = 16 << 20

REQUIRED_KEYS = (
    "schema_version", "model_id", "official_name", "cleaned_name", "category", "family",
    "model_type", "format", "file_format", "files", "hashes", "size_bytes", "added_date",
    "updated_date", "security_tier", "match_source", "trust", "pending_online_lookup", "tags",
    "description",
)
FORMATS = ("single-file", "diffusion-folder", "sharded-set")
FILE_FORMATS = ("safetensors", "gguf", "pickle", "onnx", "torchscript", "other")
SECURITY_TIERS = ("safe", "unknown", "pickle")
MATCH_SOURCES = ("hash", "filename_exact", "filename_fuzzy", "manual", "sidecar", "none")
TRUSTS = ("verified", "high", "low", "none")


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds (``2026-11-21T05:00:00Z``)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read_metadata(model_dir: Path) -> dict:
    """Read and validate ``<model_dir>/metadata.json``.

    Raises:
        FileNotFoundError: there is no metadata file.
        CorruptFileError: it is not JSON, too large, or misses a required key.
    """
    path = os.path.join(model_dir, METADATA_NAME)
    with open(path, "rb") as f:
        raw = f.read(MAX_METADATA_BYTES + 1)
    if len(raw) > MAX_METADATA_BYTES:
        raise CorruptFileError(f"{path}: metadata file larger than {MAX_METADATA_BYTES} bytes")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptFileError(f"{path}: not valid JSON ({exc})") from None
    validate_metadata(meta, path)
    return meta


def validate_metadata(meta: object, where: object = "metadata") -> None:
    """Check the required keys and enumerations of a metadata dict.

    Raises:
        CorruptFileError: naming ``where`` and the first problem found.
    """
    if not isinstance(meta, dict):
        raise CorruptFileError(f"{where}: metadata is not a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CorruptFileError(f"{where}: missing keys {', '.join(missing)}")
    for key, allowed in (("format", FORMATS), ("file_format", FILE_FORMATS), ("security_tier", SECURITY_TIERS),
                         ("match_source", MATCH_SOURCES), ("trust", TRUSTS)):
        if meta[key] not in allowed:
            raise CorruptFileError(f"{where}: {key}={meta[key]!r} is not one of {', '.join(allowed)}")
    if not isinstance(meta["files"], list) or not meta["files"]:
        raise CorruptFileError(f"{where}: 'files' must be a non-empty list")
    for entry in meta["files"]:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or name.startswith("/") or ".." in Path(name).parts:
            raise CorruptFileError(f"{where}: bad file entry {entry!r}")


def write_metadata(model_dir: Path, meta: dict) -> None:
    """Write ``meta`` to ``<model_dir>/metadata.json`` atomically, keeping keys of the old file
    that ``meta`` does not mention (unknown keys survive rewrites by older/newer versions).

    Raises:
        CorruptFileError: ``meta`` misses a required key.
        OSError: the folder is not writable (the previous file stays as it was).
    """
    path = Path(model_dir) / METADATA_NAME
    merged: dict = {}
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(old, dict):
            merged.update(old)
    except (OSError, ValueError):
        pass
    merged.update(meta)
    validate_metadata(merged, path)
    atomic_write_text(path, json.dumps(merged, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


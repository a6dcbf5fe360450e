"""Build a model's ``metadata.json`` dict from what the import learned.

Also defines the content-derived identifiers (DESIGN.md): ``model_id`` is the BLAKE3 of the
primary file for a Single-File Model, and for Diffusion Folders and Sharded Sets the BLAKE3
over the sorted per-file BLAKE3 digests (raw 32-byte digests concatenated); the composite
sha256 is built the same way from the per-file sha256 digests.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import blake3 as _blake3

from ..identify.result import Identification
from ..library.metadata import SCHEMA_VERSION, now_iso
from ..naming import clean_name
from ..vocab import FileFormat, MatchSource, ModelType, SecurityTier, Trust, UnitKind

#: the ``metadata.json`` key that holds the unit kind (called ``kind`` in code; the JSON contract keeps ``format``)
KIND_KEY = "format"

CATEGORY_BY_TYPE: dict[str, str] = {
    ModelType.LLM: "llm",  # not-vocab: the library's top folder for LLMs, not a model type
    ModelType.TEXT_ENCODER: "text-encoders",
    ModelType.AUDIO_ENCODER: "audio",
    ModelType.UNKNOWN: "other",
}
SAFE_FORMATS = frozenset({FileFormat.SAFETENSORS, FileFormat.GGUF, FileFormat.ONNX})
PICKLE_FORMATS = frozenset({FileFormat.PICKLE, FileFormat.TORCHSCRIPT})
#: the ``file_format`` values of metadata.json (anything else is recorded as ``other``)
KNOWN_FORMATS = SAFE_FORMATS | PICKLE_FORMATS


def category_for(model_type: str) -> str:
    """Library top folder for a model type (``llm``, ``text-encoders``, ``audio``, ``other`` or ``diffusion``)."""
    return CATEGORY_BY_TYPE.get(model_type, "diffusion")


def security_tier_for(file_formats: list[str]) -> SecurityTier:
    """``pickle`` if any file is pickle-based, else ``safe`` if all weights are safe formats, else ``unknown``."""
    if any(f in PICKLE_FORMATS for f in file_formats):
        return SecurityTier.PICKLE
    if file_formats and all(f in SAFE_FORMATS for f in file_formats):
        return SecurityTier.SAFE
    return SecurityTier.UNKNOWN


def composite_ids(file_hashes: list[dict[str, Any]]) -> dict[str, str]:
    """``{"sha256", "blake3"}`` for a multi-file model from its per-file ``{"sha256","blake3"}`` entries."""
    b = _blake3.blake3()
    for d in sorted(f["blake3"] for f in file_hashes):
        b.update(bytes.fromhex(d))
    s = hashlib.sha256()
    for d in sorted(f["sha256"] for f in file_hashes):
        s.update(bytes.fromhex(d))
    return {"sha256": s.hexdigest(), "blake3": b.hexdigest()}


def stored_name(rel: str) -> str:
    """NTFS-safe relative name for a file inside a model folder (each path part cleaned)."""
    return "/".join(clean_name(part) for part in Path(rel).parts)


def folder_name_for(official_name: str, kind: str) -> str:
    """The cleaned folder name of a model: the stem for a single file, the whole name otherwise."""
    name = official_name
    if kind == UnitKind.SINGLE_FILE and "." in name:
        name = name.rsplit(".", 1)[0]
    return clean_name(name)


def build_metadata(*, kind: str, official_name: str, files: list[dict[str, Any]], primary_format: str,
                   file_formats: list[str], ident: Identification, family: str | None, model_type: str | None,
                   tags: list[str], unit_complete: bool = True, missing: list[str] | None = None,
                   format_details: dict[str, Any] | None = None, pickle_scan: dict[str, Any] | None = None,
                   source: str | None = None) -> dict[str, Any]:
    """Assemble the metadata dict (schema_version 1) for a new model.

    ``kind``: the :class:`~pumas_core.vocab.UnitKind`, written under the key ``format`` (:data:`KIND_KEY`).
    ``files``: ``[{name, size, sha256, blake3}]`` with ``name`` relative to the model folder,
    primary first.  ``ident``: an ``Identification``.  ``model_type`` / ``family`` given by the
    user win over detection and are recorded as manual.
    """
    hashes = {"sha256": files[0]["sha256"], "blake3": files[0]["blake3"]} if kind == UnitKind.SINGLE_FILE \
        else composite_ids(files)
    manual_type = model_type is not None
    mtype = model_type or ident.model_type or ModelType.UNKNOWN
    fam = clean_name(family or ident.family or "unknown").lower()
    now = now_iso()
    meta = {
        "schema_version": SCHEMA_VERSION,
        "model_id": hashes["blake3"],
        "official_name": official_name,
        "cleaned_name": folder_name_for(official_name, kind),
        "category": category_for(mtype),
        "family": fam,
        "model_type": mtype,
        KIND_KEY: kind,
        "file_format": primary_format if primary_format in KNOWN_FORMATS else FileFormat.OTHER,
        "files": files,
        "hashes": hashes,
        "size_bytes": sum(f["size"] for f in files),
        "added_date": now,
        "updated_date": now,
        "security_tier": security_tier_for(file_formats),
        "match_source": MatchSource.MANUAL if manual_type else MatchSource.NONE,
        "trust": Trust.NONE,
        "pending_online_lookup": True,
        "tags": sorted(set(tags)),
        "description": "",
        "base_model": ident.base_model,
        "precision": ident.precision,
        "variant": ident.variant,
        "parameter_count": ident.parameter_count,
        "architecture": ident.architecture,
        "identification": {"evidence": list(ident.evidence), "detected_type": ident.model_type,
                           "type_source": MatchSource.MANUAL if manual_type else "content"},
        "complete": unit_complete,
    }
    if missing:
        meta["missing_files"] = list(missing)
    if manual_type:
        meta["manual_fields"] = ["model_type"]
    if format_details:
        meta["format_details"] = format_details
    if pickle_scan is not None:
        meta["pickle_scan"] = pickle_scan
    if source:
        meta["import_source"] = source
    return meta

"""Data types of the remote lookup (the contract re-exported by :mod:`pumas_core.remote`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..vocab import MatchSource, Trust


@dataclass
class LookupQuery:
    """What we know locally about one file.

    Attributes:
        filename: the file's name (a path is reduced to its last part).
        size: bytes.  sha256 / blake3: lowercase hex of the whole file.
        file_format: a :class:`~pumas_core.vocab.FileFormat` value (``"safetensors"``, ``"gguf"``...).
        model_type: a :class:`~pumas_core.vocab.ModelType` value (our ComfyUI vocabulary), when known.
        name: optional search hint (official name / folder name) used when the file name is
            generic, e.g. ``model.safetensors`` inside ``all-MiniLM-L6-v2/`` (extension of the
            documented contract; defaults to None).
    """

    filename: str
    size: int
    sha256: str
    blake3: str
    file_format: str
    model_type: str | None = None
    name: str | None = None


@dataclass
class LookupResult:
    """The outcome of a lookup.

    Attributes:
        match_source: :class:`~pumas_core.vocab.MatchSource` (``hash``, ``filename_exact``,
            ``filename_fuzzy``, ``none``).
        trust: :class:`~pumas_core.vocab.Trust` (``verified``, ``high``, ``low``, ``none``).
        huggingface: ``{repo_id, revision, path, url, license, tags, pipeline_tag}`` or None.
        civitai: ``{model_id, version_id, name, base_model, trained_words, type, page_url,
            preview_url}`` (``type`` in our model_type vocabulary) or None.
        pending: True when a host could not be asked (offline, circuit open, throttled, failed);
            the caller then sets ``pending_online_lookup``.
        errors: one-line messages, one per problem.
    """

    match_source: MatchSource = MatchSource.NONE
    trust: Trust = Trust.NONE
    huggingface: dict[str, Any] | None = None
    civitai: dict[str, Any] | None = None
    pending: bool = False
    errors: list[str] = field(default_factory=list)

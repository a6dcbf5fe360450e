"""Data types of the link subsystem: what gets linked and what a sync reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .overrides import Overrides


@dataclass(frozen=True)
class LinkableModel:
    """One library model as the link code sees it.

    Attributes:
        model_id: the content-derived id (lowercase hex, optionally ``"blake3:"``-prefixed).
        model_type: a :class:`~pumas_core.vocab.ModelType` value (``checkpoint``, ``lora``, ... ``unknown``).
        kind: the unit kind, a :class:`~pumas_core.vocab.UnitKind` (``metadata.json`` ``format``).
        model_dir: absolute library folder of the model.
        files: file names relative to ``model_dir`` (``metadata.json`` excluded); primary first.
        link_name: the model's original file name (single file) or folder / set name; the name
            users see in ComfyUI.
        link_subdir: optional sub-folder (``"SDXL"``, ``"styles/ink"``) inside the target folder key,
            kept from where the model lived in a ComfyUI install before it was adopted, so the names
            its workflows use (``SDXL/model.safetensors``) keep working.  ``""`` = the key's root.
        family, base_model, precision, tags: identification facts that mapping rules can filter on.
        overrides: the model's validated ``overrides.json`` (None when absent or invalid);
        overrides_error: why ``overrides.json`` is invalid (sync then keeps the model's links as they are).
    """

    model_id: str
    model_type: str
    kind: str
    model_dir: Path
    files: tuple[str, ...]
    link_name: str
    link_subdir: str = ""
    family: str | None = None
    base_model: str | None = None
    precision: str | None = None
    tags: tuple[str, ...] = ()
    overrides: Overrides | None = None
    overrides_error: str | None = None


@dataclass
class SyncReport:
    """Outcome of :func:`pumas_core.links.sync.sync_app`; :meth:`to_dict` gives the JSON shape.

    ``conflicts``: ``[{"link_path", "reason", "message", "model_id", "target_path"}]`` with ``reason``
    ``file_exists`` | ``linked_to_different_source`` | ``already_linked``; ``renamed`` (resolution
    ``rename``): ``[{"link_path", "instead_of", "model_id"}]``; ``warnings``: one-line strings; ``errors``:
    ``[{"link_path", "model_id", "error"}]``; ``unmapped``: ``[{"model_id", "model_type", "reason"}]``;
    ``planned`` (dry run only): ``[{"action", "link_path", "target_path", "model_id"}]`` with action ``create``
    | ``repoint`` | ``backup`` | ``rename`` | ``conflict`` | ``remove_broken`` | ``remove_stale``.  In a dry
    run the counters say what *would* happen.
    """

    app_id: str = ""
    dry_run: bool = False
    created: int = 0
    already_correct: int = 0
    repointed: int = 0
    removed_broken: int = 0
    removed_stale: int = 0
    skipped: int = 0
    backed_up: list[dict[str, Any]] = field(default_factory=list)
    renamed: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)
    fast_path: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (see class docstring); ``planned`` only in dry runs."""
        d: dict[str, Any] = {
            "app_id": self.app_id,
            "dry_run": self.dry_run,
            "created": self.created,
            "already_correct": self.already_correct,
            "repointed": self.repointed,
            "conflicts": list(self.conflicts),
            "removed_broken": self.removed_broken,
            "removed_stale": self.removed_stale,
            "skipped": self.skipped,
            "backed_up": list(self.backed_up),
            "renamed": list(self.renamed),
            "warnings": list(self.warnings),
            "errors": list(self.errors),
            "unmapped": list(self.unmapped),
            "fast_path": self.fast_path,
        }
        if self.dry_run:
            d["planned"] = list(self.planned)
        return d

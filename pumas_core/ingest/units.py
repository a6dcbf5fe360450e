"""What an import plan is made of: :class:`ImportUnit` (one model to import) and :class:`ImportPlan`.

Produced by :func:`pumas_core.ingest.grouping.plan_import`, consumed by the importer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..vocab import UnitKind


@dataclass
class ImportUnit:
    """One model to import.

    Attributes:
        kind: the :class:`~pumas_core.vocab.UnitKind` (``single-file`` | ``diffusion-folder`` | ``sharded-set``;
            the ``format`` key of ``metadata.json``).
        name: official name — the file name for single files, the folder name for folders, the joined
            file name for sets (``"llama-q4.gguf"``; the folder name when the stem is generic like ``model``).
        source_root: folder the relative names are taken from.
        files: absolute source paths; the primary first (first shard, or the folder's manifest), the
            rest sorted by relative path.
        complete: False when shards or weight files are known to be missing.
        missing: names (relative to ``source_root``) of missing shards / files.
        warnings: one-line remarks for the user.
        manifest: for folders, the file that made it a folder model (``"model_index.json"``,
            ``"modules.json"``, ``"config.json"``); for sets with an index, the index name; else ``None``.
    """

    kind: UnitKind
    name: str
    source_root: Path
    files: list[Path]
    complete: bool = True
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    manifest: str | None = None

    def relative_names(self) -> list[str]:
        """``files`` as POSIX paths relative to ``source_root`` (single-file units: ``[name]``)."""
        if self.kind == UnitKind.SINGLE_FILE:
            return [self.name]
        return [p.relative_to(self.source_root).as_posix() for p in self.files]


@dataclass
class ImportPlan:
    """The result of :func:`plan_import`: units to import, ``(path, reason)`` errors, and
    ``(path, reason)`` files met while walking a plain folder that are not models (``skipped``)."""

    units: list[ImportUnit] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

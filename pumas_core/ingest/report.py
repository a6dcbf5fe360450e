"""The import report: what :meth:`pumas_core.facade.Library.import_paths` (and the stream and upload imports)
return, as typed dicts.  The JSON shape is the CLI/HTTP contract (``docs/internal-api.md``) and does not change::

    {"imported": [model, ...],                         # metadata.json + "path" (+ "restored"/"adopted")
     "skipped":  [{"path", "reason", ...}, ...],       # not imported, nothing wrong (a duplicate, a README)
     "failed":   [{"path", "error", "code"}, ...],     # refused or broken: one line, a PumasError code
     "sync":     {...}}                                # only when new models were linked into the installs
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

#: The one reason string for "this content (or this very file) is already a model of the library".
ALREADY_IN_LIBRARY = "already in the library"

#: A model as imported: its ``metadata.json`` keys plus ``path`` (the model folder).
ImportedModel = dict[str, Any]

#: The outcome of one unit: ``("imported", model)`` or ``("skipped", entry)``.
Status = Literal["imported", "skipped"]
Outcome = tuple[str, dict[str, Any]]


class _SkippedRequired(TypedDict):
    path: str
    reason: str


class SkippedEntry(_SkippedRequired, total=False):
    """A unit or file that was not imported although nothing is wrong with it.

    ``path``: the file (or, for a duplicate, the existing model folder); ``reason``: one line
    (:data:`ALREADY_IN_LIBRARY`, ``"image, not a model file"``...); ``official_name`` and ``model_id`` when
    the unit is a model of the library.
    """

    official_name: str
    model_id: str


class FailedEntry(TypedDict):
    """A unit that failed: ``path`` (what the user offered), ``error`` (one line naming the file) and
    ``code`` (a :class:`~pumas_core.errors.PumasError` code, ``os_error`` or ``internal``)."""

    path: str
    error: str
    code: str


class _ReportRequired(TypedDict):
    imported: list[ImportedModel]
    skipped: list[SkippedEntry]
    failed: list[FailedEntry]


class ImportReport(_ReportRequired, total=False):
    """The whole report (see the module docstring); ``sync`` is the incremental link result."""

    sync: dict[str, Any]


def new_report() -> ImportReport:
    """An empty report: ``{"imported": [], "skipped": [], "failed": []}``."""
    return {"imported": [], "skipped": [], "failed": []}

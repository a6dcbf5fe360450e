"""Model records for the :class:`~pumas_core.facade.Library` facade: id resolution and user edits.

Plain functions over the :class:`~pumas_core.library.index.ModelIndex` (no facade): :func:`resolve_id`
turns what a user typed into a model id, :func:`model_or_404` reads a record, :func:`check_changes` and
:func:`edit` validate and apply an edit of ``metadata.json`` (the store writes it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import BadInputError, NotFoundError
from .library.metadata import MATCH_SOURCES, TRUSTS
from .vocab import MatchSource

if TYPE_CHECKING:
    from .library.index import ModelIndex

#: the ``metadata.json`` keys a user may edit
EDITABLE = {"model_type", "family", "official_name", "tags", "description", "base_model", "trust",
            "match_source", "huggingface", "civitai", "notes"}
#: editing one of these marks the model ``match_source: manual`` (lookups never overwrite it again)
IDENTITY_FIELDS = {"model_type", "family", "base_model", "huggingface", "civitai"}
_HEX = frozenset("0123456789abcdef")


def resolve_id(index: ModelIndex, model_id: str) -> str:
    """Accept a full id, a ``blake3:`` id, or a unique prefix of at least 4 hex digits (``8087``).

    Raises:
        NotFoundError: no model matches; or ``ambiguous: N models start with <prefix>`` when
            more than one does; or the prefix is shorter than 4 hex digits.
    """
    mid = model_id.strip().lower().removeprefix("blake3:")
    if index.get(mid):
        return mid
    if len(mid) >= 4 and set(mid) <= _HEX:
        hits: list[str] = index.ids_with_prefix(mid, limit=100_000)
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise NotFoundError(f"ambiguous: {len(hits)} models start with {mid} (give more digits)")
    elif mid and len(mid) < 4 and set(mid) <= _HEX:
        raise NotFoundError(f"model id prefix {model_id!r} is too short: give at least 4 hex digits")
    raise NotFoundError(f"no model with id {model_id!r}")


def model_or_404(index: ModelIndex, model_id: str) -> dict[str, Any]:
    """The indexed model (metadata + absolute ``path``) with exactly this id.  Raises NotFoundError."""
    model: dict[str, Any] | None = index.get(model_id)
    if model is None:
        raise NotFoundError(f"no model with id {model_id!r}")
    return model


def check_changes(changes: object) -> dict[str, Any]:
    """``changes`` if it is a non-empty edit of :data:`EDITABLE` keys with valid values.

    Raises:
        BadInputError: not an object, empty, an unknown key, an unknown ``match_source`` / ``trust``,
            ``tags`` not a list of strings.
    """
    if not isinstance(changes, dict) or not changes:
        raise BadInputError("no changes given")
    bad = set(changes) - EDITABLE
    if bad:
        raise BadInputError(f"cannot edit {', '.join(sorted(bad))}")
    if "match_source" in changes and changes["match_source"] not in MATCH_SOURCES:
        raise BadInputError(f"match_source must be one of {', '.join(MATCH_SOURCES)}")
    if "trust" in changes and changes["trust"] not in TRUSTS:
        raise BadInputError(f"trust must be one of {', '.join(TRUSTS)}")
    tags = changes.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise BadInputError("tags must be a list of strings")
    return changes


def edit(changes: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The change to hand to :meth:`ModelStore.update <pumas_core.library.store.ModelStore.update>` for a
    checked edit: merge ``changes``; an identity edit (or ``match_source: manual``) records
    ``match_source: manual``, clears ``pending_online_lookup`` and lists the fields in ``manual_fields``;
    a new ``model_type`` recomputes ``category``."""

    def change(meta: dict[str, Any]) -> dict[str, Any]:
        meta.update(changes)
        touched = IDENTITY_FIELDS & set(changes)
        if touched or changes.get("match_source") == MatchSource.MANUAL:
            meta["match_source"] = MatchSource.MANUAL
            meta["pending_online_lookup"] = False
            meta["manual_fields"] = sorted(set(meta.get("manual_fields", [])) | touched)
        if "model_type" in changes:
            from .ingest.records import category_for

            meta["category"] = category_for(changes["model_type"])
        return meta

    return change

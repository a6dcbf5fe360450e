"""Per-model overrides for the :class:`~pumas_core.facade.Library` facade: read and edit
``<model folder>/overrides.json``, then re-link that model everywhere.

Functions take the library first and are bound as ``Library`` methods (``lib.get_overrides(id)``,
``lib.set_overrides(id, data)``); the CLI (``pumas overrides``) and the HTTP routes
(``GET``/``POST /pumas/models/{model_id}/overrides``) both call them.  The file's shape and its
validation are :mod:`pumas_core.links.overrides`'s::

    {"versions": {"comfyui": "<PEP 440 specifier>"}, "tags": [...], "link_name": "...", "subfolder": "..."}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import facade_models
from .errors import PumasError, WriteFailedError
from .links.overrides import OVERRIDES_NAME, load_overrides, write_overrides

if TYPE_CHECKING:
    from .facade import Library


def _model_dir(lib: Library, model_id: str) -> tuple[str, Path]:
    mid = lib.resolve_id(model_id)
    return mid, Path(facade_models.model_or_404(lib.index, mid)["path"])


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without empty values (``""``, ``[]``, ``{}``, ``versions.comfyui: ""``), so a form sent
    with every field blank removes the file.  ``data`` must already be valid."""
    out = {k: v for k, v in data.items() if k != "versions" and v not in ("", [], None)}
    spec = (data.get("versions") or {}).get("comfyui")
    if spec:
        out["versions"] = {"comfyui": spec}
    return out


def get_overrides(lib: Library, model_id: str) -> dict[str, Any]:
    """A model's overrides: ``{"model_id", "overrides": {...} (the file's content, {} when there is
    none), "error": str | None}``; ``error`` says why the file is invalid (sync then keeps the model's
    links as they are), while ``overrides`` still shows what it holds when it is a JSON object.

    ``model_id``: a full id, a ``blake3:`` id or a unique prefix (see :meth:`Library.resolve_id`).
    Raises NotFoundError (unknown, ambiguous or too short id).
    """
    mid, model_dir = _model_dir(lib, model_id)
    data, _ov, error = load_overrides(model_dir)
    return {"model_id": mid, "overrides": data if isinstance(data, dict) else {}, "error": error}


def set_overrides(lib: Library, model_id: str, data: object) -> dict[str, Any]:
    """Replace a model's ``overrides.json`` with ``data`` and re-link that model into every registered
    install (an incremental sync: links the overrides no longer allow are removed, new ones made).

    ``data`` is the whole overrides object (all keys optional); empty values are dropped and an empty
    result removes the file.  The write is atomic and holds the library's writer lock.
    Returns ``{"model_id", "overrides": what the file now holds, "error": None, "sync": the sync
    summary}`` (``sync``: :meth:`Library.sync_new_models`'s shape, ``apps`` = number of installs).

    Raises:
        BadInputError: not an object, an unknown key, a wrong type, an invalid PEP 440 specifier, a
            ``link_name`` that is not a plain file name or a ``subfolder`` with ``..`` (nothing written).
        NotFoundError: unknown model id.
        LibraryUnavailableError: the library lock cannot be taken.
        WriteFailedError: the model folder is not writable.
    """
    from .links.overrides import validate

    mid, model_dir = _model_dir(lib, model_id)
    path = model_dir / OVERRIDES_NAME
    validate(data, str(path))  # type and content errors name the file
    content = compact(cast(dict[str, Any], data))  # an object: validate() raised otherwise
    with lib.store.lock():
        try:
            write_overrides(model_dir, content)
        except PumasError:  # WriteFailedError from the atomic write already names the file
            raise
        except OSError as exc:  # removing the file failed
            raise WriteFailedError(f"{path}: cannot remove ({exc.strerror or exc})", path=path) from None
    sync = lib.sync_new_models([mid])
    return {"model_id": mid, "overrides": content, "error": None, "sync": sync}

"""Per-model link overrides: ``<model folder>/overrides.json``.

Shape (every key optional)::

    {"versions": {"comfyui": "<PEP 440 specifier, e.g. '<0.3.60' or '>=0.3.40,<0.4'>"},
     "tags": ["extra", "tags"], "link_name": "name in ComfyUI.safetensors", "subfolder": "styles/ink"}

``versions.comfyui`` keeps a model away from ComfyUI versions it does not work with (checked with
:class:`packaging.specifiers.SpecifierSet`); ``tags`` are added to the model's tags for rule
matching; ``link_name`` replaces the name the link gets; ``subfolder`` fixes the sub-folder inside the
folder key.  An invalid file is reported (``error``), never silently ignored: sync leaves that model's
existing links as they are and lists the error.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ..atomic import atomic_write_text
from ..errors import BadInputError

OVERRIDES_NAME = "overrides.json"
KEYS = {"versions", "tags", "link_name", "subfolder"}
MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Overrides:
    """Validated overrides (``comfyui`` is the specifier text or ``""``)."""

    comfyui: str = ""
    tags: tuple[str, ...] = ()
    link_name: str = ""
    subfolder: str = ""

    def allows(self, app_version: str | None) -> tuple[bool, str | None]:
        """``(allowed, note)`` for an install of ``app_version``; an unknown version is allowed with a note."""
        if not self.comfyui:
            return True, None
        if not app_version:
            return True, f"overrides.json asks for ComfyUI {self.comfyui}, but this install's version is unknown"
        try:
            ok = SpecifierSet(self.comfyui).contains(Version(app_version), prereleases=True)
        except InvalidVersion:
            return True, f"install version {app_version!r} is not PEP 440; overrides.json {self.comfyui} not checked"
        return ok, None if ok else f"overrides.json: ComfyUI {app_version} is not {self.comfyui}"


def validate(data: object, where: str) -> Overrides:
    """Check an overrides object read from the file ``where``; raises :class:`BadInputError` naming the file
    and the bad key (``.path`` = ``where``)."""
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: expected a JSON object", path=where)
    unknown = set(data) - KEYS
    if unknown:
        raise BadInputError(f"{where}: unknown keys {sorted(unknown)} (allowed: {', '.join(sorted(KEYS))})", path=where)
    versions = data.get("versions", {})
    if not isinstance(versions, dict) or set(versions) - {"comfyui"}:
        raise BadInputError(f"{where}: 'versions' must be {{\"comfyui\": \"<PEP 440 specifier>\"}}", path=where)
    spec = versions.get("comfyui", "")
    if not isinstance(spec, str):
        raise BadInputError(f"{where}: versions.comfyui must be a string", path=where)
    if spec:
        try:
            SpecifierSet(spec)
        except InvalidSpecifier:
            raise BadInputError(f"{where}: versions.comfyui {spec!r} is not a valid PEP 440 specifier",
                                path=where) from None
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags) or len(tags) > 1000:
        raise BadInputError(f"{where}: 'tags' must be a list of non-empty strings", path=where)
    name = data.get("link_name", "")
    if not isinstance(name, str) or "/" in name or "\\" in name or name in (".", ".."):
        raise BadInputError(f"{where}: 'link_name' must be a plain file name", path=where)
    sub = data.get("subfolder", "")
    if not isinstance(sub, str) or any(p in (".", "..") for p in sub.replace("\\", "/").split("/")) or ":" in sub:
        raise BadInputError(f"{where}: 'subfolder' must be a plain relative folder (no '..')", path=where)
    return Overrides(comfyui=spec, tags=tuple(t.lower() for t in tags), link_name=name,
                     subfolder="/".join(p for p in sub.replace("\\", "/").split("/") if p))


def load_overrides(model_dir: str | os.PathLike[str]) -> tuple[object, Overrides | None, str | None]:
    """Read ``overrides.json`` once (at most :data:`MAX_BYTES`): ``(the parsed JSON or None, the validated
    overrides or None, error message or None)``.  No file gives ``(None, None, None)``; never raises."""
    path = Path(model_dir) / OVERRIDES_NAME
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
    except FileNotFoundError:
        return None, None, None
    except OSError as exc:
        return None, None, f"{path}: cannot read ({exc.strerror})"
    if raw is None:
        return None, None, f"{path}: larger than {MAX_BYTES} bytes"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return None, None, f"{path}: not valid JSON ({exc})"
    try:
        return data, validate(data, str(path)), None
    except BadInputError as exc:
        return data, None, str(exc)


def read_overrides(model_dir: str | os.PathLike[str]) -> tuple[Overrides | None, str | None]:
    """``(overrides or None when there is no file, error message or None)``; never raises."""
    _data, overrides, error = load_overrides(model_dir)
    return overrides, error


def write_overrides(model_dir: str | os.PathLike[str], data: dict[str, Any]) -> Overrides:
    """Validate and write ``overrides.json`` atomically (an empty dict removes the file).

    Raises:
        BadInputError: invalid content (nothing is written).
    """
    path = Path(model_dir) / OVERRIDES_NAME
    ov = validate(data, str(path))
    if not data:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return ov
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False))
    return ov

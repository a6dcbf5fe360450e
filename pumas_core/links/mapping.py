"""Which ComfyUI folder key a model is linked into.

Default mapping (``model_type`` → folder key, ComfyUI 0.3.64 keys): see :data:`DEFAULT_TYPES`.
Format ``diffusion-folder`` → ``diffusers`` whatever its type.  ``llm`` → ``LLM`` only when the
install already has such a key; ``unknown`` → nowhere.  A key counts only if the install knows it.

Override file ``<state_dir>/mappings/comfyui.json`` (optional)::

    {
      "types":   {"llm": "LLM", "embedding": null, "lora": "loras"},   # null = never link this type
      "formats": {"diffusion-folder": "diffusers"}                      # format rules win over types
    }

Both objects are optional; their entries replace the defaults key by key.  Unknown top-level keys are
an error so typos are not silently ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInputError
from .models import LinkableModel

DEFAULT_TYPES: dict[str, str | None] = {
    "checkpoint": "checkpoints", "diffusion_model": "diffusion_models", "lora": "loras", "vae": "vae",
    "text_encoder": "text_encoders", "clip_vision": "clip_vision", "controlnet": "controlnet",
    "upscale_model": "upscale_models", "embedding": "embeddings", "style_model": "style_models",
    "gligen": "gligen", "hypernetwork": "hypernetworks", "photomaker": "photomaker",
    "audio_encoder": "audio_encoders", "llm": "LLM", "unknown": None,
}
DEFAULT_FORMATS: dict[str, str | None] = {"diffusion-folder": "diffusers"}
CONFIG_RELPATH = Path("mappings") / "comfyui.json"


@dataclass(frozen=True)
class Mapping:
    """A resolved mapping: ``types``/``formats`` dicts plus ``digest`` (hex SHA-256 of the effective rules)."""

    types: dict = field(default_factory=lambda: dict(DEFAULT_TYPES))
    formats: dict = field(default_factory=lambda: dict(DEFAULT_FORMATS))
    source: str | None = None

    @property
    def digest(self) -> str:
        blob = json.dumps({"t": self.types, "f": self.formats}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def default_mapping() -> Mapping:
    """The built-in mapping (no override file)."""
    return Mapping()


def config_path(state_dir: str | os.PathLike) -> Path:
    """Where the override file lives: ``<state_dir>/mappings/comfyui.json``."""
    return Path(state_dir) / CONFIG_RELPATH


def _check_rules(path: Path, name: str, rules) -> dict:
    if not isinstance(rules, dict) or not all(isinstance(k, str) and (v is None or (isinstance(v, str) and v))
                                              for k, v in rules.items()):
        raise BadInputError(f"{path}: '{name}' must map names to a folder key or null")
    for v in rules.values():
        if v is not None and (v in (".", "..") or "/" in v or "\\" in v):
            raise BadInputError(f"{path}: folder key {v!r} is not a plain folder name")
    return rules


def load_mapping(state_dir: str | os.PathLike | None) -> Mapping:
    """Defaults overlaid with ``<state_dir>/mappings/comfyui.json`` when present.

    Raises:
        BadInputError: the file is not valid JSON or has the wrong shape (names the file).
    """
    if state_dir is None:
        return Mapping()
    path = config_path(state_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Mapping()
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read mapping config ({exc.strerror})") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a JSON object with 'types' and/or 'formats'")
    extra = set(data) - {"types", "formats", "version", "comment"}
    if extra:
        raise BadInputError(f"{path}: unknown keys {sorted(extra)} (allowed: types, formats)")
    types = dict(DEFAULT_TYPES)
    types.update(_check_rules(path, "types", data.get("types", {})))
    formats = dict(DEFAULT_FORMATS)
    formats.update(_check_rules(path, "formats", data.get("formats", {})))
    return Mapping(types=types, formats=formats, source=str(path))


def _known_key(wanted: str, app: dict) -> str | None:
    keys = app.get("folder_paths") or {}
    if wanted in keys:
        return wanted
    low = wanted.lower()
    matches = sorted(k for k in keys if k.lower() == low)
    return matches[0] if matches else None


def resolve_target(model: LinkableModel, app: dict, mapping: Mapping | None = None) -> tuple[str | None, str | None]:
    """``(folder_key, None)`` when the model maps into a key the install knows, else ``(None, reason)``."""
    mapping = mapping or Mapping()
    if model.format in mapping.formats:
        wanted, rule = mapping.formats[model.format], f"format {model.format}"
    elif model.model_type in mapping.types:
        wanted, rule = mapping.types[model.model_type], f"type {model.model_type}"
    else:
        return None, f"no mapping rule for type {model.model_type!r}"
    if wanted is None:
        return None, f"{rule} is not linked (mapping says null)"
    key = _known_key(wanted, app)
    if key is None:
        return None, f"{rule} maps to folder key {wanted!r}, which this install does not have"
    return key, None


def target_folder(model: LinkableModel, app: dict, mapping: Mapping | None = None) -> str | None:
    """The folder key the model goes into in ``app``, or None (see :func:`resolve_target` for why)."""
    return resolve_target(model, app, mapping)[0]


def target_dir(app: dict, key: str) -> str:
    """Absolute directory for a key: ``<models_dir>/<key>``."""
    return os.path.join(app["models_dir"], key)

"""Mapping config files in ``<state>/mappings/``: which apply to an install, and in what order.

Files are named ``comfyui_<version>_<variant>.json`` where ``<version>`` is a PEP 440 version
(``0.3.64``) or ``*`` (any version; ``any`` is accepted too, since ``*`` cannot appear in a Windows
file name) and ``<variant>`` is ``default`` (written by Pumas when an install is registered) or any
other word (a user's custom config).  Content::

    {"rules": [ ... see pumas_core.links.rules ... ], "conflict": "ask" | "skip" | "backup"}

Precedence by specificity (:func:`rank_of`): exact version + custom (4) > exact version default (3)
> wildcard custom (2) > wildcard default (1) > built-in rules (0, only when no default config
applies).  Versions are compared with :mod:`packaging` (``0.3.64`` equals ``0.3.64.0``).  The older
``mappings/comfyui.json`` (``{"types": {...}, "formats": {...}}``) still works and counts as a
wildcard custom config.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from ..atomic import atomic_write_text
from ..errors import BadInputError
from ..vocab import ModelType, UnitKind
from .rules import Rule, parse_rules

MAPPINGS_DIR = "mappings"
LEGACY_NAME = "comfyui.json"
WILDCARDS = ("*", "any")
CONFLICT_POLICIES = ("ask", "skip", "backup")
CONFIG_KEYS = {"rules", "conflict", "comment", "discovered_keys", "version"}
_NAME = re.compile(r"^comfyui_(?P<version>[^_/\\]+)_(?P<variant>[A-Za-z0-9][A-Za-z0-9.-]*)\.json$")

#: model type -> ComfyUI folder key (``None``: not linked); the values are folder names, not model types
DEFAULT_TYPES: dict[str, str | None] = {
    ModelType.CHECKPOINT: "checkpoints", ModelType.DIFFUSION_MODEL: "diffusion_models", ModelType.LORA: "loras",
    ModelType.VAE: "vae", ModelType.TEXT_ENCODER: "text_encoders", ModelType.CLIP_VISION: "clip_vision",
    ModelType.CONTROLNET: "controlnet", ModelType.UPSCALE_MODEL: "upscale_models",
    ModelType.EMBEDDING: "embeddings", ModelType.STYLE_MODEL: "style_models", ModelType.GLIGEN: "gligen",
    ModelType.HYPERNETWORK: "hypernetworks", ModelType.PHOTOMAKER: "photomaker",
    ModelType.AUDIO_ENCODER: "audio_encoders", ModelType.LLM: "LLM", ModelType.UNKNOWN: None,
}
#: unit kind -> folder key, tried before the model type (a Diffusion Folder goes to ``diffusers``)
DEFAULT_FORMATS: dict[str, str | None] = {UnitKind.DIFFUSION_FOLDER: "diffusers"}


def mappings_dir(state_dir: str | os.PathLike[str]) -> Path:
    """``<state>/mappings``."""
    return Path(state_dir) / MAPPINGS_DIR


def rank_of(exact_version: bool, custom: bool) -> int:
    """Specificity of a config: 4 exact+custom, 3 exact default, 2 wildcard custom, 1 wildcard default."""
    return (3 if exact_version else 1) + (1 if custom else 0)


def default_rule_dicts() -> list[dict[str, Any]]:
    """The built-in rules as config JSON: Diffusion Folders → ``diffusers``, then type → folder key."""
    rules = [{"folder": k, "kind": [kind], "priority": 100} for kind, k in DEFAULT_FORMATS.items()]
    rules += [{"folder": k, "model_type": [t], "priority": 0} for t, k in DEFAULT_TYPES.items()]
    return rules


def builtin_rules() -> list[Rule]:
    """:func:`default_rule_dicts` parsed at rank 0."""
    return parse_rules(default_rule_dicts(), "built-in rules", rank=0, source="built-in")


def _legacy_rules(path: Path, data: dict[str, Any]) -> list[Rule]:
    """``{"types": {type: key|null}, "formats": {kind: key|null}}`` as wildcard-custom rules."""
    extra = set(data) - {"types", "formats", "version", "comment"}
    if extra:
        raise BadInputError(f"{path}: unknown keys {sorted(extra)} (allowed: types, formats)", path=path)
    raw: list[dict[str, Any]] = []
    for name, field_, prio in (("formats", "kind", 1_100), ("types", "model_type", 1_000)):
        table = data.get(name, {})
        if not isinstance(table, dict) or not all(isinstance(k, str) and (v is None or (isinstance(v, str) and v))
                                                  for k, v in table.items()):
            raise BadInputError(f"{path}: '{name}' must map names to a folder key or null", path=path)
        for v in table.values():
            if v is not None and (v in (".", "..") or "/" in v or "\\" in v):
                raise BadInputError(f"{path}: folder key {v!r} is not a plain folder name", path=path)
        raw += [{"folder": key, field_: [what], "priority": prio} for what, key in table.items()]
    return _parse_file_rules(raw, path, rank=rank_of(False, True), source=path.name)


def _parse_file_rules(items: object, path: Path, *, rank: int, source: str) -> list[Rule]:
    """:func:`parse_rules` for the rules of the config file ``path`` (its errors get ``.path`` = the file)."""
    try:
        return parse_rules(items, str(path), rank=rank, source=source)
    except BadInputError as exc:
        exc.path = exc.path or str(path)
        raise


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read mapping config ({exc.strerror})", path=path) from exc
    if len(raw) > 16 * 1024 * 1024:
        raise BadInputError(f"{path}: mapping config larger than 16 MiB", path=path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadInputError(f"{path}: not valid JSON ({exc})", path=path) from exc
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a JSON object", path=path)
    return data


def _version_matches(path: Path, file_version: str, app_version: str | None) -> bool | None:
    """True exact match, None wildcard, False another version.  Raises for an invalid version in the name."""
    if file_version in WILDCARDS:
        return None
    try:
        want = Version(file_version)
    except InvalidVersion:
        raise BadInputError(f"{path}: {file_version!r} in the file name is not a PEP 440 version or '*'",
                            path=path) from None
    if not app_version:
        return False
    try:
        return Version(app_version) == want
    except InvalidVersion:
        return False


def load_configs(state_dir: str | os.PathLike[str], app_version: str | None) -> tuple[list[Rule], str, list[str]]:
    """Rules of every config that applies to an install of ``app_version``, sorted for evaluation.

    Returns:
        ``(rules, conflict_policy, sources)``: rules most specific first, the conflict policy of the
        most specific config that sets one (default ``"ask"``), and the config file names used.
    Raises:
        BadInputError: a config is unreadable, not JSON, or has a bad rule (names file and rule).
    """
    d = mappings_dir(state_dir)
    try:
        names = sorted(os.listdir(d))
    except OSError:
        names = []
    rules: list[Rule] = []
    policies: list[tuple[int, str]] = []
    sources: list[str] = []
    has_default = False
    for name in names:
        path = d / name
        if name == LEGACY_NAME:
            rules += _legacy_rules(path, _read_json(path))
            sources.append(name)
            continue
        m = _NAME.match(name)
        if not m:
            continue
        exact = _version_matches(path, m["version"], app_version)
        if exact is False:
            continue
        custom = m["variant"] != "default"
        rank = rank_of(bool(exact), custom)
        data = _read_json(path)
        extra = set(data) - CONFIG_KEYS
        if extra:
            raise BadInputError(f"{path}: unknown keys {sorted(extra)} (allowed: rules, conflict)", path=path)
        policy = data.get("conflict")
        if policy is not None:
            if policy not in CONFLICT_POLICIES:
                raise BadInputError(f"{path}: 'conflict' must be one of {', '.join(CONFLICT_POLICIES)}", path=path)
            policies.append((rank, policy))
        rules += _parse_file_rules(data.get("rules", []), path, rank=rank, source=name)
        sources.append(name)
        has_default = has_default or not custom
    if not has_default:
        rules += builtin_rules()
    rules.sort(key=Rule.sort_key)
    policy = max(policies)[1] if policies else "ask"
    return rules, policy, sources


def default_config_name() -> str:
    """``comfyui_*_default.json`` (``comfyui_any_default.json`` on Windows, where ``*`` is not allowed)."""
    return "comfyui_any_default.json" if os.name == "nt" else "comfyui_*_default.json"


def write_default_config(state_dir: str | os.PathLike[str], folder_keys: Iterable[str]) -> Path:
    """Write (or extend) the wildcard default config from an install's discovered folder keys.

    The built-in rules are written once; every later registration only adds folder keys to
    ``discovered_keys`` (keys no rule targets yet are listed so the user can write rules for them).
    A user's edits to the rules are kept.  Returns the file's path; raises :class:`BadInputError`
    when an existing default config is not valid JSON (it is left untouched).
    """
    path = mappings_dir(state_dir) / default_config_name()
    keys = sorted({str(k) for k in folder_keys})
    if path.exists():
        data = _read_json(path)
        known = set(data.get("discovered_keys") or [])
        if known.issuperset(keys):
            return path
        data["discovered_keys"] = sorted(known | set(keys))
    else:
        data = {"comment": "Written by Pumas. Copy to comfyui_*_custom.json (or comfyui_<version>_custom.json) "
                           "to change: custom configs take precedence.",
                "conflict": "ask", "rules": default_rule_dicts(), "discovered_keys": keys}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2))
    return path

"""Which ComfyUI folder key (and sub-folder) a model is linked into, for one install.

The rules come from the mapping configs in ``<state>/mappings/`` that apply to the install's ComfyUI
version (:mod:`.mapping_configs`; rule syntax in :mod:`.rules`), most specific first; the model's
``overrides.json`` (:mod:`.overrides`) can keep it away from some ComfyUI versions, add tags, fix the
link name and sub-folder.  A rule's folder counts only if the install knows that folder key
(case-insensitive); otherwise the next rule is tried.  ``unknown`` maps nowhere by default.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .mapping_configs import DEFAULT_FORMATS, DEFAULT_TYPES, builtin_rules, load_configs, mappings_dir
from .models import LinkableModel
from .rules import ModelFacts, Rule

__all__ = ["DEFAULT_FORMATS", "DEFAULT_TYPES", "Mapping", "Placement", "config_path", "default_mapping",
           "load_mapping", "resolve_placement", "resolve_target", "target_dir", "target_folder"]


@dataclass(frozen=True)
class Mapping:
    """The effective rules for one install: ``rules`` (evaluation order), ``conflict`` policy, ``sources``."""

    rules: tuple[Rule, ...] = field(default_factory=lambda: tuple(builtin_rules()))
    conflict: str = "ask"
    sources: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the effective rules and policy (the boot fast path notices any change)."""
        blob = json.dumps({"r": [r.to_json() for r in self.rules], "c": self.conflict}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True)
class Placement:
    """Where a model goes: ``folder_key`` and a relative ``subfolder`` (``""`` = the key's root)."""

    folder_key: str
    subfolder: str = ""
    link_name: str = ""
    rule: str = ""


def default_mapping() -> Mapping:
    """The built-in rules (no config file)."""
    return Mapping()


def config_path(state_dir: str | os.PathLike[str]) -> Path:
    """The older single override file ``<state_dir>/mappings/comfyui.json`` (still honoured)."""
    return mappings_dir(state_dir) / "comfyui.json"


def load_mapping(state_dir: str | os.PathLike[str] | None, app: MappingOf[str, Any] | None = None) -> Mapping:
    """The rules that apply to ``app`` (its ``version`` selects configs; None = wildcard configs only).

    Raises:
        BadInputError: an invalid config (names the file, the rule and what is wrong).
    """
    if state_dir is None:
        return Mapping()
    rules, policy, sources = load_configs(state_dir, (app or {}).get("version"))
    return Mapping(rules=tuple(rules), conflict=policy, sources=tuple(sources))


def _known_key(wanted: str, app: MappingOf[str, Any]) -> str | None:
    keys = app.get("folder_paths") or {}
    if wanted in keys:
        return wanted
    low = wanted.lower()
    matches = sorted(k for k in keys if k.lower() == low)
    return matches[0] if matches else None


def facts_of(model: LinkableModel) -> ModelFacts:
    """The facts rules look at (lower-cased; override tags added)."""
    ov = model.overrides
    tags = {t.lower() for t in model.tags} | set(ov.tags if ov else ())

    def low(v: str | None) -> str:
        return (v or "").lower()

    return ModelFacts(name=model.link_name, model_type=low(model.model_type), kind=low(model.kind),
                      family=low(model.family), base_model=low(model.base_model), precision=low(model.precision),
                      tags=frozenset(tags))


def resolve_placement(model: LinkableModel, app: MappingOf[str, Any],
                      mapping: Mapping | None = None) -> tuple[Placement | None, str | None]:
    """``(Placement, None)`` when the model maps into a key the install knows, else ``(None, reason)``."""
    mapping = mapping or Mapping()
    ov = model.overrides
    if ov is not None:
        allowed, _note = ov.allows(app.get("version"))
        if not allowed:
            return None, _note
    facts = facts_of(model)
    first_reason = None
    for rule in mapping.rules:
        if not rule.matches(facts):
            continue
        if rule.folder is None:
            return None, f"rule {rule.source} has folder null: models like this are not linked"
        key = _known_key(rule.folder, app)
        if key is None:
            first_reason = first_reason or (f"rule {rule.source} maps to folder key {rule.folder!r}, "
                                            "which this install does not have")
            continue
        sub = (ov.subfolder if ov and ov.subfolder else rule.subfolder) or model.link_subdir
        return Placement(key, sub, (ov.link_name if ov else "") or model.link_name, rule.source), None
    return None, first_reason or f"no mapping rule for type {model.model_type!r}"


def resolve_target(model: LinkableModel, app: MappingOf[str, Any],
                   mapping: Mapping | None = None) -> tuple[str | None, str | None]:
    """``(folder_key, None)`` or ``(None, reason)`` (see :func:`resolve_placement`)."""
    place, reason = resolve_placement(model, app, mapping)
    return (place.folder_key, None) if place else (None, reason)


def target_folder(model: LinkableModel, app: MappingOf[str, Any], mapping: Mapping | None = None) -> str | None:
    """The folder key the model goes into in ``app``, or None (see :func:`resolve_placement` for why)."""
    return resolve_target(model, app, mapping)[0]


def target_dir(app: MappingOf[str, Any], key: str) -> str:
    """Absolute directory for a key: ``<models_dir>/<key>``."""
    return os.path.join(app["models_dir"], key)

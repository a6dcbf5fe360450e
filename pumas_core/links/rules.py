"""Mapping rules: which ComfyUI folder key (and sub-folder) a model is linked into.

A rule (one entry of ``"rules"`` in a mapping config, see :mod:`.mapping_configs`)::

    {"folder": "loras", "subfolder": "styles", "patterns": ["*.safetensors"], "model_type": ["lora"],
     "kind": ["single-file"], "family": ["sdxl"], "base_model": ["SDXL"], "precision": ["fp16"],
     "tags_any": ["style"], "tags_all": [...], "tags_none": ["nsfw"], "priority": 10, "enabled": true}

Only ``folder`` is required (``null`` means "never link what matches").  Every list filter is
optional; a rule matches a model when every filter it has matches (string comparisons ignore case;
``patterns`` are :mod:`fnmatch` globs on the link name).  ``tags_none`` is an exclusion and wins over
everything else.  Rules are tried most specific config first (see :func:`rank_of`), then highest
``priority``, then file order; the first matching rule whose folder the install knows decides.
This follows the seed design (``seeds/04-implementation-phases.md``, Phase 1 Part C).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from ..errors import BadInputError

LIST_FILTERS = ("patterns", "model_type", "kind", "family", "base_model", "precision",
                "tags_any", "tags_all", "tags_none")
RULE_KEYS = frozenset({"folder", "subfolder", "priority", "enabled", "comment", *LIST_FILTERS})
MAX_RULES = 10_000
MAX_ITEMS = 1_000


@dataclass(frozen=True)
class ModelFacts:
    """What a rule can look at: lower-cased facts of one model (see :meth:`Rule.matches`)."""

    name: str
    model_type: str
    kind: str
    family: str = ""
    base_model: str = ""
    precision: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Rule:
    """One validated rule; ``rank`` is its config's specificity and ``source`` names it (``file#n``)."""

    folder: str | None
    subfolder: str = ""
    patterns: tuple[str, ...] = ()
    model_type: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    family: tuple[str, ...] = ()
    base_model: tuple[str, ...] = ()
    precision: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    tags_none: tuple[str, ...] = ()
    priority: int = 0
    enabled: bool = True
    rank: int = 0
    order: int = 0
    source: str = "built-in"

    def matches(self, m: ModelFacts) -> bool:
        """True when every filter of this rule holds for ``m`` (and no ``tags_none`` tag is present)."""
        if not self.enabled:
            return False
        if self.tags_none and m.tags.intersection(self.tags_none):
            return False
        for values, fact in ((self.model_type, m.model_type), (self.kind, m.kind), (self.family, m.family),
                             (self.base_model, m.base_model), (self.precision, m.precision)):
            if values and fact not in values:
                return False
        if self.tags_any and not m.tags.intersection(self.tags_any):
            return False
        if self.tags_all and not m.tags.issuperset(self.tags_all):
            return False
        return not self.patterns or any(fnmatch.fnmatchcase(m.name, p) for p in self.patterns)

    def sort_key(self) -> tuple[int, int, int]:
        """Most specific config first, then highest priority, then file order."""
        return (-self.rank, -self.priority, self.order)

    def to_json(self) -> dict[str, Any]:
        """The rule as written in a config (defaults left out), plus ``source``."""
        out: dict[str, Any] = {"folder": self.folder}
        if self.subfolder:
            out["subfolder"] = self.subfolder
        for k in LIST_FILTERS:
            if getattr(self, k):
                out[k] = list(getattr(self, k))
        out.update(priority=self.priority, enabled=self.enabled, source=self.source)
        return out


def _plain_parts(where: str, value: str, what: str) -> str:
    parts = [p for p in value.replace("\\", "/").split("/") if p]
    if any(p in (".", "..") for p in parts) or ":" in value:
        raise BadInputError(f"{where}: {what} {value!r} must be a plain relative folder (no '..', no drive)")
    return "/".join(parts)


def _str_list(where: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BadInputError(f"{where}: '{key}' must be a list of non-empty strings")
    if len(value) > MAX_ITEMS:
        raise BadInputError(f"{where}: '{key}' has more than {MAX_ITEMS} entries")
    return tuple(v if key == "patterns" else v.lower() for v in value)


def parse_rule(raw: object, where: str, *, rank: int, order: int, source: str) -> Rule:
    """Validate one rule object (``where`` names it in errors: ``"<file>: rule 3"``).

    Raises:
        BadInputError: unknown key, wrong type, missing ``folder``, a folder/sub-folder that is not plain.
    """
    if not isinstance(raw, dict):
        raise BadInputError(f"{where}: a rule must be a JSON object")
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise BadInputError(f"{where}: unknown keys {sorted(unknown)} (allowed: {', '.join(sorted(RULE_KEYS))})")
    if "folder" not in raw:
        raise BadInputError(f"{where}: 'folder' is required (a folder key such as 'loras', or null)")
    folder = raw["folder"]
    if folder is not None and (not isinstance(folder, str) or not folder or "/" in folder or "\\" in folder
                               or folder in (".", "..")):
        raise BadInputError(f"{where}: 'folder' must be a plain folder key or null, not {folder!r}")
    sub = raw.get("subfolder", "")
    if not isinstance(sub, str):
        raise BadInputError(f"{where}: 'subfolder' must be a string")
    prio = raw.get("priority", 0)
    if not isinstance(prio, int) or isinstance(prio, bool) or abs(prio) > 1_000_000:
        raise BadInputError(f"{where}: 'priority' must be an integer between -1000000 and 1000000")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise BadInputError(f"{where}: 'enabled' must be true or false")
    lists = {k: _str_list(where, k, raw[k]) for k in LIST_FILTERS if k in raw}
    return Rule(folder=folder, subfolder=_plain_parts(where, sub, "subfolder") if sub else "", priority=prio,
                enabled=enabled, rank=rank, order=order, source=source, **lists)


def parse_rules(items: object, where: str, *, rank: int, source: str) -> list[Rule]:
    """Validate a config's ``"rules"`` list (bounded to :data:`MAX_RULES`). Raises :class:`BadInputError`."""
    if not isinstance(items, list):
        raise BadInputError(f"{where}: 'rules' must be a list")
    if len(items) > MAX_RULES:
        raise BadInputError(f"{where}: more than {MAX_RULES} rules")
    return [parse_rule(r, f"{where}: rule {i + 1}", rank=rank, order=i, source=f"{source}#{i + 1}")
            for i, r in enumerate(items)]

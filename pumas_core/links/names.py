"""Link names that are valid on every file system Pumas links into (ext4, APFS, NTFS, exFAT).

Rules (Microsoft "Naming Files, Paths, and Namespaces"): no ``< > : " / \\ | ? *`` or control
characters, no trailing dot or space, no reserved device names (CON, PRN, AUX, NUL, COM1-9,
LPT1-9, also with an extension), at most 255 UTF-8 bytes.  Unicode is kept (NFC-normalised).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata

from ..errors import BadInputError

_HOSTILE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_BYTES = 255


def _split_ext(name: str) -> tuple[str, str]:
    stem, ext = os.path.splitext(name)
    return (stem, ext) if stem else (name, "")


def safe_link_name(name: str) -> str:
    """Make ``name`` a single, portable path component.

    Hostile characters (including both path separators, so ``../x`` cannot escape) become ``_``.
    Raises BadInputError for an empty name or one that is only dots.
    """
    n = unicodedata.normalize("NFC", str(name))
    n = _HOSTILE.sub("_", n).rstrip(" .")
    if not n:
        raise BadInputError(f"link name {name!r}: empty or only dots after cleaning")
    stem, ext = _split_ext(n)
    if stem.split(".")[0].upper().rstrip(" ") in _RESERVED:
        n = "_" + n
        stem, ext = _split_ext(n)
    while len(n.encode("utf-8")) > MAX_BYTES:
        stem = stem[:-1]
        n = stem + ext
    return n


def model_tag(model_id: str) -> str:
    """8 hex characters identifying a model: its id's hex digits, else SHA-256 of the id."""
    raw = model_id.split(":", 1)[-1].lower()
    if len(raw) >= 8 and all(c in "0123456789abcdef" for c in raw[:8]):
        return raw[:8]
    return hashlib.sha256(model_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def suffixed(name: str, model_id: str, is_dir: bool = False) -> str:
    """``stem-<8 hex>.ext`` (directories: ``name-<8 hex>``), the collision name of a model's link."""
    tag = model_tag(model_id)
    if is_dir:
        return safe_link_name(f"{name}-{tag}")
    stem, ext = _split_ext(name)
    return safe_link_name(f"{stem}-{tag}{ext}")

"""Link names that are valid on every file system Pumas links into (ext4, APFS, NTFS, exFAT).

The Windows rules (forbidden characters, reserved device names) are those of :mod:`pumas_core.naming`,
shared with library folder names; a link name also keeps its spaces and may use up to 255 UTF-8
bytes.  Unicode is kept (NFC-normalised).
"""

from __future__ import annotations

import hashlib
import os

from ..errors import BadInputError
from ..naming import avoid_reserved, replace_forbidden

MAX_BYTES = 255


def _split_ext(name: str) -> tuple[str, str]:
    stem, ext = os.path.splitext(name)
    return (stem, ext) if stem else (name, "")


def safe_link_name(name: str) -> str:
    """Make ``name`` a single, portable path component.

    Hostile characters (including both path separators, so ``../x`` cannot escape) become ``_``,
    trailing dots and spaces are dropped, a reserved device name gets a ``_`` prefix
    (``lpt1.txt`` → ``_lpt1.txt``, :func:`pumas_core.naming.avoid_reserved`), and the stem is cut
    until the name fits in :data:`MAX_BYTES` UTF-8 bytes (the extension is kept).

    Raises:
        BadInputError: the name is empty or only dots and spaces.
    """
    n = replace_forbidden(str(name)).rstrip(" .")
    if not n:
        raise BadInputError(f"link name {name!r}: empty or only dots after cleaning")
    n = avoid_reserved(n)
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

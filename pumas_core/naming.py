"""NTFS-safe names for library folders and files.

Rules (Microsoft "Naming Files, Paths, and Namespaces"): no ``< > : " / \\ | ? *`` or control
characters, no reserved device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, also with an
extension), no trailing dots or spaces; we also cap names at 128 characters and normalise
unicode to NFC so the same name compares equal on every OS.
"""

from __future__ import annotations

import re
import unicodedata

FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_LEN = 128


def clean_name(name: str, max_len: int = MAX_LEN, fallback: str = "model") -> str:
    """Return an NTFS-safe version of ``name`` (at most ``max_len`` characters).

    Forbidden characters become ``_``, runs of ``_`` and whitespace are folded, trailing dots
    and spaces are dropped, reserved device names get a ``_`` suffix, and a name that ends up
    empty becomes ``fallback``.  An extension (after the last dot) is kept when truncating.

    >>> clean_name('CON.safetensors')
    'CON_.safetensors'
    >>> clean_name('a:b?.ckpt. ')
    'a_b_.ckpt'
    """
    s = unicodedata.normalize("NFC", name)
    s = FORBIDDEN.sub("_", s).strip().rstrip(". ")
    s = re.sub(r"\s+", "_", s)
    s = re.sub(r"_{2,}", "_", s)
    if not s or set(s) <= {".", "_"}:
        s = fallback
    stem, dot, ext = s.partition(".")
    if stem.upper() in RESERVED:
        s = stem + "_" + dot + ext
    if len(s) > max_len:
        base, dot, ext = s.rpartition(".")
        if dot and 0 < len(ext) <= 16 and base:
            s = base[: max_len - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            s = s[:max_len].rstrip(". ")
    return s


def with_suffix_hash(name: str, digest: str, length: int = 8) -> str:
    """Insert ``-<first length hex of digest>`` before the extension of ``name``.

    Used when two different models would get the same cleaned name.
    """
    base, dot, ext = name.rpartition(".")
    if not dot or not base:
        return f"{name}-{digest[:length]}"
    return f"{base}-{digest[:length]}.{ext}"

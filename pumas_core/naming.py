"""NTFS-safe names: the one set of Windows name rules, used for library folders and files
(:func:`clean_name`) and for link names (:func:`pumas_core.links.names.safe_link_name`).

Rules (Microsoft "Naming Files, Paths, and Namespaces"): no ``< > : " / \\ | ? *`` or control
characters, no reserved device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9 and COM/LPT with a
superscript 1-3, also with an extension: ``NUL.txt`` and ``NUL.tar.gz`` are ``NUL``), no trailing
dots or spaces.  Unicode is normalised to NFC so the same name compares equal on every OS.  A
reserved name gets a ``_`` *prefix* (``CON.safetensors`` → ``_CON.safetensors``), for folders,
files and links alike.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters Windows refuses in a name (both path separators included), replaced by ``_``.
FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
#: Device names Windows reserves, upper case (compared case-insensitively).
RESERVED = frozenset({"CON", "PRN", "AUX", "NUL",
                      *(f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"0123456789", "\u00b9", "\u00b2", "\u00b3"))})
MAX_LEN = 128


def replace_forbidden(name: str) -> str:
    """``name`` in NFC with every forbidden character replaced by ``_`` (nothing else changed)."""
    return FORBIDDEN.sub("_", unicodedata.normalize("NFC", name))


def is_reserved(name: str) -> bool:
    """True when Windows takes ``name`` for a device: its part before the first dot (trailing
    spaces ignored) is in :data:`RESERVED`, in any case (``con``, ``Lpt1.txt``, ``NUL .tar.gz``)."""
    return name.split(".", 1)[0].rstrip(" ").upper() in RESERVED


def avoid_reserved(name: str) -> str:
    """``name``, with a ``_`` prefix when it is a reserved device name (:func:`is_reserved`)."""
    return "_" + name if is_reserved(name) else name


def clean_name(name: str, max_len: int = MAX_LEN, fallback: str = "model") -> str:
    """Return an NTFS-safe version of ``name`` (at most ``max_len`` characters) for a library
    folder or file.

    Forbidden characters become ``_``, runs of ``_`` and whitespace are folded, trailing dots
    and spaces are dropped, reserved device names get a ``_`` prefix, and a name that ends up
    empty becomes ``fallback``.  An extension (after the last dot) is kept when truncating.

    >>> clean_name('CON.safetensors')
    '_CON.safetensors'
    >>> clean_name('a:b?.ckpt. ')
    'a_b_.ckpt'
    """
    s = replace_forbidden(name).strip().rstrip(". ")
    s = re.sub(r"\s+", "_", s)
    s = re.sub(r"_{2,}", "_", s)
    if not s or set(s) <= {".", "_"}:
        s = fallback
    s = avoid_reserved(s)
    if len(s) > max_len:
        base, dot, ext = s.rpartition(".")
        if dot and 0 < len(ext) <= 16 and base:
            s = base[: max_len - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            s = s[:max_len].rstrip(". ")
    return s

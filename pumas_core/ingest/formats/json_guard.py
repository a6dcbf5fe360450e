"""Bounded JSON for untrusted headers: nesting, size and numbers checked before and while parsing.

``json.loads`` recurses once per nested array/object and turns every digit string into an ``int``
(Python refuses more than 4,300 digits with a ``ValueError``), and each JSON value becomes a Python
object of 30-80 bytes.  :func:`loads_bounded` therefore first scans the raw bytes without
recursion — strings removed, brackets counted — and refuses documents nested deeper than
``max_depth`` or holding more than ``max_values`` values / ``max_containers`` arrays and objects,
then parses with hooks that never convert a long digit string.

The rules follow ``serde_json`` (used by the reference ``safetensors`` reader): nesting deeper than
127 levels, ``NaN``/``Infinity``, numbers outside the ``f64`` range, unpaired UTF-16 surrogate
escapes and control characters in strings are all errors.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any, NoReturn

#: serde_json's recursion limit: 128 nested containers are refused, 127 pass.
SERDE_MAX_DEPTH = 127

_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{},')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")
_DELTA = tuple(1 if b == 0x5B else -1 if b == 0x5D else 0 for b in range(256))
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]")
_ESCAPES = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.S)
_MAX_NUMBER_CHARS = 400  # anything longer is out of f64 range (JSON forbids leading zeros) or absurd


class JsonLimitError(ValueError):
    """The document breaks a limit or a serde_json rule; ``str(exc)`` says which (one line)."""


class Huge:
    """Stand-in for an integer that does not fit an unsigned 64-bit value (never converted to ``int``)."""

    __slots__ = ("digits",)

    def __init__(self, digits: str):
        self.digits = digits

    def __repr__(self) -> str:
        return f"<{len(self.digits)}-character number>"


class DupDict(dict[str, Any]):
    """A JSON object that repeated a key; ``dups`` holds the repeated keys, ``dropped`` the
    ``(key, value)`` pairs that a later repetition replaced (last one wins, as in serde_json maps)."""

    dups: set[str]
    dropped: list[tuple[str, Any]]


def prescan(raw: bytes, *, max_depth: int, max_values: int, max_containers: int) -> None:
    """Check ``raw`` (a JSON document, bytes) without parsing it.

    Raises:
        JsonLimitError: nesting deeper than ``max_depth``, more than ``max_containers`` arrays and
            objects or more than ``max_values`` values (bounds on the memory ``json.loads`` would use).
    Cost: a few linear passes in C over ``raw`` plus one pass over the brackets left after four
    rounds of removing empty pairs (none for ordinary headers).
    """
    text = _outside_strings(raw)
    commas = text.count(b",")
    brackets = text.translate(None, _NOT_BRACKET)
    del text
    containers = brackets.count(b"{") + brackets.count(b"[")
    if containers > max_containers:
        raise JsonLimitError(f"{containers} arrays and objects (the limit is {max_containers})")
    if commas + containers + 1 > max_values:
        raise JsonLimitError(f"about {commas + containers + 1} values (the limit is {max_values})")
    seq = brackets.translate(_SQUARE)
    rounds = 0
    # Each round removes every innermost "[]" and lowers the deepest point by at most one level, so
    # depth(original) <= depth(residue) + rounds, with equality for balanced (valid) documents.
    while seq and rounds < 4:
        shorter = seq.replace(b"[]", b"")
        if len(shorter) == len(seq):
            break
        seq, rounds = shorter, rounds + 1
    if seq and _max_prefix_depth(seq, max_depth - rounds) + rounds > max_depth:
        raise JsonLimitError(f"nested more than {max_depth} levels deep")


def _outside_strings(raw: bytes) -> bytes:
    """The structural bytes (``[]{},``) of ``raw`` that lie outside JSON strings, in order.

    Escaped backslashes go first, then escaped quotes, so every remaining ``"`` delimits a string;
    the quote parity is carried across 64 KiB chunks (no per-string objects, no regex).
    """
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Adjacent quotes are an empty string or a close + open with nothing between: dropping them
    # keeps every other quote's parity, and leaves only strings that hold structural bytes.
    seq = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    out, inside = [], False
    for start in range(0, len(seq), 1 << 16):
        parts = seq[start:start + (1 << 16)].split(b'"')
        out.append(b"".join(parts[1::2] if inside else parts[0::2]))
        if len(parts) % 2 == 0:
            inside = not inside
    return b"".join(out)


def _max_prefix_depth(seq: bytes, limit: int) -> int:
    """Largest running count of ``[`` minus ``]`` over ``seq``; stops early once it exceeds ``limit``."""
    best, level = 0, 0
    for start in range(0, len(seq), 1 << 20):
        sums = list(accumulate(map(_DELTA.__getitem__, seq[start:start + (1 << 20)]), initial=level))
        best = max(best, max(sums))
        if best > limit:
            return best
        level = sums[-1]
    return best


def check_surrogates(raw: bytes) -> None:
    """Refuse ``\\uD800``-``\\uDFFF`` escapes that are not a high + low pair (serde_json does).

    Raises:
        JsonLimitError: naming the lone surrogate.
    """
    if not _SURROGATE_HINT.search(raw):
        return
    pending_high = False
    last_end = -1
    for m in _ESCAPES.finditer(raw):
        code = int(m.group(1), 16) if m.group(1) else None
        adjacent = m.start() == last_end
        if pending_high and not (adjacent and code is not None and 0xDC00 <= code <= 0xDFFF):
            raise JsonLimitError("lone leading surrogate in a \\u escape")
        if pending_high:
            pending_high = False
        elif code is not None and 0xDC00 <= code <= 0xDFFF:
            raise JsonLimitError(f"lone trailing surrogate \\u{code:04x}")
        elif code is not None and 0xD800 <= code <= 0xDBFF:
            pending_high = True
        last_end = m.end()
    if pending_high:
        raise JsonLimitError("lone leading surrogate in a \\u escape")


def _parse_int(s: str) -> int | float | Huge:
    if len(s) > _MAX_NUMBER_CHARS:
        raise JsonLimitError(f"a {len(s)}-digit number is out of range")
    if len(s) <= 20 and s[0] != "-":
        v = int(s)
        return v if v < 1 << 64 else Huge(s)
    if len(s) <= 20:
        return int(s) if s != "-0" else -0.0  # serde_json reads "-0" as a float
    if float(s) in (float("inf"), float("-inf")):
        raise JsonLimitError(f"a {len(s)}-digit number is out of range")
    return Huge(s)


def _parse_float(s: str) -> float:
    if len(s) > _MAX_NUMBER_CHARS:
        raise JsonLimitError(f"a {len(s)}-character number")
    v = float(s)
    if v in (float("inf"), float("-inf")):
        raise JsonLimitError(f"number {s[:40]} is out of range")
    return v


def _parse_constant(s: str) -> NoReturn:
    raise JsonLimitError(f"{s} is not JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    out = DupDict(d)
    seen: set[str] = set()
    out.dups, out.dropped = set(), []
    last = {k: i for i, (k, _) in enumerate(pairs)}
    for i, (k, v) in enumerate(pairs):
        if k in seen:
            out.dups.add(k)
        seen.add(k)
        if last[k] != i:
            out.dropped.append((k, v))
    return out


def checked_text(raw: bytes, *, max_depth: int = SERDE_MAX_DEPTH, max_values: int, max_containers: int) -> str:
    """``raw`` decoded (strict UTF-8) once it passed :func:`prescan` and :func:`check_surrogates`.

    The caller drops ``raw`` before :func:`loads` so the bytes and the parsed values never coexist.

    Raises:
        JsonLimitError: a limit or serde_json rule is broken.
        UnicodeDecodeError: not UTF-8.
    """
    prescan(raw, max_depth=max_depth, max_values=max_values, max_containers=max_containers)
    check_surrogates(raw)
    return raw.decode("utf-8")


def loads(text: str) -> Any:
    """Parse ``text`` (from :func:`checked_text`) with the serde_json number and key rules.

    Returns the parsed value: objects as ``dict`` (:class:`DupDict` when a key repeats), integers
    that do not fit ``u64`` as :class:`Huge`, ``-0`` as ``-0.0``.

    Raises:
        JsonLimitError: NaN/Infinity or a number outside the f64 range.
        json.JSONDecodeError: not JSON.
    """
    return json.loads(text, object_pairs_hook=_pairs, parse_int=_parse_int, parse_float=_parse_float,
                      parse_constant=_parse_constant)

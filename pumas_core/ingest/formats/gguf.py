"""GGUF v2/v3 header parser of our own (bounded reads, safe against hostile lengths).

Layout (ggml ``docs/gguf.md``): magic ``GGUF``, uint32 version, uint64 tensor_count, uint64
kv_count (v1 used uint32 counts and is refused), then kv_count pairs ``string key, uint32 type,
value`` where strings are ``uint64 length + UTF-8`` and arrays are ``uint32 item type, uint64
count, items`` (arrays may nest), then tensor_count infos ``string name, uint32 n_dims, n_dims ×
uint64 dims, uint32 ggml_type, uint64 offset``.  Little-endian unless the version reads
byte-swapped (big-endian files), which is handled.  Type numbers are ggml's
(``gguf-py/gguf/constants.py``).
"""

from __future__ import annotations

import struct
from pathlib import Path

from ...errors import CorruptFileError, UnsupportedFormatError
from .info import FormatInfo

# GGUF value types: code -> (struct char, size) for fixed-size scalars.
_SCALARS = {0: ("B", 1), 1: ("b", 1), 2: ("H", 2), 3: ("h", 2), 4: ("I", 4), 5: ("i", 4),
            6: ("f", 4), 7: ("?", 1), 10: ("Q", 8), 11: ("q", 8), 12: ("d", 8)}
_TYPE_NAMES = {0: "uint8", 1: "int8", 2: "uint16", 3: "int16", 4: "uint32", 5: "int32",
               6: "float32", 7: "bool", 8: "string", 9: "array", 10: "uint64", 11: "int64", 12: "float64"}

#: ggml tensor type numbers -> names.
GGML_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
              10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS",
              17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
              23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
              30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0"}

MAX_KV = 1 << 20            # key/value pairs
MAX_TENSORS = 1 << 22       # tensor infos
MAX_STRING = 64 << 20       # one string, bytes
MAX_DIMS = 8                # GGML_MAX_DIMS is 4; allow slack
MAX_DEPTH = 4               # nested arrays
INLINE_ARRAY = 16           # arrays up to this many scalar items are returned whole
MAX_INLINE_STRING = 16384   # longer string values are cut (chat templates stay intact)


class _Truncated(Exception):
    pass


class _Reader:
    """A forward-only buffered reader that never reads beyond the file or allocates a hostile length."""

    def __init__(self, f, size: int, endian: str):
        self.f, self.size, self.e = f, size, endian
        self.buf, self.bpos, self.base = b"", 0, 0  # buffer covers file[base : base+len(buf)]

    @property
    def pos(self) -> int:
        return self.base + self.bpos

    def _need(self, n: int) -> None:
        if self.bpos + n <= len(self.buf):
            return
        if self.pos + n > self.size:
            raise _Truncated()
        rest = self.buf[self.bpos:]
        self.base += self.bpos
        self.f.seek(self.base + len(rest))
        self.buf = rest + self.f.read(max(n - len(rest), 1 << 20))
        self.bpos = 0
        if len(self.buf) < n:
            raise _Truncated()

    def scalar(self, ch: str, width: int):
        self._need(width)
        v = struct.unpack_from(self.e + ch, self.buf, self.bpos)[0]
        self.bpos += width
        return v

    def skip(self, n: int) -> None:
        if self.pos + n > self.size:
            raise _Truncated()
        if self.bpos + n <= len(self.buf):
            self.bpos += n
        else:
            self.base, self.buf, self.bpos = self.pos + n, b"", 0

    def skip_strings(self, count: int) -> None:
        """Skip ``count`` strings (the hot loop of big token arrays, kept tight)."""
        unpack = struct.Struct(self.e + "Q").unpack_from
        for _ in range(count):
            if self.bpos + 8 > len(self.buf):
                self._need(8)
            n = unpack(self.buf, self.bpos)[0]
            if n > MAX_STRING:
                raise ValueError(f"string length {n} over the {MAX_STRING}-byte limit")
            self.bpos += 8
            if self.bpos + n <= len(self.buf):
                self.bpos += n
            else:
                self.skip(n)

    def string(self, keep: bool = True) -> str | None:
        n = self.scalar("Q", 8)
        if n > MAX_STRING:
            raise ValueError(f"string length {n} over the {MAX_STRING}-byte limit")
        if not keep:
            self.skip(n)
            return None
        self._need(n)
        raw = self.buf[self.bpos:self.bpos + n]
        self.bpos += n
        return raw.decode("utf-8", errors="replace")


def parse(path: Path, size: int) -> FormatInfo:
    """Parse the GGUF header of ``path`` (``size`` bytes).

    Returns:
        ``FormatInfo("gguf", "safe", {"version", "endian", "tensor_count", "kv_count", "kv",
        "tensor_types": {name: n} | None, "parameter_count": int | None, "header_end": bytes | None,
        "tensor_info_error": str (only if the tensor table could not be read)})``.  Arrays in ``kv``
        longer than 16 items become ``{"type": item type, "count": n}``.

    Raises:
        UnsupportedFormatError: GGUF v1 or an unknown version.
        CorruptFileError: the header or a key/value pair is truncated or malformed.
    """
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            raise CorruptFileError(f"{path}: GGUF file truncated ({size} bytes)")
        endian = "<"
        version = struct.unpack("<I", head[4:8])[0]
        if version > 0xFFFF and struct.unpack(">I", head[4:8])[0] in (2, 3):
            endian, version = ">", struct.unpack(">I", head[4:8])[0]
        if version == 1:
            raise UnsupportedFormatError(f"{path}: GGUF version 1 is not supported (re-convert to v3)")
        if version not in (2, 3):
            raise UnsupportedFormatError(f"{path}: unknown GGUF version {version}")
        tensor_count, kv_count = struct.unpack(endian + "QQ", head[8:24])
        if kv_count > MAX_KV or tensor_count > MAX_TENSORS:
            raise CorruptFileError(f"{path}: implausible GGUF counts (tensors {tensor_count}, kv {kv_count})")
        r = _Reader(f, size, endian)
        r.skip(24)
        kv: dict = {}
        try:
            for _ in range(kv_count):
                key = r.string()
                kv[key] = _value(r, r.scalar("I", 4), 0)
        except _Truncated:
            raise CorruptFileError(f"{path}: GGUF key/value section truncated after {len(kv)} of {kv_count} pairs") from None
        except (ValueError, struct.error) as exc:
            raise CorruptFileError(f"{path}: malformed GGUF key/value pair {len(kv) + 1}: {exc}") from None
        details = {"version": version, "endian": "little" if endian == "<" else "big",
                   "tensor_count": tensor_count, "kv_count": kv_count, "kv": kv,
                   "tensor_types": None, "parameter_count": None, "header_end": None}
        try:
            types, params = _tensor_infos(r, tensor_count)
            details.update(tensor_types=types, parameter_count=params, header_end=r.pos)
        except _Truncated:
            details["tensor_info_error"] = "tensor-info table truncated"
        except (ValueError, struct.error) as exc:
            details["tensor_info_error"] = f"tensor-info table malformed: {exc}"
    return FormatInfo("gguf", "safe", details)


def _value(r: _Reader, vtype: int, depth: int):
    if vtype in _SCALARS:
        return r.scalar(*_SCALARS[vtype])
    if vtype == 8:
        s = r.string()
        return s if len(s) <= MAX_INLINE_STRING else s[:MAX_INLINE_STRING] + "…[truncated]"
    if vtype == 9:
        if depth >= MAX_DEPTH:
            raise ValueError("arrays nested too deeply")
        itype, count = r.scalar("I", 4), r.scalar("Q", 8)
        if itype not in _TYPE_NAMES:
            raise ValueError(f"unknown array item type {itype}")
        minimum = _SCALARS[itype][1] if itype in _SCALARS else (8 if itype == 8 else 12)
        if count * minimum > r.size - r.pos:
            raise _Truncated()
        if count <= INLINE_ARRAY and itype != 9:
            return [_value(r, itype, depth + 1) for _ in range(count)]
        if itype in _SCALARS:
            r.skip(count * _SCALARS[itype][1])
        elif itype == 8:
            r.skip_strings(count)
        else:
            for _ in range(count):
                _value(r, 9, depth + 1)  # each item is itself an array
        return {"type": _TYPE_NAMES[itype], "count": count}
    raise ValueError(f"unknown value type {vtype}")


def _tensor_infos(r: _Reader, count: int) -> tuple[dict, int]:
    types: dict[str, int] = {}
    params = 0
    for _ in range(count):
        r.string(keep=False)
        n_dims = r.scalar("I", 4)
        if n_dims > MAX_DIMS:
            raise ValueError(f"tensor with {n_dims} dimensions")
        elements = 1
        for _ in range(n_dims):
            elements *= r.scalar("Q", 8)
        t = r.scalar("I", 4)
        r.scalar("Q", 8)  # data offset
        name = GGML_TYPES.get(t, f"type{t}")
        types[name] = types.get(name, 0) + 1
        params += elements
    return types, params

"""GGUF v2/v3 header parser of our own: strict, and bounded by the file size before any loop.

Layout (ggml ``docs/gguf.md``): magic ``GGUF``, uint32 version, uint64 tensor_count, uint64
kv_count (v1 used uint32 counts and is refused), then kv_count pairs ``string key, uint32 type,
value`` where strings are ``uint64 length + UTF-8`` and arrays are ``uint32 item type, uint64
count, items`` (arrays may nest), then tensor_count infos ``string name, uint32 n_dims, n_dims ×
uint64 dims, uint32 ggml_type, uint64 offset``, padding to ``general.alignment`` (uint32, a power
of two, default 32), then the tensor data.  Little-endian unless the version reads byte-swapped.

What a file must satisfy (the union of ``gguf-py``'s ``GGUFReader`` and ggml's ``gguf.cpp``
checks): keys and tensor names valid UTF-8 and unique; known value types; every count, length
and offset within the file before it is used; at most 4 dimensions (``GGML_MAX_DIMS``); known
ggml types (``gguf-py/gguf/constants.py`` ``GGMLQuantizationType``) with the first dimension a
multiple of the block size; offsets multiples of the alignment; every tensor's bytes inside the
file.  The first piece of a byte-split file (``partial``) may end before its tensor data.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from ...errors import CorruptHeaderError, UnsupportedFormatError
from ...vocab import FileFormat, SecurityTier
from .info import FormatInfo

# GGUF value types: code -> (struct char, size) for fixed-size scalars.
_SCALARS = {0: ("B", 1), 1: ("b", 1), 2: ("H", 2), 3: ("h", 2), 4: ("I", 4), 5: ("i", 4),
            6: ("f", 4), 7: ("?", 1), 10: ("Q", 8), 11: ("q", 8), 12: ("d", 8)}
_TYPE_NAMES = {0: "uint8", 1: "int8", 2: "uint16", 3: "int16", 4: "uint32", 5: "int32",
               6: "float32", 7: "bool", 8: "string", 9: "array", 10: "uint64", 11: "int64", 12: "float64"}

#: ggml tensor type number -> (name, elements per block, bytes per block) (gguf-py ``GGML_QUANT_SIZES``).
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40), 10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8),
    28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18),
}

MAX_KV = 1 << 20            # key/value pairs
MAX_TENSORS = 1 << 18       # tensor infos (real files: a few thousand)
MAX_NAME = 1 << 16          # bytes of a key or tensor name (GGML_MAX_NAME is 64 for tensors)
MAX_DIMS = 4                # GGML_MAX_DIMS
MAX_DEPTH = 4               # nested arrays
MAX_WORK = 1 << 25          # items walked one by one (strings, nested arrays, tensor infos) per file
INLINE_ARRAY = 16           # arrays up to this many scalar items are returned whole
MAX_INLINE_STRING = 16384   # longer string values are cut (chat templates stay intact)
DEFAULT_ALIGNMENT = 32
_I64 = 1 << 63
_MIN_KV = 8 + 4 + 1         # empty key, type, one-byte value
_MIN_TENSOR_INFO = 8 + 4 + 4 + 8


class _Truncated(Exception):
    pass


class _Bad(Exception):
    pass


class _Reader:
    """A forward-only buffered reader that never reads beyond the file or allocates a hostile length."""

    def __init__(self, f: BinaryIO, size: int, endian: str) -> None:
        self.f, self.size, self.e = f, size, endian
        self.buf, self.bpos, self.base = b"", 0, 0  # buffer covers file[base : base+len(buf)]
        self.work = 0

    @property
    def pos(self) -> int:
        return self.base + self.bpos

    def left(self) -> int:
        return self.size - self.pos

    def spend(self, items: int) -> None:
        """Account for ``items`` loop iterations; refuse files that need more than :data:`MAX_WORK`."""
        self.work += items
        if self.work > MAX_WORK:
            raise _Bad(f"more than {MAX_WORK} items to walk")

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

    def scalar(self, ch: str, width: int) -> Any:
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
            self.bpos += 8
            if self.bpos + n <= len(self.buf):
                self.bpos += n
            else:
                self.skip(n)

    def raw_string(self, keep: int) -> tuple[bytes, int]:
        """``(first keep bytes, full length)`` of a string; the rest is skipped, never read into memory."""
        n = self.scalar("Q", 8)
        if n > self.left():
            raise _Truncated()
        take = min(n, keep)
        self._need(take)
        raw = self.buf[self.bpos:self.bpos + take]
        self.bpos += take
        self.skip(n - take)
        return raw, n

    def name(self, what: str) -> str:
        """A key or tensor name: must be valid UTF-8 (gguf-py decodes them strictly) and short."""
        raw, n = self.raw_string(MAX_NAME)
        if n > MAX_NAME:
            raise _Bad(f"{what} of {n} bytes (at most {MAX_NAME})")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Bad(f"{what} {raw[:40]!r} is not valid UTF-8") from None


def parse(path: Path, size: int, partial: bool = False) -> FormatInfo:
    """Parse and validate the GGUF header of ``path`` (``size`` bytes).

    Args:
        partial: ``path`` is the first piece of a byte-split GGUF: the header must be whole, the
            tensor data may continue past the end.
    Returns:
        ``FormatInfo("gguf", "safe", {"version", "endian", "tensor_count", "kv_count", "kv",
        "tensor_types": {name: n}, "parameter_count": int, "header_end": bytes, "alignment": int})``
        (+ ``"partial": True``).  Arrays in ``kv`` longer than 16 items become ``{"type": item type,
        "count": n}``.
    Raises:
        UnsupportedFormatError: GGUF v1 or an unknown version.
        CorruptHeaderError: one line naming the file and the first rule broken.
    """
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            raise CorruptHeaderError(f"{path}: GGUF file truncated ({size} bytes)")
        endian = "<"
        version = struct.unpack("<I", head[4:8])[0]
        if version & 0xFFFF == 0:  # written on a machine of the other byte order (as gguf-py decides)
            endian, version = ">", struct.unpack(">I", head[4:8])[0]
        if version == 1:
            raise UnsupportedFormatError(f"{path}: GGUF version 1 is not supported (re-convert to v3)")
        if version not in (2, 3):
            raise UnsupportedFormatError(f"{path}: unknown GGUF version {version}")
        tensor_count, kv_count = struct.unpack(endian + "QQ", head[8:24])
        if kv_count > MAX_KV or kv_count * _MIN_KV > size - 24:
            raise CorruptHeaderError(f"{path}: GGUF claims {kv_count} key/value pairs, more than the file can hold")
        if tensor_count > MAX_TENSORS or tensor_count * _MIN_TENSOR_INFO > size - 24:
            raise CorruptHeaderError(f"{path}: GGUF claims {tensor_count} tensors, more than the file can hold")
        r = _Reader(f, size, endian)
        r.skip(24)
        kv: dict[str, Any] = {}
        kv_types: dict[str, int] = {}
        try:
            for _ in range(kv_count):
                key = r.name("key")
                if key in kv:
                    raise _Bad(f"key {key[:80]!r} appears twice")
                kv_types[key] = r.scalar("I", 4)
                kv[key] = _value(r, kv_types[key], 0)
        except _Truncated:
            raise CorruptHeaderError(
                f"{path}: GGUF key/value section truncated after {len(kv)} of {kv_count} pairs") from None
        except _Bad as exc:
            raise CorruptHeaderError(f"{path}: malformed GGUF key/value pair {len(kv) + 1}: {exc}") from None
        alignment = _alignment(path, kv, kv_types)
        try:
            infos = _tensor_infos(r, tensor_count)
        except _Truncated:
            raise CorruptHeaderError(
                f"{path}: GGUF tensor-info table truncated ({tensor_count} tensors claimed)") from None
        except _Bad as exc:
            raise CorruptHeaderError(f"{path}: malformed GGUF tensor info: {exc}") from None
        header_end = r.pos
    data_start = -(-header_end // alignment) * alignment
    types, params = _check_data(path, infos, data_start, alignment, size, partial)
    details = {"version": version, "endian": "little" if endian == "<" else "big",
               "tensor_count": tensor_count, "kv_count": kv_count, "kv": kv, "tensor_types": types,
               "parameter_count": params, "header_end": header_end, "alignment": alignment}
    if partial:
        details["partial"] = True
    return FormatInfo(FileFormat.GGUF, SecurityTier.SAFE, details)


def _alignment(path: Path, kv: dict[str, Any], kv_types: dict[str, int]) -> int:
    if "general.alignment" not in kv:
        return DEFAULT_ALIGNMENT
    value = kv["general.alignment"]
    if kv_types["general.alignment"] != 4:
        raise CorruptHeaderError(f"{path}: GGUF general.alignment is not a uint32")
    if value == 0 or value & (value - 1):
        raise CorruptHeaderError(f"{path}: GGUF general.alignment {value} is not a power of two")
    return int(value)


def _value(r: _Reader, vtype: int, depth: int) -> Any:
    if vtype in _SCALARS:
        return r.scalar(*_SCALARS[vtype])
    if vtype == 8:
        raw, _n = r.raw_string(MAX_INLINE_STRING * 4)
        s = raw.decode("utf-8", errors="replace")
        return s if len(s) <= MAX_INLINE_STRING else s[:MAX_INLINE_STRING] + "…[truncated]"
    if vtype == 9:
        if depth >= MAX_DEPTH:
            raise _Bad("arrays nested too deeply")
        itype, count = r.scalar("I", 4), r.scalar("Q", 8)
        if itype not in _TYPE_NAMES:
            raise _Bad(f"unknown array item type {itype}")
        minimum = _SCALARS[itype][1] if itype in _SCALARS else (8 if itype == 8 else 12)
        if count * minimum > r.left():
            raise _Truncated()
        if count <= INLINE_ARRAY and itype != 9:
            return [_value(r, itype, depth + 1) for _ in range(count)]
        if itype in _SCALARS:
            r.skip(count * _SCALARS[itype][1])
        elif itype == 8:
            r.spend(count)
            r.skip_strings(count)
        else:
            r.spend(count)
            for _ in range(count):
                _value(r, 9, depth + 1)  # each item is itself an array
        return {"type": _TYPE_NAMES[itype], "count": count}
    raise _Bad(f"unknown value type {vtype}")


def _tensor_infos(r: _Reader, count: int) -> list[tuple[str, int, int, int]]:
    """``[(name, ggml type, element count, offset)]``; names unique and UTF-8, dims and types valid."""
    r.spend(count)
    seen: set[str | int] = set()
    infos = []
    for _ in range(count):
        name = r.name("tensor name")
        key = name if len(name) <= 256 else hash(name)
        if key in seen:
            raise _Bad(f"tensor {name[:80]!r} appears twice")
        seen.add(key)
        n_dims = r.scalar("I", 4)
        if n_dims > MAX_DIMS:
            raise _Bad(f"tensor {name[:80]!r} has {n_dims} dimensions (at most {MAX_DIMS})")
        dims = [r.scalar("Q", 8) for _ in range(n_dims)]
        t = r.scalar("I", 4)
        offset = r.scalar("Q", 8)
        if t not in GGML_TYPES:
            raise _Bad(f"tensor {name[:80]!r} has unknown ggml type {t}")
        first = dims[0] if dims else 1
        if first % GGML_TYPES[t][1]:
            raise _Bad(f"tensor {name[:80]!r} ({GGML_TYPES[t][0]}): first dimension {first} "
                       f"is not a multiple of the block size {GGML_TYPES[t][1]}")
        elements = 1
        for d in dims:  # at most 4 factors below 2^63 each: never a big integer worth mentioning
            elements *= d
            if d >= _I64 or elements >= _I64:
                raise _Bad(f"tensor {name[:80]!r} shape {dims} overflows 64-bit arithmetic")
        infos.append((name, t, elements, offset))
    return infos


def _check_data(path: Path, infos: list[tuple[str, int, int, int]], data_start: int, alignment: int, size: int,
                partial: bool) -> tuple[dict[str, int], int]:
    """Offsets aligned and every tensor's bytes inside the file; returns ``(tensor_types, parameters)``."""
    types: dict[str, int] = {}
    params = 0
    for name, t, elements, offset in infos:
        tname, block, block_bytes = GGML_TYPES[t]
        if offset % alignment:
            raise CorruptHeaderError(f"{path}: GGUF tensor {name[:80]!r} offset {offset} is not a multiple "
                                     f"of the alignment {alignment}")
        nbytes = elements // block * block_bytes
        if data_start + offset + nbytes > size and not partial:
            raise CorruptHeaderError(f"{path}: GGUF tensor {name[:80]!r} data ({nbytes} bytes at offset {offset}) "
                                     f"runs past the end of the file ({size} bytes); truncated?")
        types[tname] = types.get(tname, 0) + 1
        params += elements
    return types, params

"""safetensors header parser, as strict as the reference reader and bounded in time and memory.

Format (https://github.com/huggingface/safetensors, README "Format"; rules from
``safetensors/src/tensor.rs``: ``SafeTensors::read_metadata``, ``Metadata::validate``, ``Dtype``):
an unsigned 64-bit little-endian header length ``N`` (at most 100,000,000); ``N`` bytes of UTF-8
JSON, an object mapping tensor names to ``{"dtype", "shape", "data_offsets": [begin, end]}`` plus
an optional ``"__metadata__"`` map of strings to strings; then the byte buffer.  Sorted by
offsets, the tensors must tile the buffer exactly from 0 to its end, each spanning
``product(shape) * bits(dtype) / 8`` bytes (a whole number of bytes), computed in unsigned 64-bit
arithmetic that refuses overflow.

Our own bounds on top (the reference has none): at most :data:`MAX_CONTAINERS` JSON arrays and
objects and :data:`MAX_VALUES` JSON values (so at most ~200,000 tensors; real single files hold a
few thousand), which keeps a 100 MB header's parse within ~2x its size in memory.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from ...errors import CorruptHeaderError
from ...vocab import FileFormat, SecurityTier
from .info import FormatInfo
from .json_guard import DupDict, JsonLimitError, checked_text, loads

#: Largest header accepted, in bytes (the reference's ``MAX_HEADER_SIZE``).
MAX_HEADER = 100_000_000
#: At most this many JSON arrays + objects in a header (3 per tensor).
MAX_CONTAINERS = 600_000
#: At most this many JSON values in a header (about 9 per tensor).
MAX_VALUES = 2_000_000
_U64 = 1 << 64

#: Bits per element of every dtype the reference knows (``Dtype::bitsize``); nothing else is accepted.
DTYPE_BITS = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
    "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}
_FIELDS = ("dtype", "shape", "data_offsets")


class _Bad(Exception):
    pass


def claims(head: bytes) -> bool:
    """True if ``head`` starts like safetensors (a ``{`` after 8 bytes) even if the length is wrong."""
    return len(head) >= 9 and head[8:9] == b"{" and head[:8] != b"GGUF\x03\x00\x00\x00"


def parse(path: Path, size: int, partial: bool = False) -> FormatInfo:
    """Parse and validate the header of the safetensors file ``path`` of ``size`` bytes.

    Args:
        partial: ``path`` is the first piece of a byte-split file (``x.safetensors.part1``): the
            tensors may run past its end, everything else is checked.
    Returns:
        ``FormatInfo("safetensors", "safe", {"header_size": N, "tensor_count": n, "data_size":
        bytes, "tensors": {name: {"dtype", "shape"}}, "metadata": {str: str}})`` (+ ``"partial":
        True`` for a first piece).
    Raises:
        CorruptHeaderError: one line naming the file and the first rule broken (truncated file,
            header length, JSON, nesting, limits, dtype, shape, offsets, uncovered bytes, metadata).
    """
    if size < 8:
        raise CorruptHeaderError(f"{path}: safetensors file truncated ({size} bytes, header length missing)")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        if n > MAX_HEADER:
            raise CorruptHeaderError(f"{path}: safetensors header length {n} exceeds the {MAX_HEADER}-byte limit")
        if 8 + n > size:
            raise CorruptHeaderError(
                f"{path}: safetensors header length {n} runs past the end of the file ({size} bytes); truncated?")
        raw = f.read(n)
    if len(raw) != n:
        raise CorruptHeaderError(f"{path}: safetensors header truncated while reading")
    try:
        text = checked_text(raw, max_values=MAX_VALUES, max_containers=MAX_CONTAINERS)
        del raw  # the bytes, the text and the parsed values must not all be alive at once
        header = loads(text)
        del text
    except JsonLimitError as exc:
        raise CorruptHeaderError(f"{path}: safetensors header refused: {exc}") from None
    except UnicodeDecodeError:
        raise CorruptHeaderError(f"{path}: safetensors header is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise CorruptHeaderError(f"{path}: safetensors header is not valid JSON ({exc})") from None
    try:
        metadata, tensors, end = _validate(header)
    except _Bad as exc:
        raise CorruptHeaderError(f"{path}: {exc}") from None
    data_size = size - 8 - n
    if end != data_size and not (partial and end > data_size):
        hint = "; truncated?" if end > data_size else f" ({data_size - end} bytes after the last tensor)"
        raise CorruptHeaderError(
            f"{path}: safetensors tensors cover {end} bytes but the data section holds {data_size}{hint}")
    details = {"header_size": n, "tensor_count": len(tensors), "data_size": end, "tensors": tensors,
               "metadata": metadata}
    if partial:
        details["partial"] = True
    return FormatInfo(FileFormat.SAFETENSORS, SecurityTier.SAFE, details)


def _validate(header: object) -> tuple[dict[str, Any], dict[str, dict[str, Any]], int]:
    """``(metadata, {name: {"dtype", "shape"}}, end of the last tensor)``; raises :class:`_Bad`."""
    if not isinstance(header, dict):
        raise _Bad("safetensors header is not a JSON object")
    if isinstance(header, DupDict):
        if "__metadata__" in header.dups:
            raise _Bad("safetensors header repeats __metadata__")
        for name, entry in header.dropped:  # replaced by a later duplicate, but still must be valid
            if name != "__metadata__":
                _entry(name, entry)
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise _Bad("safetensors __metadata__ is not an object of strings")
    else:
        for k, v in metadata.items():
            if not isinstance(v, str):
                raise _Bad(f"safetensors __metadata__ value of {k[:80]!r} is not a string")
    entries = sorted(((_entry(name, e), name) for name, e in header.items()), key=lambda x: x[0][2])
    tensors: dict[str, dict[str, Any]] = {}
    start = 0
    for (dtype, shape, (begin, end)), name in entries:
        if begin != start or end < begin:
            raise _Bad(f"tensor {name[:80]!r} has invalid data_offsets [{begin}, {end}]: expected to start at {start} "
                       "(tensors must tile the data section without gaps or overlaps)")
        start = end
        nbytes = _nbytes(name, dtype, shape)
        if end - begin != nbytes:
            raise _Bad(f"tensor {name[:80]!r} ({dtype}, {len(shape)} dims) needs {nbytes} bytes "
                       f"but its data_offsets span {end - begin}")
        tensors[name] = {"dtype": dtype, "shape": shape}
    return metadata, tensors, start


def _usize(v: object) -> bool:
    return type(v) is int and 0 <= v < _U64


def _entry(name: str, entry: object) -> tuple[str, list[int], tuple[int, int]]:
    if not isinstance(entry, dict):
        raise _Bad(f"safetensors entry {name[:80]!r} is not an object")
    if isinstance(entry, DupDict) and entry.dups & set(_FIELDS):
        raise _Bad(f"tensor {name[:80]!r} repeats {sorted(entry.dups & set(_FIELDS))[0]}")
    for key in _FIELDS:
        if key not in entry:
            raise _Bad(f"tensor {name[:80]!r} has no {key}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        shown = dtype[:40] if isinstance(dtype, str) else type(dtype).__name__
        raise _Bad(f"tensor {name[:80]!r} has an unknown dtype {shown!r}")
    if not isinstance(shape, list) or not all(_usize(d) for d in shape):
        raise _Bad(f"tensor {name[:80]!r} has an invalid shape (dimensions must be integers 0..2^64-1)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_usize(o) for o in offsets):
        raise _Bad(f"tensor {name[:80]!r} has invalid data_offsets (two integers 0..2^64-1 expected)")
    return dtype, shape, (offsets[0], offsets[1])


def _nbytes(name: str, dtype: str, shape: list[int]) -> int:
    """Bytes of the tensor, as the reference computes them: overflow past 2^64 is an error."""
    count = 1
    for d in shape:
        count *= d  # both factors < 2^64: never a big integer
        if count >= _U64:
            raise _Bad(f"tensor {name[:80]!r} shape overflows 64-bit arithmetic")
    bits = count * DTYPE_BITS[dtype]
    if bits >= _U64:
        raise _Bad(f"tensor {name[:80]!r} size overflows 64-bit arithmetic")
    if bits % 8:
        raise _Bad(f"tensor {name[:80]!r} ({dtype}) does not end on a byte boundary")
    return bits // 8

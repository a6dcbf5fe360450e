"""safetensors header parser (bounded: reads 8 bytes + the JSON header only).

Format (https://github.com/huggingface/safetensors, README "Format"): an unsigned 64-bit
little-endian header length ``N``; ``N`` bytes of UTF-8 JSON, an object mapping tensor names to
``{"dtype", "shape", "data_offsets": [begin, end]}`` plus an optional ``"__metadata__"`` string
map; then the byte buffer (offsets relative to its start).  The reference implementation refuses
headers over 100 MB; so do we.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from ...errors import CorruptFileError
from .info import FormatInfo

#: Largest header accepted, in bytes (the reference implementation's limit).
MAX_HEADER = 100 * 1024 * 1024

#: Bytes per element of the safetensors dtypes (sub-byte types are not sized).
DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}


def claims(head: bytes) -> bool:
    """True if ``head`` starts like safetensors (a ``{`` after 8 bytes) even if the length is wrong."""
    return len(head) >= 9 and head[8:9] == b"{" and head[:8] != b"GGUF\x03\x00\x00\x00"


def parse(path: Path, size: int) -> FormatInfo:
    """Parse the header of the safetensors file ``path`` of ``size`` bytes.

    Returns:
        ``FormatInfo("safetensors", "safe", {"header_size": N, "tensor_count": n,
        "data_size": bytes, "tensors": {name: {"dtype", "shape"}}, "metadata": {...}})``.

    Raises:
        CorruptFileError: truncated file, header length beyond the file or over 100 MB,
            invalid JSON, malformed entries, or data offsets outside the file.
    """
    if size < 8:
        raise CorruptFileError(f"{path}: safetensors file truncated ({size} bytes, header length missing)")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        if n > MAX_HEADER:
            raise CorruptFileError(f"{path}: safetensors header length {n} exceeds the {MAX_HEADER}-byte limit")
        if 8 + n > size:
            raise CorruptFileError(
                f"{path}: safetensors header length {n} runs past the end of the file ({size} bytes); truncated?")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{path}: safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise CorruptFileError(f"{path}: safetensors header is not a JSON object")
    data_size = size - 8 - n
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise CorruptFileError(f"{path}: safetensors __metadata__ is not an object")
    tensors: dict[str, dict] = {}
    end_max = 0
    for name, entry in header.items():
        tensors[name] = _check_entry(path, name, entry, data_size)
        end_max = max(end_max, entry["data_offsets"][1])
    details = {
        "header_size": n,
        "tensor_count": len(tensors),
        "data_size": end_max,
        "tensors": tensors,
        "metadata": {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()},
    }
    return FormatInfo("safetensors", "safe", details)


def _check_entry(path: Path, name: str, entry, data_size: int) -> dict:
    if not isinstance(entry, dict):
        raise CorruptFileError(f"{path}: safetensors entry {name!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str):
        raise CorruptFileError(f"{path}: tensor {name!r} has no dtype")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise CorruptFileError(f"{path}: tensor {name!r} has an invalid shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets) or not 0 <= offsets[0] <= offsets[1]):
        raise CorruptFileError(f"{path}: tensor {name!r} has invalid data_offsets {offsets!r}")
    if offsets[1] > data_size:
        raise CorruptFileError(
            f"{path}: tensor {name!r} data ends at byte {offsets[1]} of a {data_size}-byte buffer; truncated?")
    width = DTYPE_BYTES.get(dtype)
    if width is not None:
        count = 1
        for d in shape:
            count *= d
        if count * width != offsets[1] - offsets[0]:
            raise CorruptFileError(
                f"{path}: tensor {name!r} ({dtype} {shape}) needs {count * width} bytes "
                f"but its data_offsets span {offsets[1] - offsets[0]}")
    return {"dtype": dtype, "shape": shape}

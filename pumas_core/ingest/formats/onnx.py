"""ONNX recognition by walking the top-level protobuf fields of ``ModelProto`` (bounded).

ONNX has no magic number.  ``onnx/onnx.proto`` numbers ModelProto's fields: 1 ir_version
(varint), 2 producer_name, 3 producer_version, 4 domain (strings), 5 model_version (varint),
6 doc_string, 7 graph (GraphProto), 8 opset_import (repeated OperatorSetIdProto: 1 domain,
2 version), 14 metadata_props, 20 training_info, 25 functions, 26 configuration.  Protobuf wire
format: key = varint(field << 3 | wire type); wire type 0 varint, 1 fixed64, 2 length-delimited,
5 fixed32.  We read keys and small values only and seek over large ones (the graph holds the
weights), so the cost is a handful of reads even for multi-GB files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from ...errors import CorruptFileError
from ...vocab import FileFormat, SecurityTier
from .info import FormatInfo

_LEN_FIELDS = {2, 3, 4, 6, 7, 8, 14, 20, 25, 26}
_VARINT_FIELDS = {1, 5}
MAX_FIELDS = 10000
MAX_SMALL = 1 << 16  # strings/opsets read into memory at most this long


class _NotOnnx(Exception):
    pass


def _varint(f: BinaryIO) -> int | None:
    shift = result = 0
    for _ in range(10):
        b = f.read(1)
        if not b:
            return None
        result |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return result
        shift += 7
    raise _NotOnnx("varint too long")


def _varint_bytes(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while i < len(data) and shift < 70:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
    raise _NotOnnx("bad varint in opset")


def _opset(data: bytes) -> tuple[str, int | None]:
    domain, version, i = "", None, 0
    while i < len(data):
        key, i = _varint_bytes(data, i)
        if key == 0x0A:
            n, i = _varint_bytes(data, i)
            domain = data[i:i + n].decode("utf-8", "replace")
            i += n
        elif key == 0x10:
            version, i = _varint_bytes(data, i)
        else:
            raise _NotOnnx("unexpected field in opset_import")
    return domain, version


def looks_like(head: bytes) -> bool:
    """Cheap pre-check: ModelProto serialisations start with field 1 (ir_version) as a varint."""
    return len(head) >= 2 and head[0] == 0x08 and 1 <= head[1] <= 32


def parse(path: Path, size: int) -> FormatInfo | None:
    """Walk the top-level fields of ``path``; return a FormatInfo if it is confidently ONNX, else None.

    Returns:
        ``FormatInfo("onnx", "safe", {"ir_version", "producer_name", "producer_version",
        "domain", "model_version", "opset": {domain or "ai.onnx": version}})`` or None.

    Raises:
        CorruptFileError: the start parses as ONNX (ir_version, producer, graph) but a field runs
            past the end of the file (truncated download).
    """
    info: dict[str, Any] = {"ir_version": None, "producer_name": None, "producer_version": None,
                  "domain": None, "model_version": None, "opset": {}}
    seen: set[int] = set()
    try:
        with open(path, "rb") as f:
            for _ in range(MAX_FIELDS):
                if f.tell() >= size:
                    break
                key = _varint(f)
                if key is None:
                    break
                field, wire = key >> 3, key & 7
                if field in _VARINT_FIELDS and wire == 0:
                    v = _varint(f)
                    if v is None:
                        raise _NotOnnx("truncated varint")
                    info["ir_version" if field == 1 else "model_version"] = v
                elif field in _LEN_FIELDS and wire == 2:
                    n = _varint(f)
                    if n is None or f.tell() + n > size:
                        if {1, 7} <= seen or (1 in seen and 2 in seen):
                            raise CorruptFileError(f"{path}: ONNX model truncated (field {field} runs past the end)")
                        raise _NotOnnx("field past end")
                    if field in (2, 3, 4, 8) and n <= MAX_SMALL:
                        data = f.read(n)
                        if field == 8:
                            dom, ver = _opset(data)
                            info["opset"][dom or "ai.onnx"] = ver
                        else:
                            info[{2: "producer_name", 3: "producer_version", 4: "domain"}[field]] = \
                                data.decode("utf-8", "replace")
                    else:
                        f.seek(n, 1)
                else:
                    raise _NotOnnx(f"unexpected field {field} wire {wire}")
                seen.add(field)
    except _NotOnnx:
        return None
    ir = info["ir_version"]
    if ir is None or not 1 <= ir <= 32 or 7 not in seen:
        return None
    if not info["opset"] and not info["producer_name"]:
        return None
    return FormatInfo(FileFormat.ONNX, SecurityTier.SAFE, info)

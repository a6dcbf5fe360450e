"""Write small but valid safetensors files for tests.

The safetensors layout (https://github.com/huggingface/safetensors, "Format"): an 8-byte
little-endian unsigned header length ``N``, then ``N`` bytes of UTF-8 JSON
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``,
then the tensor data; offsets are relative to the end of the header.  Tensor data written
here is all zero bytes, so a file with real SD1.5/SDXL/Flux tensor *names* but tiny shapes
is a few KB.

Example::

    from st_writer import write_safetensors
    write_safetensors(tmp_path / "lora.safetensors",
                      {"lora_unet_down_blocks_0.lora_down.weight": ("F16", [4, 320])},
                      metadata={"ss_network_module": "networks.lora"})
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

#: bytes per element for the safetensors dtype strings.
DTYPE_SIZES: dict[str, int] = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}


def write_safetensors(
    path: str | Path,
    tensors: dict[str, tuple[str, list[int]]],
    metadata: dict | None = None,
) -> Path:
    """Write a valid safetensors file whose tensors are all zeros; return its path.

    Args:
        path: destination file (parent folders are created; an existing file is replaced).
        tensors: ``{name: (dtype, shape)}``, dtype one of :data:`DTYPE_SIZES` (``"F16"``,
            ``"BF16"``, ``"F32"``, ``"F8_E4M3"``, ...), shape a list of ints (``[]`` = scalar).
        metadata: optional ``__metadata__`` (values are converted to ``str`` as the format requires).

    Raises:
        ValueError: unknown dtype or negative dimension.
    """
    path = Path(path)
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        if dtype not in DTYPE_SIZES:
            raise ValueError(f"unknown safetensors dtype {dtype!r} for tensor {name!r}")
        count = 1
        for dim in shape:
            if dim < 0:
                raise ValueError(f"negative dimension in shape {shape} of tensor {name!r}")
            count *= dim
        nbytes = count * DTYPE_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # pad to 8 bytes like the reference writer
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        remaining = offset
        chunk = b"\0" * (1 << 20)
        while remaining > 0:
            n = min(remaining, len(chunk))
            f.write(chunk[:n])
            remaining -= n
    return path

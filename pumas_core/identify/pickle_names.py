"""State-dict key names of a ``torch.save`` file, read by walking pickle opcodes (never unpickling).

:func:`pickletools.genops` only decodes opcodes; no object is built and no global is imported.
Legacy files are a sequence of pickles (magic number, protocol, sys info, the state dict, storage
keys) followed by raw storage bytes; zip files keep the state dict in ``<prefix>/data.pkl``
(PyTorch ``torch/serialization.py``).  At most 64 MiB of pickle data is examined.  Only names are
recovered; shapes and dtypes live in ``_rebuild_tensor`` argument tuples and are not decoded here.
"""

from __future__ import annotations

import io
import pickletools
import re
import zipfile
from pathlib import Path
from typing import IO, Any

MAX_PICKLE = 64 << 20
_NAME = re.compile(r"^[A-Za-z_][\w\-]*(\.[\w\-]+)+$")
_BARE_NAMES = {"string_to_param", "emb_params", "clip_l", "clip_g"}
_STRING_OPS = {"BINUNICODE", "SHORT_BINUNICODE", "UNICODE", "BINUNICODE8", "SHORT_BINSTRING", "BINSTRING"}


def _strings(stream: IO[bytes], limit: int) -> list[str]:
    out: list[str] = []
    for op, arg, pos in pickletools.genops(stream):
        if pos is not None and pos > limit:  # always an int when reading a seekable stream
            break
        if op.name in _STRING_OPS and isinstance(arg, (str, bytes)):
            s = arg if isinstance(arg, str) else arg.decode("latin-1")
            if len(s) <= 256 and (s in _BARE_NAMES or _NAME.match(s)):
                out.append(s)
        elif op.name == "STOP":
            break
    return out


def tensor_names(path: Path, details: dict[str, Any]) -> list[str]:
    """Likely state-dict keys of the legacy or zip ``torch.save`` file ``path`` (``details`` from sniff).

    Returns an empty list for other pickles, unreadable data or files whose pickle does not parse.
    """
    try:
        if details.get("variant") == "zip":
            with zipfile.ZipFile(path) as zf:
                prefix = details.get("archive") or ""
                info = zf.getinfo(f"{prefix}/data.pkl" if prefix else "data.pkl")
                if info.file_size > MAX_PICKLE:
                    return []
                data = zf.read(info)
            names = _strings(io.BytesIO(data), MAX_PICKLE)
        elif details.get("variant") == "legacy":
            with open(path, "rb") as f:
                data = f.read(MAX_PICKLE)
            stream = io.BytesIO(data)
            for _ in range(3):  # magic number, protocol version, sys info
                for _op, _a, _p in pickletools.genops(stream):
                    pass
            names = _strings(stream, MAX_PICKLE)
        else:
            return []
    except Exception:  # damaged or truncated pickle data: no names, identification stays cautious
        return []
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n, None)
    return [n for n in seen if not n.startswith(("torch.", "collections.", "__torch__"))]

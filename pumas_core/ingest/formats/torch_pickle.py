"""Recognising pickle-based files (``torch.save`` legacy and zip, TorchScript, plain pickles).

Facts used (PyTorch ``torch/serialization.py``, ``torch/jit``; Python ``pickle`` docs):

* legacy ``torch.save``: pickle protocol 2 (``80 02``) whose first object is the magic number
  0x1950a86a20f9469cfc6c as a LONG1 (``8a 0a 6c fc 9c 46 f9 20 6a a8 50 19``);
* zip ``torch.save``: a zip with ``<prefix>/data.pkl`` (plus ``data/N`` storages, ``version``);
* TorchScript: the same zip layout plus ``<prefix>/code/`` entries;
* plain pickles: ``80`` + protocol 2..5; protocol 0/1 are checked by walking the opcodes with
  :func:`pickletools.genops` on at most 1 MiB (this parses, it never unpickles).
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path

from ...errors import CorruptFileError, UnsupportedFormatError
from ...vocab import FileFormat, SecurityTier
from .info import FormatInfo

LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
ZIP_MAGIC = b"PK\x03\x04"
MAX_TEXT_PICKLE = 1 << 20
_PROTO01_FIRST = set(b"(]})NcIJKLFSVUXGTpgqjh")


def is_pickle_head(head: bytes) -> bool:
    """True if ``head`` starts a binary pickle (PROTO opcode, protocol 2..5)."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def parse_pickle(path: Path, head: bytes) -> FormatInfo:
    """Describe a binary pickle whose first bytes are ``head``.

    Returns ``FormatInfo("pickle", "pickle", {"variant": "legacy"|"plain", "protocol": n})``.
    """
    variant = "legacy" if head.startswith(LEGACY_MAGIC) else "plain"
    return FormatInfo(FileFormat.PICKLE, SecurityTier.PICKLE, {"variant": variant, "protocol": head[1]})


def parse_text_pickle(path: Path, size: int) -> FormatInfo | None:
    """Return a FormatInfo for a protocol 0/1 pickle, or None if the file does not parse as one.

    Only files up to 1 MiB are tried; the opcode stream must reach STOP at the end of the file.
    """
    if size > MAX_TEXT_PICKLE or size < 2:
        return None
    data = Path(path).read_bytes()
    if data[0] not in _PROTO01_FIRST or not data.rstrip(b"\n").endswith(b"."):
        return None
    try:
        last = None
        for op, _arg, pos in pickletools.genops(io.BytesIO(data)):
            last = (op.name, pos)
    except Exception:  # genops raises ValueError and friends on junk
        return None
    if last is None or last[0] != "STOP" or last[1] is None or data[last[1] + 1:].strip():
        return None
    return FormatInfo(FileFormat.PICKLE, SecurityTier.PICKLE, {"variant": "plain", "protocol": 0})


def parse_zip(path: Path) -> FormatInfo:
    """Describe a zip: a ``torch.save`` archive, a TorchScript archive, or refuse it.

    Returns:
        ``FormatInfo("pickle", "pickle", {"variant": "zip", "archive": prefix, "entries": n})`` or
        ``FormatInfo("torchscript", "pickle", {"archive": prefix, "entries": n})``.

    Raises:
        CorruptFileError: the zip's central directory is unreadable (truncated download).
        UnsupportedFormatError: a zip without ``data.pkl`` (not a PyTorch archive).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptFileError(f"{path}: damaged zip archive ({exc})") from None
    data_pkls = [n for n in names if n == "data.pkl" or (n.endswith("/data.pkl") and n.count("/") == 1)]
    if not data_pkls:
        raise UnsupportedFormatError(f"{path}: not a model file (zip archive without a PyTorch data.pkl)")
    prefix = data_pkls[0][: -len("data.pkl")].rstrip("/")
    code = (prefix + "/code/") if prefix else "code/"
    if any(n.startswith(code) for n in names):
        return FormatInfo(FileFormat.TORCHSCRIPT, SecurityTier.PICKLE, {"archive": prefix, "entries": len(names)})
    details = {"variant": "zip", "archive": prefix, "entries": len(names)}
    return FormatInfo(FileFormat.PICKLE, SecurityTier.PICKLE, details)

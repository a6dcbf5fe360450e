"""Content sniffing: what kind of model file is this?  (Never by extension, never a whole-file read.)

``sniff(path) -> FormatInfo`` reads the first 16 bytes and dispatches:

==========================  ===============================================  =================
first bytes                 format                                           parser module
==========================  ===============================================  =================
``GGUF``                    GGUF v2/v3                                       :mod:`.gguf`
``PK\\x03\\x04``            ``torch.save`` zip or TorchScript                :mod:`.torch_pickle`
``\\x80`` + 2..5            pickle (legacy ``torch.save`` or plain)          :mod:`.torch_pickle`
8-byte length + ``{``       safetensors                                      :mod:`.safetensors`
``\\x08`` varint ...        ONNX ModelProto                                  :mod:`.onnx`
protocol 0/1 opcodes        plain text pickle (≤ 1 MiB, opcodes walked)      :mod:`.torch_pickle`
==========================  ===============================================  =================

Anything else raises :class:`~pumas_core.errors.UnsupportedFormatError` ``"<file>: not a model
file (<what it looks like>)"``.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from ...errors import CorruptFileError, CorruptHeaderError, PumasError, UnsupportedFormatError
from ...vocab import WEIGHT_SUFFIXES
from . import gguf, onnx, safetensors, torch_pickle
from .info import FormatInfo, file_size

__all__ = ["FormatInfo", "sniff"]

# Well-known non-model magics, to say what a refused file looks like.
_OTHER_MAGICS = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"), (b"\x7fELF", "an ELF executable"), (b"MZ", "a Windows executable"),
    (b"RIFF", "a RIFF (WAV/WebP) file"), (b"ggml", "an old GGML file (convert it to GGUF)"),
    (b"ggjt", "an old GGJT file (convert it to GGUF)"), (b"\x93NUMPY", "a NumPy array"),
    (b"\x89HDF", "an HDF5 (Keras) file"), (b"<!DOCTYPE", "an HTML page"), (b"<html", "an HTML page"),
)


#: the first piece of a byte-split file: ``model.safetensors.part1``, ``x.gguf.part00`` (see ``..shards``).
_FIRST_PIECE = re.compile(r"\.(?:safetensors|sft|gguf)\.part\d+$", re.IGNORECASE)


def sniff(path: str | Path, partial: bool | None = None) -> FormatInfo:
    """Identify the model format of ``path`` from its content.

    Args:
        partial: ``path`` is the first piece of a byte-split file, whose tensor data continues in
            the next pieces (only the data bounds are relaxed); ``None`` = decided by the name
            (``<name>.safetensors.partN`` / ``<name>.gguf.partN``).

    Returns:
        :class:`FormatInfo` (``file_format``, ``security_tier``, ``details``); see the parser
        modules for the ``details`` of each format.

    Raises:
        FileMissingError: no such file (a NotFoundError).
        BadInputError: a directory or an unreadable/non-regular file.
        UnsupportedFormatError: not a model file (empty, an image, text, an unrelated zip, GGUF v1).
        CorruptHeaderError: a known format whose header is truncated, damaged or breaks the
            format's rules (code ``corrupt_header``).
    No other exception escapes for any file content: a parser failure of an unexpected kind is
    reported as :class:`CorruptHeaderError` too.
    """
    path = Path(path)
    if partial is None:
        partial = bool(_FIRST_PIECE.search(path.name))
    try:
        return _sniff(path, partial)
    except CorruptHeaderError as exc:
        if exc.path is None:
            exc.path = str(path)
        raise
    except CorruptFileError as exc:  # the ONNX / zip readers' own corrupt errors
        raise CorruptHeaderError(str(exc), path=path) from None
    except PumasError as exc:  # every error of a parser is about this file
        if exc.path is None:
            exc.path = str(path)
        raise
    except OSError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, struct.error, OverflowError, RecursionError,
            MemoryError, EOFError) as exc:
        raise CorruptHeaderError(f"{path}: header could not be read ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'})", path=path) from None


def _sniff(path: Path, partial: bool) -> FormatInfo:
    size = file_size(path)
    if size == 0:
        raise UnsupportedFormatError(f"{path}: not a model file (empty file)")
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        from ...errors import BadInputError

        raise BadInputError(f"{path}: cannot read ({exc.strerror or exc})", path=path) from None
    if head.startswith(b"GGUF"):
        return gguf.parse(path, size, partial=partial)
    if head.startswith(torch_pickle.ZIP_MAGIC):
        return torch_pickle.parse_zip(path)
    if torch_pickle.is_pickle_head(head):
        return torch_pickle.parse_pickle(path, head)
    if safetensors.claims(head):
        return safetensors.parse(path, size, partial=partial)
    if onnx.looks_like(head):
        info = onnx.parse(path, size)
        if info is not None:
            return info
    info = torch_pickle.parse_text_pickle(path, size)
    if info is not None:
        return info
    raise UnsupportedFormatError(f"{path}: not a model file ({_describe(head, path)})")


def _describe(head: bytes, path: Path) -> str:
    what = None
    for magic, name in _OTHER_MAGICS:
        if head.startswith(magic):
            what = f"looks like {name}"
            break
    if what is None and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        what = "looks like a text file"
    if what is None:
        what = "unknown content starting " + head[:8].hex(" ")
    suffix = path.suffix.lower()
    if suffix in WEIGHT_SUFFIXES:
        what += f"; the {suffix} name does not match the content"
    return what

"""Workflow text embedded in images: PNG ``tEXt``/``zTXt``/``iTXt`` chunks and WebP ``EXIF`` strings.

ComfyUI's ``SaveImage`` writes the UI graph as a PNG text chunk ``workflow`` and the API prompt as
``prompt`` (PNG spec §11.3.4: ``keyword\\0text`` Latin-1; ``zTXt`` zlib; ``iTXt`` UTF-8, optionally
zlib).  Its WebP savers put ``"workflow:<json>"`` / ``"prompt:<json>"`` ASCII strings into EXIF IFD0
tags (``Make``/``Model`` and lower tag numbers; TIFF 6.0 IFD layout).  Reads are bounded: pixel data
is skipped with ``seek`` and text is capped at :data:`MAX_TEXT` bytes per chunk.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import BadInputError

PNG_SIG = b"\x89PNG\r\n\x1a\n"
MAX_TEXT = 64 << 20       # bytes of one text chunk (workflows are KBs to a few MB)
MAX_CHUNKS = 100_000
WANTED = ("workflow", "prompt")


def _inflate(data: bytes, where: str) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_TEXT)
    if d.unconsumed_tail:
        raise BadInputError(f"{where}: compressed text chunk larger than {MAX_TEXT >> 20} MB", path=where)
    return out


def _png_text(ctype: bytes, data: bytes, where: str) -> tuple[str, str] | None:
    key, sep, rest = data.partition(b"\0")
    if not sep:
        return None
    key_s = key.decode("latin-1")
    if key_s not in WANTED:
        return None
    if ctype == b"tEXt":
        return key_s, rest.decode("latin-1")
    if ctype == b"zTXt":
        return key_s, _inflate(rest[1:], where).decode("latin-1")
    # iTXt: compression flag, method, language\0, translated keyword\0, text
    if len(rest) < 2:
        return None
    flag, body = rest[0], rest[2:]
    _lang, _, body = body.partition(b"\0")
    _tkey, _, body = body.partition(b"\0")
    text = _inflate(body, where) if flag else body
    return key_s, text.decode("utf-8", "replace")


def png_texts(path: Path) -> dict[str, str]:
    """``{"workflow": str, "prompt": str}`` (those present) from a PNG's text chunks.

    Raises:
        BadInputError: not a PNG, truncated, or a chunk too large.
    """
    out: dict[str, str] = {}
    with open(path, "rb") as f:
        if f.read(8) != PNG_SIG:
            raise BadInputError(f"{path}: not a PNG file", path=path)
        for ctype, data in _chunks(f, path, png=True, wanted=frozenset({b"tEXt", b"zTXt", b"iTXt"})):
            kv = _png_text(ctype, data, str(path))
            if kv:
                out.setdefault(*kv)
    return out


def _chunks(f: BinaryIO, path: Path, *, png: bool, wanted: frozenset[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """``(type, data)`` of each ``wanted`` chunk, in file order, of a PNG stream (big-endian length, type, data,
    4-byte CRC; ends at ``IEND``; PNG 1.2 §5.3) or a RIFF stream (type, little-endian size, data, a pad byte
    when the size is odd; RIFF/WebP container spec).  At most :data:`MAX_CHUNKS` chunks are read; other chunks
    are skipped with a seek, never read.

    Raises:
        BadInputError: a wanted chunk larger than :data:`MAX_TEXT` bytes, or cut short by the end of the file.
    """
    for _ in range(MAX_CHUNKS):
        head = f.read(8)
        if len(head) < 8:
            return
        if png:
            length, ctype = struct.unpack(">I4s", head)
        else:
            ctype, length = struct.unpack("<4sI", head)
        tail = 4 if png else length & 1
        if png and ctype == b"IEND":
            return
        if ctype not in wanted:
            f.seek(length + tail, 1)
            continue
        if length > MAX_TEXT:
            raise BadInputError(f"{path}: {ctype.decode('latin-1')} chunk of {length} bytes is too large", path=path)
        data = f.read(length)
        if len(data) < length:
            raise BadInputError(f"{path}: truncated {'PNG' if png else 'WebP'} chunk", path=path)
        yield ctype, data
        f.seek(tail, 1)


def _exif_strings(tiff: bytes) -> list[str]:
    """ASCII/UNDEFINED values of IFD0 entries of a TIFF/EXIF block."""
    if tiff.startswith(b"Exif\0\0"):
        tiff = tiff[6:]
    if tiff[:4] not in (b"II*\0", b"MM\0*"):
        return []
    e = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack(e + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return []
    (n,) = struct.unpack(e + "H", tiff[ifd:ifd + 2])
    out = []
    for i in range(min(n, 1000)):
        off = ifd + 2 + 12 * i
        if off + 12 > len(tiff):
            break
        _tag, typ, count, val = struct.unpack(e + "HHII", tiff[off:off + 12])
        if typ not in (2, 7):
            continue
        raw = tiff[off + 8:off + 8 + count] if count <= 4 else tiff[val:val + count]
        out.append(raw.rstrip(b"\0").decode("utf-8", "replace"))
    return out


def webp_texts(path: Path) -> dict[str, str]:
    """``{"workflow", "prompt"}`` strings from a WebP's EXIF chunk (``"<key>:<json>"`` values).

    Raises:
        BadInputError: not a RIFF/WEBP file or a chunk too large.
    """
    out: dict[str, str] = {}
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
            raise BadInputError(f"{path}: not a WebP file", path=path)
        for _ctype, data in _chunks(f, path, png=False, wanted=frozenset({b"EXIF"})):
            for text in _exif_strings(data):
                key, sep, val = text.partition(":")
                if sep and key in WANTED:
                    out.setdefault(key, val)
    return out


def embedded_texts(path: Path) -> dict[str, str] | None:
    """The embedded ``workflow``/``prompt`` texts of a PNG or WebP file, or None for other files."""
    with open(path, "rb") as f:
        head = f.read(12)
    if head.startswith(PNG_SIG):
        return png_texts(path)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return webp_texts(path)
    return None

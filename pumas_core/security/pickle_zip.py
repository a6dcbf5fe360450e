"""Bounded reading of the pickles inside a zip (``torch.save`` zip format, TorchScript archives).

Zip facts (PKWARE APPNOTE 6.3.x, sections 4.3.7, 4.3.14–4.3.16): the *end of central directory*
record (``PK\\x05\\x06``, 22 bytes + a comment of at most 65,535 bytes) ends the file and holds the
entry count (2 bytes) and the central directory's size (4 bytes); when either is saturated
(``0xFFFF``/``0xFFFFFFFF``) a Zip64 locator (``PK\\x06\\x07``, the 20 bytes before it) points at the
Zip64 record (``PK\\x06\\x06``) with 8-byte counts.  Each member's data starts after its *local*
header (``PK\\x03\\x04``, 30 bytes + name + extra field).

Bounds, checked before anything is parsed or inflated: at most :data:`MAX_ENTRIES` entries and a
central directory of at most :data:`MAX_CENTRAL_DIR` bytes; a pickle member may be at most
:data:`MAX_MEMBER_BYTES` once inflated and inflate at most :data:`MAX_RATIO` times.  Nothing is
extracted to disk and nested archives are never opened.

Which members are pickles: every ``*.pkl`` (``archive/data.pkl``, TorchScript's ``constants.pkl``)
and any other member outside the tensor-data and code folders (``data/``, ``.data/``, ``code/``)
that starts like a binary pickle (``\\x80`` + protocol 2..5) — a pickle renamed ``config.txt`` is
still unpickled by a careless loader.  Members are located through the *central* directory, as
PyTorch's reader does, even when the local header's name differs.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

MAX_ENTRIES = 200_000
MAX_CENTRAL_DIR = 64 << 20
MAX_MEMBER_BYTES = 512 << 20
MAX_RATIO = 200
_EOCD = b"PK\x05\x06"


class ZipLimitError(Exception):
    """The archive is damaged or exceeds a bound; the message is one line naming the problem."""


class MemberStream(Protocol):
    """A pickle member's bytes: ``io.BytesIO`` (inflated) or a slice of the archive (stored)."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (the rest when ``n`` < 0)."""
        ...

    def readline(self, n: int = -1, /) -> bytes:
        """One line of at most ``n`` bytes."""
        ...

    def seek(self, pos: int, whence: int = 0, /) -> int:
        """Move to ``pos`` (from the member's first byte); returns it."""
        ...

    def tell(self) -> int:
        """The position from the member's first byte."""
        ...


@dataclass
class PickleMember:
    """One pickle-looking member: ``name`` (central directory), ``stream`` (a readable binary
    object positioned at the member's first byte) or ``error`` (why it cannot be read)."""

    name: str
    stream: MemberStream | None = None
    error: str | None = None


def check_central_directory(f: BinaryIO) -> int:
    """Return the entry count from the end records of the zip open as ``f``, enforcing the bounds.

    Raises:
        ZipLimitError: no end record, too many entries, or a central directory that is too large.
    """
    f.seek(0, io.SEEK_END)
    size = f.tell()
    tail_len = min(size, 22 + 65_535)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise ZipLimitError("damaged zip archive (no end of central directory record)")
    entries, cd_size = struct.unpack_from("<HI", tail, at + 10)
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        loc = at - 20
        if loc < 0 or tail[loc:loc + 4] != b"PK\x06\x07":
            raise ZipLimitError("damaged zip archive (Zip64 locator missing)")
        (z64_at,) = struct.unpack_from("<Q", tail, loc + 8)
        if z64_at + 56 > size:
            raise ZipLimitError("damaged zip archive (Zip64 record outside the file)")
        f.seek(z64_at)
        rec = f.read(56)
        if rec[:4] != b"PK\x06\x06":
            raise ZipLimitError("damaged zip archive (bad Zip64 record)")
        entries, cd_size = struct.unpack_from("<QQ", rec, 32)
    if entries > MAX_ENTRIES:
        raise ZipLimitError(f"zip archive with {entries} entries (more than {MAX_ENTRIES})")
    if cd_size > MAX_CENTRAL_DIR:
        raise ZipLimitError(f"zip central directory of {cd_size} bytes (more than {MAX_CENTRAL_DIR})")
    return int(entries)


def _is_pickle_name(name: str) -> bool:
    return name.endswith(".pkl")


def _may_hold_pickle(name: str) -> bool:
    parts = name.split("/")
    return not name.endswith("/") and not ({"data", ".data", "code"} & set(parts[:-1]))


def iter_pickle_members(path: str | Path) -> Iterator[PickleMember]:
    """Yield the pickle members of the zip at ``path``, each with a bounded stream (valid until the
    next member is requested).

    Raises:
        ZipLimitError: damaged archive or a bound exceeded (see the module docstring).
    """
    with open(path, "rb") as f:
        check_central_directory(f)
        try:
            infos = zipfile.ZipFile(f).infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            raise ZipLimitError(f"damaged zip archive ({exc})") from None
        size = f.seek(0, io.SEEK_END)
        for info in infos:
            if not (_is_pickle_name(info.filename) or _may_hold_pickle(info.filename)):
                continue
            member = _open_member(f, info, size)
            if _is_pickle_name(info.filename) or (member.stream is not None and _looks_pickled(member.stream)):
                yield member


def _looks_pickled(stream: MemberStream) -> bool:
    head = stream.read(2)
    stream.seek(0)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _open_member(f: BinaryIO, info: zipfile.ZipInfo, size: int) -> PickleMember:
    name = info.filename
    if info.file_size > MAX_MEMBER_BYTES:
        return PickleMember(name, error=f"member {name} is {info.file_size} bytes (limit {MAX_MEMBER_BYTES})")
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        return PickleMember(name, error=f"member {name} inflates {info.file_size // info.compress_size}x")
    f.seek(info.header_offset)
    local = f.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        return PickleMember(name, error=f"member {name}: local header missing")
    name_len, extra_len = struct.unpack_from("<HH", local, 26)
    start = info.header_offset + 30 + name_len + extra_len
    if start + info.compress_size > size:
        return PickleMember(name, error=f"member {name} runs past the end of the archive")
    if info.compress_type == zipfile.ZIP_STORED:
        return PickleMember(name, stream=_Slice(f, start, info.compress_size))
    if info.compress_type != zipfile.ZIP_DEFLATED:
        return PickleMember(name, error=f"member {name} uses compression method {info.compress_type}")
    f.seek(start)
    raw = f.read(info.compress_size)
    inflater = zlib.decompressobj(-15)
    try:
        data = inflater.decompress(raw, MAX_MEMBER_BYTES + 1)
    except zlib.error as exc:
        return PickleMember(name, error=f"member {name} does not inflate ({exc})")
    if len(data) > MAX_MEMBER_BYTES:
        return PickleMember(name, error=f"member {name} inflates past {MAX_MEMBER_BYTES} bytes")
    return PickleMember(name, stream=io.BytesIO(data))


class _Slice:
    """``read``/``readline``/``seek``/``tell`` over ``length`` bytes of ``f`` from ``start``."""

    def __init__(self, f: BinaryIO, start: int, length: int) -> None:
        self._f, self._start, self._len, self._pos = f, start, length, 0

    def _take(self, n: int, line: bool) -> bytes:
        n = self._len - self._pos if n < 0 else min(n, self._len - self._pos)
        self._f.seek(self._start + self._pos)
        data = self._f.readline(n) if line else self._f.read(n)
        self._pos += len(data)
        return data

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes of the slice (the rest when ``n`` < 0)."""
        return self._take(n, False)

    def readline(self, n: int = -1) -> bytes:
        """One line of at most ``n`` bytes, not past the slice's end."""
        return self._take(n, True)

    def seek(self, pos: int, whence: int = 0) -> int:
        """Move to ``pos`` from the slice's start (``whence`` is ignored; clamped to the slice)."""
        self._pos = max(0, min(self._len, pos))
        return self._pos

    def tell(self) -> int:
        """The position from the slice's start."""
        return self._pos

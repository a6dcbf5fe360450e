"""Proof that a registered copy-on-write clone is still ours: the library holds exactly its bytes.

A clone (:data:`.strategy.LinkStrategy.CLONE`, made with ``FICLONE``) is a regular file of its own, so
its path alone says nothing: the user may have replaced it by another file of the same size, or changed
bytes in place.  Deleting such a file would lose the user's data, so every destructive path (model
delete, app removal, the stale sweep) asks :func:`is_clone_of` with ``thorough=True`` (the default):

1. cheap: a regular file (not a symlink, not the library file's inode) of the library file's size;
2. cheapest proof: :func:`shared_extents` — the Linux ``FS_IOC_FIEMAP`` ioctl maps both files to the
   same physical extents over their whole length (so they read the same blocks);
3. else, when FIEMAP is unavailable or proves nothing (other extents, unknown/delayed/inline/encoded
   data, too many extents): :func:`same_content` compares the bytes, streamed in fixed-size buffers,
   stopping at the first difference.

The routine health check (:func:`.fsops.link_state`, the sync's "already correct", relocation) asks with
``thorough=False``: steps 1 and 2 only; when FIEMAP shows other extents the clone is *not* ours
(``not_a_link``, only reported), when FIEMAP cannot tell, size alone decides.  This never deletes
anything: whatever the cheap check says, a delete re-proves with the full check.  A clone whose blocks
were unshared with identical bytes (e.g. a btrfs defragment) shows as ``not_a_link`` there, yet is
still removed with its model (its bytes prove it).

FIEMAP layout (the kernel's ``include/uapi/linux/fiemap.h`` and ``Documentation/filesystems/fiemap.rst``):
``struct fiemap`` is ``u64 fm_start, u64 fm_length, u32 fm_flags, u32 fm_mapped_extents,
u32 fm_extent_count, u32 fm_reserved`` (32 bytes), followed by ``fm_extent_count`` ``struct
fiemap_extent`` of ``u64 fe_logical, u64 fe_physical, u64 fe_length, u64 fe_reserved64[2], u32
fe_flags, u32 fe_reserved[3]`` (56 bytes each).  ``FS_IOC_FIEMAP`` is ``_IOWR('f', 11, struct fiemap)``.
"""

from __future__ import annotations

import fcntl
import io
import os
import stat
import struct
import sys

FS_IOC_FIEMAP = 0xC020660B  # _IOWR('f', 11, struct fiemap) from linux/fs.h
FIEMAP_FLAG_SYNC = 0x1  # write dirty pages back first, so an edit not yet flushed shows as new extents
EXTENT_LAST = 0x1
EXTENT_UNWRITTEN = 0x800  # preallocated, reads as zeros: counted as a hole
EXTENT_MERGED = 0x1000
EXTENT_SHARED = 0x2000
# Any other flag (UNKNOWN 0x2, DELALLOC 0x4, ENCODED 0x8, DATA_ENCRYPTED 0x80, NOT_ALIGNED 0x100,
# DATA_INLINE 0x200, DATA_TAIL 0x400, or one newer than this list) makes FIEMAP prove nothing.
_TRUSTED = EXTENT_LAST | EXTENT_UNWRITTEN | EXTENT_MERGED | EXTENT_SHARED
_HEAD = struct.Struct("=QQIIII")  # struct fiemap without the extents (32 bytes)
_EXTENT = struct.Struct("=QQQQQIIII")  # struct fiemap_extent (56 bytes)
BATCH = 128  # extents asked for per ioctl call: the buffer is 32 + 128 * 56 bytes, whatever the file
MAX_EXTENTS = 65536  # a file with more extents than this is not mapped: the content decides
CHUNK = 1 << 20  # bytes read per file per step when the content is compared
# the link path is never followed, and a FIFO swapped in after the caller's lstat cannot block the open
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

Run = tuple[int, int, int]  # (logical start, physical start, length) in bytes of written data


def _runs(fd: int, size: int) -> list[Run] | None:
    """The written extents of the open file ``fd`` over ``[0, size)``, clipped to ``size`` and merged
    where they continue each other (holes and preallocated ``UNWRITTEN`` extents both read as zeros
    and are left out alike); None when FIEMAP is unavailable, a flag makes the map untrustworthy, the
    map does not advance, or the file has more than :data:`MAX_EXTENTS` extents.

    Asks for :data:`BATCH` extents per call and loops over the remaining range; never reads more
    extents than it asked for, whatever ``fm_mapped_extents`` says.
    """
    out: list[Run] = []
    start, seen = 0, 0
    buf = bytearray(_HEAD.size + BATCH * _EXTENT.size)
    while start < size:
        _HEAD.pack_into(buf, 0, start, size - start, FIEMAP_FLAG_SYNC, 0, BATCH, 0)
        try:
            fcntl.ioctl(fd, FS_IOC_FIEMAP, buf, True)
        except OSError:
            return None  # EOPNOTSUPP (tmpfs, ZFS…), ENOTTY, EBADR (flag refused), EINVAL…
        mapped = min(_HEAD.unpack_from(buf, 0)[3], BATCH)
        if mapped == 0:
            break  # the rest is a hole
        last, reach = False, start
        for i in range(mapped):
            logical, physical, length, _r1, _r2, flags, _a, _b, _c = _EXTENT.unpack_from(
                buf, _HEAD.size + i * _EXTENT.size)
            seen += 1
            if flags & ~_TRUSTED or length == 0 or seen > MAX_EXTENTS:
                return None
            last = last or bool(flags & EXTENT_LAST) or logical + length >= size
            reach = max(reach, logical + length)
            if logical < start:  # an extent that began before the asked range: keep only what is new
                cut = start - logical
                if cut >= length:
                    continue
                logical, physical, length = start, physical + cut, length - cut
            if logical >= size or flags & EXTENT_UNWRITTEN:
                continue
            length = min(length, size - logical)
            if out and out[-1][0] + out[-1][2] == logical and out[-1][1] + out[-1][2] == physical:
                prev = out.pop()
                out.append((prev[0], prev[1], prev[2] + length))
            else:
                out.append((logical, physical, length))
        if last:
            break
        if reach <= start:
            return None  # the map did not advance: no proof
        start = reach
    return out


def shared_extents(path: str, target: str) -> bool | None:
    """Whether FIEMAP shows ``path`` and ``target`` reading the same physical blocks over their whole length.

    True: every written byte of both files lies in the same physical extent, and what is not written
    (holes, preallocated extents) matches — proof they hold the same bytes.  False: FIEMAP worked on both
    and some range is mapped elsewhere (an edit, a replacement, or blocks unshared by a defragment).
    None: no answer — not Linux, the files differ in size or lie on different devices, FIEMAP is not
    supported (tmpfs, ZFS), a flag marks an extent as unknown, delayed, inline or encoded, or a file
    has more than :data:`MAX_EXTENTS` extents.  ``FIEMAP_FLAG_SYNC`` writes dirty pages back first.
    Never raises for an unreadable file (None).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        fa = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        fb = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        os.close(fa)
        return None
    try:
        a, b = os.fstat(fa), os.fstat(fb)
        if not (stat.S_ISREG(a.st_mode) and stat.S_ISREG(b.st_mode)) or a.st_size != b.st_size \
                or a.st_dev != b.st_dev:
            return None  # physical offsets only compare within one file system
        ra = _runs(fa, a.st_size)
        rb = _runs(fb, b.st_size) if ra is not None else None
    finally:
        os.close(fa)
        os.close(fb)
    if ra is None or rb is None:
        return None
    return ra == rb


def same_content(path: str, target: str) -> bool:
    """True when ``path`` (not followed if a symlink) and ``target`` hold the same bytes.

    Streamed: two :data:`CHUNK`-byte buffers, stops at the first difference; sizes are compared first.
    False when either cannot be opened or read.
    """
    try:
        fa = os.open(path, _OPEN_FLAGS)
    except OSError:
        return False
    try:
        with os.fdopen(fa, "rb", buffering=0) as a, \
                os.fdopen(os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb", buffering=0) as b:
            sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
            if not (stat.S_ISREG(sa.st_mode) and stat.S_ISREG(sb.st_mode)) or sa.st_size != sb.st_size:
                return False
            ba, bb = bytearray(CHUNK), bytearray(CHUNK)
            va, vb = memoryview(ba), memoryview(bb)
            while True:
                na = _fill(a, va)
                nb = _fill(b, vb)
                if na != nb or va[:na] != vb[:nb]:
                    return False
                if na == 0:
                    return True
    except OSError:
        return False


def _fill(f: io.RawIOBase, view: memoryview) -> int:
    """Read into ``view`` until it is full or the file ends; returns the number of bytes read."""
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def is_clone_of(path: str, target: str, *, thorough: bool = True) -> bool:
    """True when ``path`` is a regular file that holds ``target``'s bytes (our clone of it).

    Needs a regular file at ``path`` (not a symlink, not ``target``'s own inode) of ``target``'s size;
    then, ``thorough`` (the default; every destructive decision): :func:`shared_extents` is True, else
    :func:`same_content` is — proof that removing ``path`` loses nothing.  ``thorough=False`` (routine
    health): :func:`shared_extents` is not False (FIEMAP shared, or FIEMAP cannot tell and the size
    decides) — never enough to delete.  False when either file is missing.
    """
    try:
        a, b = os.lstat(path), os.stat(target)
    except OSError:
        return False
    if not stat.S_ISREG(a.st_mode) or a.st_size != b.st_size or (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
        return False
    shared = shared_extents(path, target)
    if not thorough:
        return shared is not False
    return shared is True or same_content(path, target)


__all__ = ["BATCH", "CHUNK", "MAX_EXTENTS", "is_clone_of", "same_content", "shared_extents"]

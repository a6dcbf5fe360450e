"""Receiving an upload's body on the event loop, with a body-rate floor.

The body is read with ``request.content.readany()`` on the loop (never ``read()``/``post()``, so
ComfyUI's ``client_max_size`` of 100 MB does not apply) into a buffer of at most about
:data:`WRITE_CHUNK` bytes; each full buffer is handed to the library's
:class:`~pumas_core.facade_import.Upload` with ``run_in_executor`` — a worker thread is busy
only for that one write + hash, never while the client is sending.  So slow clients cannot starve
the worker pool that ``GET /pumas/status`` and every other route use.

Rate floor: every :data:`RATE_WINDOW_S` seconds the body must have delivered at least
:data:`MIN_RATE_BPS` bytes per second of that window (time spent waiting for a worker to write is
not counted against the client).  A client below it — including one that sends nothing at all —
is dropped with :class:`~pumas_core.errors.UploadTooSlowError` and its staging removed by the caller.
Both are module constants, read at each upload (tests and deployments may change them).
"""

from __future__ import annotations

import asyncio
import os
import unicodedata
from collections.abc import Awaitable
from concurrent.futures import Executor
from typing import Protocol
from urllib.parse import unquote

from pumas_core.errors import BadInputError, UploadTooSlowError

WRITE_CHUNK = 1 << 20      # bytes buffered on the loop before one write in a worker thread
RATE_WINDOW_S = 30.0       # N: seconds per rate window
MIN_RATE_BPS = 16 * 1024   # M: bytes per second a body must average over each window


class BodyReader(Protocol):
    """What is read from the request body (aiohttp's ``StreamReader``): ``readany()`` → bytes, ``b""`` at the end."""

    def readany(self) -> Awaitable[bytes]: ...


class UploadSink(Protocol):
    """Where the body goes (:class:`pumas_core.facade_import.Upload`): one short blocking ``write`` per buffer."""

    def write(self, chunk: bytes) -> None: ...


def upload_name(header: str | None) -> str:
    """Decode and check the ``X-Pumas-Filename`` header (URL-encoded file name).

    Returns the NFC-normalised bare file name.
    Raises:
        BadInputError: missing/empty, a path (``/``, ``\\``), ``.``/``..``, NUL or control chars.
    """
    if not header:
        raise BadInputError("upload: X-Pumas-Filename header is missing")
    try:
        name = unicodedata.normalize("NFC", unquote(header, errors="strict"))
    except UnicodeDecodeError:
        raise BadInputError(f"upload: X-Pumas-Filename {header!r} is not URL-encoded UTF-8") from None
    if (not name.strip() or name in (".", "..") or "/" in name or "\\" in name
            or any(ord(c) < 32 for c in name) or os.path.basename(name) != name):
        raise BadInputError(f"upload: {name!r} is not a plain file name")
    return name


async def receive_body(content: BodyReader, upload: UploadSink, *, name: str, size: int | None,
                       executor: Executor | None) -> int:
    """Read the whole body from ``content`` (an aiohttp ``StreamReader``) into ``upload``.

    Args:
        upload: has ``write(bytes)`` (blocking, short), called in ``executor`` (None: the loop's default).
        size: the announced Content-Length, or None (chunked).
    Returns the number of bytes received.

    Raises:
        UploadTooSlowError: the body fell below the rate floor (see the module docstring).
        InsufficientSpaceError, WriteFailedError: from ``upload.write`` (the library's disk is full...).
        BadInputError: the body ended before ``size`` bytes ("truncated") or the connection failed
            ("interrupted").
    """
    loop = asyncio.get_running_loop()
    window, floor = RATE_WINDOW_S, MIN_RATE_BPS
    buf = bytearray()
    received = 0
    start, in_window = loop.time(), 0

    async def flush() -> None:
        nonlocal start
        began = loop.time()
        await loop.run_in_executor(executor, upload.write, bytes(buf))
        buf.clear()
        start += loop.time() - began  # waiting for a worker is not the client's fault

    while True:
        try:
            chunk = await asyncio.wait_for(content.readany(), timeout=max(start + window - loop.time(), 0.001))
        except asyncio.TimeoutError:
            chunk = None
        except Exception as exc:  # the connection dropped, aiohttp's payload errors (ContentLengthError, ...)
            raise BadInputError(f"upload of {name} interrupted after {received} bytes: {exc}") from None
        now = loop.time()
        if chunk:
            buf += chunk
            received += len(chunk)
            in_window += len(chunk)
        if now - start >= window:
            if in_window < floor * (now - start):
                raise UploadTooSlowError(
                    f"upload of {name} dropped: {in_window} bytes in {now - start:.1f} s, below the floor of "
                    f"{floor} bytes/s (after {received} bytes)")
            start, in_window = now, 0
        if chunk == b"":
            break
        if len(buf) >= WRITE_CHUNK:
            await flush()
    if buf:
        await flush()
    if size is not None and received < size:
        raise BadInputError(f"upload of {name} truncated at {received} of {size} bytes")
    return received

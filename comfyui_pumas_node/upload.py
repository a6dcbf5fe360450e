"""Bridge an aiohttp request body (async) to the blocking ``reader.read(n)`` that
``Library.import_stream`` consumes in a worker thread.

The body is read with ``request.content.iter_chunked`` (never ``read()``/``post()``, so
ComfyUI's ``client_max_size`` of 100 MB does not apply) by a producer task on the event
loop into a bounded ``asyncio.Queue`` (:data:`QUEUE_CHUNKS` × :data:`CHUNK` bytes at most
in flight: memory stays flat for any size).  The worker thread pulls chunks with
``asyncio.run_coroutine_threadsafe``, so network reads overlap hashing and writing.
"""

from __future__ import annotations

import asyncio
import os
import unicodedata
from urllib.parse import unquote

from aiohttp import web

from pumas_core.errors import BadInputError

CHUNK = 1 << 20          # bytes per network chunk
QUEUE_CHUNKS = 8         # chunks buffered between the network and the worker
_EOF = object()


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


class StreamBridge:
    """A blocking file-like reader over an aiohttp body.

    Use: ``bridge = StreamBridge(request, loop)``; ``bridge.start()`` on the loop; hand
    ``bridge`` (its :meth:`read`) to the worker; ``await bridge.stop()`` when the worker ends.

    ``size`` (bytes, from Content-Length) is checked: an early end of the body raises
    BadInputError ("upload of NAME truncated at N of M bytes") from :meth:`read`.
    """

    def __init__(self, request: web.Request, loop: asyncio.AbstractEventLoop, name: str,
                 size: int | None = None):
        self._request = request
        self._loop = loop
        self._name = name
        self.size = size
        self.received = 0
        self._queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_CHUNKS)
        self._buf = bytearray()
        self._eof = False
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Start the producer task (call on the event loop)."""
        self._task = self._loop.create_task(self._produce())

    async def _produce(self) -> None:
        try:
            async for chunk in self._request.content.iter_chunked(CHUNK):
                await self._queue.put(bytes(chunk))
            await self._queue.put(_EOF)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # client went away, payload error
            await self._queue.put(exc)

    def read(self, n: int = -1) -> bytes:
        """Return up to ``n`` bytes (all remaining if ``n < 0``); ``b""`` at the end. Blocking;
        call from a worker thread only."""
        while not self._eof and (n < 0 or len(self._buf) < n):
            item = asyncio.run_coroutine_threadsafe(self._queue.get(), self._loop).result()
            if item is _EOF:
                self._eof = True
                if self.size is not None and self.received < self.size:
                    raise BadInputError(
                        f"upload of {self._name} truncated at {self.received} of {self.size} bytes")
            elif isinstance(item, BaseException):
                self._eof = True
                raise BadInputError(f"upload of {self._name} interrupted after {self.received} bytes: {item}")
            else:
                self.received += len(item)
                self._buf += item
        if n < 0:
            out, self._buf = bytes(self._buf), bytearray()
        else:
            out = bytes(self._buf[:n])
            del self._buf[:n]
        return out

    async def stop(self, reason: str = "request ended") -> None:
        """Stop the producer (worker done, refused file, or handler cancelled) and make any
        pending or later :meth:`read` fail with ``reason`` instead of blocking forever."""
        if self._task and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(ConnectionError(reason))

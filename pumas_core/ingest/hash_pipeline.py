"""A read-once pipeline: one reader feeds a bounded ring of reusable buffers to consumer threads.

This is the engine behind :mod:`pumas_core.ingest.hashing`.  The calling thread reads the source
into one of ``n_buffers`` preallocated ``bytearray`` s of ``chunk_size`` bytes; every filled buffer
is handed, in order, to each consumer (for example "write to the destination", "SHA-256",
"BLAKE3"), each running on its own thread.  A buffer returns to the free list when the last
consumer is done with it, so memory stays at ``n_buffers * chunk_size`` whatever the file size,
and reading, writing and hashing overlap: ``FileIO.readinto``, ``os.write``,
``hashlib.update`` and ``blake3.update`` all release the GIL on large buffers.

The pipeline knows nothing about files or hashes; errors raised by the source callable or a
consumer are re-raised unchanged by :meth:`Pipeline.run` (the first one wins), after every thread
has stopped.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Optional

# Seconds the reader waits for a free buffer before re-checking cancel / consumer failure.
_POLL_S = 0.05


class Cancelled(Exception):
    """Raised by :meth:`Pipeline.run` when the cancel event was set."""


class Pipeline:
    """Run ``read_into`` on the calling thread and every consumer on a thread of its own.

    Args:
        consumers: callables ``fn(view: memoryview)`` (return value ignored) given each chunk in file order; a
            chunk's memory is reused once all consumers return, so they must not keep the view.
        chunk_size: bytes per buffer.
        n_buffers: buffers in the ring (peak memory is ``chunk_size * n_buffers`` bytes).
        names: thread names, for debugging (same length as ``consumers``).
    """

    def __init__(
        self,
        consumers: list[Callable[[memoryview], object]],
        *,
        chunk_size: int,
        n_buffers: int,
        names: Optional[list[str]] = None,
    ) -> None:
        if chunk_size <= 0 or n_buffers <= 0 or not consumers:
            raise ValueError("need chunk_size > 0, n_buffers > 0 and at least one consumer")
        self._consumers = consumers
        self._names = names or [f"pumas-consumer-{i}" for i in range(len(consumers))]
        self._bufs = [bytearray(chunk_size) for _ in range(n_buffers)]
        self._views = [memoryview(b) for b in self._bufs]
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(n_buffers):
            self._free.put(i)
        self._queues: list[queue.SimpleQueue[tuple[int, int] | None]] = [queue.SimpleQueue() for _ in consumers]
        self._pending = [0] * n_buffers  # consumers still holding each buffer
        self._lock = threading.Lock()
        self._abort = threading.Event()
        self._error: Optional[BaseException] = None
        self.bytes_done = 0  # bytes every consumer has finished with

    # -- consumer side -------------------------------------------------------------------------
    def _release(self, idx: int, n: int) -> None:
        with self._lock:
            self._pending[idx] -= 1
            last = self._pending[idx] == 0
            if last:
                self.bytes_done += n
        if last:
            self._free.put(idx)

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = exc
        self._abort.set()

    def _consume(self, fn: Callable[[memoryview], object], q: queue.SimpleQueue[tuple[int, int] | None]) -> None:
        while True:
            item = q.get()
            if item is None:
                return
            idx, n = item
            try:
                if not self._abort.is_set():
                    fn(self._views[idx][:n])
            except BaseException as exc:  # handed to the reader thread, re-raised by run()
                self._fail(exc)
            finally:
                self._release(idx, n)

    # -- reader side ---------------------------------------------------------------------------
    def _take_buffer(self, cancel: Optional[threading.Event]) -> Optional[int]:
        while True:
            if self._abort.is_set():
                return None
            if cancel is not None and cancel.is_set():
                self._fail(Cancelled())
                return None
            try:
                return self._free.get(timeout=_POLL_S)
            except queue.Empty:
                continue

    def run(
        self,
        read_into: Callable[[memoryview], int],
        *,
        cancel: Optional[threading.Event] = None,
        on_progress: Optional[Callable[[int], None]] = None,
        progress_interval: float = 0.1,
    ) -> int:
        """Read until ``read_into`` returns 0 and feed every chunk to the consumers.

        Args:
            read_into: fills the given view from the source and returns the bytes put there
                (0 at the end).  Runs on the calling thread.
            cancel: when set, reading stops and :class:`Cancelled` is raised.
            on_progress: called on the calling thread with :attr:`bytes_done`, at most once per
                ``progress_interval`` seconds, and once more at the end.
        Returns:
            total bytes read.
        Raises:
            :class:`Cancelled`, or the first exception raised by ``read_into``, a consumer or
            ``on_progress``, after all consumer threads have finished.
        """
        threads = [
            threading.Thread(target=self._consume, args=(fn, q), name=name, daemon=True)
            for fn, q, name in zip(self._consumers, self._queues, self._names, strict=False)
        ]
        for t in threads:
            t.start()
        total = 0
        last_report = time.monotonic()
        try:
            while True:
                idx = self._take_buffer(cancel)
                if idx is None:
                    break
                n = read_into(self._views[idx])
                if n == 0:
                    self._free.put(idx)
                    break
                total += n
                self._pending[idx] = len(self._queues)  # buffer is free: no consumer holds it
                for q in self._queues:
                    q.put((idx, n))
                if on_progress is not None:
                    now = time.monotonic()
                    if now - last_report >= progress_interval:
                        last_report = now
                        on_progress(self.bytes_done)
        except BaseException as exc:
            self._fail(exc)
        finally:
            for q in self._queues:
                q.put(None)
            for t in threads:
                t.join()
        if self._error is not None:
            raise self._error
        if on_progress is not None:
            on_progress(self.bytes_done)
        return total

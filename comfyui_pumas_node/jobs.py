"""Job registry for long Pumas operations (import, upload, sync, rebuild, repair, lookup).

A job runs a blocking callable ``fn(progress)`` in an executor.  Its state is readable
with :meth:`JobRegistry.get` (``GET /pumas/jobs/{id}``) and every change is pushed through
``emit("pumas.progress", event)`` — ``PromptServer.instance.send_sync`` inside ComfyUI, the
websocket broadcaster in ``pumas serve``.  ``emit`` is called from worker threads and must
be thread-safe.

Job record (JSON)::

    {"job_id": str, "kind": str, "state": "queued"|"running"|"done"|"failed",
     "progress": {progress event of docs/internal-api.md} | {},
     "result": dict | None, "error": str | None, "code": str | None,
     "created": float, "finished": float | None}     # times: UNIX seconds

Events: every progress dict with ``job``, ``kind`` and ``state`` added (throttled to one
per job per :data:`THROTTLE_S` unless the stage changes), then one final event
``{"job", "kind", "state": "done"|"failed", "result"|"error"+"code", "refresh": bool}``.
``refresh`` is true for jobs that change what ComfyUI's model dropdowns list.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from concurrent.futures import Executor
from typing import Any, Awaitable, Callable, Mapping

from pumas_core.errors import PumasError

log = logging.getLogger("pumas")

EVENT = "pumas.progress"
THROTTLE_S = 0.1
MAX_KEPT = 200

#: ``emit(event_type, data)``: pushes one event to the browser (thread-safe).
Emit = Callable[[str, dict[str, Any]], None]
#: ``progress(event)``: the facade's progress callback (event shapes: docs/internal-api.md).
Progress = Callable[[dict[str, Any]], None]
#: a job record or event (JSON object, shape in the module docstring).
Record = dict[str, Any]
#: what a job's function returns (a JSON object: an import report, a sync report...), kept as ``result``.
JobResult = Mapping[str, Any]


def error_fields(exc: BaseException) -> tuple[str, str, int]:
    """``(message, code, http_status)`` for an exception: PumasError keeps its own,
    anything else becomes ``internal`` / 500 with the type name in the message."""
    if isinstance(exc, PumasError):
        return str(exc), exc.code, exc.http_status
    return f"internal error: {type(exc).__name__}: {exc}", "internal", 500


def http_status_of(code: object, default: int) -> int:
    """The HTTP status of the :class:`PumasError` whose ``code`` is ``code`` (the same table the error
    classes carry; ``internal`` is 500), or ``default`` for an unknown or missing code."""
    if code == "internal":
        return 500
    todo: list[type[PumasError]] = [PumasError]
    while todo:
        cls = todo.pop()
        if cls.code == code:
            return cls.http_status
        todo.extend(cls.__subclasses__())
    return default


class JobRegistry:
    """In-memory jobs with thread-safe progress updates.

    Args:
        emit: ``emit(event_type, data)``, thread-safe; exceptions it raises are logged and ignored.
        max_kept: finished jobs kept for ``GET /pumas/jobs/{id}`` (oldest dropped first).
    """

    def __init__(self, emit: Emit | None = None, max_kept: int = MAX_KEPT) -> None:
        self._emit: Emit = emit or (lambda _t, _d: None)
        self._jobs: OrderedDict[str, Record] = OrderedDict()
        self._last_emit: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._max_kept = max_kept
        self._tasks: set[asyncio.Future[Record]] = set()

    def create(self, kind: str) -> str:
        """Register a new job of ``kind`` (state ``queued``); return its id."""
        job_id = uuid.uuid4().hex[:16]
        with self._lock:
            self._jobs[job_id] = {
                "job_id": job_id, "kind": kind, "state": "queued", "progress": {},
                "result": None, "error": None, "code": None,
                "created": time.time(), "finished": None,
            }
            self._prune()
        return job_id

    def get(self, job_id: str) -> Record | None:
        """A copy of the job record, or None if unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
            return dict(job) if job else None

    def list(self) -> list[Record]:
        """Copies of every kept job, oldest first."""
        with self._lock:
            return [dict(j) for j in self._jobs.values()]

    def progress_callback(self, job_id: str) -> Progress:
        """A ``progress(event_dict)`` callable for the facade; safe to call from any thread."""

        def progress(event: Record) -> None:
            try:
                self._on_progress(job_id, event)
            except Exception:  # progress must never break the work
                log.debug("pumas: progress callback failed", exc_info=True)

        return progress

    def _on_progress(self, job_id: str, event: Record) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            job["state"] = "running"
            job["progress"] = dict(event)
            now = time.monotonic()
            last = self._last_emit.get(job_id)
            stage = event.get("stage")
            if last and now - last[0] < THROTTLE_S and last[1] == stage:
                return
            self._last_emit[job_id] = (now, stage)
            data = {**event, "job": job_id, "kind": job["kind"], "state": "running"}
        self._send(data)

    def start(self, job_id: str) -> None:
        """Mark a job running and announce it."""
        with self._lock:
            job = self._jobs[job_id]
            job["state"] = "running"
            data = {"job": job_id, "kind": job["kind"], "state": "running"}
        self._send(data)

    def finish(self, job_id: str, result: JobResult | None = None, error: BaseException | None = None,
               refresh: bool = False) -> Record:
        """Record the outcome (``result`` or ``error``) and emit the final event; return the record."""
        with self._lock:
            job = self._jobs[job_id]
            job["finished"] = time.time()
            data: Record = {"job": job_id, "kind": job["kind"]}
            if error is None:
                job["state"] = "done"
                job["result"] = result
                data.update(state="done", result=result, refresh=refresh)
            else:
                msg, code, _ = error_fields(error)
                job.update(state="failed", error=msg, code=code)
                data.update(state="failed", error=msg, code=code, refresh=refresh)
            self._last_emit.pop(job_id, None)
            record = dict(job)
        self._send(data)
        return record

    async def run(self, kind: str, fn: Callable[[Progress], JobResult], *,
                  refresh: bool = False, executor: Executor | None = None, job_id: str | None = None) -> Record:
        """Run ``fn(progress)`` in ``executor`` as a job and wait for it; return the final record."""
        loop = asyncio.get_running_loop()
        return await self.run_async(kind, lambda progress: loop.run_in_executor(executor, fn, progress),
                                    refresh=refresh, job_id=job_id)

    async def run_async(self, kind: str, fn: Callable[[Progress], Awaitable[JobResult]], *,
                        refresh: bool = False, job_id: str | None = None) -> Record:
        """Run the coroutine ``fn(progress)`` as a job (for work that waits on the event loop, such as
        an upload's body); return the final record.  Errors are recorded, not raised."""
        job_id = job_id or self.create(kind)
        self.start(job_id)
        try:
            result = await fn(self.progress_callback(job_id))
        except Exception as exc:  # recorded, not raised: the job record carries it
            if not isinstance(exc, PumasError):
                log.error("pumas: job %s (%s) failed:\n%s", job_id, kind, traceback.format_exc())
            return self.finish(job_id, error=exc, refresh=refresh)
        return self.finish(job_id, result=result, refresh=refresh)

    def spawn_async(self, kind: str, fn: Callable[[Progress], Awaitable[JobResult]], *,
                    refresh: bool = False) -> tuple[str, asyncio.Task[Record]]:
        """Like :meth:`spawn` for a coroutine job (see :meth:`run_async`)."""
        job_id = self.create(kind)
        task = asyncio.ensure_future(self.run_async(kind, fn, refresh=refresh, job_id=job_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job_id, task

    def submit(self, kind: str, fn: Callable[[Progress], JobResult], *,
               refresh: bool = False, executor: Executor | None = None) -> str:
        """Start ``fn(progress)`` as a background job on the running loop; return its id at once."""
        return self.spawn(kind, fn, refresh=refresh, executor=executor)[0]

    def spawn(self, kind: str, fn: Callable[[Progress], JobResult], *,
              refresh: bool = False, executor: Executor | None = None) -> tuple[str, asyncio.Task[Record]]:
        """Like :meth:`submit` but also return the task (its result is the final record). The
        registry keeps a reference, so the job completes even if the awaiting handler is cancelled."""
        job_id = self.create(kind)
        task = asyncio.ensure_future(self.run(kind, fn, refresh=refresh, executor=executor, job_id=job_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job_id, task

    async def wait_all(self) -> None:
        """Wait for every background job started by :meth:`submit` (used at shutdown and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def announce(self, data: Record) -> None:
        """Emit a ``pumas.progress`` event that belongs to no job (e.g. a quick delete with ``refresh``)."""
        self._send(data)

    def _send(self, data: Record) -> None:
        try:
            self._emit(EVENT, data)
        except Exception:
            log.debug("pumas: event emit failed", exc_info=True)

    def _prune(self) -> None:
        finished = [k for k, j in self._jobs.items() if j["state"] in ("done", "failed")]
        while len(self._jobs) > self._max_kept and finished:
            self._jobs.pop(finished.pop(0), None)

"""Shared state of the Pumas routes: the lazily opened ``Library``, the job registry,
the executor for blocking work, the Host policy and the path roots.

One :class:`PumasContext` serves one server (ComfyUI or ``pumas serve``).  The library
is opened on first use (and re-tried on the next request if that failed), so a missing
or unavailable library never stops ComfyUI from importing the extension.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypeVar

from pumas_core.errors import LibraryUnavailableError, PumasError

from .jobs import Emit, JobRegistry, JobResult, Progress
from .security import HostPolicy

if TYPE_CHECKING:  # the facade is imported on first use (a missing core must not stop ComfyUI)
    from pumas_core.facade import Library

T = TypeVar("T")

#: worker threads for blocking library calls (hashing, SQLite, link I/O).
WORKERS = 4


class PumasContext:
    """Everything the handlers need.

    Args:
        library: library root override (else ``PUMAS_LIBRARY`` / config / platform default).
        state: state dir override (else ``PUMAS_STATE`` / platform default).
        emit: thread-safe ``emit(event_type, data)`` for ``pumas.progress`` events.
        policy: a :class:`HostPolicy` or a zero-argument callable returning one.
        library_factory: ``factory(library, state) -> Library`` (default ``Library.open``).
        server: ``"comfyui"`` or ``"standalone"`` (reported by ``GET /pumas/status``).
        on_open: called with each newly opened ``Library`` (in ComfyUI: store the live
            ``folder_paths``); an exception there is logged, never raised to the request.
    """

    def __init__(self, library: str | os.PathLike[str] | None = None, state: str | os.PathLike[str] | None = None,
                 emit: Emit | None = None, policy: HostPolicy | Callable[[], HostPolicy] | None = None,
                 library_factory: Callable[..., Library] | None = None, server: str = "standalone",
                 on_open: Callable[[Library], object] | None = None) -> None:
        self.library_arg = library
        self.state_arg = state
        self.jobs = JobRegistry(emit)
        self.executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="pumas")
        fixed = policy or HostPolicy.from_listen()
        self.policy: Callable[[], HostPolicy] = fixed if callable(fixed) else (lambda: fixed)
        self.server = server
        self._factory = library_factory
        self._on_open = on_open
        self._lib: Library | None = None
        self._lock = threading.Lock()

    def library(self) -> Library:
        """The open ``Library`` (opened on first call, re-opened when it vanished). Raises
        LibraryUnavailableError if it cannot be opened (``LibraryOfflineError`` for an unplugged
        drive or empty mount point: the routes answer 503 with that reason)."""
        with self._lock:
            if self._lib is not None and not self._still_there(self._lib):
                lib, self._lib = self._lib, None  # drive unplugged since: reopen (answers "offline" until back)
                with contextlib.suppress(Exception):
                    lib.close()
            if self._lib is None:
                factory = self._factory
                if factory is None:
                    from pumas_core.facade import Library

                    factory = Library.open
                try:
                    self._lib = factory(library=self.library_arg, state=self.state_arg)
                    if self._on_open is not None:
                        try:
                            self._on_open(self._lib)
                        except Exception as exc:  # the library still serves; the log says why
                            logging.getLogger("pumas").warning("[pumas] %s", exc)
                    start = getattr(self._lib, "start_background_lookups", None)
                    if start is not None:
                        start()
                except LibraryUnavailableError:
                    raise
                except OSError as exc:
                    if isinstance(exc, PumasError):  # WriteFailedError is an OSError too: keep its code
                        raise
                    raise LibraryUnavailableError(f"library cannot be opened: {exc}") from exc
            return self._lib

    @staticmethod
    def _still_there(lib: Library) -> bool:
        """One ``stat``: is the open library still reachable (its marker in place)?"""
        check = getattr(lib, "check_available", None)
        if check is None:
            return True
        try:
            check()
        except LibraryUnavailableError:
            return False
        return True

    def reopen(self) -> None:
        """Close the library so the next call re-resolves its location (after a settings change)."""
        with self._lock:
            lib, self._lib = self._lib, None
        if lib is not None:
            with contextlib.suppress(Exception):
                lib.close()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(library, *args, **kwargs)`` in the executor and return its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(self.library(), *args, **kwargs))

    def submit(self, kind: str, fn: Callable[[Library, Progress], JobResult], *, refresh: bool = False) -> str:
        """Start ``fn(library, progress)`` as a background job; return the job id."""
        return self.jobs.submit(kind, lambda progress: fn(self.library(), progress),
                                refresh=refresh, executor=self.executor)

    # -- settings and path roots (kept by the core: pumas_core.settings) ------------------

    def settings(self, lib: Library) -> Mapping[str, Any]:
        """The library's settings (``library``, ``state_dir``, ``import_roots``)."""
        settings: Mapping[str, Any] = lib.settings()
        return settings

    def import_roots(self, lib: Library) -> list[str]:
        """Import roots (configured, or the defaults)."""
        roots: list[str] = lib.settings()["import_roots"]
        return roots

    def allowed_roots(self, lib: Library) -> list[str]:
        """Every root a received path may lie in: the library, the registered installs, the import roots."""
        roots: list[str] = lib.allowed_roots()
        return roots

    def close(self) -> None:
        """Close the library and stop the executor (waits for running work)."""
        self.reopen()
        self.executor.shutdown(wait=True)

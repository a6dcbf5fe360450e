"""Offline-first remote lookups for library models: queued after import, never blocking it.

``LookupRunner`` turns a model's metadata into a :class:`~pumas_core.remote.LookupQuery`, asks
:class:`~pumas_core.remote.RemoteLookup`, and merges the answer into ``metadata.json`` then the
index.  A model whose ``match_source`` is ``manual`` keeps every identity field the user set:
only ``pending_online_lookup`` and extra, non-identity keys are updated for it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .library.metadata import now_iso
from .vocab import WEIGHT_SUFFIXES, MatchSource, UnitKind

if TYPE_CHECKING:
    from .library.store import ModelStore
    from .remote import LookupQuery, LookupResult, RemoteLookup

IDENTITY_KEYS = {"match_source", "trust", "huggingface", "civitai", "model_type", "family", "base_model"}


class LookupRunner:
    """Runs lookups for the models of ``store`` (a :class:`~pumas_core.library.store.ModelStore`, which
    writes the answers) with ``remote`` (a ``RemoteLookup``; ``None`` → created on first use from the
    environment, its cache in ``state_dir``).  ``offline`` (the library's flag): no request is sent,
    whatever the ``lookups`` setting or a given ``remote`` says."""

    def __init__(self, store: ModelStore, state_dir: Path, remote: RemoteLookup | None = None, *,
                 offline: bool = False) -> None:
        self.offline = offline
        if offline and remote is not None and hasattr(remote, "offline"):
            remote.offline = True
        self.store = store
        self.index = store.index
        self.state_dir = state_dir
        self._remote = remote
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._retry: threading.Thread | None = None
        self._stop_retry = threading.Event()

    @property
    def remote(self) -> RemoteLookup:
        """The ``RemoteLookup`` in use (created lazily)."""
        with self._lock:
            if self._remote is None:
                from .remote import RemoteLookup
                from .settings import lookups_enabled

                self._remote = RemoteLookup(self.state_dir, offline=self.offline or not lookups_enabled(self.state_dir))
            return self._remote

    def set_online(self, allowed: bool) -> None:
        """Allow or forbid online lookups from now on (the ``lookups`` setting); an offline library stays offline."""
        with self._lock:
            remote = self._remote
        if remote is not None and hasattr(remote, "offline"):
            remote.offline = (not allowed) or self.offline

    def query_for(self, meta: dict[str, Any]) -> LookupQuery:
        """The :class:`LookupQuery` for a model.

        A single file is looked up as itself; a folder or set by its largest weight file (a suffix of
        :data:`pumas_core.vocab.WEIGHT_SUFFIXES`; every file when none has one).  The
        search hint for a generic file name (``model.safetensors``) is the folder it was imported
        from (``all-MiniLM-L6-v2/model.safetensors`` → ``all-MiniLM-L6-v2``), or the model's name.
        """
        from .remote import LookupQuery

        if meta["format"] == UnitKind.SINGLE_FILE:
            primary = meta["files"][0]
            source = meta.get("import_source") or ""
            hint = Path(source).parent.name if source and source != "upload" else meta["official_name"]
        else:
            files = meta["files"]
            weights = [f for f in files if Path(f["name"]).suffix.lower() in WEIGHT_SUFFIXES] or files
            primary = max(weights, key=lambda f: f["size"])
            hint = meta["official_name"]
        return LookupQuery(filename=Path(primary["name"]).name, size=primary["size"], sha256=primary["sha256"],
                           blake3=primary["blake3"], file_format=meta["file_format"],
                           model_type=meta["model_type"], name=hint or None)

    def apply(self, model_id: str, result: LookupResult) -> str:
        """Merge one result into the model's metadata; returns ``updated|pending|unchanged|missing``."""
        from .errors import NotFoundError
        from .remote import to_metadata_patch

        seen: dict[str, Any] = {}

        def change(meta: dict[str, Any]) -> dict[str, Any] | None:
            patch = to_metadata_patch(result)
            if meta.get("match_source") == MatchSource.MANUAL:
                patch = {k: v for k, v in patch.items() if k not in IDENTITY_KEYS and k != "tags"}
            if "tags" in patch:
                patch["tags"] = sorted(set(meta.get("tags", [])) | set(patch["tags"]))
            changed = {k: v for k, v in patch.items() if meta.get(k) != v}
            seen["pending"] = meta.get("pending_online_lookup")
            if not changed:
                return None
            meta.update(changed)
            meta["last_lookup"] = now_iso()
            seen["pending"] = meta.get("pending_online_lookup")
            return meta

        try:
            written = self.store.update(model_id, change)
        except (NotFoundError, FileNotFoundError):  # not indexed, or its folder/metadata.json is gone
            return "missing"
        if written is None:
            return "pending" if seen.get("pending") else "unchanged"
        return "pending" if seen.get("pending") else "updated"

    def run(self, model_ids: Iterable[str] | None = None, *, force: bool = False) -> dict[str, list[str]]:
        """Look up ``model_ids`` now (default: every model still pending); batch where possible.

        Returns ``{"updated": [...], "pending": [...], "unchanged": [...], "missing": [...]}`` (ids).
        """
        if model_ids is None:
            model_ids = self.index.pending_ids()
        found = [(mid, self.index.get(mid)) for mid in model_ids]
        metas = [(mid, m) for mid, m in found if m is not None]
        out: dict[str, list[str]] = {"updated": [], "pending": [], "unchanged": [], "missing": []}
        if not metas:
            return out
        results = self.remote.lookup_many([self.query_for(m) for _, m in metas])
        for (mid, _), result in zip(metas, results, strict=True):  # one result per query
            out[self.apply(mid, result)].append(mid)
        return out

    # -- background ------------------------------------------------------------------------------
    def enqueue(self, model_ids: Iterable[str]) -> None:
        """Queue models for a background lookup (returns at once)."""
        self._idle.clear()
        for mid in model_ids:
            self._queue.put(mid)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._worker, name="pumas-lookup", daemon=True)
            self._thread.start()

    def _worker(self) -> None:
        while True:
            try:
                mid = self._queue.get(timeout=0.5)
            except queue.Empty:
                self._idle.set()
                return
            if mid is None:
                self._idle.set()
                return
            try:
                model = self.index.get(mid)
                if model is not None:
                    self.apply(mid, self.remote.lookup(self.query_for(model)))
            except Exception:  # broad on purpose: a lookup problem must never surface in an import
                pass
            if self._queue.empty():
                self._idle.set()

    def start_retry_loop(self, interval: float = 300.0) -> None:
        """Retry pending lookups in the background every ``interval`` seconds (servers only).

        Each round asks only when models are pending and no host circuit is open, so an offline
        machine sends nothing; when the circuit closes again the pending models complete.
        """
        if self._retry is not None:
            return

        def loop() -> None:
            while not self._stop_retry.wait(interval):
                try:
                    if not self.index.pending_ids():
                        continue
                    hosts = self.status().get("hosts", {}).values()
                    if any(h.get("circuit") == "open" for h in hosts):
                        continue
                    self.run()
                except Exception:  # broad on purpose: background work never raises into the server
                    continue

        self._retry = threading.Thread(target=loop, name="pumas-lookup-retry", daemon=True)
        self._retry.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the queue is drained; True when idle."""
        return self._idle.wait(timeout)

    def status(self) -> dict[str, Any]:
        """Network state for ``GET /pumas/status``; offline-safe."""
        try:
            return self.remote.status()
        except Exception as exc:  # broad on purpose: the status answer must never fail
            return {"online": False, "hosts": {}, "message": f"lookups unavailable: {exc}"}

    def close(self) -> None:
        """Stop the worker and the retry loop, and close the remote cache."""
        if self._retry is not None:
            self._stop_retry.set()
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=2)
        if self._remote is not None:
            with contextlib.suppress(Exception):  # broad on purpose: closing must not fail
                self._remote.close()

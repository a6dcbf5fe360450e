"""Progress bars on stderr for long work (tqdm; silent when stderr is not a terminal)."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

from ..vocab import Stage

if TYPE_CHECKING:
    from tqdm import tqdm

#: A bar's key: ``(stage, file)`` of its events.
BarKey = tuple[str | None, str | None]
#: Events of these stages close the bars of their file (every bar when the event names no file).
CLOSING_STAGES = (Stage.INDEXING, Stage.SYNCING, Stage.SCANNING)


class ProgressBars:
    """A ``progress(event)`` callable that shows one tqdm bar per file being copied/hashed.

    Events follow docs/internal-api.md (``stage``, ``file``, ``bytes_done``, ``bytes_total``).  Several
    files may be in flight at once (imports run one worker per SSD, see :mod:`pumas_core.drives`): each
    ``(stage, file)`` gets its own bar, closed when it is complete or its file reaches indexing.
    Thread-safe.
    """

    def __init__(self, enabled: bool | None = None) -> None:
        """``enabled``: None = when stderr is a terminal."""
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bars: dict[BarKey, tqdm[Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, ev: dict[str, Any]) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        total = ev.get("bytes_total")
        key = (ev.get("stage"), ev.get("file"))
        with self._lock:
            if total and "bytes_done" in ev:
                bar = self._bars.get(key)
                if bar is None:
                    label = f"{ev.get('stage', '')} {ev.get('file', '')}".strip()
                    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label[:48],
                               file=sys.stderr, leave=False, position=len(self._bars))
                    self._bars[key] = bar
                bar.update(ev["bytes_done"] - bar.n)
                if ev["bytes_done"] >= total:
                    self._close(key)
            elif ev.get("stage") in CLOSING_STAGES:
                for k in [k for k in self._bars if not ev.get("file") or k[1] == ev.get("file")]:
                    self._close(k)

    def _close(self, key: BarKey) -> None:
        bar = self._bars.pop(key, None)
        if bar is not None:
            bar.close()

    def close(self) -> None:
        """Finish every open bar."""
        with self._lock:
            for k in list(self._bars):
                self._close(k)

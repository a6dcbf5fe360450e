"""Progress bars on stderr for long work (tqdm; silent when stderr is not a terminal)."""

from __future__ import annotations

import sys


class ProgressBars:
    """A ``progress(event)`` callable that shows one tqdm bar per file being copied/hashed.

    Events follow docs/internal-api.md (``stage``, ``file``, ``bytes_done``, ``bytes_total``).
    """

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None
        self._key = None

    def __call__(self, ev: dict) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        total = ev.get("bytes_total")
        key = (ev.get("stage"), ev.get("file"))
        if total and "bytes_done" in ev:
            if key != self._key:
                self.close()
                label = f"{ev.get('stage', '')} {ev.get('file', '')}".strip()
                self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label[:48],
                                 file=sys.stderr, leave=False)
                self._key = key
            self._bar.update(ev["bytes_done"] - self._bar.n)
        elif ev.get("stage") in ("indexing", "syncing", "scanning"):
            self.close()

    def close(self) -> None:
        """Finish the current bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._key = None

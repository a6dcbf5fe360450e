"""Phase announcements for the crash and full-disk tests (inert in normal use).

Code that changes the library calls :func:`phase` at its phase boundaries ("stage created",
"copy chunk written", "metadata written", "renamed into place", "indexed", "link created", ...).
Unless a test switched the hook on, :func:`phase` is one global lookup and a return.

Switches, read once at import (so a test sets them in a subprocess's environment):

* ``PUMAS_TEST_PHASE_FILE=<path>`` — append every phase name, one per line, to ``<path>``
  (flushed at once, so a parent process can follow and count them).
* ``PUMAS_TEST_KILL_AT=<phase>[:<n>]`` — the process sends itself ``SIGKILL`` at the ``n``-th
  (default 1st) occurrence of ``<phase>``: a crash at an exact point, with no cleanup at all.
* ``PUMAS_TEST_DELAY=<seconds>`` — sleep a random time in ``[0, seconds)`` at every phase
  (widens race windows for kills sent from outside).

In-process tests may instead install a callback with :func:`set_callback` (``fn(name)``; for
example to fill the disk when a given phase is reached), and a forked child may set the same
switches with :func:`configure`.
"""

from __future__ import annotations

import os
import random
import signal
import time
from typing import Callable, Optional

_phase_file = os.environ.get("PUMAS_TEST_PHASE_FILE") or None
_kill_at = os.environ.get("PUMAS_TEST_KILL_AT") or None
_delay = float(os.environ.get("PUMAS_TEST_DELAY") or 0)
_callback: Optional[Callable[[str], None]] = None
_counts: dict[str, int] = {}
_kill_name, _, _kill_count = (_kill_at or "").partition(":")
_kill_n = int(_kill_count or 1)

#: True when any switch or callback is set; :func:`phase` returns at once otherwise.
ACTIVE = bool(_phase_file or _kill_name or _delay)


def phase(name: str) -> None:
    """Announce that the running operation reached phase ``name`` (a dotted name such as
    ``"import.renamed"``).  A no-op unless a test hook is switched on."""
    if ACTIVE:
        _announce(name)


def _announce(name: str) -> None:
    if _phase_file:
        with open(_phase_file, "a", encoding="utf-8") as f:
            f.write(name + "\n")
    if _delay:
        time.sleep(random.random() * _delay)
    if _callback is not None:
        _callback(name)
    if name == _kill_name:
        _counts[name] = _counts.get(name, 0) + 1
        if _counts[name] == _kill_n:
            os.kill(os.getpid(), signal.SIGKILL)


def configure(*, phase_file: Optional[str] = None, kill_at: Optional[str] = None, delay: float = 0.0) -> None:
    """Set the switches the environment variables set (for a forked test child); resets the counts."""
    global _phase_file, _kill_name, _kill_n, _delay, ACTIVE
    _phase_file, _delay = phase_file, float(delay or 0)
    name, _, n = (kill_at or "").partition(":")
    _kill_name, _kill_n = name, int(n or 1)
    _counts.clear()
    ACTIVE = bool(_phase_file or _kill_name or _delay or _callback)


def set_callback(fn: Optional[Callable[[str], None]]) -> None:
    """Install (or with ``None`` remove) an in-process callback ``fn(phase_name)``."""
    global _callback, ACTIVE
    _callback = fn
    ACTIVE = bool(_phase_file or _kill_name or _delay or fn)

"""Health of the links, one import for the whole kit: :func:`check` (what is wrong), :func:`fix_for`
(what fixes one broken link), :func:`repair` (re-create / re-point), :func:`clean` (remove what is
ours and gone) and :func:`relocate` (a drive or folder moved).

The check lives in :mod:`pumas_core.links.diagnose`, the fixes in :mod:`pumas_core.links.repair` and
:mod:`pumas_core.links.relocate`; this module only gathers them (no module imports it back).
"""

from __future__ import annotations

from .diagnose import SCAN_DEPTH, check, find_orphans, fix_for
from .relocate import relocate
from .repair import clean, repair

__all__ = ["SCAN_DEPTH", "check", "clean", "find_orphans", "fix_for", "relocate", "repair"]

"""Pumas Library core: one canonical model library for ComfyUI installs.

Use :class:`pumas_core.facade.Library` (also exported here lazily as ``pumas_core.Library``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .facade import Library

__version__ = "0.1.0"
__all__ = ["Library", "__version__"]


def __getattr__(name: str) -> type[Library]:  # lazy: keep `import pumas_core` cheap for ComfyUI's boot
    """``pumas_core.Library`` imports :mod:`pumas_core.facade` on first use.  Raises AttributeError."""
    if name == "Library":
        from .facade import Library

        return Library
    raise AttributeError(name)

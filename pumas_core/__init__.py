"""Pumas Library core: one canonical model library for ComfyUI installs.

Use :class:`pumas_core.facade.Library` (also exported here lazily as ``pumas_core.Library``).
"""

__version__ = "0.1.0"


def __getattr__(name):  # lazy: keep `import pumas_core` cheap for ComfyUI's boot
    if name == "Library":
        from .facade import Library

        return Library
    raise AttributeError(name)

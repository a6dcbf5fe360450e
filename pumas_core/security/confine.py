"""Path confinement: does a path, once every symlink and ``..`` is resolved, lie inside a root?

Used by the ``Library`` facade for every file a folder import reaches (a symlink inside an allowed
folder may point anywhere) and by the HTTP layer for the paths a request names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable


def real_roots(roots: Iterable[str | os.PathLike[str]]) -> list[str]:
    """``os.path.realpath`` of each root (so a root reached through a symlink still matches)."""
    return [os.path.realpath(os.fspath(r)) for r in roots]


def is_within(path: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]]) -> bool:
    """True if the real path of ``path`` is one of ``roots`` (real paths) or lies below one.

    ``roots`` should come from :func:`real_roots`; comparison is by ``os.path.commonpath``.
    """
    real = os.path.realpath(os.fspath(path))
    for r in roots:
        try:
            if os.path.commonpath([real, r]) == r:
                return True
        except ValueError:  # different drives (Windows)
            continue
    return False


def escaping(paths: Iterable[Path], roots: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """The ``(path, real path)`` pairs of ``paths`` whose real path is outside every root."""
    rr = real_roots(roots)
    return [(p, os.path.realpath(p)) for p in paths if not is_within(p, rr)]

"""The :class:`FormatInfo` result of content sniffing and a bounded file opener."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import BadInputError, FileMissingError
from ...vocab import FileFormat, SecurityTier


@dataclass
class FormatInfo:
    """What a file is, judged by its content (docs/internal-api.md).

    Attributes:
        file_format: ``"safetensors" | "gguf" | "pickle" | "onnx" | "torchscript"``.
        security_tier: ``"safe"`` (safetensors, gguf, onnx) or ``"pickle"`` (pickle, torchscript).
        details: format-specific facts, see the parser modules of this package.
    """

    file_format: FileFormat
    security_tier: SecurityTier
    details: dict[str, Any] = field(default_factory=dict)


def file_size(path: Path) -> int:
    """Return the size in bytes of the regular file ``path``.

    Raises:
        FileMissingError: the file does not exist (a NotFoundError and a FileNotFoundError).
        BadInputError: it is a directory or another non-regular file, or unreadable.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileMissingError(f"{path}: no such file", path=path) from None
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read ({exc.strerror or exc})", path=path) from None
    import stat as _stat

    if _stat.S_ISDIR(st.st_mode):
        raise BadInputError(f"{path}: is a directory, not a model file", path=path)
    if not _stat.S_ISREG(st.st_mode):
        raise BadInputError(f"{path}: not a regular file", path=path)
    return st.st_size

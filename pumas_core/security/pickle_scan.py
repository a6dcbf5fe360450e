"""Pickle safety scan with the ``picklescan`` library (static opcode analysis; nothing is unpickled).

picklescan (https://github.com/mmaitre314/picklescan) walks the pickle opcodes of a file (plain
pickles, legacy and zip ``torch.save``, TorchScript zips, numpy ``.npy``, zip/7z wrappers) and
rates every imported global as dangerous, suspicious or innocuous.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FileMissingError


@dataclass
class PickleScan:
    """Result of :func:`scan_pickle`.

    Attributes:
        dangerous: ``"module.name"`` globals picklescan rates dangerous (e.g. ``"builtins.eval"``), sorted.
        suspicious: globals it does not know (e.g. ``"torch._utils._rebuild_tensor"``, ``__torch__.*``).
        innocuous: globals on its allow list (``"collections.OrderedDict"``, ``"torch.FloatStorage"``...).
        error: a one-line reason when the scan was incomplete (unparseable opcodes, encrypted
            archive, nothing scannable), else None.  A file with an error is not known to be safe.
        scanned_files: how many pickles picklescan examined (members of archives count one each).
    """

    dangerous: list[str] = field(default_factory=list)
    suspicious: list[str] = field(default_factory=list)
    innocuous: list[str] = field(default_factory=list)
    error: str | None = None
    scanned_files: int = 0

    @property
    def clean(self) -> bool:
        """True when nothing dangerous was found and the scan completed."""
        return not self.dangerous and self.error is None


def scan_pickle(path: str | Path) -> PickleScan:
    """Scan ``path`` with picklescan and sort its globals by safety level.

    Returns:
        :class:`PickleScan`; ``error`` is set (and the lists hold what was seen before the
        problem) when picklescan reports a scan error, raises, or scanned no pickle at all.

    Raises:
        FileMissingError: ``path`` is not a file (a ``NotFoundError`` and ``FileNotFoundError``; ``path=``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileMissingError(f"{path}: no such file", path=path)
    from picklescan.scanner import SafetyLevel, scan_file_path

    log = logging.getLogger("picklescan")
    previous = log.level
    log.setLevel(logging.CRITICAL)  # picklescan logs parse errors itself; we report them in `error`
    try:
        result = scan_file_path(str(path))
    except Exception as exc:  # picklescan raises plain Exception (e.g. missing py7zr)
        return PickleScan(error=f"{path}: pickle scan failed ({_one_line(exc)})")
    finally:
        log.setLevel(previous)
    buckets: dict[SafetyLevel, set[str]] = {level: set() for level in SafetyLevel}
    for g in result.globals:
        buckets[g.safety].add(f"{g.module}.{g.name}")
    scan = PickleScan(
        dangerous=sorted(buckets[SafetyLevel.Dangerous]),
        suspicious=sorted(buckets[SafetyLevel.Suspicious]),
        innocuous=sorted(buckets[SafetyLevel.Innocuous]),
        scanned_files=result.scanned_files,
    )
    if result.scan_err:
        scan.error = f"{path}: pickle opcodes could not be fully parsed (damaged or obfuscated pickle)"
    elif result.scanned_files == 0:
        scan.error = f"{path}: no pickle could be scanned (encrypted or unsupported archive?)"
    return scan


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

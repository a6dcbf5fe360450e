"""The pickle gate: may a pickle-based model file enter the library?  Decided by allow-list.

Nothing is unpickled.  Every pickle stream a loader would unpickle is walked statically
(:mod:`.pickle_walk`) and accepted only if it imports nothing but the state-dict globals of
:mod:`.pickle_allowlist`:

* **plain pickle** (``\\x80`` + protocol 2..5, or a protocol 0/1 text pickle): its first stream —
  what ``pickle.load`` and ``torch.load`` read;
* **legacy ``torch.save``** (protocol 2 stream starting with the magic number
  ``0x1950a86a20f9469cfc6c``; PyTorch ``torch/serialization.py`` ``_legacy_save``/``_legacy_load``):
  the five consecutive pickles ``torch.load`` reads — magic number, protocol version, system info,
  the saved object, the list of storage keys — after which raw storage bytes follow;
* **zip** (``torch.save`` zip format, TorchScript archives): every pickle member
  (:mod:`.pickle_zip`: ``archive/data.pkl``, ``constants.pkl``, ...), bounded, nothing extracted.

A file is refused when any stream imports a global that is not on the list (named in the verdict),
when a stream cannot be resolved statically, is damaged, or exceeds a bound, and when a zip holds
no pickle at all.  ``picklescan`` (:mod:`.pickle_scan`) stays a second opinion recorded beside it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .pickle_walk import BoundedReader, StreamReport, walk_stream
from .pickle_zip import ZipLimitError, iter_pickle_members

LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
LEGACY_STREAMS = 5
MAX_PLAIN_STREAMS = 8
MAX_ZIP_PICKLES = 64


@dataclass
class PickleVerdict:
    """The gate's answer for one file.

    Attributes:
        allowed: True when every stream walked imports only allowed globals and was fully parsed.
        offending: ``"module.name"`` globals outside the allow-list (as written in the file), sorted.
        problems: other one-line reasons for a refusal, each prefixed with the stream it is about.
        globals: every global imported by the file, sorted.
        streams: the pickle streams walked (``"stream 1"``, ``"archive/data.pkl"``...).
        kind: ``"plain"``, ``"legacy"`` or ``"zip"``.
    """

    allowed: bool = False
    offending: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    globals: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    kind: str = "plain"

    def reason(self) -> str:
        """One line saying why the file is refused ('' when it is allowed)."""
        if self.allowed:
            return ""
        parts = []
        if self.offending:
            shown = ", ".join(self.offending[:12]) + (" ..." if len(self.offending) > 12 else "")
            parts.append(f"it imports globals outside the state-dict allow-list: {shown}")
        parts.extend(self.problems[:3])
        return "; ".join(parts) or "no pickle stream could be checked"

    def _add(self, label: str, rep: StreamReport) -> None:
        self.streams.append(label)
        self.offending = sorted(set(self.offending) | set(rep.offending))
        self.globals = sorted(set(self.globals) | set(rep.globals))
        self.problems.extend(f"{label}: {p}" for p in rep.problems)
        if not rep.complete and not rep.problems:
            self.problems.append(f"{label}: pickle ends before STOP")


def check_pickle_file(path: str | Path) -> PickleVerdict:
    """Walk every pickle stream of ``path`` that a loader would unpickle and judge it by allow-list.

    Returns:
        :class:`PickleVerdict`; never raises for bad content (damage is a refusal reason).

    Raises:
        OSError: the file cannot be opened.
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(16)
        f.seek(0)
        if head.startswith(b"PK\x03\x04"):
            return _check_zip(path)
        return check_pickle_stream(f)


def check_pickle_stream(f: BinaryIO) -> PickleVerdict:
    """Judge a plain or legacy ``torch.save`` pickle read from the seekable binary file ``f``.

    A legacy file is its :data:`LEGACY_STREAMS` pickles (raw storage bytes follow them).  A plain
    file must be nothing but pickles (up to :data:`MAX_PLAIN_STREAMS`, then only whitespace): a
    second pickle after a harmless first one is walked too, since a loader may read it.
    """
    start = f.tell()
    size = f.seek(0, io.SEEK_END) - start
    f.seek(start)
    legacy = f.read(len(LEGACY_MAGIC)) == LEGACY_MAGIC
    f.seek(start)
    verdict = PickleVerdict(kind="legacy" if legacy else "plain")
    reader = BoundedReader(f)
    for i in range(LEGACY_STREAMS if legacy else MAX_PLAIN_STREAMS):
        rep = walk_stream(reader)
        verdict._add(f"stream {i + 1}", rep)
        if not rep.complete:
            break
        if legacy:
            continue
        left = size - reader.tell()
        if left <= 0:
            break
        if left <= 64:  # trailing whitespace ends the file; anything else is walked as a pickle
            tail = f.read(left)
            if not tail.strip():
                break
            f.seek(-len(tail), io.SEEK_CUR)
    else:
        if not legacy:
            verdict.problems.append(f"more than {MAX_PLAIN_STREAMS} pickles in one file")
    return _finish(verdict)


def _check_zip(path: Path) -> PickleVerdict:
    verdict = PickleVerdict(kind="zip")
    try:
        for n, member in enumerate(iter_pickle_members(path)):
            if n >= MAX_ZIP_PICKLES:
                verdict.problems.append(f"more than {MAX_ZIP_PICKLES} pickle members")
                break
            if member.stream is None:
                verdict.streams.append(member.name)
                verdict.problems.append(member.error or f"{member.name}: unreadable")
                continue
            verdict._add(member.name, walk_stream(BoundedReader(member.stream)))
    except ZipLimitError as exc:
        verdict.problems.append(str(exc))
    if not verdict.streams and not verdict.problems:
        verdict.problems.append("zip archive without any pickle to check")
    return _finish(verdict)


def _finish(verdict: PickleVerdict) -> PickleVerdict:
    verdict.allowed = bool(verdict.streams) and not verdict.offending and not verdict.problems
    return verdict

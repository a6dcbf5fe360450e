"""The adoption journal: ``<state>/adopt/<journal_id>.jsonl``, one JSON record per line, fsynced.

Records: ``{"type": "plan", "journal_id", "created", "groups": [...], ...}`` first; then for each step an
``{"type": "intent", "step", "g", "p"?...}`` written **before** the step and a ``{"type": "done", ...}``
after it; ``{"type": "cancelled"}`` / ``{"type": "complete"}``; undo appends ``undo_intent`` /
``undo_done`` per group and ``{"type": "undone"}``.  A line torn by a crash is ended with a newline
before the next record and skipped when reading.

Test hook: ``PUMAS_ADOPT_KILL_AT=N`` kills the process with SIGKILL right after the N-th record
(or :func:`Journal.point`) of this process; read once per journal, zero cost when unset.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Any

from ..errors import NotFoundError, WriteFailedError

KILL_ENV = "PUMAS_ADOPT_KILL_AT"


#: One journal record (a JSON object).
Record = dict[str, Any]
#: The key of a step: ``(step, group index, path index or None)``.
StepKey = tuple[str, int, int | None]


def journal_dir(state_dir: str | os.PathLike[str]) -> Path:
    """``<state>/adopt`` (created)."""
    d = Path(state_dir) / "adopt"
    d.mkdir(parents=True, exist_ok=True)
    return d


def new_journal_id() -> str:
    """A sortable id: UTC time to the microsecond plus 4 random hex characters (``20261202T123456Z-000123-ab12``)."""
    now = time.time()
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}-{int(now * 1e6) % 1000000:06d}-{secrets.token_hex(2)}"


class Journal:
    """Append-only, fsynced journal file of one adoption."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.journal_id = self.path.stem
        kill = os.environ.get(KILL_ENV)
        self._kill_at = int(kill) if kill and kill.isdigit() else None
        self._count = 0
        self._tail_checked = False

    @classmethod
    def create(cls, state_dir: str | os.PathLike[str], plan: dict[str, Any], **extra: Any) -> Journal:
        """Start a new journal whose first record is the plan."""
        j = cls(journal_dir(state_dir) / f"{new_journal_id()}.jsonl")
        j.write({"type": "plan", "journal_id": j.journal_id, "created": time.time(),
                 "groups": plan["groups"], **extra})
        return j

    @classmethod
    def open(cls, state_dir: str | os.PathLike[str], journal_id: str | None = None) -> Journal:
        """The journal ``journal_id`` or, with None, the latest one.

        Raises:
            NotFoundError: no such journal (or none at all).
        """
        d = journal_dir(state_dir)
        if journal_id:
            if "/" in journal_id or "\\" in journal_id or journal_id.startswith("."):
                raise NotFoundError(f"no adoption journal {journal_id!r}")
            p = d / f"{journal_id.removesuffix('.jsonl')}.jsonl"
            if not p.is_file():
                raise NotFoundError(f"no adoption journal {journal_id!r} in {d}", path=p)
            return cls(p)
        found = sorted(d.glob("*.jsonl"))
        if not found:
            raise NotFoundError(f"no adoption journal in {d}: nothing to resume or undo", path=d)
        return cls(found[-1])

    def write(self, record: Record) -> None:
        """Append one record durably (write, flush, fsync).

        Raises:
            WriteFailedError: the journal file cannot be written (``path`` names it; also an OSError).
        """
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
        if not self._tail_checked:  # a crash mid-write left a torn last line: end it before appending
            self._tail_checked = True
            try:
                with open(self.path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        line = "\n" + line
            except OSError:
                pass
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise WriteFailedError(f"{self.path}: {exc.strerror or exc}", path=self.path) from exc
        self.point()

    def point(self) -> None:
        """A kill point (test hook); every record is one."""
        if self._kill_at is not None:
            self._count += 1
            if self._count >= self._kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    def records(self) -> list[Record]:
        """Every complete record in order (a line torn by a crash is skipped).  Raises OSError."""
        out: list[Record] = []
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    out.append(rec)
        return out


class State:
    """What a journal says happened: the plan, done steps and their results, terminal records."""

    def __init__(self, records: list[Record]) -> None:
        """Raises :class:`NotFoundError` when the first record is not the plan."""
        if not records or records[0].get("type") != "plan":
            raise NotFoundError("adoption journal has no plan record")
        self.plan: Record = records[0]
        self.done: dict[StepKey, Record] = {}
        self.intents: dict[StepKey, Record] = {}
        self.flags: set[str] = set()
        self.undone_groups: set[int] = set()
        for r in records[1:]:
            t = r.get("type")
            if t in ("intent", "done"):
                (self.intents if t == "intent" else self.done)[step_key(r)] = r
            elif t == "undo_done":
                self.undone_groups.add(r["g"])
            elif t in ("complete", "cancelled", "undone", "undo_started"):
                self.flags.add(t)

    @property
    def groups(self) -> list[dict[str, Any]]:
        """The plan's groups (see :func:`pumas_core.adopt.plan.build_plan`)."""
        groups: list[dict[str, Any]] = self.plan["groups"]
        return groups

    def result(self, step: str, g: int, p: int | None = None) -> Record | None:
        """The done record of a step, or None."""
        return self.done.get((step, g, p))

    def intent(self, step: str, g: int, p: int | None = None) -> Record | None:
        """The intent record of a step, or None."""
        return self.intents.get((step, g, p))


def step_key(r: Record) -> StepKey:
    """``(step, group, path index or None)``."""
    return r["step"], r["g"], r.get("p")

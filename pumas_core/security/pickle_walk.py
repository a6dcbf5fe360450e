"""Static walk of one pickle stream: which globals would it import, and what would it call?

Nothing is unpickled.  :func:`walk_stream` reads opcodes with :func:`pickletools.genops` (Python's
own opcode table and argument readers) through a :class:`BoundedReader` and runs a small *symbolic*
stack machine beside it, the way ``pickle.Unpickler`` would, but with abstract values only:

* strings pushed by ``UNICODE``/``BINUNICODE``/``SHORT_BINUNICODE``/``BINUNICODE8``/``STRING``/
  ``BINSTRING``/``SHORT_BINSTRING`` keep their text, so a ``STACK_GLOBAL`` whose module and name come
  from such pushes — directly or through the memo (``PUT``/``BINPUT``/``LONG_BINPUT``/``MEMOIZE`` and
  ``GET``/``BINGET``/``LONG_BINGET``) — is resolved statically.  A ``STACK_GLOBAL`` whose operands
  are anything else (the result of a call, bytes, an unknown memo slot) cannot be resolved and is
  refused, as is an ``EXT1/2/4`` reference to the copyreg extension registry;
* ``GLOBAL``/``STACK_GLOBAL``/``INST`` targets are looked up in :mod:`.pickle_allowlist`; every one
  that is not on it is an *offending global*;
* ``REDUCE``/``NEWOBJ``/``NEWOBJ_EX``/``OBJ`` must call a global (an allowed one, or it is already
  offending); calling any other value (e.g. what an earlier call returned) is refused;
* ``BUILD`` (``__setstate__``/attribute assignment) is only accepted on an object made by an
  allowed call — never on a class or module object, which would let a pickle rewrite an attribute
  of an allowed module and change what later names resolve to;
* every other opcode uses its stack effect from ``pickletools`` (``stack_before``/``stack_after``).

Limits (refuse beyond them rather than read on): :data:`MAX_OPCODES` opcodes and
:data:`MAX_STREAM_BYTES` bytes per stream, :data:`MAX_ARG_BYTES` for one opcode argument,
:data:`MAX_LINE_BYTES` for one text line (protocol 0 arguments).
"""

from __future__ import annotations

import pickletools
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, cast

from .pickle_allowlist import canonical, is_allowed

MAX_OPCODES = 10_000_000
MAX_STREAM_BYTES = 512 << 20
MAX_ARG_BYTES = 64 << 20
MAX_LINE_BYTES = 1 << 20

_STRING_OPS = {"UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "STRING", "BINSTRING",
               "SHORT_BINSTRING"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
#: opcodes that add to a container left on the stack: ``None`` = everything down to the MARK, else a count
_KEEP_TARGET: dict[str, int | None] = {"APPENDS": None, "SETITEMS": None, "ADDITEMS": None, "APPEND": 1, "SETITEM": 2}
#: an abstract value on the symbolic stack: ``("str", text)``, ``("global", module, name, allowed)``,
#: ``("obj", made_by_an_allowed_call)``, :data:`_MARK` or :data:`_OTHER`
Value = tuple[Any, ...]


class PickleLimitError(Exception):
    """A stream exceeded one of the walk's size limits (the message says which)."""


class RawStream(Protocol):
    """What a :class:`BoundedReader` reads from: a binary file, ``io.BytesIO``, a zip member slice."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (all that is left when ``n`` < 0)."""
        ...

    def readline(self, n: int = -1, /) -> bytes:
        """One line of at most ``n`` bytes."""
        ...


class BoundedReader:
    """Read-only view of a binary stream that refuses reads beyond the walk's limits.

    ``read(n)`` raises :class:`PickleLimitError` when ``n`` exceeds ``max_arg`` or the stream's total
    would exceed ``max_total``; ``readline()`` when a line is longer than ``max_line``.  ``tell()``
    is the offset from where the reader started.
    """

    def __init__(self, raw: RawStream, *, max_total: int | None = None, max_arg: int | None = None,
                 max_line: int | None = None) -> None:
        self._raw, self._pos = raw, 0
        self._max_total = MAX_STREAM_BYTES if max_total is None else max_total
        self._max_arg = MAX_ARG_BYTES if max_arg is None else max_arg
        self._max_line = MAX_LINE_BYTES if max_line is None else max_line

    def _account(self, n: int) -> None:
        self._pos += n
        if self._pos > self._max_total:
            raise PickleLimitError(f"pickle stream longer than {self._max_total} bytes")

    def read(self, n: int = -1) -> bytes:
        """``n`` bytes (fewer at the end); ``n`` < 0 or above ``max_arg`` raises :class:`PickleLimitError`."""
        if n < 0 or n > self._max_arg:
            raise PickleLimitError(f"a pickle value of {n} bytes is larger than the {self._max_arg}-byte limit")
        data = self._raw.read(n)
        self._account(len(data))
        return data

    def readline(self) -> bytes:
        """One line (with its newline); longer than ``max_line`` raises :class:`PickleLimitError`."""
        line = self._raw.readline(self._max_line + 1)
        if len(line) > self._max_line:
            raise PickleLimitError(f"a pickle text line is longer than {self._max_line} bytes")
        self._account(len(line))
        return line

    def tell(self) -> int:
        """Bytes read since the reader started."""
        return self._pos


@dataclass
class StreamReport:
    """What one pickle stream would import and do.

    Attributes:
        globals: every ``"module.name"`` it imports, as written in the stream, sorted.
        offending: the imported globals that are not on the allow-list, sorted.
        problems: one-line reasons for refusals that are not a global (unresolvable ``STACK_GLOBAL``,
            a call or ``BUILD`` on a value that is not an allowed object, damage, a limit), in order.
        opcodes: how many opcodes were walked.
        protocol: the stream's pickle protocol (0 when it has no ``PROTO`` opcode).
        complete: True when the walk reached ``STOP``.
    """

    globals: list[str] = field(default_factory=list)
    offending: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    opcodes: int = 0
    protocol: int = 0
    complete: bool = False


# Abstract values on the symbolic stack.
_MARK: Value = ("mark",)
_OTHER: Value = ("other",)


def _global(module: str, name: str, allowed: bool) -> Value:
    return ("global", module, name, allowed)


def walk_stream(stream: BoundedReader, *, max_opcodes: int | None = None) -> StreamReport:
    """Walk one pickle (up to and including its ``STOP``) from ``stream``'s current position.

    ``stream`` should be a :class:`BoundedReader`; it is left positioned just after ``STOP``.
    Never raises for bad content: damage and limits are reported in ``problems``.
    """
    rep = _Walker(MAX_OPCODES if max_opcodes is None else max_opcodes)
    try:
        rep.run(stream)
    except PickleLimitError as exc:
        rep.report.problems.append(f"limit: {exc}")
    except Exception as exc:  # genops' ValueError on junk, decode errors, struct errors...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        rep.report.problems.append(f"not a readable pickle ({first})")
    report = rep.report
    report.globals = sorted(rep.seen)
    report.offending = sorted(rep.bad)
    return report


class _Walker:
    def __init__(self, max_opcodes: int) -> None:
        self.report = StreamReport()
        self.max_opcodes = max_opcodes
        self.stack: list[Value] = []
        self.memo: dict[int, Value] = {}
        self.seen: set[str] = set()
        self.bad: set[str] = set()

    # -- helpers ------------------------------------------------------------------------------
    def _problem(self, text: str, pos: int | None) -> None:
        if len(self.report.problems) < 20:
            self.report.problems.append(f"{text} (at byte {pos})")

    def _pop(self, pos: int | None) -> Value:
        if not self.stack or self.stack[-1] is _MARK:
            raise ValueError(f"stack underflow at byte {pos}")
        return self.stack.pop()

    def _pop_mark(self, pos: int | None) -> list[Value]:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is _MARK:
                items = self.stack[i + 1:]
                del self.stack[i:]
                return items
        raise ValueError(f"no MARK on the stack at byte {pos}")

    def _import(self, module: str, name: str) -> Value:
        written = f"{module}.{name}"
        self.seen.add(written)
        ok = is_allowed(module, name, self.report.protocol)
        if not ok:
            self.bad.add(written)
        mod, nm = canonical(module, name, self.report.protocol)
        return _global(mod, nm, ok)

    def _call(self, target: Value, what: str, pos: int | None) -> Value:
        if target[0] != "global":
            self._problem(f"{what} calls a value that is not an imported global", pos)
            return ("obj", False)
        return ("obj", target[3])

    # -- the walk -----------------------------------------------------------------------------
    def run(self, stream: BoundedReader) -> None:
        # genops only calls read/readline/tell, which the BoundedReader has (it is no full IO object)
        for op, arg, pos in pickletools.genops(cast(IO[bytes], stream)):
            self.report.opcodes += 1
            if self.report.opcodes > self.max_opcodes:
                raise PickleLimitError(f"more than {self.max_opcodes} pickle opcodes")
            self.step(op, arg, pos)
            if op.name == "STOP":
                self.report.complete = True
                return

    def step(self, op: pickletools.OpcodeInfo, arg: Any, pos: int | None) -> None:
        """Apply one opcode to the symbolic stack (one branch per opcode family)."""
        name, st = op.name, self.stack
        if name in _STRING_OPS:
            st.append(("str", arg) if isinstance(arg, str) else _OTHER)
        elif name == "PROTO":
            self.report.protocol = arg
        elif name in ("FRAME", "STOP"):
            if name == "STOP":
                self._pop(pos)
        elif name == "MARK":
            st.append(_MARK)
        elif name == "POP":
            if st and st[-1] is _MARK:
                st.pop()
            else:
                self._pop(pos)
        elif name == "POP_MARK":
            self._pop_mark(pos)
        elif name == "DUP":
            top = self._pop(pos)
            st.extend((top, top))
        elif name in _PUT_OPS or name == "MEMOIZE":
            if not st or st[-1] is _MARK:
                raise ValueError(f"memo store with an empty stack at byte {pos}")
            self.memo[len(self.memo) if name == "MEMOIZE" else arg] = st[-1]
        elif name in _GET_OPS:
            if arg not in self.memo:
                raise ValueError(f"memo slot {arg} read before it was written (byte {pos})")
            st.append(self.memo[arg])
        elif name == "GLOBAL":
            module, _, gname = arg.partition(" ")
            st.append(self._import(module, gname))
        elif name == "STACK_GLOBAL":
            gname, module = self._pop(pos), self._pop(pos)
            if module[0] == "str" and gname[0] == "str":
                st.append(self._import(module[1], gname[1]))
            else:
                self._problem("STACK_GLOBAL whose module/name is not a plain string pushed by the pickle", pos)
                st.append(_global("?", "?", False))
        elif name in ("EXT1", "EXT2", "EXT4"):
            self._problem(f"{name} reference to the copyreg extension registry cannot be checked", pos)
            st.append(_global("?", "?", False))
        elif name == "INST":
            module, _, gname = arg.partition(" ")
            self._pop_mark(pos)
            st.append(self._call(self._import(module, gname), "INST", pos))
        elif name == "OBJ":
            items = self._pop_mark(pos)
            if not items:
                raise ValueError(f"OBJ without a class at byte {pos}")
            st.append(self._call(items[0], "OBJ", pos))
        elif name in ("REDUCE", "NEWOBJ", "NEWOBJ_EX"):
            for _ in range(1 if name == "REDUCE" else (2 if name == "NEWOBJ_EX" else 1)):
                self._pop(pos)  # args (and kwargs)
            st.append(self._call(self._pop(pos), name, pos))
        elif name == "BUILD":
            self._pop(pos)  # state
            target = self._pop(pos)
            if not (target[0] == "obj" and target[1]):
                self._problem("BUILD on a value that is not an object made by an allowed global", pos)
            st.append(target)
        elif name in _KEEP_TARGET:
            how = _KEEP_TARGET[name]
            if how is None:
                self._pop_mark(pos)
            else:
                for _ in range(how):
                    self._pop(pos)
            if not st or st[-1] is _MARK:
                raise ValueError(f"{name} without a container at byte {pos}")
        else:
            self._generic(op, pos)

    def _generic(self, op: pickletools.OpcodeInfo, pos: int | None) -> None:
        before = op.stack_before
        if pickletools.markobject in before:
            self._pop_mark(pos)
            count = before.index(pickletools.markobject)
        else:
            count = len(before)
        for _ in range(count):
            self._pop(pos)
        self.stack.extend(_OTHER for _ in op.stack_after)

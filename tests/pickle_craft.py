"""Hand-built pickles for the gate's tests: attacks and legitimate state dicts, opcode by opcode.

Nothing here pickles a live object or unpickles anything: every stream is assembled from the
opcode constants of the ``pickle`` module, so the bytes are exactly what an attacker would write.
"""

from __future__ import annotations

import pickle as P
import struct
import zipfile
from pathlib import Path

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C


def s(text: str) -> bytes:
    """SHORT_BINUNICODE push (protocol 4) of ``text`` followed by MEMOIZE."""
    b = text.encode()
    return P.SHORT_BINUNICODE + bytes([len(b)]) + b + P.MEMOIZE


def u(text: str) -> bytes:
    """BINUNICODE push (protocol 1+) of ``text``."""
    b = text.encode()
    return P.BINUNICODE + struct.pack("<I", len(b)) + b


def sg(module: str, name: str) -> bytes:
    """STACK_GLOBAL of ``module.name`` from two string pushes."""
    return s(module) + s(name) + P.STACK_GLOBAL


def g(module: str, name: str) -> bytes:
    """GLOBAL opcode (text operands) of ``module.name``."""
    return P.GLOBAL + f"{module}\n{name}\n".encode()


def proto(n: int = 4) -> bytes:
    return P.PROTO + bytes([n])


def runsource_attack(use_stack_global: bool = True) -> bytes:
    """``code.InteractiveInterpreter.runsource(code.InteractiveInterpreter(), src)``."""
    glb = sg if use_stack_global else g
    return (proto(4) + glb("code", "InteractiveInterpreter.runsource") + glb("code", "InteractiveInterpreter")
            + P.EMPTY_TUPLE + P.REDUCE + s("import os; os.system('id')") + P.TUPLE2 + P.REDUCE + P.STOP)


def write_text_attack(use_stack_global: bool = True) -> bytes:
    """``pathlib.Path.write_text(pathlib.Path('/tmp/pumas-owned'), 'owned')``."""
    glb = sg if use_stack_global else g
    return (proto(4) + glb("pathlib", "Path.write_text") + glb("pathlib", "Path") + s("/tmp/pumas-owned")
            + P.TUPLE1 + P.REDUCE + s("owned") + P.TUPLE2 + P.REDUCE + P.STOP)


def vars_get_import_attack(use_stack_global: bool = True) -> bytes:
    """``dict.get(vars(codecs.builtins), '__import__')('os')``: ``__import__`` without naming it."""
    glb = sg if use_stack_global else g
    return (proto(4) + glb("builtins", "dict.get") + glb("builtins", "vars") + glb("codecs", "builtins")
            + P.TUPLE1 + P.REDUCE + s("__import__") + P.TUPLE2 + P.REDUCE + s("os") + P.TUPLE1 + P.REDUCE
            + P.STOP)


ATTACKS = {
    "runsource": (runsource_attack, {"code.InteractiveInterpreter.runsource", "code.InteractiveInterpreter"}),
    "write_text": (write_text_attack, {"pathlib.Path.write_text", "pathlib.Path"}),
    "vars_get_import": (vars_get_import_attack, {"builtins.vars", "builtins.dict.get", "codecs.builtins"}),
}


def tensor_v2(key: str, numel: int) -> bytes:
    """Protocol-2 opcodes of ``torch._utils._rebuild_tensor_v2(storage, 0, (numel,), (1,), False,
    OrderedDict())`` with the storage as a persistent id, as ``torch.save`` writes it."""
    pid = (P.MARK + u("storage") + g("torch", "FloatStorage") + u(key) + u("cpu")
           + P.BININT1 + bytes([numel]) + P.TUPLE + P.BINPERSID)
    return (g("torch._utils", "_rebuild_tensor_v2") + P.MARK + pid + P.BININT1 + b"\x00"
            + P.BININT1 + bytes([numel]) + P.TUPLE1 + P.BININT1 + b"\x01" + P.TUPLE1 + P.NEWFALSE
            + g("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE + P.TUPLE + P.REDUCE)


def numpy_array() -> bytes:
    """An ndarray the way numpy < 2 pickles it: ``_reconstruct`` + BUILD with ``_codecs.encode`` bytes."""
    dtype = g("numpy", "dtype") + u("f4") + P.NEWFALSE + P.NEWTRUE + P.TUPLE3 + P.REDUCE + P.MARK + P.BININT1 \
        + b"\x03" + u("<") + P.NONE + P.NONE + P.NONE + P.BININT + struct.pack("<i", -1) \
        + P.BININT + struct.pack("<i", -1) + P.BININT1 + b"\x00" + P.TUPLE + P.BUILD
    raw = g("_codecs", "encode") + u("\x00\x00\x80?") + u("latin1") + P.TUPLE2 + P.REDUCE
    return (g("numpy.core.multiarray", "_reconstruct") + g("numpy", "ndarray") + P.BININT1 + b"\x00"
            + P.TUPLE1 + u("b") + P.TUPLE3 + P.REDUCE + P.MARK + P.BININT1 + b"\x01" + P.BININT1 + b"\x01"
            + P.TUPLE1 + dtype + P.NEWFALSE + raw + P.TUPLE + P.BUILD)


def state_dict(with_numpy: bool = False) -> bytes:
    """A protocol-2 ``OrderedDict`` state dict with two tensors (and a numpy array), BUILD on it."""
    body = (proto(2) + g("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE + P.BINPUT + b"\x00" + P.MARK
            + u("conv.weight") + tensor_v2("0", 4) + u("conv.bias") + tensor_v2("1", 2))
    if with_numpy:
        body += u("extra") + numpy_array()
    return body + P.SETITEMS + P.EMPTY_DICT + u("_metadata") + P.EMPTY_DICT + P.SETITEM + P.BUILD + P.STOP


def legacy_file(path: Path, payload: bytes) -> Path:
    """A legacy (non-zip) ``torch.save`` file whose saved object is ``payload``."""
    magic = proto(2) + P.LONG1 + bytes([10]) + LEGACY_MAGIC_NUMBER.to_bytes(10, "little") + P.STOP
    version = proto(2) + P.BININT2 + struct.pack("<H", 1001) + P.STOP
    sysinfo = proto(2) + P.EMPTY_DICT + u("little_endian") + P.NEWTRUE + P.SETITEM + P.STOP
    keys = proto(2) + P.MARK + u("0") + u("1") + P.LIST + P.STOP
    raw = struct.pack("<q", 4) + b"\x80\x02" * 8 + struct.pack("<q", 2) + b"\x00" * 8
    path.write_bytes(magic + version + sysinfo + payload + keys + raw)
    return path


def torch_zip(path: Path, data_pkl: bytes, *, prefix: str = "archive", code: bool = False,
              extra: dict[str, bytes] | None = None) -> Path:
    """A zip-format ``torch.save`` archive (``<prefix>/data.pkl``, ``data/0``, ``version``); with
    ``code=True`` a TorchScript-like archive (``<prefix>/code/__torch__.py``)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", data_pkl)
        z.writestr(f"{prefix}/data/0", b"\x80\x02" * 8)
        z.writestr(f"{prefix}/data/1", b"\x00" * 8)
        z.writestr(f"{prefix}/version", b"3\n")
        if code:
            z.writestr(f"{prefix}/code/__torch__.py", b"def forward(self):\n  return None\n")
            z.writestr(f"{prefix}/constants.pkl", proto(2) + P.EMPTY_TUPLE + P.STOP)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def lightning_ckpt() -> bytes:
    """An SD 1.x style Lightning checkpoint: ``{"state_dict": ..., "global_step": n, "callbacks":
    {ModelCheckpoint: {"best_model_score": numpy float64 scalar}}}`` (the class itself is the key)."""
    sd = state_dict()[2:-1]  # the OrderedDict opcodes without PROTO and STOP
    score = (g("numpy.core.multiarray", "scalar") + g("numpy", "dtype") + u("f8") + P.NEWFALSE + P.NEWTRUE
             + P.TUPLE3 + P.REDUCE + g("_codecs", "encode") + u("\x00" * 7 + "@") + u("latin1") + P.TUPLE2
             + P.REDUCE + P.TUPLE2 + P.REDUCE)
    callbacks = (P.EMPTY_DICT + g("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint")
                 + P.EMPTY_DICT + u("best_model_score") + score + P.SETITEM + P.SETITEM)
    return (proto(2) + P.EMPTY_DICT + P.MARK + u("state_dict") + sd + u("global_step")
            + P.BININT + struct.pack("<i", 470000)
            + u("callbacks") + callbacks + P.SETITEMS + P.STOP)

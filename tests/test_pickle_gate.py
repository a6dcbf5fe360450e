"""The allow-list pickle gate on its own: crafted attacks, legitimate state dicts, bounds, zips."""

from __future__ import annotations

import io
import pickle as P
import struct
import zipfile

import pytest
from pickle_craft import ATTACKS, g, legacy_file, lightning_ckpt, proto, s, sg, state_dict, torch_zip, u

from pumas_core.security import pickle_walk, pickle_zip
from pumas_core.security.pickle_allowlist import ALLOWED_GLOBALS, is_allowed
from pumas_core.security.pickle_gate import check_pickle_file, check_pickle_stream


def _verdict(data: bytes):
    return check_pickle_stream(io.BytesIO(data))


@pytest.mark.parametrize("stack_global", [True, False], ids=["STACK_GLOBAL", "GLOBAL"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_crafted_attacks_refused_with_globals_named(attack, stack_global, tmp_path):
    build, names = ATTACKS[attack]
    data = build(stack_global)
    for verdict in (_verdict(data), check_pickle_file(torch_zip(tmp_path / "a.pt", data)),
                    check_pickle_file(legacy_file(tmp_path / "l.pt", data))):
        assert not verdict.allowed
        assert names <= set(verdict.offending)
        assert all(n in verdict.reason() for n in names)


def test_legitimate_state_dicts_pass(tmp_path):
    for data in (state_dict(), state_dict(with_numpy=True)):
        v = _verdict(data)
        assert v.allowed and v.reason() == "" and "torch._utils._rebuild_tensor_v2" in v.globals
    legacy = check_pickle_file(legacy_file(tmp_path / "l.pt", state_dict()))
    assert legacy.allowed and legacy.kind == "legacy" and len(legacy.streams) == 5
    zipped = check_pickle_file(torch_zip(tmp_path / "z.pt", state_dict(with_numpy=True)))
    assert zipped.allowed and zipped.kind == "zip" and zipped.streams == ["archive/data.pkl"]
    script = check_pickle_file(torch_zip(tmp_path / "s.pt", state_dict(), code=True))
    assert script.allowed and set(script.streams) == {"archive/data.pkl", "archive/constants.pkl"}


def test_lightning_checkpoint_loads_like_comfyui(tmp_path):
    v = check_pickle_file(torch_zip(tmp_path / "v1-5.ckpt", lightning_ckpt()))
    assert v.allowed, v.reason()
    assert {"pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
            "numpy.core.multiarray.scalar"} <= set(v.globals)
    # but nothing else from pytorch_lightning
    bad = _verdict(proto(2) + g("pytorch_lightning.utilities", "rank_zero_only") + P.STOP)
    assert bad.offending == ["pytorch_lightning.utilities.rank_zero_only"]


def test_stack_global_resolved_through_memo():
    # module and name pushed, memoized, popped, then fetched back with BINGET
    data = (proto(4) + u("os") + P.BINPUT + b"\x07" + P.POP + u("system") + P.BINPUT + b"\x08" + P.POP
            + P.BINGET + b"\x07" + P.BINGET + b"\x08" + P.STACK_GLOBAL + s("id") + P.TUPLE1 + P.REDUCE + P.STOP)
    v = _verdict(data)
    assert not v.allowed and v.offending == ["os.system"]


def test_unresolvable_stack_global_refused():
    # the module name is the *result of a call* (an allowed one): cannot be known without running it
    data = (proto(4) + g("_codecs", "encode") + s("os") + s("latin1") + P.TUPLE2 + P.REDUCE + s("system")
            + P.STACK_GLOBAL + P.STOP)
    v = _verdict(data)
    assert not v.allowed and any("STACK_GLOBAL" in p for p in v.problems) and "STACK_GLOBAL" in v.reason()


def test_build_on_allowed_module_object_refused():
    # BUILD on an allowed *function object* would set attributes on it (sys_module_override style)
    data = (proto(4) + sg("torch._utils", "_rebuild_tensor") + P.EMPTY_DICT + s("x") + s("y") + P.SETITEM
            + P.BUILD + P.STOP)
    v = _verdict(data)
    assert not v.allowed and v.offending == [] and "BUILD" in v.reason()


def test_ext_opcode_and_call_on_non_global_refused():
    assert "extension registry" in _verdict(proto(2) + P.EXT1 + b"\x01" + P.STOP).reason()
    v = _verdict(proto(2) + P.EMPTY_DICT + P.EMPTY_TUPLE + P.REDUCE + P.STOP)
    assert not v.allowed and "REDUCE calls a value" in v.reason()


def test_python2_names_mapped_like_the_unpickler():
    assert is_allowed("__builtin__", "set", 2) and not is_allowed("__builtin__", "set", 4)
    assert _verdict(proto(2) + g("__builtin__", "set") + P.EMPTY_TUPLE + P.REDUCE + P.STOP).allowed
    v = _verdict(proto(2) + g("__builtin__", "eval") + s("1") + P.TUPLE1 + P.REDUCE + P.STOP)
    assert v.offending == ["__builtin__.eval"]


def test_exact_pairs_only():
    assert ("torch._utils", "_rebuild_tensor_v2") in ALLOWED_GLOBALS
    v = _verdict(proto(4) + sg("torch", "_utils._rebuild_tensor_v2") + P.STOP)
    assert v.offending == ["torch._utils._rebuild_tensor_v2"]


def test_second_pickle_after_benign_one_is_walked():
    v = _verdict(state_dict() + ATTACKS["write_text"][0](True))
    assert not v.allowed and "pathlib.Path.write_text" in v.offending
    assert _verdict(state_dict() + b"\n\n").allowed  # trailing whitespace is fine
    junk = _verdict(state_dict() + b"\x00" * 100)
    assert not junk.allowed and "stream 2" in junk.reason()


def test_damaged_and_truncated_streams_refused():
    full = state_dict()
    for cut in (1, 10, len(full) // 2, len(full) - 1):
        assert not _verdict(full[:cut]).allowed
    assert "underflow" in _verdict(proto(2) + P.REDUCE + P.STOP).reason()
    assert "memo slot" in _verdict(proto(2) + P.BINGET + b"\x05" + P.STOP).reason()


def test_opcode_cap(monkeypatch):
    monkeypatch.setattr(pickle_walk, "MAX_OPCODES", 50)
    body = proto(2) + P.EMPTY_LIST + P.MARK + P.NONE * 100 + P.APPENDS + P.STOP
    v = check_pickle_stream(io.BytesIO(body))
    assert not v.allowed and "limit" in v.reason() and "opcodes" in v.reason()


def test_huge_declared_value_refused_without_reading_it():
    data = proto(4) + P.BINBYTES8 + struct.pack("<Q", 1 << 40) + b"abc" + P.STOP
    v = _verdict(data)
    assert not v.allowed and "limit" in v.reason()


def test_zip_entry_cap(tmp_path, monkeypatch):
    path = torch_zip(tmp_path / "m.pt", state_dict(), extra={f"archive/data/{i}": b"" for i in range(2, 40)})
    assert check_pickle_file(path).allowed
    monkeypatch.setattr(pickle_zip, "MAX_ENTRIES", 20)
    v = check_pickle_file(path)
    assert not v.allowed and "entries" in v.reason()


def test_zip_ratio_and_size_caps(tmp_path, monkeypatch):
    bomb = proto(2) + P.EMPTY_LIST + P.MARK + P.NONE * 200_000 + P.APPENDS + P.STOP
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", bomb)
    v = check_pickle_file(path)
    assert not v.allowed and "inflates" in v.reason()
    monkeypatch.setattr(pickle_zip, "MAX_MEMBER_BYTES", 1000)
    assert "bytes (limit 1000)" in check_pickle_file(torch_zip(tmp_path / "b.pt", bomb)).reason()


def test_nested_zip_not_followed_and_empty_zip_refused(tmp_path):
    inner = torch_zip(tmp_path / "inner.pt", ATTACKS["runsource"][0](True))
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as z:
        z.write(inner, "archive/inner.pt")
    v = check_pickle_file(outer)
    assert not v.allowed and v.offending == [] and "without any pickle" in v.reason()


def test_damaged_zip_refused(tmp_path):
    good = torch_zip(tmp_path / "m.pt", state_dict()).read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good[: len(good) - 30])
    v = check_pickle_file(cut)
    assert not v.allowed and "damaged zip" in v.reason()


def test_renamed_pickle_member_is_walked(tmp_path):
    path = torch_zip(tmp_path / "m.pt", state_dict(), extra={"archive/config.txt": ATTACKS["runsource"][0](True)})
    v = check_pickle_file(path)
    assert not v.allowed and "code.InteractiveInterpreter.runsource" in v.offending


def test_seeded_mutations_never_raise_and_never_admit_foreign_globals(real, tmp_path):
    import random
    import time

    rng = random.Random(8)
    seeds = [state_dict(with_numpy=True), real("facenet/pnet.pt").read_bytes()[:4096],
             ATTACKS["vars_get_import"][0](True)]
    slowest = 0.0
    for _ in range(600):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            op = rng.random()
            if op < 0.5:
                data[at] = rng.randrange(256)
            elif op < 0.75:
                del data[at:at + rng.randint(1, 16)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        began = time.perf_counter()
        v = _verdict(bytes(data))
        slowest = max(slowest, time.perf_counter() - began)
        if v.allowed:
            assert not v.offending and all(_allowed_somehow(g) for g in v.globals), v.globals
    assert slowest < 2.0


def _allowed_somehow(written: str) -> bool:
    parts = written.split(".")
    return any(is_allowed(".".join(parts[:i]), ".".join(parts[i:]), proto)
               for i in range(1, len(parts)) for proto in (2, 4))

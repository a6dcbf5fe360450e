"""Fuzz the safetensors header reader against the reference ``safetensors`` reader (issue 8).

Inputs: the real MiniLM header (its 104 tensor names, dtypes, ranks and metadata) with every
dimension cut to at most 3 so a valid file is ~12 KB, mutated by a seeded mutator — JSON-level
edits of dtypes, shapes, offsets, metadata, nesting and numbers, and byte-level flips, inserts and
truncations — plus the structured attacks of the issue (deep nesting, 5,000-digit integers,
``[2**62] * 200000`` shapes, 1,000,000 zero-size tensors in a 60 MB header, ...).

Asserted on every case: no exception but ours, at most 2 CPU seconds (+50 ms per MB), the reader's peak
RSS < 256 MB, and no file accepted that the reference rejects; files we refuse but the reference accepts must fall in
one of the explained classes below.
"""

from __future__ import annotations

import json
import struct

import pytest
from fuzz_support import compare, judge_both, seeded, write_cases

pytest.importorskip("safetensors")

DTYPES = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
          "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
BITS = dict(zip(DTYPES, [8, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 64, 64, 64, 64], strict=True))
BAD_DTYPES = ["f32", "F128", "", "Q4_0", "FLOAT", 7, None, ["F32"], {"F32": None}, True]
BAD_NUMBERS = ["-1", "1.0", "1e3", "true", "null", '"3"', "18446744073709551616", "9" * 5000, "-0", "[]"]
BOUNDARY = [0, 1, 2, 3, 7, 8, 255, 2**32 - 1, 2**32, 2**62, 2**63 - 1, 2**64 - 1]

#: Our refusals of files the reference accepts, and why (regex over our message).
EXPLAINED = {
    "serde also reads a tensor entry written as a JSON array [dtype, shape, offsets]": r"entry .* is not an object",
    "serde also reads a dtype written as a one-key map {\"F32\": null}": r"unknown dtype 'dict'",
    "our memory caps (>600,000 arrays/objects, >2,000,000 values)": r"arrays and objects|values \(the limit",
}


def _file(header, data_len: int | None = None, length_delta: int = 0) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    need = data_len if data_len is not None else _covered(header)
    return struct.pack("<Q", max(len(raw) + length_delta, 0)) + raw + b"\0" * max(need, 0)


def _covered(header) -> int:
    if not isinstance(header, dict):
        return 0
    ends = [e["data_offsets"][1] for k, e in header.items() if k != "__metadata__" and isinstance(e, dict)
            and isinstance(e.get("data_offsets"), list) and len(e["data_offsets"]) == 2
            and isinstance(e["data_offsets"][1], int)]
    return max(ends, default=0) if max(ends, default=0) < 1 << 20 else 0


def small_header(real_header: dict) -> dict:
    """The real header with every dimension cut to <= 3 and offsets re-tiled (a valid ~12 KB file)."""
    out, offset = {"__metadata__": real_header["__metadata__"]}, 0
    for name, e in sorted(((k, v) for k, v in real_header.items() if k != "__metadata__"),
                          key=lambda kv: kv[1]["data_offsets"]):
        shape = [min(d, 3) for d in e["shape"]]
        n = 1
        for d in shape:
            n *= d
        size = n * BITS[e["dtype"]] // 8
        out[name] = {"dtype": e["dtype"], "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    return out


def _retile(h: dict) -> dict:
    offset = 0
    for k, e in h.items():
        if k == "__metadata__":
            continue
        n = 1
        for d in e["shape"]:
            n *= d
        bits = n * (BITS.get(e["dtype"], 8) if isinstance(e["dtype"], str) else 8)
        e["data_offsets"] = [offset, offset + bits // 8]
        offset += bits // 8
    return h


def mutate_json(rng, base: dict) -> tuple[str, bytes]:
    h = json.loads(json.dumps(base))
    names = [k for k in h if k != "__metadata__"]
    name = rng.choice(names)
    e = h[name]
    kind = rng.randrange(16)
    if kind == 0:
        e["dtype"] = rng.choice(BAD_DTYPES + DTYPES)
        return "dtype", _file(h if rng.random() < 0.5 else _retile(h))
    if kind == 1:
        e["dtype"] = rng.choice(["F4", "F6_E2M3", "F6_E3M2"])
        e["shape"] = [rng.randrange(1, 6) for _ in range(rng.randrange(0, 3))]
        return "subbyte", _file(_retile(h))
    if kind == 2:
        e["shape"] = e["shape"] + [rng.choice(BOUNDARY)] if rng.random() < 0.7 else e["shape"][:-1]
        return "shape", _file(h if rng.random() < 0.5 else _retile(h))
    if kind == 3:
        e["shape"] = [rng.choice(BOUNDARY) for _ in range(rng.randrange(1, 6))]
        return "shape-boundary", _file(h)
    if kind == 4:  # a non-usize dimension or offset, as raw JSON text
        raw = json.dumps(h, separators=(",", ":"))
        target = json.dumps(e["shape"] if rng.random() < 0.5 else e["data_offsets"], separators=(",", ":"))
        bad = "[" + rng.choice(BAD_NUMBERS) + "]" if target.startswith("[") else rng.choice(BAD_NUMBERS)
        return "bad-number", _file(raw.replace(target, bad, 1).encode())
    if kind == 5:
        b, end = e["data_offsets"]
        e["data_offsets"] = rng.choice([[end, b], [b + 1, end], [b, end + 1],
                                        [b - 1 if b else 0, end - 1 if end else 0],
                                        [b], [b, end, end], [b, rng.choice(BOUNDARY)], [rng.choice(BOUNDARY), end]])
        return "offsets", _file(h)
    if kind == 6:  # overlap or gap by copying / removing a tensor
        if rng.random() < 0.5:
            h[name + ".copy"] = dict(e)
        else:
            del h[name]
        return "overlap-gap", _file(h)
    if kind == 7:  # uncovered or missing bytes
        return "coverage", _file(h, data_len=_covered(h) + rng.choice([-8, -1, 1, 7, 4096]))
    if kind == 8:
        meta = rng.choice([{"k": 1}, {"k": None}, {"k": ["a"]}, {"k": {"a": "b"}}, {"k": 1.5}, [], "pt", 7, None,
                           {"format": "pt", "x": "y" * rng.randrange(1, 5000)}, {}])
        h["__metadata__"] = meta
        return "metadata", _file(h)
    if kind == 9:  # nesting in an ignored extra key: serde's limit is 127 levels in all
        depth = rng.choice([1, 50, 124, 125, 126, 127, 200, 1000, 5000])
        raw = json.dumps(h, separators=(",", ":")).replace(f'"{name}":{{',
                                                           f'"{name}":{{"x":' + "[" * depth + "]" * depth + ",", 1)
        return "nesting", _file(raw.encode())
    if kind == 10:  # duplicated keys (serde: a repeated field is an error, a repeated tensor name is not)
        raw = json.dumps(h, separators=(",", ":"))
        dup = rng.choice(['"dtype":"F32",', '"shape":[1],', f'"{names[0]}":{json.dumps(h[names[0]])},',
                          '"__metadata__":{"a":"b"},'])
        at = raw.index(f'"{name}":{{') + len(name) + 4 if "dtype" in dup or "shape" in dup else 1
        return "duplicate", _file((raw[:at] + dup + raw[at:]).encode())
    if kind == 11:  # odd numbers and strings that Python and serde_json read differently
        extra = rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "9" * 310, "9" * 300,
                            '"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', '"\\u0000"', "-0",
                            "123456789012345678901234"])
        raw = json.dumps(h, separators=(",", ":")).replace(f'"{name}":{{', f'"{name}":{{"x":{extra},', 1)
        return "numbers-strings", _file(raw.encode())
    if kind == 12:
        raw = json.dumps(h, separators=(",", ":")).encode()
        raw = rng.choice([b" " + raw, raw + b"   ", raw + b" x", b"\xef\xbb\xbf" + raw, raw + b"\n", b"[" + raw + b"]",
                          raw.replace(b'"', b"'", 1), raw[:-1], raw + b"}"])
        return "framing", _file(raw, data_len=_covered(h))
    if kind == 13:
        return "length-prefix", _file(h, length_delta=rng.choice([-1, 1, -len(json.dumps(h)), 10, 1 << 20]))
    if kind == 14:  # a valid variant: renamed, reordered or with new zero-size tensors
        h[name + "\u00e9\u4e2d"] = h.pop(name)
        h["empty." + str(rng.randrange(1000))] = {"dtype": rng.choice(DTYPES), "shape": [0, rng.randrange(5)],
                                                  "data_offsets": [0, 0]}
        return "valid-variant", _file(_retile(h))
    e["shape"] = [rng.randrange(0, 4) for _ in range(rng.randrange(0, 5))]
    return "reshaped", _file(h if rng.random() < 0.3 else _retile(h))


def mutate_bytes(rng, data: bytes) -> tuple[str, bytes]:
    b = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randrange(1, 9)):
            b[rng.randrange(len(b) if rng.random() < 0.2 else min(len(b), 12000))] = rng.randrange(256)
        return "flip", bytes(b)
    if kind == 1:
        at = rng.randrange(8, min(len(b), 12000))
        return "insert", bytes(b[:at] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5))) + b[at:])
    if kind == 2:
        return "truncate", bytes(b[:rng.randrange(len(b))])
    at = rng.randrange(8, min(len(b), 12000))
    return "delete", bytes(b[:at] + b[at + rng.randrange(1, 5):])


def attacks() -> list[tuple[str, bytes]]:
    """The structured attacks named in issue 8 (each once)."""
    t = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    million = b"{" + b",".join(b'"t%07d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}' % i
                                for i in range(1_000_000)) + b"}"
    return [
        ("deep-1000", _file(b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}")),
        ("deep-unbalanced", _file(b'{"a":' + b"[" * 100_000)),
        ("digits-5000", _file(b'{"a":{"dtype":"F32","shape":[' + b"9" * 5000 + b'],"data_offsets":[0,4]}}', 4)),
        ("shape-2p62x200000", _file({"a": {"dtype": "F32", "shape": [2**62] * 200_000, "data_offsets": [0, 4]}}, 4)),
        ("million-zero-size", _file(million, 0)),
        ("unknown-dtype", _file({"a": {**t, "dtype": "F33"}})),
        ("overlap", _file({"a": t, "b": t})),
        ("gap", _file({"a": {**t, "data_offsets": [4, 8]}}, 8)),
        ("uncovered", _file({"a": t}, 12)),
        ("metadata-int", _file({"__metadata__": {"v": 1}, "a": t})),
        ("header-over-100MB", struct.pack("<Q", 100_000_001) + b"{}"),
        ("header-past-end", struct.pack("<Q", 1 << 40) + b"{}"),
        ("header-2p64-1", struct.pack("<Q", 2**64 - 1) + b"{}"),
        ("tiny", b"\x02\0\0"),
        ("empty-header", _file(b"{}")),
    ]


def test_fuzz_safetensors_against_reference(real, tmp_path):
    src = real("minilm/model.safetensors")
    with open(src, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        real_header = json.loads(f.read(n))
    base = small_header(real_header)
    base_file = _file(base)
    rng = seeded(8)
    cases = [("minilm-small", base_file)] + attacks()
    cases += [mutate_json(rng, base) for _ in range(1300)]
    cases += [mutate_bytes(rng, base_file) for _ in range(800)]
    write_cases(tmp_path / "cases", cases, ".safetensors")
    ours, ref, wall = judge_both("safetensors", tmp_path / "cases")
    stats = compare(ours, ref, EXPLAINED)
    print(f"\nsafetensors fuzz: {stats['cases']} cases ({stats['accepted']} accepted, {stats['rejected']} refused), "
          f"tracebacks {len(stats['tracebacks'])}, hangs {len(stats['hangs'])}, "
          f"max {stats['max_secs']:.2f} CPU s/file, "
          f"peak RSS {ours.peak_rss_mb:.0f} MB, accepted-but-reference-rejects {len(stats['false_accepts'])}, "
          f"refused-but-reference-accepts {stats['reverse']}, wall {wall:.1f} s")
    assert stats["cases"] >= 2000
    assert stats["tracebacks"] == [] and stats["hangs"] == []
    assert ours.peak_rss_mb < 256
    assert stats["false_accepts"] == []
    assert stats["unexplained"] == []
    assert ours.verdicts[min(ours.verdicts)].ok  # the small MiniLM base itself is valid
    assert 100 < stats["accepted"] < stats["cases"] - 500  # the mutator reaches both sides

"""Fuzz the GGUF header reader against the reference ``gguf`` (gguf-py) ``GGUFReader`` (issue 8).

Input: the real llama.cpp ``ggml-vocab-llama-spm.gguf`` — its 22 key/value records copied byte for
byte, the three 32,000-item token arrays cut to their first 8 items (so a case is ~2 KB and
gguf-py reads it in milliseconds) — plus six small tensors of F32, F16, Q8_0, Q4_K, BF16 and I8
(4 dimensions for one) with zero data.  Every u32/u64 field of the file (counts, lengths, value
and item types, dims, ggml types, offsets) is recorded while building it; the seeded mutator sets
them to boundary values, flips and inserts bytes, truncates, and rebuilds the file with
duplicate keys or tensor names, bad alignments, five dimensions, misaligned offsets, missing
tensor tables or data.

Asserted like the safetensors fuzz: no exception but ours, CPU time and peak RSS bounds, no file
accepted that gguf-py rejects; our refusals of files gguf-py accepts fall in explained classes.
"""

from __future__ import annotations

import struct

import pytest
from fuzz_support import compare, judge_both, seeded, write_cases

pytest.importorskip("gguf")

_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
#: (name, ggml type, dims, bytes) of the tensors added to the real key/values.
TENSORS = [("blk.0.attn_q.weight", 0, [4, 2], 32), ("blk.0.ffn_up.weight", 1, [8], 16),
           ("blk.0.attn_k.weight", 8, [32, 2], 68), ("token_embd.weight", 12, [256], 144),
           ("output_norm.weight", 30, [2, 2, 2, 2], 32), ("rope_freqs", 24, [3], 3)]

#: Our refusals of files gguf-py accepts, and why (regex over our message).
EXPLAINED = {
    "gguf-py slices its memmap past EOF and reads nothing: a value cut by the end of the file passes":
        r"key/value section truncated|more than the file can hold",
    "tensor offsets must be multiples of general.alignment (ggml gguf.cpp checks, gguf-py does not)":
        r"not a multiple of the alignment",
    "more than 4 dimensions (GGML_MAX_DIMS; gguf-py takes any)": r"dimensions \(at most 4\)",
    "shape product >= 2^63 (gguf-py's uint64 np.prod wraps around)": r"overflows 64-bit",
    "zero-size tensors placed past the end of the file (gguf-py reads 0 bytes there)": r"runs past the end",
    "an empty array of an unknown item type (gguf-py never looks at the type)": r"unknown array item type",
    "arrays nested more than 4 deep (none in real files)": r"nested too deeply",
}


def real_records(path, keep: int = 8) -> list[bytes]:
    """The key/value records of a real GGUF v3 file, arrays cut to ``keep`` items (test-side walker)."""
    data = path.read_bytes()
    kv_count = struct.unpack_from("<Q", data, 16)[0]
    pos, records = 24, []
    for _ in range(kv_count):
        start = pos
        klen = struct.unpack_from("<Q", data, pos)[0]
        pos += 8 + klen
        vtype = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        if vtype == 9:
            itype, count = struct.unpack_from("<IQ", data, pos)
            head = data[start:pos] + struct.pack("<IQ", itype, min(count, keep))
            pos += 12
            items_at = pos
            for i in range(count):
                if i == keep:
                    cut = pos
                pos = _skip(data, pos, itype)
            records.append(head + data[items_at:cut if count > keep else pos])
        else:
            pos = _skip(data, pos, vtype)
            records.append(data[start:pos])
    return records


def _skip(data: bytes, pos: int, vtype: int) -> int:
    if vtype == 8:
        return pos + 8 + struct.unpack_from("<Q", data, pos)[0]
    return pos + _SIZES[vtype]


def _string(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


def build(records, tensors=TENSORS, *, tensor_count=None, alignment=32, offset_fix=None, version=3):
    """A GGUF file + the positions of its u32/u64 fields ``[(offset, "I"|"Q")]``."""
    fields = [(4, "I"), (8, "Q"), (16, "Q")]
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors) if tensor_count is None else tensor_count,
                                          len(records)))
    for rec in records:
        fields.append((len(out), "Q"))  # key length
        klen = struct.unpack_from("<Q", rec, 0)[0]
        fields.append((len(out) + 8 + klen, "I"))  # value type
        if struct.unpack_from("<I", rec, 8 + klen)[0] == 9:
            fields += [(len(out) + 12 + klen, "I"), (len(out) + 16 + klen, "Q")]
        out += rec
    offset = 0
    for i, (name, t, dims, nbytes) in enumerate(tensors):
        fields.append((len(out), "Q"))
        out += _string(name.encode())
        fields.append((len(out), "I"))
        out += struct.pack("<I", len(dims))
        for d in dims:
            fields.append((len(out), "Q"))
            out += struct.pack("<Q", d)
        fields += [(len(out), "I"), (len(out) + 4, "Q")]
        out += struct.pack("<IQ", t, offset if offset_fix is None else offset_fix(i, offset))
        offset += -(-nbytes // alignment) * alignment
    out += b"\0" * (-len(out) % alignment)
    return bytes(out) + b"\0" * offset, fields


def _kv(key: str, vtype: int, payload: bytes) -> bytes:
    return _string(key.encode()) + struct.pack("<I", vtype) + payload


U32 = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 24, 31, 32, 33, 255, 2**31, 2**32 - 1]
U64 = [0, 1, 2, 31, 32, 33, 4096, 2**32, 2**62, 2**63, 2**64 - 1]


def mutate(rng, records) -> tuple[str, bytes]:
    data, fields = build(records)
    kind = rng.randrange(12)
    if kind <= 3:  # a recorded field set to a boundary or nearby value
        b = bytearray(data)
        for _ in range(rng.randrange(1, 3)):
            at, fmt = rng.choice(fields)
            old = struct.unpack_from("<" + fmt, b, at)[0]
            top = 2**32 if fmt == "I" else 2**64
            value = rng.choice((U32 if fmt == "I" else U64) + [old + 1, max(old - 1, 0), len(data), len(data) + 1])
            struct.pack_into("<" + fmt, b, at, value % top)
        return "field", bytes(b)
    if kind == 4:
        b = bytearray(data)
        for _ in range(rng.randrange(1, 9)):
            b[rng.randrange(min(len(b), 2200))] = rng.randrange(256)
        return "flip", bytes(b)
    if kind == 5:
        return "truncate", data[:rng.randrange(len(data))]
    if kind == 6:
        at = rng.randrange(24, len(data))
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        mutated = data[:at] + junk + data[at:] if rng.random() < 0.5 else data[:at] + data[at + len(junk):]
        return "insert-delete", mutated
    if kind == 7:  # duplicate key or tensor name
        if rng.random() < 0.5:
            return "dup-key", build(records + [rng.choice(records)])[0]
        t = list(TENSORS)
        t[1] = (t[0][0],) + t[1][1:]
        return "dup-tensor", build(records, t)[0]
    if kind == 8:  # general.alignment: valid or not, of the right type or not
        value = rng.choice([1, 2, 3, 8, 16, 64, 0, 48, 2**31])
        vtype = rng.choice([4, 4, 4, 10, 5])
        payload = struct.pack("<" + {4: "I", 10: "Q", 5: "i"}[vtype], value if vtype != 5 else value % 2**31)
        align = value if vtype == 4 and value in (1, 2, 8, 16, 64) else 32  # (2^31 would mean 2 GB of padding)
        return "alignment", build(records + [_kv("general.alignment", vtype, payload)], alignment=align)[0]
    if kind == 9:  # offsets that do not fit: misaligned, overlapping, past the end
        bump = rng.choice([1, 4, 16, 31, -32, 4096, 2**40])
        return "offset", build(records, offset_fix=lambda i, o: max(o + bump, 0) if i == 2 else o)[0]
    if kind == 10:  # dims and types that do not fit
        t = list(TENSORS)
        i = rng.randrange(len(t))
        choice = rng.randrange(4)
        if choice == 0:
            t[i] = t[i][:2] + ([2, 2, 2, 2, 2],) + t[i][3:]
        elif choice == 1:
            t[i] = (t[i][0], rng.choice([4, 5, 31, 33, 36, 38, 42, 255]), t[i][2], t[i][3])
        elif choice == 2:
            t[i] = (t[i][0], 12, [255], 144)  # Q4_K needs a multiple of 256
        else:
            t[i] = t[i][:2] + ([2**33, 2**33, 0],) + t[i][3:]
        return "tensor-shape-type", build(records, t)[0]
    if kind == 11:  # tensor table or data missing
        return rng.choice([("table-missing", build(records, tensor_count=len(TENSORS) + 1)[0][:-256]),
                           ("data-cut", data[:len(data) - rng.randrange(1, 200)]),
                           ("one-tensor-no-table", b"GGUF" + struct.pack("<IQQ", 3, 1, 0)),
                           ("version", data[:4] + struct.pack("<I", rng.choice([0, 1, 2, 4, 2 << 16])) + data[8:])])
    return "valid", data


def test_fuzz_gguf_against_reference(real, tmp_path):
    records = real_records(real("llama_vocab/ggml-vocab-llama-spm.gguf"))
    rng = seeded(8)
    base = build(records)[0]
    cases = [("llama-spm-small", base), ("no-tensors", build(records, [])[0])]
    cases += [mutate(rng, records) for _ in range(2100)]
    write_cases(tmp_path / "cases", cases, ".gguf")
    ours, ref, wall = judge_both("gguf", tmp_path / "cases")
    stats = compare(ours, ref, EXPLAINED)
    print(f"\ngguf fuzz: {stats['cases']} cases ({stats['accepted']} accepted, {stats['rejected']} refused), "
          f"tracebacks {len(stats['tracebacks'])}, hangs {len(stats['hangs'])}, "
          f"max {stats['max_secs']:.2f} CPU s/file, "
          f"peak RSS {ours.peak_rss_mb:.0f} MB, accepted-but-reference-rejects {len(stats['false_accepts'])}, "
          f"refused-but-reference-accepts {stats['reverse']}, reference timeouts {stats['ref_timeouts']}, "
          f"wall {wall:.1f} s")
    assert stats["cases"] >= 2000
    assert stats["tracebacks"] == [] and stats["hangs"] == []
    assert ours.peak_rss_mb < 256
    assert stats["false_accepts"] == []
    assert stats["unexplained"] == [], stats["unexplained"][:10]
    first = ours.verdicts[min(ours.verdicts)]
    assert first.ok and ref.verdicts[first.name].ok  # the small real-derived base is valid for both
    assert 100 < stats["accepted"] < stats["cases"] - 500

"""Content sniffing: real files of every format, plus corrupt, truncated and disguised inputs."""

from __future__ import annotations

import json
import struct

import pytest
from st_writer import write_safetensors

from pumas_core.errors import BadInputError, CorruptFileError, CorruptHeaderError, NotFoundError, UnsupportedFormatError
from pumas_core.ingest.formats import sniff

# ---------------------------------------------------------------- safetensors

def test_minilm_safetensors(real):
    info = sniff(real("minilm/model.safetensors"))
    assert (info.file_format, info.security_tier) == ("safetensors", "safe")
    d = info.details
    assert d["header_size"] == 11408 and d["tensor_count"] == 104 == len(d["tensors"])
    assert d["metadata"] == {"format": "pt"}
    assert d["tensors"]["embeddings.position_ids"] == {"dtype": "I64", "shape": [1, 512]}


def test_silero_safetensors_without_metadata(real):
    d = sniff(real("silero/silero_vad_16k.safetensors")).details
    assert d["header_size"] == 1208 and d["tensor_count"] == 15 and d["metadata"] == {}
    assert {t["dtype"] for t in d["tensors"].values()} == {"F32"}


def test_st_writer_roundtrip(tmp_path):
    p = write_safetensors(tmp_path / "a" / "x.safetensors",
                          {"w": ("F16", [2, 3]), "b": ("BF16", [3]), "s": ("F32", [])}, {"k": 1})
    d = sniff(p).details
    assert d["tensors"] == {"w": {"dtype": "F16", "shape": [2, 3]}, "b": {"dtype": "BF16", "shape": [3]},
                            "s": {"dtype": "F32", "shape": []}}
    assert d["metadata"] == {"k": "1"} and d["data_size"] == 12 + 6 + 4
    assert p.stat().st_size == 8 + d["header_size"] + 22


def _st(tmp_path, header: bytes, data: bytes = b"", length: int | None = None, name="m.safetensors"):
    p = tmp_path / name
    p.write_bytes(struct.pack("<Q", len(header) if length is None else length) + header + data)
    return p


def test_safetensors_truncated_data(tmp_path):
    p = write_safetensors(tmp_path / "t.safetensors", {"w": ("F32", [64])})
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(CorruptFileError, match=r"t\.safetensors.*truncated"):
        sniff(p)


def test_safetensors_header_length_past_end(tmp_path):
    p = _st(tmp_path, b'{"a":1}', length=5000)
    with pytest.raises(CorruptFileError, match="runs past the end"):
        sniff(p)


def test_safetensors_header_over_limit(tmp_path):
    p = _st(tmp_path, b"{}", length=200 * 1024 * 1024)
    with pytest.raises(CorruptFileError, match="limit"):
        sniff(p)


def test_safetensors_truncated_inside_header(tmp_path):
    p = write_safetensors(tmp_path / "h.safetensors", {"w": ("F32", [4])})
    p.write_bytes(p.read_bytes()[:20])
    with pytest.raises(CorruptFileError, match="h.safetensors"):
        sniff(p)


def test_safetensors_invalid_json(tmp_path):
    with pytest.raises(CorruptFileError, match="not valid JSON"):
        sniff(_st(tmp_path, b'{"w": {"dtype": "F32", '))


@pytest.mark.parametrize("entry,reason", [
    ({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, "needs 8 bytes"),
    ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "invalid shape"),
    ({"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}, "invalid data_offsets"),
    ({"shape": [1], "data_offsets": [0, 4]}, "no dtype"),
    ({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "cover 4 bytes but the data section holds 0; truncated"),
])
def test_safetensors_bad_entries(tmp_path, entry, reason):
    data = b"\0" * 8 if "cover" not in reason else b""
    with pytest.raises(CorruptFileError, match=reason):
        sniff(_st(tmp_path, json.dumps({"w": entry}).encode(), data))


def test_text_renamed_safetensors(tmp_path):
    p = tmp_path / "notes.safetensors"
    p.write_text("this is just a text file, not tensors\n")
    with pytest.raises(UnsupportedFormatError, match=r"notes\.safetensors: not a model file \(.*text"):
        sniff(p)


# ---------------------------------------------------------------- GGUF

# (file, GGUF version, KV count, architecture, token count) from ../shared/reference/real-test-data.md §1.3
VOCAB_FACTS = [
    ("aquila", 2, 18, "llama", 100008), ("baichuan", 3, 18, "baichuan", 64000), ("bert-bge", 3, 20, "bert", 30522),
    ("command-r", 3, 27, "command-r", 256000), ("deepseek-coder", 3, 25, "llama", 32256),
    ("deepseek-llm", 3, 23, "llama", 102400), ("falcon", 3, 18, "falcon", 65024), ("gemma-4", 3, 42, "gemma4", 262144),
    ("gpt-2", 3, 16, "gpt2", 50257), ("gpt-neox", 3, 17, "gptneox", 50432), ("llama-bpe", 3, 20, "llama", 128256),
    ("llama-spm", 3, 22, "llama", 32000), ("mpt", 3, 17, "mpt", 50432),
    ("nomic-bert-moe", 3, 37, "nomic-bert-moe", 250048),
    ("phi-3", 3, 26, "phi3", 32064), ("qwen2", 3, 20, "qwen2", 151936), ("qwen35", 3, 20, "qwen2", 151936),
    ("refact", 3, 18, "refact", 49216), ("starcoder", 3, 19, "starcoder2", 49152),
]


@pytest.mark.parametrize("name,version,kv_count,arch,n_tokens", VOCAB_FACTS)
def test_vocab_gguf_facts(real, name, version, kv_count, arch, n_tokens):
    info = sniff(real(f"llama_vocab/ggml-vocab-{name}.gguf"))
    assert (info.file_format, info.security_tier) == ("gguf", "safe")
    d = info.details
    assert (d["version"], d["kv_count"], len(d["kv"]), d["tensor_count"]) == (version, kv_count, kv_count, 0)
    assert d["kv"]["general.architecture"] == arch
    assert d["kv"]["tokenizer.ggml.tokens"] == {"type": "string", "count": n_tokens}
    assert d["tensor_types"] == {} and d["header_end"] == info_size(real, name)


def info_size(real, name):
    return real(f"llama_vocab/ggml-vocab-{name}.gguf").stat().st_size


@pytest.mark.parametrize("name", ["llama-spm"])  # the oracle is slow on big vocabularies
def test_vocab_gguf_matches_gguf_reader(real, name):
    gguf = pytest.importorskip("gguf")
    path = real(f"llama_vocab/ggml-vocab-{name}.gguf")
    d = sniff(path).details
    fields = {k: f for k, f in gguf.GGUFReader(path).fields.items() if not k.startswith("GGUF.")}
    assert list(d["kv"]) == list(fields)
    for key, f in fields.items():
        ours = d["kv"][key]
        if f.types and f.types[0] == gguf.GGUFValueType.ARRAY:
            n = len(f.data)
            assert ours == f.contents() if n <= 16 else ours["count"] == n, key
        elif isinstance(ours, float):
            assert ours == pytest.approx(f.contents()), key
        else:
            assert ours == f.contents(), key


def test_gemma_part00_header(real):
    d = sniff(real("gemma_part1/gemma-3-270m-q4_k_m.gguf.part00")).details
    assert d["version"] == 3 and d["tensor_count"] == 236 and d["kv_count"] == 33
    assert d["kv"]["general.architecture"] == "gemma3" and d["kv"]["general.file_type"] == 15
    assert d["tensor_types"] == {"F32": 109, "Q8_0": 10, "Q5_0": 81, "Q4_K": 27, "Q6_K": 9}
    assert d["header_end"] == 6525112 and 250_000_000 < d["parameter_count"] < 300_000_000


def test_gguf_written_with_all_value_types(tmp_path):
    gguf = pytest.importorskip("gguf")
    np = pytest.importorskip("numpy")
    p = tmp_path / "all.gguf"
    w = gguf.GGUFWriter(str(p), "llama")
    w.add_uint8("t.u8", 7)
    w.add_int8("t.i8", -7)
    w.add_uint16("t.u16", 700)
    w.add_int16("t.i16", -700)
    w.add_uint32("t.u32", 70000)
    w.add_int32("t.i32", -70000)
    w.add_float32("t.f32", 0.5)
    w.add_uint64("t.u64", 1 << 40)
    w.add_int64("t.i64", -(1 << 40))
    w.add_float64("t.f64", 0.25)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo")
    w.add_array("t.small", [1, 2, 3])
    w.add_array("t.big", list(range(100)))
    w.add_array("t.nested", [[1, 2], [3, 4, 5]])
    w.add_tensor("blk.0.w", np.zeros((4, 8), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    d = sniff(p).details
    kv = d["kv"]
    assert (kv["t.u8"], kv["t.i8"], kv["t.u16"], kv["t.i16"]) == (7, -7, 700, -700)
    assert (kv["t.u32"], kv["t.i32"], kv["t.u64"], kv["t.i64"]) == (70000, -70000, 1 << 40, -(1 << 40))
    assert (kv["t.f32"], kv["t.f64"], kv["t.bool"], kv["t.str"]) == (0.5, 0.25, True, "héllo")
    assert kv["t.small"] == [1, 2, 3] and kv["t.big"]["count"] == 100
    assert kv["t.nested"] == {"type": "array", "count": 2}
    assert d["tensor_types"] == {"F16": 1} and d["parameter_count"] == 32


def test_gguf_v1_refused(tmp_path):
    p = tmp_path / "old.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<III", 1, 0, 0) + b"\0" * 16)
    with pytest.raises(UnsupportedFormatError, match="version 1"):
        sniff(p)


def test_gguf_hostile_string_length(tmp_path):
    p = tmp_path / "evil.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 62) + b"x" * 64)
    with pytest.raises(CorruptFileError, match="evil.gguf"):
        sniff(p)


def test_gguf_hostile_array_count(tmp_path):
    key = b"a.b"
    body = struct.pack("<Q", len(key)) + key + struct.pack("<IIQ", 9, 8, 1 << 50)
    p = tmp_path / "arr.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body)
    with pytest.raises(CorruptFileError, match="truncated"):
        sniff(p)


def test_gguf_truncated_kv(real, tmp_path):
    src = real("llama_vocab/ggml-vocab-llama-spm.gguf").read_bytes()
    p = tmp_path / "cut.gguf"
    p.write_bytes(src[:5000])
    with pytest.raises(CorruptFileError, match=r"cut\.gguf: GGUF key/value section truncated"):
        sniff(p)


def test_gguf_truncated_tensor_table(real, tmp_path):
    src = real("gemma_part1/gemma-3-270m-q4_k_m.gguf.part00")
    p = tmp_path / "g.gguf"
    with open(src, "rb") as f:
        p.write_bytes(f.read(6_520_000))
    with pytest.raises(CorruptHeaderError, match=r"g\.gguf: GGUF tensor-info table truncated"):
        sniff(p)  # issue 8: a truncated file is not a model ...
    piece = tmp_path / "g.gguf.part00"
    p.rename(piece)  # ... but the first piece of a byte split only has to hold a whole header
    with pytest.raises(CorruptHeaderError, match="tensor-info table truncated"):
        sniff(piece)
    with open(src, "rb") as f:
        piece.write_bytes(f.read(6_600_000))
    d = sniff(piece).details
    assert d["partial"] is True and d["tensor_types"]["Q4_K"] == 27
    with pytest.raises(CorruptHeaderError, match="runs past the end of the file"):
        sniff(piece, partial=False)


# ---------------------------------------------------------------- pickles

@pytest.mark.parametrize("rel", ["facenet/onet.pt", "facenet/pnet.pt", "lpips/v0.0/alex.pth", "lpips/v0.1/vgg.pth"])
def test_legacy_torch_pickles(real, rel):
    info = sniff(real(rel))
    assert (info.file_format, info.security_tier, info.details["variant"]) == ("pickle", "pickle", "legacy")


def test_torchscript_zip(real):
    info = sniff(real("silero/silero_vad.jit"))
    assert (info.file_format, info.security_tier) == ("torchscript", "pickle")
    assert info.details["archive"] == "VADr_v6_10_25_noths_re"


@pytest.mark.parametrize("name,variant", [
    ("new_pytorch_model.bin", "zip"), ("pytorch_model.bin", "legacy"), ("benign0_v0.pkl", "plain"),
    ("benign0_v3.pkl", "plain"), ("benign0_v4.pkl", "plain"), ("malicious1_v0.pkl", "plain"),
    ("pytorch_magic_bypass.pt", "plain"),
])
def test_pickle_samples(pickles, name, variant):
    info = sniff(pickles(name))
    assert (info.file_format, info.security_tier, info.details["variant"]) == ("pickle", "pickle", variant)


@pytest.mark.parametrize("name,reason", [
    ("bad_pytorch.pt", "PNG image"), ("not_a_pickle.bin", "unknown content"), ("malicious1.7z", "7-Zip"),
    ("benign_password_protected.zip", "zip archive without a PyTorch data.pkl"),
])
def test_non_models_refused(pickles, name, reason):
    with pytest.raises(UnsupportedFormatError, match=f"{name}: not a model file.*{reason}"):
        sniff(pickles(name))


def test_truncated_zip_is_corrupt(real, tmp_path):
    p = tmp_path / "cut.jit"
    p.write_bytes(real("silero/silero_vad.jit").read_bytes()[:100_000])
    with pytest.raises(CorruptFileError, match=r"cut\.jit: damaged zip"):
        sniff(p)


# ---------------------------------------------------------------- ONNX

@pytest.mark.parametrize("name,ir,producer,opset", [
    ("silero_vad.onnx", 8, "spox", 16), ("silero_vad_16k_op15.onnx", 8, "pytorch", 15),
    ("silero_vad_16k_sequence.onnx", 8, "pytorch", 16), ("silero_vad_half.onnx", 8, "pytorch", 16),
    ("silero_vad_op18_ifless.onnx", 10, "pytorch", 18), ("silero_vad_openvino_16k.onnx", 8, "spox", 16),
])
def test_onnx(real, name, ir, producer, opset):
    info = sniff(real(f"silero/{name}"))
    assert (info.file_format, info.security_tier) == ("onnx", "safe")
    d = info.details
    assert (d["ir_version"], d["producer_name"], d["opset"]["ai.onnx"]) == (ir, producer, opset)


def test_onnx_truncated(real, tmp_path):
    p = tmp_path / "cut.onnx"
    p.write_bytes(real("silero/silero_vad_16k_op15.onnx").read_bytes()[:50_000])
    with pytest.raises(CorruptFileError, match=r"cut\.onnx: ONNX model truncated"):
        sniff(p)


def test_onnx_lookalike_refused(tmp_path):
    p = tmp_path / "x.onnx"
    p.write_bytes(b"\x08\x05" + b"\xff" * 40)
    with pytest.raises(UnsupportedFormatError, match="not a model file"):
        sniff(p)


# ---------------------------------------------------------------- generic

def test_missing_dir_empty(tmp_path):
    with pytest.raises(NotFoundError, match="no such file"):
        sniff(tmp_path / "missing.safetensors")
    with pytest.raises(BadInputError, match="is a directory"):
        sniff(tmp_path)
    (tmp_path / "empty.ckpt").write_bytes(b"")
    with pytest.raises(UnsupportedFormatError, match=r"empty\.ckpt: not a model file \(empty file\)"):
        sniff(tmp_path / "empty.ckpt")


def test_big_sparse_junk_is_refused_without_reading_it(tmp_path):
    p = tmp_path / "big.safetensors"
    with open(p, "wb") as f:
        f.write(b"junk!!!!")
        f.truncate(8 << 30)  # 8 GiB sparse file: a whole-file read would take far too long
    with pytest.raises(UnsupportedFormatError, match="big.safetensors"):
        sniff(p)

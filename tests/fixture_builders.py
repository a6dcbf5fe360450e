"""Builders of real multi-file model fixtures: a Sharded Set, a split GGUF and a Diffusion Folder.

No registry ships these layouts (see ``../shared/reference/real-test-data.md`` §1.5–1.6), so they are
produced here from real model bytes with the upstream tools that produce them in the wild:

* :func:`build_sharded_set` — the real MiniLM ``model.safetensors`` split by huggingface_hub's
  ``split_state_dict_into_shards_factory`` into ``model-0000k-of-0000N.safetensors`` plus
  ``model.safetensors.index.json``; every shard carries the original tensors' real bytes.
* :func:`build_split_gguf` — real tensor bytes of the gemma-3-270m Q4_K_M GGUF (part 1 of 4: only data
  wholly inside it — ``output_norm.weight`` and rows of ``token_embd.weight``) re-written by the ``gguf``
  package's ``GGUFWriter(split_max_tensors=…)``
  into llama.cpp's ``<stem>-0000k-of-0000N.gguf`` split set (with ``split.no``/``split.count`` KVs).
* :func:`build_diffusion_folder` — an **arranged fixture**: the real SD1.5 ``model_index.json`` text
  plus component folders whose weight files are real safetensors (MiniLM, silero); the component
  ``config.json`` files are short stand-ins written here.

Session-scoped pytest fixtures (import them into a test module to use them):
``minilm_sharded_set``, ``split_gguf_set``, ``diffusion_folder`` — each returns the folder of a build
cached for the session; tests that delete or add files must work on :func:`clone_tree` copies
(hard links, so cloning 90 MB costs nothing).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import real_file

#: The ``model_index.json`` of ``runwayml/stable-diffusion-v1-5`` as quoted in diffusers'
#: documentation, ``docs/source/en/using-diffusers/loading.md`` (section "DiffusionPipeline explained",
#: huggingface/diffusers commit 0af44613d85ef26744204d6be2294c4e401496ef), Apache-2.0.
SD15_MODEL_INDEX = """{
  "_class_name": "StableDiffusionPipeline",
  "_diffusers_version": "0.6.0",
  "feature_extractor": [
    "transformers",
    "CLIPImageProcessor"
  ],
  "safety_checker": [
    "stable_diffusion",
    "StableDiffusionSafetyChecker"
  ],
  "scheduler": [
    "diffusers",
    "PNDMScheduler"
  ],
  "text_encoder": [
    "transformers",
    "CLIPTextModel"
  ],
  "tokenizer": [
    "transformers",
    "CLIPTokenizer"
  ],
  "unet": [
    "diffusers",
    "UNet2DConditionModel"
  ],
  "vae": [
    "diffusers",
    "AutoencoderKL"
  ]
}
"""


@dataclass
class ShardedSetFixture:
    """A built Sharded Set: ``folder`` holds ``shards`` (names, in order) and ``index`` (a name)."""

    folder: Path
    shards: list[str]
    index: str | None
    weight_map: dict[str, str]


# ---- helpers ---------------------------------------------------------------------------------------

def link_or_copy(src: Path, dst: Path) -> Path:
    """Hard-link ``src`` to ``dst`` (copy when linking is impossible, e.g. across file systems)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
    return dst


def clone_tree(src: Path, dst: Path, link_over: int = 1 << 20) -> Path:
    """Recreate the tree ``src`` at ``dst``; return ``dst``.

    Files larger than ``link_over`` bytes are hard-linked (cheap; never write into them — delete or
    replace them instead), smaller ones (configs, index JSON) are copied so tests may edit them in place.
    """
    for dirpath, _dirs, files in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for f in files:
            s = Path(dirpath) / f
            if s.stat().st_size > link_over:
                link_or_copy(s, dst / rel / f)
            else:
                shutil.copyfile(s, dst / rel / f)
    return dst


def _copy_range(fin, fout, start: int, length: int) -> None:
    fin.seek(start)
    while length > 0:
        chunk = fin.read(min(length, 8 << 20))
        if not chunk:
            raise EOFError("source ended early")
        fout.write(chunk)
        length -= len(chunk)


def read_safetensors_header(path: Path) -> tuple[int, dict]:
    """Return ``(data_start, header)`` of a safetensors file (header = the parsed JSON)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return 8 + n, json.loads(f.read(n))


# ---- (1) Sharded Set -------------------------------------------------------------------------------

def build_sharded_set(dest: Path, source: Path | None = None, max_shard_size: int = 20_000_000,
                      filename_pattern: str = "model{suffix}.safetensors") -> ShardedSetFixture:
    """Split a real safetensors file into an HF-style Sharded Set under ``dest``.

    The split plan comes from ``huggingface_hub.split_state_dict_into_shards_factory`` (tensor sizes =
    their byte length in the source header); each shard is a valid safetensors file whose tensor data
    are the source's bytes (copied by offset range), with ``__metadata__`` ``{"format": "pt"}``.
    ``source`` defaults to the real MiniLM ``model.safetensors`` (90,868,376 B → 4 shards at 20 MB).
    """
    from huggingface_hub import split_state_dict_into_shards_factory

    source = source or real_file("minilm/model.safetensors")
    data_start, header = read_safetensors_header(source)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    split = split_state_dict_into_shards_factory(
        tensors, get_storage_size=lambda t: t["data_offsets"][1] - t["data_offsets"][0],
        filename_pattern=filename_pattern, max_shard_size=max_shard_size,
    )
    dest.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as fin:
        for fname, names in split.filename_to_tensors.items():
            out_header: dict = {"__metadata__": {"format": "pt"}}
            offset = 0
            for name in names:
                t = tensors[name]
                size = t["data_offsets"][1] - t["data_offsets"][0]
                out_header[name] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [offset, offset + size]}
                offset += size
            raw = json.dumps(out_header, separators=(",", ":")).encode()
            raw += b" " * (-len(raw) % 8)
            with open(dest / fname, "wb") as fout:
                fout.write(struct.pack("<Q", len(raw)) + raw)
                for name in names:
                    b, e = tensors[name]["data_offsets"]
                    _copy_range(fin, fout, data_start + b, e - b)
    index = None
    if split.is_sharded:
        index = filename_pattern.format(suffix="") + ".index.json"
        doc = {"metadata": {**split.metadata, "total_size": sum(
            t["data_offsets"][1] - t["data_offsets"][0] for t in tensors.values())},
            "weight_map": split.tensor_to_filename}
        (dest / index).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return ShardedSetFixture(dest, list(split.filename_to_tensors), index, dict(split.tensor_to_filename))


# ---- (2) split GGUF --------------------------------------------------------------------------------

_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def read_gguf_header(path: Path, limit: int = 16 << 20) -> dict:
    """Parse a GGUF v2/v3 header from its first ``limit`` bytes (works on a truncated file).

    Returns ``{"version", "kv": [(key, type, value or None for arrays)], "tensors": [(name, dims,
    type, offset)], "data_start"}``.  Format: ggml ``docs/gguf.md``.
    """
    with open(path, "rb") as f:
        buf = memoryview(f.read(limit))
    pos = 0

    def take(fmt: str):
        nonlocal pos
        vals = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return vals[0]

    def string() -> str:
        nonlocal pos
        n = take("<Q")
        s = bytes(buf[pos:pos + n]).decode("utf-8", "replace")
        pos += n
        return s

    def skip_value(vtype: int) -> None:
        nonlocal pos
        if vtype == 8:
            n = take("<Q")
            pos += n
        elif vtype == 9:
            sub, count = take("<I"), take("<Q")
            if sub in _GGUF_SCALARS:
                pos += struct.calcsize(_GGUF_SCALARS[sub]) * count
            else:
                for _ in range(count):
                    skip_value(sub)
        else:
            pos += struct.calcsize(_GGUF_SCALARS[vtype])

    assert bytes(buf[:4]) == b"GGUF", f"{path}: not a GGUF file"
    pos = 4
    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    kv = []
    for _ in range(n_kv):
        key, vtype = string(), take("<I")
        if vtype == 8:
            kv.append((key, vtype, string()))
        elif vtype in _GGUF_SCALARS:
            kv.append((key, vtype, take(_GGUF_SCALARS[vtype])))
        else:
            skip_value(vtype)
            kv.append((key, vtype, None))
    tensors = []
    for _ in range(n_tensors):
        name, nd = string(), take("<I")
        dims = [take("<Q") for _ in range(nd)]
        tensors.append((name, dims, take("<I"), take("<Q")))
    align = next((v for k, _t, v in kv if k == "general.alignment"), 32)
    return {"version": version, "kv": kv, "tensors": tensors, "data_start": pos + (-pos % align)}


def build_split_gguf(dest: Path, source: Path | None = None, rows: int = 512, slices: int = 2,
                     per_shard: int = 1, stem: str = "gemma-3-270m-q4_k_m") -> list[Path]:
    """Write a llama.cpp split GGUF set of real gemma tensor bytes; return the shard paths in order.

    Part 1 of the real gemma-3-270m Q4_K_M GGUF (default ``source``) holds only one whole tensor
    (``output_norm.weight``, F32) and the first 57 MB of ``token_embd.weight`` (Q8_0, 680 bytes per row of
    640), so the set is: ``output_norm.weight`` whole, ``token_embd.weight`` cut to its first ``rows`` rows,
    and ``slices - 1`` further blocks of ``rows`` real embedding rows named ``token_embd.rows<a>_<b>.weight``
    (labelled: they are not tensors of the real model).  Every scalar KV of the source is copied;
    ``gguf.GGUFWriter(split_max_tensors=per_shard)`` writes ``<stem>-0000k-of-0000N.gguf`` (3 shards by default).
    """
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType, GGUFWriter

    source = source or real_file("gemma_part1/gemma-3-270m-q4_k_m.gguf.part00")
    head = read_gguf_header(source)
    size = source.stat().st_size
    arch = next(v for k, _t, v in head["kv"] if k == "general.architecture")
    info = {t[0]: t for t in head["tensors"]}
    plan = []  # (name, dims, type, absolute start, nbytes)
    for tname in ("output_norm.weight", "token_embd.weight"):
        _n, dims, ttype, off = info[tname]
        block, tsize = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
        row_bytes = dims[0] // block * tsize
        if tname == "output_norm.weight":
            plan.append((tname, dims, ttype, head["data_start"] + off, row_bytes * int(np.prod(dims[1:]))))
            continue
        for i in range(slices):
            name = tname if i == 0 else f"token_embd.rows{i * rows}_{(i + 1) * rows - 1}.weight"
            plan.append((name, [dims[0], rows], ttype, head["data_start"] + off + i * rows * row_bytes,
                         rows * row_bytes))
    if any(start + n > size for *_x, start, n in plan):
        raise ValueError(f"{source}: requested rows are not wholly inside the file")
    dest.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(dest / f"{stem}.gguf", arch, split_max_tensors=per_shard)
    for key, vtype, value in head["kv"]:
        if value is not None and key != "general.architecture" and not key.startswith("split."):
            writer.add_key_value(key, value, GGUFValueType(vtype))
    with open(source, "rb") as f:
        for name, dims, ttype, start, nbytes in plan:
            block, tsize = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
            f.seek(start)
            raw = np.frombuffer(f.read(nbytes), dtype=np.uint8)
            byte_shape = [*reversed(dims[1:]), dims[0] // block * tsize]
            writer.add_tensor(name, raw.reshape(byte_shape), raw_dtype=GGMLQuantizationType(ttype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return sorted(dest.glob(f"{stem}-*-of-*.gguf"))


# ---- (3) Diffusion Folder --------------------------------------------------------------------------

_COMPONENT_CONFIGS = {  # arranged stand-ins; only the class names are real diffusers/transformers classes
    "unet/config.json": {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0"},
    "vae/config.json": {"_class_name": "AutoencoderKL", "_diffusers_version": "0.6.0"},
    "text_encoder/config.json": {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model"},
    "safety_checker/config.json": {"architectures": ["StableDiffusionSafetyChecker"]},
    "scheduler/scheduler_config.json": {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0"},
    "feature_extractor/preprocessor_config.json": {"feature_extractor_type": "CLIPFeatureExtractor"},
}


def build_diffusion_folder(dest: Path) -> Path:
    """Arrange an SD1.5-shaped diffusers folder at ``dest`` (an **arranged fixture**, see module doc).

    Weights (real files, hard-linked when possible): ``text_encoder/model.safetensors`` = MiniLM,
    ``unet/diffusion_pytorch_model.safetensors``, ``vae/diffusion_pytorch_model.safetensors`` and
    ``safety_checker/model.safetensors`` = silero ``silero_vad_16k.safetensors``; tokenizer files are
    MiniLM's ``vocab.txt``/``tokenizer_config.json``/``special_tokens_map.json``.  Returns ``dest``.
    """
    minilm = real_file("minilm/model.safetensors")
    silero = real_file("silero/silero_vad_16k.safetensors")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "model_index.json").write_text(SD15_MODEL_INDEX)
    for rel, cfg in _COMPONENT_CONFIGS.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(json.dumps(cfg, indent=2) + "\n")
    link_or_copy(minilm, dest / "text_encoder" / "model.safetensors")
    for rel in ("unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                "safety_checker/model.safetensors"):
        link_or_copy(silero, dest / rel)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        link_or_copy(minilm.parent / name, dest / "tokenizer" / name)
    return dest


# ---- session fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def minilm_sharded_set(tmp_path_factory) -> ShardedSetFixture:
    """MiniLM split into 4 HF-style shards + index (read-only: clone before changing it)."""
    return build_sharded_set(tmp_path_factory.mktemp("sharded") / "all-MiniLM-L6-v2-sharded")


@pytest.fixture(scope="session")
def split_gguf_set(tmp_path_factory) -> list[Path]:
    """A 3-shard llama.cpp split GGUF of real gemma tensors (read-only: clone before changing it)."""
    return build_split_gguf(tmp_path_factory.mktemp("split-gguf") / "gemma-split")


@pytest.fixture(scope="session")
def diffusion_folder(tmp_path_factory) -> Path:
    """The arranged SD1.5-shaped diffusers folder (read-only: clone before changing it)."""
    return build_diffusion_folder(tmp_path_factory.mktemp("diffusers") / "stable-diffusion-v1-5")

"""GGUF probe: ``general.architecture`` => model type and family; ``general.file_type`` => quant name.

Facts: llama.cpp ``gguf-py/gguf/constants.py`` (``LlamaFileType``, ``general.*`` keys) and the
architecture names used by ComfyUI-GGUF for image models (``flux``, ``sd1``, ``sdxl``, ``sd3``,
``aura``, ``ltxv``, ``hyvid``, ``wan``, ``hidream``, ``cosmos``, ``lumina2``...).
"""

from __future__ import annotations

from typing import Any

from ..vocab import ModelType
from .result import Draft

FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
              11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
              17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
              23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M",
              30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE"}
_PLAIN = {"F32": "fp32", "F16": "fp16", "BF16": "bf16"}
IMAGE_ARCHS = {"flux": ("Flux", "flux"), "sd1": ("SD1.x", "sd15"), "sdxl": ("SDXL", "sdxl"), "sd3": ("SD3", "sd3"),
               "aura": ("other", "auraflow"), "ltxv": ("other", "ltxv"), "hyvid": ("other", "hunyuan_video"),
               "wan": ("other", "wan"), "hidream": ("other", "hidream"), "cosmos": ("other", "cosmos"),
               "lumina2": ("other", "lumina2"), "chroma": ("other", "chroma"), "qwen_image": ("other", "qwen_image")}
ENCODER_ARCHS = {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "t5encoder", "t5", "modern-bert",
                 "neo-bert", "roberta", "xlm-roberta"}


def probe_gguf(details: dict[str, Any], d: Draft) -> None:
    """Type, family, precision, size and parameter count of a GGUF from its parsed header ``details``."""
    kv = details.get("kv") or {}
    arch = kv.get("general.architecture")
    if not isinstance(arch, str):
        d.note("GGUF without general.architecture")
        return
    arch_l = arch.lower()
    if arch_l in IMAGE_ARCHS:
        base, family = IMAGE_ARCHS[arch_l]
        d.claim(ModelType.DIFFUSION_MODEL, f"GGUF general.architecture {arch!r} => image diffusion_model", base=base,
                family=family, architecture=arch)
    elif arch_l in ENCODER_ARCHS:
        d.claim(ModelType.TEXT_ENCODER, f"GGUF general.architecture {arch!r} => text/embedding encoder", base="other",
                family=arch_l, architecture=arch)
    elif arch_l == "clip":
        d.claim(ModelType.CLIP_VISION, "GGUF general.architecture 'clip' => vision projector (mmproj)", base="other",
                family="clip", architecture=arch)
    else:
        d.claim(ModelType.LLM, f"GGUF general.architecture {arch!r} => llm", base="other", family=arch_l,
                architecture=arch)
    ft = kv.get("general.file_type")
    if isinstance(ft, int) and ft in FILE_TYPES:
        name = FILE_TYPES[ft]
        d.set(f"general.file_type {ft} => {name}", precision=_PLAIN.get(name, name))
    types: dict[str, int] = details.get("tensor_types") or {}
    if d.precision is None and types:
        quant = {k: v for k, v in types.items() if k != "F32"} or types
        top = max(quant, key=lambda k: quant[k])
        d.set(f"most tensors are {top}", precision=_PLAIN.get(top, top))
    label = kv.get("general.size_label")
    if isinstance(label, str):
        d.set(f"general.size_label {label!r}", variant=label)
    params = details.get("parameter_count")
    if details.get("tensor_count") and params:
        d.set(f"{details['tensor_count']} tensors, {params:,} weights", parameter_count=params)
    elif details.get("tensor_count") == 0:
        d.note("GGUF holds no tensors (vocabulary-only file)")
    if kv.get("general.name"):
        d.note(f"general.name {kv['general.name']!r}")

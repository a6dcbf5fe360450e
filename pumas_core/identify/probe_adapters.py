"""Probes for small add-on models: LoRA/LyCORIS, ControlNet/T2I-Adapter, textual-inversion embeddings.

Name conventions (kohya-ss ``sd-scripts`` ``networks/lora.py``; diffusers/PEFT; LyCORIS; A1111
textual inversion): kohya ``lora_unet_*``/``lora_te_*``/``lora_te1_*``/``lora_te2_*`` with
``.lora_down/.lora_up/.alpha``; PEFT ``*.lora_A.weight``/``*.lora_B.weight``; LyCORIS
``hada_w1_a``/``lokr_w1``; ControlNet ``control_model.*``, ``input_hint_block``,
``controlnet_cond_embedding``/``controlnet_down_blocks``/``controlnet_blocks``; T2I-Adapter
``adapter.body``/``body.N.resnets``; embeddings ``emb_params`` (SD1/SD2), ``clip_l``+``clip_g``
(SDXL), ``string_to_param`` (.pt).
"""

from __future__ import annotations

import re

from ..vocab import ModelType
from .facts import CONTEXT_BASE, Facts, context_dim
from .result import Draft

_LORA_SUFFIXES = (".lora_down.weight", ".lora_up.weight", ".lora_A.weight", ".lora_B.weight",
                  ".hada_w1_a", ".hada_w2_b", ".lokr_w1", ".lokr_w2", ".lora_mid.weight", ".oft_blocks")
_KOHYA = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_", "lora_te3_", "lora_transformer_")


def probe_lora(facts: Facts, d: Draft) -> None:
    """LoRA-style names => lora; the base comes from the targeted blocks or the attention widths."""
    if d.model_type:
        return
    marker = next((n for n in facts.names if n.startswith(_KOHYA) or n.endswith(_LORA_SUFFIXES)), None)
    if marker is None:
        return
    base, why = _lora_base(facts)
    lycoris = facts.contains(".hada_") or facts.contains(".lokr_")
    d.claim(ModelType.LORA, f"tensor {marker!r} => lora" + (f"; {why}" if why else ""), base=base,
            architecture="lycoris" if lycoris else "lora")  # not-vocab: architecture name, not the model type


def _lora_base(f: Facts) -> tuple[str | None, str | None]:
    if f.contains("double_blocks") or f.contains("single_blocks") or f.contains("single_transformer_blocks"):
        return "Flux", "targets Flux double/single blocks"
    if f.contains("joint_blocks"):
        return "SD3", "targets SD3 joint blocks"
    if f.has("base_model.model.model.layers.") or f.contains("self_attn.q_proj"):
        return "other", "targets LLM attention layers"
    dim = context_dim(f)
    if dim in CONTEXT_BASE:
        return CONTEXT_BASE[dim], f"cross-attention width {dim} => {CONTEXT_BASE[dim]}"
    if f.has("lora_te2_") or f.has("lora_te1_") or f.has("lora_unet_input_blocks_"):
        return "SDXL", "kohya SDXL naming (lora_te1/lora_te2, input_blocks)"
    layers = [int(m.group(1)) for n in f.names if (m := re.search(r"lora_te_text_model_encoder_layers_(\d+)_", n))]
    if layers and max(layers) >= 12:
        return "SD2.x", f"text-encoder layer {max(layers)} (OpenCLIP-H, SD2.x)"
    if f.has("lora_unet_down_blocks_") or f.has("lora_te_"):
        return "SD1.x", "kohya SD1 naming (down_blocks, single text encoder)"
    return None, None


def probe_controlnet(facts: Facts, d: Draft) -> None:
    """ControlNet / T2I-Adapter layouts => controlnet."""
    if d.model_type:
        return
    f = facts.under("control_model.") if facts.has("control_model.") else facts
    marker = next((m for m in ("control_model.", "input_hint_block.", "controlnet_cond_embedding.",
                               "controlnet_down_blocks.", "controlnet_blocks.", "controlnet_x_embedder.",
                               "adapter.body.") if facts.has(m)), None)
    if marker is None and f.has("body.0.resnets.") and f.has("conv_in."):
        marker = "body.N.resnets (T2I-Adapter)"
    if marker is None:
        return
    base: str | None
    why: str | None
    if f.has("double_blocks.") or f.has("single_transformer_blocks.") or f.has("controlnet_single_blocks."):
        base, why = "Flux", "Flux blocks"
    elif f.has("joint_blocks.") or (f.has("transformer_blocks.") and f.has("pos_embed.")):
        base, why = "SD3", "SD3 transformer blocks"
    elif f.has("label_emb.") or f.has("add_embedding."):
        base, why = "SDXL", "SDXL label embedding"
    else:
        dim = context_dim(f)
        base = CONTEXT_BASE.get(dim or 0)
        why = f"cross-attention width {dim}" if base else None
    d.claim(ModelType.CONTROLNET, f"'{marker.rstrip('.')}' => controlnet" + (f"; {why} => {base}" if why else ""),
            base=base, architecture="t2i-adapter" if "adapter" in marker or "T2I" in marker else "controlnet")


def probe_embedding(facts: Facts, d: Draft) -> None:
    """Textual-inversion embeddings (a handful of tensors named emb_params / clip_l+clip_g / string_to_param)."""
    if d.model_type or len(facts.tensors) > 4:
        return
    if facts.has("emb_params"):
        shape = facts.shape("emb_params") or []
        width = shape[-1] if shape else None
        base = {768: "SD1.x", 1024: "SD2.x"}.get(width or 0)
        d.claim(ModelType.EMBEDDING, f"tensor 'emb_params' width {width} => textual-inversion embedding", base=base,
                variant=f"{shape[0]} vectors" if len(shape) == 2 else None)
    elif "clip_l" in facts.tensors and "clip_g" in facts.tensors:
        d.claim(ModelType.EMBEDDING, "tensors 'clip_l' + 'clip_g' => SDXL textual-inversion embedding", base="SDXL")
    elif facts.has("string_to_param"):
        d.claim(ModelType.EMBEDDING, "'string_to_param' => textual-inversion embedding")

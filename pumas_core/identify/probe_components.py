"""Probes for pipeline components and stand-alone networks: VAE, text encoders, CLIP vision,
upscalers, language models and a few ComfyUI extras (style, GLIGEN, PhotoMaker).

Layouts (facts from the public weights and ComfyUI's loaders): VAE ``encoder.conv_in`` +
``decoder.conv_in`` (+ ``quant_conv``; latent channels = ``decoder.conv_in.weight`` dim 1: 4 for
SD1/SDXL, 16 for SD3/Flux); HF CLIP ``text_model.encoder.layers`` / ``vision_model.encoder.layers``;
OpenCLIP ``transformer.resblocks``/``visual.``; T5 ``encoder.block.N.layer``; BERT
``encoder.layer.N.attention.self``; decoder LLMs ``model.layers.N.self_attn.q_proj``; ESRGAN
``conv_first`` + ``RRDB_trunk``/``body.N.rdb1`` or ``model.0`` + ``model.1.sub``; SwinIR/HAT
``layers.N.residual_group``.
"""

from __future__ import annotations

from ..vocab import ModelType
from .facts import Facts
from .result import Draft

_CLIP_WIDTH = {768: "clip_l", 1024: "clip_h", 1280: "clip_g"}
_VISION_WIDTH = {768: "clip_vit_b", 1024: "clip_vit_l", 1280: "clip_vit_h", 1664: "clip_vit_g"}


def probe_vae(facts: Facts, d: Draft) -> None:
    """Encoder + decoder convolutions => vae; latent channels tell SD-style (4) from SD3/Flux (16)."""
    if d.model_type:
        return
    f = facts.unwrap(("first_stage_model.", "vae."))
    if not (f.has("encoder.") and f.has("decoder.")):
        return
    shape = f.shape("decoder.conv_in.weight")
    if shape is None and not f.has("decoder.up_blocks."):
        return
    z = shape[1] if shape and len(shape) >= 2 else None
    if shape and len(shape) == 5:
        d.claim(ModelType.VAE, f"3D encoder/decoder convolutions, {z} latent channels => video VAE",
                family="video_vae", base="other", architecture="vae-3d")
        return
    family = {4: "sd", 16: "flux"}.get(z or 0, "unknown")
    why = f"'encoder.*' + 'decoder.*' with {z} latent channels => vae" + \
        (" (SD1.x/SDXL style)" if z == 4 else " (SD3/Flux style)" if z == 16 else "")
    d.claim(ModelType.VAE, why, family=family, architecture="autoencoder-kl")


def probe_text_encoders(facts: Facts, d: Draft) -> None:
    """CLIP text / vision towers, T5, BERT-style encoders."""
    if d.model_type:
        return
    f = facts.under("transformer.") if facts.all_start("transformer.") else facts
    if f.has("vision_model.encoder.layers.") or (f.has("visual.transformer.") and f.has("visual.proj")):
        width = f.dim("vision_model.post_layernorm.weight", 0) if f.shape("vision_model.post_layernorm.weight") \
            else f.dim("visual.ln_post.weight", 0)
        family = "siglip" if f.has("vision_model.head.") else _VISION_WIDTH.get(width or 0, "clip_vision")
        d.claim(ModelType.CLIP_VISION, f"vision tower 'vision_model.encoder.layers' width {width} => clip_vision",
                family=family, architecture="clip-vision")
    elif f.has("text_model.encoder.layers."):
        width = f.dim("text_model.final_layer_norm.weight", 0)
        family = _CLIP_WIDTH.get(width or 0, "clip")
        d.claim(ModelType.TEXT_ENCODER,
                f"'text_model.encoder.layers' (CLIP text) width {width} => text_encoder {family}",
                family=family, architecture="clip-text")
    elif f.has("encoder.block.0.layer.0.SelfAttention."):
        umt5 = f.has("encoder.block.1.layer.0.SelfAttention.relative_attention_bias")
        width = f.dim("encoder.block.0.layer.0.SelfAttention.q.weight", -1)
        size = {4096: "xxl", 2048: "xl", 1024: "large", 768: "base", 512: "small"}.get(width or 0)
        family = "umt5" if umt5 else "t5"
        d.claim(ModelType.TEXT_ENCODER,
                f"'encoder.block.N.layer' T5 encoder width {width} => text_encoder {family}",
                family=family, variant=size, architecture=family)
    elif f.contains("encoder.layer.0.attention.self.query.") and f.contains("embeddings.word_embeddings."):
        hidden = f.dim(f.first(part="embeddings.word_embeddings."), -1)
        d.claim(ModelType.TEXT_ENCODER,
                f"BERT layout 'encoder.layer.N.attention.self' hidden {hidden} => text_encoder",
                family="bert", base="other", architecture="bert")
    elif f.has("transformer.resblocks.") and f.has("token_embedding.") and not f.has("visual."):
        width = f.dim("token_embedding.weight", -1)
        family = _CLIP_WIDTH.get(width or 0, "clip")
        d.claim(ModelType.TEXT_ENCODER, f"OpenCLIP text transformer width {width} => text_encoder {family}",
                family=family, architecture="openclip-text")


def probe_llm(facts: Facts, d: Draft) -> None:
    """Decoder-only transformer weights (HF naming) => llm."""
    if d.model_type:
        return
    f = facts
    for p in ("model.language_model.", "language_model.model.", "model."):
        if facts.has(p + "layers.0."):
            f = facts.under(p)
            break
    if not (f.has("layers.0.self_attn.q_proj.") or f.has("layers.0.attention.wq.")):
        return
    if f.has("layers.0.pre_feedforward_layernorm."):
        family = "gemma"
    elif f.has("layers.0.self_attn.q_norm."):
        family = "qwen3"
    elif f.has("layers.0.self_attn.q_proj.bias"):
        family = "qwen2"
    else:
        family = "llama"
    d.claim(ModelType.LLM, f"decoder layers 'layers.N.self_attn.q_proj' => llm ({family}-like)", family=family,
            base="other", architecture=family)


def probe_upscaler(facts: Facts, d: Draft) -> None:
    """Super-resolution networks (ESRGAN, Real-ESRGAN, SwinIR/HAT, compact) => upscale_model."""
    if d.model_type:
        return
    f = facts.under("params_ema.") if facts.all_start("params_ema.") else facts
    family = None
    if f.has("conv_first.") and (f.has("RRDB_trunk.") or f.has("body.0.rdb1.")):
        family, why = "esrgan", "'conv_first' + RRDB trunk (ESRGAN)"
    elif f.has("model.0.weight") and f.has("model.1.sub."):
        family, why = "esrgan", "'model.0' + 'model.1.sub' (old ESRGAN)"
    elif f.has("conv_first.") and f.has("layers.0.residual_group."):
        family = "hat" if f.contains("conv_block") else "swinir"
        why = f"'conv_first' + 'residual_group' ({family.upper()})"
    elif f.all_start("body.") and f.has("body.0.weight") and len(f.tensors) >= 6:
        family, why = "compact", "only 'body.N' convolutions (Real-ESRGAN compact)"
    if family:
        d.claim(ModelType.UPSCALE_MODEL, f"{why} => upscale_model", family=family, base="other",
                architecture=family)


def probe_extras(facts: Facts, d: Draft) -> None:
    """Small ComfyUI model kinds: Flux Redux style model, GLIGEN, PhotoMaker."""
    if d.model_type:
        return
    if facts.has("redux_up.") or (facts.has("style_in.") and len(facts.tensors) < 16):
        d.claim(ModelType.STYLE_MODEL, "'redux_up'/'style_in' => style_model", base="Flux")
    elif facts.has("position_net."):
        d.claim(ModelType.GLIGEN, "'position_net' => gligen", base="SD1.x")
    elif facts.has("id_encoder.") and facts.contains("lora"):  # not-vocab: tensor-name substring
        d.claim(ModelType.PHOTOMAKER, "'id_encoder' + LoRA weights => photomaker", base="SDXL")

"""Probes for full checkpoints and bare diffusion models (UNets and DiT transformers).

Key layouts (facts from the public checkpoints and the loaders of ComfyUI ``comfy/model_detection.py``,
Stability ``sgm``/``ldm`` and diffusers): ldm checkpoints hold ``model.diffusion_model.*``,
``first_stage_model.*`` (VAE) and ``cond_stage_model.*`` (SD1/SD2) or ``conditioner.embedders.*``
(SDXL) or ``text_encoders.*`` (SD3/Flux repacks); ldm UNets have ``input_blocks``/``middle_block``
and SDXL adds ``label_emb``; Flux has ``double_blocks``/``single_blocks``/``img_in`` (dev adds
``guidance_in``); SD3 MMDiT has ``joint_blocks``/``x_embedder``; diffusers names are ``down_blocks``,
``transformer_blocks``, ``single_transformer_blocks``...
"""

from __future__ import annotations

from ..vocab import ModelType
from .facts import CONTEXT_BASE, Facts, context_dim
from .result import Draft

#: ``(base, family, variant, reason)`` of a denoiser layout.
Denoiser = tuple[str | None, str | None, str | None, str]

_TE_PREFIXES = ("cond_stage_model.", "conditioner.embedders.", "text_encoders.", "text_encoder.")
_VAE_PREFIXES = ("first_stage_model.", "vae.")


def probe_checkpoint(facts: Facts, d: Draft) -> None:
    """``model.diffusion_model.*`` plus a VAE or text encoder in the same file => checkpoint."""
    if d.model_type or not facts.has("model.diffusion_model."):
        return
    parts = [p.rstrip(".") for p in _TE_PREFIXES + _VAE_PREFIXES if facts.has(p)]
    if not parts:
        return
    unet = facts.under("model.diffusion_model.")
    base, family, variant, why = _denoiser(unet, facts)
    if base is None:
        base, family, why = "other", None, "unrecognised denoiser layout"
    d.claim(ModelType.CHECKPOINT, f"'model.diffusion_model.*' with {', '.join(parts)} => checkpoint; {why}",
            base=base, family=family, variant=variant, architecture="ldm-checkpoint")


def probe_diffusion_model(facts: Facts, d: Draft) -> None:
    """A bare UNet or transformer (ldm, ComfyUI or diffusers naming) => diffusion_model."""
    if d.model_type:
        return
    unet = facts.unwrap(("model.diffusion_model.", "diffusion_model."))
    base, family, variant, why = _denoiser(unet, facts)
    if base is not None:
        d.claim(ModelType.DIFFUSION_MODEL, f"{why} => diffusion_model", base=base, family=family, variant=variant,
                architecture=_ARCH.get(family or "", family))


_ARCH = {"sd15": "ldm-unet", "sd2": "ldm-unet", "sdxl": "ldm-unet", "flux": "flux", "sd3": "mmdit"}


def _denoiser(u: Facts, whole: Facts) -> Denoiser:
    """(base, family, variant, reason) of a denoiser's tensors ``u`` (prefix stripped)."""
    if u.has("double_blocks.") and u.has("single_blocks."):
        if u.has("txt_in.individual_token_refiner."):
            return "other", "hunyuan_video", None, "HunyuanVideo 'double_blocks' + token refiner"
        if u.has("distilled_guidance_layer."):
            return "other", "chroma", None, "'double_blocks' + 'distilled_guidance_layer' (Chroma)"
        variant = "dev" if u.has("guidance_in.") else "schnell"
        guidance = "with" if variant == "dev" else "no"
        return "Flux", "flux", variant, f"'double_blocks'/'single_blocks' (Flux; {guidance} guidance_in => {variant})"
    if u.has("joint_blocks.") and u.has("x_embedder."):
        depth = len({n.split(".")[1] for n in u.names if n.startswith("joint_blocks.")})
        return "SD3", "sd3", f"{depth} blocks", f"'joint_blocks' MMDiT with {depth} blocks (SD3)"
    if u.has("single_transformer_blocks.") and u.has("x_embedder."):
        return "Flux", "flux", ("dev" if u.has("time_text_embed.guidance_embedder.") else "schnell"), \
            "diffusers 'single_transformer_blocks' + 'x_embedder' (Flux transformer)"
    if u.has("transformer_blocks.") and u.has("context_embedder.") and u.has("pos_embed."):
        return "SD3", "sd3", None, \
            "diffusers 'transformer_blocks' + 'context_embedder' + 'pos_embed' (SD3 transformer)"
    if u.has("patch_embedding.") and u.has("blocks.0.self_attn.") and u.has("text_embedding."):
        return "other", "wan", None, "'patch_embedding' + 'blocks.N.self_attn' + 'text_embedding' (Wan)"
    if u.has("input_blocks.") and u.has("middle_block.") and u.has("out."):
        return _sd_unet(u, whole, "label_emb.", "input_blocks.0.0.weight", "ldm UNet 'input_blocks'/'middle_block'")
    if u.has("down_blocks.") and u.has("mid_block.") and u.has("conv_in.") and u.has("time_embedding."):
        return _sd_unet(u, whole, "add_embedding.", "conv_in.weight", "diffusers UNet 'down_blocks'/'mid_block'")
    return None, None, None, ""


def _sd_unet(u: Facts, whole: Facts, xl_marker: str, conv_in: str, what: str) -> Denoiser:
    variant: str | None = None
    shape = u.shape(conv_in)
    if shape and len(shape) == 4 and shape[1] == 9:
        variant = "inpaint"
    elif shape and len(shape) == 4 and shape[1] == 8:
        variant = "instruct-pix2pix"
    if u.has(xl_marker):
        emb = u.shape(u.first(prefix=xl_marker, suffix="weight"))
        if emb and len(emb) == 2 and emb[1] == 2560:
            variant = variant or "refiner"
        return "SDXL", "sdxl", variant, f"{what} with '{xl_marker.rstrip('.')}' (SDXL)"
    dim = context_dim(u)
    if dim in CONTEXT_BASE:
        base = CONTEXT_BASE[dim]
        return base, {"SD1.x": "sd15", "SD2.x": "sd2", "SDXL": "sdxl"}[base], variant, \
            f"{what}, cross-attention width {dim} ({base})"
    if whole.has("cond_stage_model.model.transformer.resblocks."):
        return "SD2.x", "sd2", variant, f"{what} with an OpenCLIP text encoder (SD2.x)"
    if whole.has("cond_stage_model.transformer."):
        return "SD1.x", "sd15", variant, f"{what} with a CLIP-L text encoder (SD1.x)"
    return "other", None, variant, f"{what}, unknown cross-attention width {dim}"

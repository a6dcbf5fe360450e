"""Probes that read what a file says about itself: safetensors ``__metadata__`` and the file name.

Keys (Stability ``ModelSpec`` v1.0 — ``modelspec.sai_model_spec``, ``modelspec.architecture`` such as
``stable-diffusion-xl-v1-base/lora``; kohya-ss ``sd-scripts`` training metadata —
``ss_network_module``, ``ss_base_model_version``, ``ss_v2``, ``ss_sd_model_name``).  The file-name
probe is the weakest hint and only fills fields nothing else filled.
"""

from __future__ import annotations

import re

from ..vocab import ModelType
from .facts import Facts
from .result import Draft

# modelspec.architecture prefix -> base model (longest first)
_SPEC_BASE = (("stable-diffusion-xl", "SDXL"), ("stable-diffusion-v3", "SD3"), ("stable-diffusion-3", "SD3"),
              ("stable-diffusion-v2", "SD2.x"), ("stable-diffusion-v1", "SD1.x"), ("flux", "Flux"))
# modelspec.architecture kind (after "/") -> model type; the keys are ModelSpec's words
_SPEC_TYPE = {
    "lora": ModelType.LORA,  # not-vocab: ModelSpec's kind word (the key)
    "lycoris": ModelType.LORA,
    "textual-inversion": ModelType.EMBEDDING,
    "controlnet": ModelType.CONTROLNET,
    "vae": ModelType.VAE,
    "hypernetwork": ModelType.HYPERNETWORK,  # not-vocab: ModelSpec's kind word (the key)
    "clip-vision": ModelType.CLIP_VISION,
}
_KOHYA_BASE = (("sdxl", "SDXL"), ("sd3", "SD3"), ("flux", "Flux"), ("sd_v2", "SD2.x"), ("v2", "SD2.x"),
               ("sd_v1", "SD1.x"), ("v1", "SD1.x"))
_NAME_HINTS = ((r"sd[_-]?xl|sdxl|pony|illustrious", "SDXL"), (r"flux", "Flux"), (r"sd[_-]?3|sd3\.5", "SD3"),
               (r"sd[_-]?2|v2[-_.]1|sd21", "SD2.x"), (r"sd[_-]?1[._-]?5|sd15|v1[-_.]5", "SD1.x"))
# first words of file names that say nothing about the family
_GENERIC = {"model", "models", "pytorch", "diffusion", "weights", "unet", "vae", "final", "model_final", "best",
            "last", "latest", "ema", "pruned", "fp16", "fp32", "bf16", "the", "new",
            "checkpoint", "lora"}  # not-vocab: words of file names


def _base_from(value: str, table: tuple[tuple[str, str], ...]) -> str | None:
    v = value.lower()
    return next((base for prefix, base in table if v.startswith(prefix) or prefix in v), None)


def probe_modelspec(facts: Facts, d: Draft) -> None:
    """``modelspec.architecture`` => base model and (after ``/``) the model kind."""
    arch = facts.metadata.get("modelspec.architecture")
    if not arch:
        return
    head, _, kind = arch.partition("/")
    base = _base_from(head, _SPEC_BASE)
    mtype = _SPEC_TYPE.get(kind.lower()) if kind else None
    if mtype and d.model_type is None:
        d.claim(mtype, f"modelspec.architecture {arch!r} => {mtype}", base=base)
    d.set(f"modelspec.architecture {arch!r} => {base}", base_model=base)


def probe_kohya(facts: Facts, d: Draft) -> None:
    """kohya training metadata: ``ss_network_module`` => lora; ``ss_base_model_version`` / ``ss_v2`` => base."""
    md = facts.metadata
    module = md.get("ss_network_module")
    if module and d.model_type is None:
        d.claim(ModelType.LORA, f"ss_network_module {module!r} => lora")
    version = md.get("ss_base_model_version")
    if version:
        d.set(f"ss_base_model_version {version!r}", base_model=_base_from(version, _KOHYA_BASE))
    if md.get("ss_v2", "").lower() == "true":
        d.set("ss_v2 = True => SD2.x", base_model="SD2.x")
    if md.get("ss_sd_model_name") and d.base_model is None:
        d.set(f"trained on {md['ss_sd_model_name']!r}", base_model=_hint(md["ss_sd_model_name"]))


def _hint(text: str) -> str | None:
    t = text.lower()
    return next((base for pattern, base in _NAME_HINTS if re.search(pattern, t)), None)


#: model types whose missing base model the file name may fill
_BASE_HINTED = (ModelType.VAE, ModelType.LORA, ModelType.CONTROLNET, ModelType.EMBEDDING, ModelType.CHECKPOINT,
                ModelType.DIFFUSION_MODEL)


def probe_filename(facts: Facts, d: Draft) -> None:
    """Weakest hint: the file name (``...sdxl...``) fills a missing base for typed models, and a
    distinctive first word becomes the family of an otherwise unknown model."""
    if not facts.paths:
        return
    name = facts.paths[0].name
    if d.model_type and d.base_model is None and d.model_type in _BASE_HINTED:
        base = _hint(name)
        if base:
            d.set(f"file name {name!r} mentions {base} (weak hint)", base_model=base)
            if d.model_type == ModelType.VAE and d.family in ("sd", "flux"):
                d.family = {"SD1.x": "sd15", "SD2.x": "sd2", "SDXL": "sdxl", "SD3": "sd3"}.get(base, d.family)
    if d.model_type is None and d.family is None:
        m = re.match(r"[A-Za-z][A-Za-z0-9]{2,}", name)
        word = m.group(0).lower() if m else None
        if word and word not in _GENERIC:
            d.set(f"family {word!r} taken from the file name (type not recognisable from content)", family=word)

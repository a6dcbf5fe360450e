"""Folder-manifest probes: diffusers ``model_index.json``, sentence-transformers ``modules.json``,
transformers/diffusers ``config.json``.

Facts: diffusers writes ``model_index.json`` with ``_class_name`` (the pipeline class) at the
pipeline root and ``config.json`` with ``_class_name`` in each component folder; transformers writes
``config.json`` with ``architectures`` and ``model_type``; sentence-transformers writes
``modules.json`` listing ``sentence_transformers.models.*`` modules.  Manifests over 1 MiB are ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..vocab import ModelType
from .result import Draft

MAX_MANIFEST = 1 << 20
_PIPELINES = (("StableDiffusionXL", "SDXL"), ("StableDiffusion3", "SD3"), ("Flux", "Flux"),
              ("StableDiffusion", "SD1.x"))
#: diffusers/transformers class name -> model type.
_COMPONENTS = {"UNet2DConditionModel": ModelType.DIFFUSION_MODEL, "FluxTransformer2DModel": ModelType.DIFFUSION_MODEL,
               "SD3Transformer2DModel": ModelType.DIFFUSION_MODEL, "AutoencoderKL": ModelType.VAE,
               "ControlNetModel": ModelType.CONTROLNET, "CLIPTextModel": ModelType.TEXT_ENCODER,
               "CLIPTextModelWithProjection": ModelType.TEXT_ENCODER, "T5EncoderModel": ModelType.TEXT_ENCODER,
               "CLIPVisionModel": ModelType.CLIP_VISION, "CLIPVisionModelWithProjection": ModelType.CLIP_VISION}
_COMPONENT_BASE = {"FluxTransformer2DModel": "Flux", "SD3Transformer2DModel": "SD3"}


def read_manifest(path: Path) -> dict[str, Any] | list[Any] | None:
    """Parse a small JSON manifest; None if missing, unreadable, too big, not JSON or not a JSON object/list."""
    try:
        if path.stat().st_size > MAX_MANIFEST:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, (dict, list)) else None


def probe_manifests(folder: Path, files: list[Path], d: Draft) -> None:
    """Look at the manifests among ``files`` (nearest to ``folder`` first)."""
    by_rel: dict[str, Path] = {}
    for p in files:
        try:
            by_rel[Path(p).relative_to(folder).as_posix()] = Path(p)
        except ValueError:  # not under ``folder`` (Path.relative_to): keyed by its bare name
            by_rel[Path(p).name] = Path(p)
    if "model_index.json" in by_rel:
        _diffusers(by_rel, d)
    if "modules.json" in by_rel:
        mods = read_manifest(by_rel["modules.json"])
        if isinstance(mods, list) and any("sentence_transformers" in str(m.get("type", "")) for m in mods
                                          if isinstance(m, dict)):
            d.claim(ModelType.TEXT_ENCODER, "modules.json lists sentence_transformers modules => sentence-transformers "
                    "text_encoder", family="sentence-transformers", base="other", variant="sentence-transformers")
    if "config.json" in by_rel:
        _config(read_manifest(by_rel["config.json"]), d)


def _diffusers(by_rel: dict[str, Path], d: Draft) -> None:
    index = read_manifest(by_rel["model_index.json"])
    if not isinstance(index, dict) or not isinstance(index.get("_class_name"), str):
        d.note("model_index.json without _class_name")
        return
    cls = index["_class_name"]
    base = next((b for prefix, b in _PIPELINES if cls.startswith(prefix)), "other")
    if base == "SD1.x":  # SD2.x uses the same pipeline class; the UNet's context width tells them apart
        unet = read_manifest(by_rel["unet/config.json"]) if "unet/config.json" in by_rel else None
        if isinstance(unet, dict) and unet.get("cross_attention_dim") == 1024:
            base = "SD2.x"
    family = None if base != "other" else cls.removesuffix("Pipeline").lower() or None
    no_te = "text_encoder" not in index  # not-vocab: the component folder key of model_index.json
    variant = "diffusers" + ("-refiner" if "Img2Img" in cls and base == "SDXL" and no_te else "")
    d.claim(ModelType.CHECKPOINT, f"model_index.json _class_name {cls!r} => diffusers pipeline ({base})", base=base,
            family=family, variant=variant, architecture=cls)


def _config(cfg: object, d: Draft) -> None:
    if not isinstance(cfg, dict):
        return
    cls = cfg.get("_class_name")
    if isinstance(cls, str) and cls in _COMPONENTS:
        d.claim(_COMPONENTS[cls], f"config.json _class_name {cls!r} => {_COMPONENTS[cls]}",
                base=_COMPONENT_BASE.get(cls), architecture=cls)
        return
    archs = cfg.get("architectures")
    if not (isinstance(archs, list) and archs and isinstance(archs[0], str)):
        return
    arch, mtype = archs[0], str(cfg.get("model_type") or "").lower() or None
    if arch in _COMPONENTS:
        kind = _COMPONENTS[arch]
    elif arch.endswith(("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")):
        kind = ModelType.LLM
    elif arch.endswith(("Model", "ForMaskedLM", "ForSequenceClassification", "ForTokenClassification")):
        kind = ModelType.TEXT_ENCODER
    else:
        return
    if d.claim(kind, f"config.json architectures {arch!r} => {kind}", base="other", family=mtype, architecture=arch):
        return
    d.set(f"config.json model_type {mtype!r}", architecture=arch)

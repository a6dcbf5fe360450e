"""The :class:`Identification` result and the :class:`Draft` the probes fill in."""

from __future__ import annotations

from dataclasses import dataclass, field

#: base model -> library family slug (docs/internal-api.md, DESIGN.md folder layout).
BASE_FAMILY = {"SD1.x": "sd15", "SD2.x": "sd2", "SDXL": "sdxl", "SD3": "sd3", "Flux": "flux"}


@dataclass
class Identification:
    """What a model is (docs/internal-api.md).

    Attributes:
        model_type: ComfyUI vocabulary (``checkpoint``, ``diffusion_model``, ``lora``, ``vae``,
            ``text_encoder``, ``clip_vision``, ``controlnet``, ``upscale_model``, ``embedding``,
            ``style_model``, ``gligen``, ``photomaker``, ``llm``, ``unknown``, ...).
        family: short slug used in the library layout (``sd15``, ``sdxl``, ``flux``, ``llama``,
            ``bert``, ``unknown``...).
        base_model: ``"SD1.x" | "SD2.x" | "SDXL" | "SD3" | "Flux" | "other"`` or None.
        precision: ``fp32 | fp16 | bf16 | fp8 | nf4`` or a GGUF quant name (``Q4_K_M``), or None.
        variant: e.g. ``"inpaint"``, ``"refiner"``, ``"dev"``, ``"270M"``, or None.
        parameter_count: number of weights (sum of tensor elements), or None if unknown.
        architecture: layout or GGUF ``general.architecture`` (``"ldm-unet"``, ``"gemma3"``...).
        evidence: human-readable reasons, in probe order.
    """

    model_type: str = "unknown"
    family: str | None = "unknown"
    base_model: str | None = None
    precision: str | None = None
    variant: str | None = None
    parameter_count: int | None = None
    architecture: str | None = None
    evidence: list[str] = field(default_factory=list)


class Draft:
    """Mutable result shared by the probes: the first probe to set a field wins."""

    FIELDS = ("model_type", "family", "base_model", "precision", "variant", "parameter_count", "architecture")

    def __init__(self) -> None:
        self.values: dict = {k: None for k in self.FIELDS}
        self.evidence: list[str] = []

    def __getattr__(self, name: str):
        if name in Draft.FIELDS:
            return self.values[name]
        raise AttributeError(name)

    def set(self, why: str | None = None, **fields) -> bool:
        """Fill the given fields that are still empty; record ``why`` if anything was filled."""
        changed = False
        for k, v in fields.items():
            if k not in self.values:
                raise KeyError(k)
            if v is not None and self.values[k] is None:
                self.values[k] = v
                changed = True
        if why and changed:
            self.evidence.append(why)
        return changed

    def note(self, why: str) -> None:
        """Record evidence without setting anything."""
        self.evidence.append(why)

    def claim(self, model_type: str, why: str, base: str | None = None, family: str | None = None, **more) -> bool:
        """Set the type (only if none is set yet) with base model and family; return False if already typed."""
        if self.values["model_type"] is not None:
            return False
        family = family or BASE_FAMILY.get(base or "")
        self.set(why, model_type=model_type, base_model=base, family=family, **more)
        return True

    def result(self) -> Identification:
        """Freeze into an :class:`Identification` (type ``unknown`` and family ``unknown`` if unset)."""
        v = dict(self.values)
        v["model_type"] = v["model_type"] or "unknown"
        if not v["family"]:
            v["family"] = BASE_FAMILY.get(v["base_model"] or "", "unknown")
        return Identification(evidence=list(self.evidence), **v)

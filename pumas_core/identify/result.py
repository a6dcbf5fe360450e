"""The :class:`Identification` result and the :class:`Draft` the probes fill in."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..vocab import ModelType

#: base model -> library family slug (docs/internal-api.md, DESIGN.md folder layout).
BASE_FAMILY = {"SD1.x": "sd15", "SD2.x": "sd2", "SDXL": "sdxl", "SD3": "sd3", "Flux": "flux"}


@dataclass
class Identification:
    """What a model is (docs/internal-api.md).

    Attributes:
        model_type: a :class:`~pumas_core.vocab.ModelType` (ComfyUI vocabulary: ``checkpoint``,
            ``diffusion_model``, ``lora``, ``vae``, ``text_encoder``, ``clip_vision``, ``controlnet``,
            ``upscale_model``, ``embedding``, ``style_model``, ``gligen``, ``photomaker``, ``llm``,
            ``unknown``, ...); a str enum, so it equals the plain value.
        family: short slug used in the library layout (``sd15``, ``sdxl``, ``flux``, ``llama``,
            ``bert``, ``unknown``...).
        base_model: ``"SD1.x" | "SD2.x" | "SDXL" | "SD3" | "Flux" | "other"`` or None.
        precision: ``fp32 | fp16 | bf16 | fp8 | nf4`` or a GGUF quant name (``Q4_K_M``), or None.
        variant: e.g. ``"inpaint"``, ``"refiner"``, ``"dev"``, ``"270M"``, or None.
        parameter_count: number of weights (sum of tensor elements), or None if unknown.
        architecture: layout or GGUF ``general.architecture`` (``"ldm-unet"``, ``"gemma3"``...).
        evidence: human-readable reasons, in probe order.
    """

    model_type: ModelType = ModelType.UNKNOWN
    family: str | None = "unknown"
    base_model: str | None = None
    precision: str | None = None
    variant: str | None = None
    parameter_count: int | None = None
    architecture: str | None = None
    evidence: list[str] = field(default_factory=list)


class Draft:
    """Mutable result shared by the probes: the first probe to set a field wins.

    Every field of :class:`Identification` except ``evidence`` is an attribute here that starts as
    None; :meth:`set` and :meth:`claim` only fill attributes that are still None.
    """

    def __init__(self) -> None:
        self.model_type: ModelType | None = None
        self.family: str | None = None
        self.base_model: str | None = None
        self.precision: str | None = None
        self.variant: str | None = None
        self.parameter_count: int | None = None
        self.architecture: str | None = None
        self.evidence: list[str] = []

    def set(self, why: str | None = None, *, model_type: ModelType | None = None, family: str | None = None,
            base_model: str | None = None, precision: str | None = None, variant: str | None = None,
            parameter_count: int | None = None, architecture: str | None = None) -> bool:
        """Fill the given fields that are still empty (None); record ``why`` if anything was filled.

        Returns:
            True when at least one field was filled.
        """
        given: dict[str, object] = {"model_type": model_type, "family": family, "base_model": base_model,
                                    "precision": precision, "variant": variant,
                                    "parameter_count": parameter_count, "architecture": architecture}
        changed = False
        for k, v in given.items():
            if v is not None and getattr(self, k) is None:
                setattr(self, k, v)
                changed = True
        if why and changed:
            self.evidence.append(why)
        return changed

    def note(self, why: str) -> None:
        """Record evidence without setting anything."""
        self.evidence.append(why)

    def claim(self, model_type: ModelType, why: str, base: str | None = None, family: str | None = None, *,
              variant: str | None = None, architecture: str | None = None) -> bool:
        """Set the type (only if none is set yet) with base model and family (default: the base's family).

        Returns:
            False if a type was already set (nothing changes), else True.
        """
        if self.model_type is not None:
            return False
        family = family or BASE_FAMILY.get(base or "")
        self.set(why, model_type=model_type, base_model=base, family=family, variant=variant,
                 architecture=architecture)
        return True

    def result(self) -> Identification:
        """Freeze into an :class:`Identification` (type ``unknown`` and family ``unknown`` if unset)."""
        family = self.family or BASE_FAMILY.get(self.base_model or "", "unknown")
        return Identification(model_type=self.model_type or ModelType.UNKNOWN, family=family,
                              base_model=self.base_model, precision=self.precision, variant=self.variant,
                              parameter_count=self.parameter_count, architecture=self.architecture,
                              evidence=list(self.evidence))

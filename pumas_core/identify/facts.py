"""What the probes look at: tensor names/dtypes/shapes and metadata, plus precision and size.

Built from :class:`~pumas_core.ingest.formats.FormatInfo` details (safetensors headers); several
files of a folder or sharded set can be merged into one :class:`Facts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..vocab import FileFormat

if TYPE_CHECKING:
    from ..ingest.formats.info import FormatInfo

_FLOAT_PRECISION = {"F32": "fp32", "F16": "fp16", "BF16": "bf16", "F8_E4M3": "fp8", "F8_E5M2": "fp8",
                    "F64": "fp64"}


@dataclass
class Facts:
    """Tensor layout and metadata of one file (or of merged files).

    Attributes:
        names: ordered tensor names.
        tensors: ``{name: {"dtype": str, "shape": [int]}}``.
        metadata: safetensors ``__metadata__`` (str -> str).
        paths: the files these facts come from.
        formats: the file formats seen (``{FileFormat.SAFETENSORS}``...).
    """

    tensors: dict[str, dict[str, Any]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)
    formats: set[str] = field(default_factory=set)

    @property
    def names(self) -> list[str]:
        """The tensor names, in header order."""
        return list(self.tensors)

    def has(self, prefix: str) -> bool:
        """True if some tensor name starts with ``prefix``."""
        return any(n.startswith(prefix) for n in self.tensors)

    def contains(self, part: str) -> bool:
        """True if some tensor name contains ``part``."""
        return any(part in n for n in self.tensors)

    def first(self, *, prefix: str = "", suffix: str = "", part: str = "") -> str | None:
        """The first tensor name with the given prefix, suffix and inner part, or None."""
        for n in self.tensors:
            if n.startswith(prefix) and n.endswith(suffix) and part in n:
                return n
        return None

    def shape(self, name: str | None) -> list[int] | None:
        """The shape of tensor ``name`` (None if absent)."""
        t = self.tensors.get(name) if name else None
        return t.get("shape") if t else None

    def dim(self, name: str | None, index: int) -> int | None:
        """Entry ``index`` (0 first, -1 last) of the shape of tensor ``name``; None if absent or shapeless."""
        shape = self.shape(name)
        return shape[index] if shape else None

    def count(self, prefix: str) -> int:
        """How many tensor names start with ``prefix``."""
        return sum(1 for n in self.tensors if n.startswith(prefix))

    def all_start(self, prefix: str) -> bool:
        """True if there are tensors and every name starts with ``prefix``."""
        return bool(self.tensors) and all(n.startswith(prefix) for n in self.tensors)

    def under(self, prefix: str) -> Facts:
        """Facts of the tensors under ``prefix`` with the prefix removed."""
        sub = {n[len(prefix):]: t for n, t in self.tensors.items() if n.startswith(prefix)}
        return Facts(sub, self.metadata, self.paths, self.formats)

    def unwrap(self, prefixes: tuple[str, ...]) -> Facts:
        """Facts under the first of ``prefixes`` that every tensor name starts with (a wrapped state dict such
        as ``model.diffusion_model.*`` or ``first_stage_model.*``), else these facts unchanged."""
        for prefix in prefixes:
            if self.all_start(prefix):
                return self.under(prefix)
        return self

    def merge(self, other: Facts) -> None:
        """Add another file's tensors and metadata (later files do not override earlier values)."""
        for n, t in other.tensors.items():
            self.tensors.setdefault(n, t)
        for k, v in other.metadata.items():
            self.metadata.setdefault(k, v)
        self.paths.extend(other.paths)
        self.formats |= other.formats

    def parameter_count(self) -> int | None:
        """Sum of the element counts of all tensors (None if there are none or a shape is unknown)."""
        if not self.tensors or any(t.get("shape") is None for t in self.tensors.values()):
            return None
        total = 0
        for t in self.tensors.values():
            n = 1
            for d in t.get("shape") or []:
                n *= d
            total += n
        return total

    def precision(self) -> tuple[str | None, str | None]:
        """``(precision, reason)``: bitsandbytes quantisation if present, else the float dtype holding
        the most elements (``fp32|fp16|bf16|fp8``), else None."""
        for n in self.tensors:
            if "bitsandbytes__nf4" in n:
                return "nf4", f"tensor {n!r} => bitsandbytes NF4 quantisation"
            if "bitsandbytes__fp4" in n:
                return "fp4", f"tensor {n!r} => bitsandbytes FP4 quantisation"
        weights: dict[str, int] = {}
        for t in self.tensors.values():
            p = _FLOAT_PRECISION.get(t.get("dtype", ""))
            if p:
                elements = 1
                for d in t.get("shape") or []:
                    elements *= d
                weights[p] = weights.get(p, 0) + elements
        if not weights:
            return None, None
        best = max(weights, key=lambda k: weights[k])
        total = sum(weights.values()) or 1
        return best, f"{100 * weights[best] / total:.0f}% of float weights are {best}"


def facts_from(path: Path, fmt: FormatInfo) -> Facts:
    """Facts of one sniffed file: safetensors names/dtypes/shapes/metadata; for ``torch.save`` pickles
    the state-dict names only (read from opcodes, see :mod:`.pickle_names`); else an empty layout."""
    f = Facts(paths=[Path(path)], formats={fmt.file_format})
    if fmt.file_format == FileFormat.SAFETENSORS:
        f.tensors = dict(fmt.details.get("tensors") or {})
        f.metadata = dict(fmt.details.get("metadata") or {})
    elif fmt.file_format == FileFormat.PICKLE:
        from .pickle_names import tensor_names

        f.tensors = {n: {"dtype": None, "shape": None} for n in tensor_names(Path(path), fmt.details)}
    return f


def context_dim(facts: Facts) -> int | None:
    """Cross-attention context width of an SD UNet (768 SD1.x, 1024 SD2.x, 2048 SDXL) from the first
    ``attn2`` key projection found (full weights or a LoRA's down/A matrix), else None."""
    for n, t in facts.tensors.items():
        if ("attn2.to_k" in n or "attn2_to_k" in n) and n.endswith(("to_k.weight", "lora_down.weight",
                                                                     "lora_A.weight")):
            shape = t.get("shape") or []
            if len(shape) == 2:
                return int(shape[1])
    return None


CONTEXT_BASE = {768: "SD1.x", 1024: "SD2.x", 2048: "SDXL"}

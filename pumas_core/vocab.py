"""The library's vocabulary: every enumerated value that is written to ``metadata.json``, the index, JSON
answers or progress events, spelled once.

Each enumeration is a ``str`` enum, so a member *is* its value: it compares equal to the plain string read
back from JSON or SQLite, hashes like it (dict keys work both ways), and ``json.dumps``/``f"{...}"`` write
the bare value.  Code outside this module writes ``ModelType.LORA``, never ``"lora"``
(``tests/test_vocabulary.py`` checks).

Sources: model types follow ComfyUI's loader vocabulary (the folder keys of ``folder_paths`` in the singular,
``reference/comfyui-integration.md``); unit kinds are the three import units of ``DESIGN.md`` (Single-File
Model, Diffusion Folder, Sharded Set); the rest are this project's schema (``docs/internal-api.md``).
"""

from __future__ import annotations

import sys
from enum import Enum

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10
    class StrEnum(str, Enum):
        """``enum.StrEnum`` for Python 3.10: members are strings and print as their value."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return format(str(self.value), spec)


# Each vocabulary is declared with the functional ``Enum`` API (one mapping ``NAME: value``), which type
# checkers read like a class statement; the docstrings are attached below.

ModelType = StrEnum("ModelType", {
    "CHECKPOINT": "checkpoint", "DIFFUSION_MODEL": "diffusion_model", "LORA": "lora", "VAE": "vae",
    "TEXT_ENCODER": "text_encoder", "CLIP_VISION": "clip_vision", "CONTROLNET": "controlnet",
    "UPSCALE_MODEL": "upscale_model", "EMBEDDING": "embedding", "STYLE_MODEL": "style_model", "GLIGEN": "gligen",
    "HYPERNETWORK": "hypernetwork", "PHOTOMAKER": "photomaker", "AUDIO_ENCODER": "audio_encoder", "LLM": "llm",
    "UNKNOWN": "unknown",
}, module=__name__)
ModelType.__doc__ = "What a model is, in ComfyUI's terms (``metadata.json`` ``model_type``)."

UnitKind = StrEnum("UnitKind", {
    "SINGLE_FILE": "single-file", "DIFFUSION_FOLDER": "diffusion-folder", "SHARDED_SET": "sharded-set",
}, module=__name__)
UnitKind.__doc__ = """The shape of an import unit: a Single-File Model, a Diffusion Folder (``model_index.json`` and its
component folders) or a Sharded Set (``-00001-of-00003`` files + index); ``metadata.json`` ``format``, called
*kind* in code."""

FileFormat = StrEnum("FileFormat", {
    "SAFETENSORS": "safetensors", "GGUF": "gguf", "PICKLE": "pickle", "ONNX": "onnx", "TORCHSCRIPT": "torchscript",
    "OTHER": "other",
}, module=__name__)
FileFormat.__doc__ = """The container format of a model's weight files, found by content, never by extension
(``metadata.json`` ``file_format``)."""

SecurityTier = StrEnum("SecurityTier", {"SAFE": "safe", "UNKNOWN": "unknown", "PICKLE": "pickle"}, module=__name__)
SecurityTier.__doc__ = "How safe loading the files is: ``safe`` (no code path), ``pickle`` (unpickling), ``unknown``."

MatchSource = StrEnum("MatchSource", {
    "HASH": "hash", "FILENAME_EXACT": "filename_exact", "FILENAME_FUZZY": "filename_fuzzy", "MANUAL": "manual",
    "SIDECAR": "sidecar", "NONE": "none",
}, module=__name__)
MatchSource.__doc__ = "How the upstream identity was found (``metadata.json`` ``match_source``)."

Trust = StrEnum("Trust", {"VERIFIED": "verified", "HIGH": "high", "LOW": "low", "NONE": "none"}, module=__name__)
Trust.__doc__ = "How far the upstream identity can be trusted (``metadata.json`` ``trust``)."

Stage = StrEnum("Stage", {
    "VALIDATING": "validating", "COPYING": "copying", "HASHING": "hashing", "WRITING_METADATA": "writing_metadata",
    "INDEXING": "indexing", "SYNCING": "syncing", "SCANNING": "scanning", "LOOKUP": "lookup",
    "DOWNLOADING": "downloading", "ADOPTING": "adopting", "VERIFYING": "verifying", "RESTORING": "restoring",
    "DONE": "done",
}, module=__name__)
Stage.__doc__ = """The ``stage`` of a progress event (``{"stage", "file", "bytes_done", "bytes_total", "index",
"count"}``)."""


#: Every file suffix (lower case, with the dot) that holds model weights, whatever the container.
WEIGHT_SUFFIXES: frozenset[str] = frozenset({
    ".safetensors", ".sft", ".gguf", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".pkl", ".pickle", ".onnx", ".jit",
})

#: The weight suffixes whose files are pickles (or zips of pickles) when read.
PICKLE_SUFFIXES: frozenset[str] = frozenset({".ckpt", ".pt", ".pt2", ".pth", ".bin", ".pkl", ".pickle", ".jit"})

#: Every enumeration above, for validation and for the vocabulary test.
VOCABULARIES: tuple[type[StrEnum], ...] = (ModelType, UnitKind, FileFormat, SecurityTier, MatchSource, Trust, Stage)


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The plain string values of ``enum``, in definition order (``values(Trust)`` → ``("verified", ...)``)."""
    return tuple(m.value for m in enum)

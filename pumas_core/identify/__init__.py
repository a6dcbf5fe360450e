"""What a model is: an ordered set of content probes over sniffed files and folder manifests.

Entry points:

* ``identify_file(path, fmt) -> Identification`` for one file sniffed by
  :func:`pumas_core.ingest.formats.sniff`;
* ``identify_folder(folder, files, fmts) -> Identification`` for a diffusers folder, a
  sentence-transformers/transformers folder or a sharded set (``fmts`` maps each sniffed model
  file to its FormatInfo; manifests are read from ``files``);
* ``identify_unit(unit, fmts)`` for an :class:`~pumas_core.ingest.grouping.ImportUnit`.

Probes run in the order of :data:`TENSOR_PROBES`; the first to claim a model type wins and later
probes only fill fields that are still empty (see :class:`~.result.Draft`).  Every probe that
decides something appends a human-readable reason to ``evidence``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..vocab import FileFormat, UnitKind
from .facts import Facts, facts_from
from .probe_adapters import probe_controlnet, probe_embedding, probe_lora
from .probe_components import probe_extras, probe_llm, probe_text_encoders, probe_upscaler, probe_vae
from .probe_diffusion import probe_checkpoint, probe_diffusion_model
from .probe_folder import probe_manifests
from .probe_gguf import probe_gguf
from .probe_metadata import probe_filename, probe_kohya, probe_modelspec
from .result import Draft, Identification

if TYPE_CHECKING:
    from ..ingest.formats.info import FormatInfo
    from ..ingest.units import ImportUnit

__all__ = ["Identification", "identify_file", "identify_folder", "identify_unit", "TENSOR_PROBES"]

#: Probes over tensor names/shapes and safetensors metadata, most specific first.
TENSOR_PROBES: tuple[Callable[[Facts, Draft], None], ...] = (
    probe_extras,           # style_model / gligen / photomaker: tiny, distinctive
    probe_lora,             # before anything else: LoRA names embed UNet/TE block names
    probe_controlnet,       # before the UNet probe: ControlNets contain input_blocks too
    probe_checkpoint,       # model.diffusion_model + VAE/TE
    probe_diffusion_model,  # bare UNet / DiT
    probe_vae,
    probe_text_encoders,
    probe_llm,
    probe_embedding,
    probe_upscaler,
    probe_modelspec,        # metadata refines (or decides, if names said nothing)
    probe_kohya,
)


def identify_file(path: str | Path, fmt: FormatInfo) -> Identification:
    """Identify one model file from its content.

    Args:
        path: the file (only its name is used beyond ``fmt``; nothing is re-read).
        fmt: its :class:`~pumas_core.ingest.formats.FormatInfo`.

    Returns:
        :class:`Identification`; ``model_type`` ``ModelType.UNKNOWN`` with evidence when nothing matched.
    """
    d = Draft()
    facts = facts_from(Path(path), fmt)
    _run(facts, {Path(path): fmt}, d)
    return d.result()


def identify_folder(folder: str | Path, files: list[Path], fmts: Mapping[Path, FormatInfo]) -> Identification:
    """Identify a multi-file model: manifests first, then the merged tensors of its model files.

    Args:
        folder: the unit's root (manifest names are taken relative to it).
        files: every file of the unit (manifests, configs, weights).
        fmts: ``{path: FormatInfo}`` for the files that were sniffed as model files.
    """
    folder = Path(folder)
    d = Draft()
    probe_manifests(folder, [Path(p) for p in files], d)
    merged = Facts(paths=[folder])
    by_path = {Path(p): f for p, f in fmts.items()}
    for p in sorted(by_path, key=lambda q: str(q)):
        merged.merge(facts_from(p, by_path[p]))
    _run(merged, by_path, d, per_file_params=True)
    return d.result()


def identify_unit(unit: ImportUnit, fmts: Mapping[Path, FormatInfo]) -> Identification:
    """Identify an ImportUnit (``kind``, ``source_root``, ``files``): single files go to
    :func:`identify_file`, folders and sharded sets to :func:`identify_folder`."""
    files = [Path(p) for p in unit.files]
    by_path = {Path(p): f for p, f in fmts.items()}
    if unit.kind == UnitKind.SINGLE_FILE and len(files) == 1 and files[0] in by_path:
        return identify_file(files[0], by_path[files[0]])
    return identify_folder(Path(unit.source_root), files, by_path)


def _run(facts: Facts, fmts: Mapping[Path, FormatInfo], d: Draft, per_file_params: bool = False) -> None:
    kinds = {f.file_format for f in fmts.values()}
    ggufs = [f for f in fmts.values() if f.file_format == FileFormat.GGUF]
    if ggufs:
        probe_gguf(ggufs[0].details, d)
        if len(ggufs) > 1:
            total = sum(g.details.get("parameter_count") or 0 for g in ggufs)
            d.set(f"{len(ggufs)} GGUF parts, {total:,} weights", parameter_count=total or None)
    if facts.tensors:
        for probe in TENSOR_PROBES:
            probe(facts, d)
        precision, why = facts.precision()
        d.set(why, precision=precision)
        params = facts.parameter_count()
        if params is not None:
            d.set(f"{len(facts.tensors)} tensors, {params:,} weights", parameter_count=params)
        if FileFormat.PICKLE in kinds and FileFormat.SAFETENSORS not in kinds:
            d.note(f"{len(facts.tensors)} state-dict names read from pickle opcodes (nothing unpickled)")
    if FileFormat.ONNX in kinds:
        o = next(f.details for f in fmts.values() if f.file_format == FileFormat.ONNX)
        d.note(f"ONNX model (ir_version {o.get('ir_version')}, producer {o.get('producer_name')} "
               f"{o.get('producer_version') or ''}, opset {o.get('opset')}); type not inferable from the header")
    unread = sorted(str(k) for k in kinds & {FileFormat.PICKLE, FileFormat.TORCHSCRIPT})
    if unread and not facts.tensors:
        d.note(f"{'/'.join(unread)} file: tensor names are not read (that would need unpickling)")
    probe_filename(facts, d)
    if d.model_type is None:
        n = len(facts.tensors)
        if n:
            sample = ", ".join(repr(x) for x in facts.names[:3])
            d.note(f"no known layout matched {n} tensors (first: {sample}) => unknown")
        elif not d.evidence:
            d.note("no tensors or manifest to go on => unknown")

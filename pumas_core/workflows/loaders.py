"""Which widget of which loader node names a model file, and in which ComfyUI folder key.

Built-in table of ComfyUI's core loaders (``nodes.py``, ``comfy_extras/nodes_*.py``): for each node
class, its widget inputs **in widget order** (the order of ``widgets_values`` in a UI-format
workflow) and, for the ones that pick a model file, the ``folder_paths`` key of the list they choose
from.  Inside ComfyUI the caller may pass a mapping built from the live node definitions
(``object_info`` / ``folder_paths``), which extends and overrides the table.

Mapping shape (``LoaderTable``)::

    {"CheckpointLoaderSimple": {"widgets": ["ckpt_name"], "models": {"ckpt_name": "checkpoints"}}, ...}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypedDict

from ..errors import BadInputError
from ..links.comfyui import LEGACY_KEYS

_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,99}$")


class LoaderEntry(TypedDict):
    """One loader class: its widget inputs in widget order, ``{widget: folder key}`` for its model pickers."""

    widgets: list[str]
    models: dict[str, str]


#: ``{node class: LoaderEntry}``.
LoaderTable = dict[str, LoaderEntry]


def _e(widgets: list[str], models: dict[str, str]) -> LoaderEntry:
    return {"widgets": widgets, "models": models}


#: Core loaders of ComfyUI (names and input order as in its node definitions).
CORE_LOADERS: LoaderTable = {
    "CheckpointLoaderSimple": _e(["ckpt_name"], {"ckpt_name": "checkpoints"}),
    "CheckpointLoader": _e(["config_name", "ckpt_name"], {"config_name": "configs", "ckpt_name": "checkpoints"}),
    "unCLIPCheckpointLoader": _e(["ckpt_name"], {"ckpt_name": "checkpoints"}),
    "ImageOnlyCheckpointLoader": _e(["ckpt_name"], {"ckpt_name": "checkpoints"}),
    "DiffusersLoader": _e(["model_path"], {"model_path": "diffusers"}),
    "LoraLoader": _e(["lora_name", "strength_model", "strength_clip"], {"lora_name": "loras"}),
    "LoraLoaderModelOnly": _e(["lora_name", "strength_model"], {"lora_name": "loras"}),
    "VAELoader": _e(["vae_name"], {"vae_name": "vae"}),
    "CLIPLoader": _e(["clip_name", "type", "device"], {"clip_name": "text_encoders"}),
    "DualCLIPLoader": _e(["clip_name1", "clip_name2", "type", "device"],
                         {"clip_name1": "text_encoders", "clip_name2": "text_encoders"}),
    "TripleCLIPLoader": _e(["clip_name1", "clip_name2", "clip_name3"],
                           {f"clip_name{i}": "text_encoders" for i in (1, 2, 3)}),
    "QuadrupleCLIPLoader": _e(["clip_name1", "clip_name2", "clip_name3", "clip_name4"],
                              {f"clip_name{i}": "text_encoders" for i in (1, 2, 3, 4)}),
    "UNETLoader": _e(["unet_name", "weight_dtype"], {"unet_name": "diffusion_models"}),
    "ControlNetLoader": _e(["control_net_name"], {"control_net_name": "controlnet"}),
    "DiffControlNetLoader": _e(["control_net_name"], {"control_net_name": "controlnet"}),
    "UpscaleModelLoader": _e(["model_name"], {"model_name": "upscale_models"}),
    "CLIPVisionLoader": _e(["clip_name"], {"clip_name": "clip_vision"}),
    "StyleModelLoader": _e(["style_model_name"], {"style_model_name": "style_models"}),
    "GLIGENLoader": _e(["gligen_name"], {"gligen_name": "gligen"}),
    "HypernetworkLoader": _e(["hypernetwork_name", "strength"], {"hypernetwork_name": "hypernetworks"}),
    "PhotoMakerLoader": _e(["photomaker_model_name"], {"photomaker_model_name": "photomaker"}),
    "ModelPatchLoader": _e(["name"], {"name": "model_patches"}),
    "AudioEncoderLoader": _e(["audio_encoder_name"], {"audio_encoder_name": "audio_encoders"}),
}

#: ComfyUI's legacy folder names (``folder_paths.map_legacy``) and the ``models/`` prefix templates use.


def merged_table(extra: Mapping[str, Any] | None = None) -> LoaderTable:
    """The core table overlaid with ``extra`` (e.g. built from ComfyUI's live node definitions; checked here).

    Raises:
        BadInputError: an ``extra`` entry lacks ``widgets`` (list) or ``models`` (dict).  Also a ValueError.
    """
    table = dict(CORE_LOADERS)
    for cls, entry in (extra or {}).items():
        if not (isinstance(entry, dict) and isinstance(entry.get("widgets", []), list)
                and isinstance(entry.get("models"), dict)):
            raise BadInputError(f"loader mapping for {cls!r} must be {{'widgets': [...], 'models': {{...}}}}")
        table[cls] = {"widgets": list(entry.get("widgets") or []), "models": dict(entry["models"])}
    return table


def folder_key(directory: object) -> str | None:
    """Normalise a ``directory`` field to a folder key, or None when it is not a plain folder name:
    ``"models/vae"`` / ``"vae"`` → ``"vae"``, ``"models\\\\unet"`` → ``"diffusion_models"``."""
    if not directory or not isinstance(directory, str):
        return None
    d = directory.replace("\\", "/").strip("/")
    if d.startswith("models/"):
        d = d[len("models/"):]
    d = d.split("/")[0] if d else ""
    if d in (".", "..") or not _KEY.match(d):
        return None  # not a plain folder name: never a place to link into
    return LEGACY_KEYS.get(d, d)

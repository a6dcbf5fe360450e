"""Helpers for the workflow tests: real templates, a library with real models renamed to the names
the templates use, UI → API conversion, and what ComfyUI's loader would list."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
from pathlib import Path

from conftest import real_file

from pumas_core.workflows.loaders import CORE_LOADERS

MINILM = "minilm/model.safetensors"            # identified as a text encoder
SILERO = "silero/silero_vad_16k.safetensors"   # type unknown: fits any folder


def template(name: str) -> Path:
    """A real template file from comfyui-workflow-templates-json (cached by tests/realdata.py)."""
    return real_file(f"workflow_templates/{name}")


def load_template(name: str) -> dict:
    return json.loads(template(name).read_text())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def staged(tmp: Path, rel: str, name: str) -> Path:
    """Copy a real model into ``tmp/incoming`` under ``name`` (the name a template uses)."""
    d = tmp / "incoming"
    d.mkdir(parents=True, exist_ok=True)
    dst = d / name
    shutil.copyfile(real_file(rel), dst)
    return dst


def to_api(doc: dict) -> dict:
    """An API-format prompt with the loader nodes of a UI workflow (subgraph nodes included)."""
    out = {}
    graphs = [doc, *((doc.get("definitions") or {}).get("subgraphs") or [])]
    for g in graphs:
        for n in g["nodes"]:
            entry = CORE_LOADERS.get(n["type"])
            if entry is None:
                continue
            wv = n.get("widgets_values") or []
            out[str(n["id"])] = {"class_type": n["type"],
                                 "inputs": {w: wv[i] for i, w in enumerate(entry["widgets"]) if i < len(wv)}}
    return out


def set_model_hash(doc: dict, name: str, sha: str, hash_type: str = "SHA256") -> dict:
    """A copy of ``doc`` whose ``properties.models`` entries named ``name`` carry ``sha``."""
    doc = copy.deepcopy(doc)
    for g in [doc, *((doc.get("definitions") or {}).get("subgraphs") or [])]:
        for n in g["nodes"]:
            for m in (n.get("properties") or {}).get("models") or []:
                if m["name"] == name:
                    m["hash"], m["hash_type"] = sha, hash_type
    return doc


def comfy_lists(models_dir: Path, key: str) -> list[str]:
    """What ``folder_paths.get_filename_list(key)`` returns: a walk that follows links, names with ``/``."""
    base = models_dir / key
    out = []
    for d, _dirs, files in os.walk(base, followlinks=True):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), base).replace(os.sep, "/"))
    return sorted(out)

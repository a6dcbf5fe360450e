"""Checks shared by the adoption tests: the adopted end state, and the restored original tree."""

from __future__ import annotations

import os
from pathlib import Path

import blake3

from pumas_core.ingest.formats import sniff

WEIGHTS = (".safetensors", ".gguf", ".onnx", ".pth")


def library_weights(root: Path) -> list[Path]:
    """Every weight file stored in the library (not in .staging)."""
    out = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".staging"]
        out += [Path(dirpath, f) for f in files if f.endswith(WEIGHTS)]
    return out


def check_adopted(t: dict, lib, root: Path) -> dict:
    """Assert the adopted state; returns ``{model_id: metadata}`` of the models linked from the tree."""
    models = {}
    for path, b3 in t["models"].items():
        assert os.path.islink(path), f"{path} is not a link"
        real = os.path.realpath(path)
        assert real.startswith(str(root) + os.sep), real
        assert blake3.blake3(Path(path).read_bytes()).hexdigest() == b3, path
        sniff(Path(path))  # a working link to a readable model
        row = lib.registry.get_link(path)
        assert row is not None and row["model_id"] == b3, path
        models[b3] = lib.get_model(b3)
    contents = set(t["models"].values())
    weights = library_weights(root)
    assert len(weights) == len(contents), weights  # one copy per content
    assert {blake3.blake3(w.read_bytes()).hexdigest() for w in weights} == contents
    assert not [p for p in (root / ".staging").glob("*.tmp")] if (root / ".staging").exists() else True
    assert t["pickle"].is_file() and not t["pickle"].is_symlink()
    assert t["readme"].is_file()
    return models


COMFY_EXTS = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft", ".gguf", ".onnx"}


def comfy_names(install_root: Path, key_dirs: dict) -> dict:
    """What ComfyUI's ``/models/<folder>`` would list: for each key, the names relative to each of its
    folders (``folder_paths.recursive_search`` walks with ``followlinks=True``), filtered by extension."""
    out = {}
    for key, dirs in key_dirs.items():
        names = set()
        for d in dirs:
            for dirpath, _dirs, files in os.walk(d, followlinks=True):
                for f in files:
                    if os.path.splitext(f)[1].lower() in COMFY_EXTS and os.path.exists(os.path.join(dirpath, f)):
                        names.add(os.path.relpath(os.path.join(dirpath, f), d))
        out[key] = sorted(names)
    return out

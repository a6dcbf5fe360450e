"""A realistic pair of ComfyUI installs for the adoption tests, built from the real test files.

Layout (under ``base``)::

    C1/ main.py, extra_model_paths.yaml (a shared drive + an A1111 folder)
        models/checkpoints/SD1.5/sd15.safetensors          (= C2 checkpoints/sd15.safetensors)
        models/loras/style.gguf + .civitai.info + .preview.png   (= C2 loras/style.gguf)
        models/embeddings/emb.onnx + .metadata.json (Lora-Manager) + .sha256
        models/loras/readme.txt, models/loras/squeeze.pth (pickle: refused without --accept-pickle)
    C2/ models/checkpoints/sd15.safetensors, models/loras/style.gguf
        models/vae/vae.onnx + .cm-info.json + vae.png
        models/controlnet/seq.onnx      (the library already has these bytes)
    shared/loras/x.onnx + x.sha256 (wrong hash: reported, ignored)
    webui/ (A1111) models/Lora/a1.onnx + a1.json (user metadata), cache.json (hashes)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import blake3

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def sha256(p) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def tree_state(*roots) -> dict:
    """``{path: ("file", blake3) | ("link", target text)}`` for everything under ``roots``."""
    out = {}
    for root in roots:
        for dirpath, dirnames, files in os.walk(root):
            for name in dirnames + files:
                p = os.path.join(dirpath, name)
                if os.path.islink(p):
                    out[p] = ("link", os.readlink(p))
                elif os.path.isfile(p):
                    out[p] = ("file", blake3.blake3(Path(p).read_bytes()).hexdigest())
    return out


def build(base: Path, real, gguf: bool = True) -> dict:
    """Create the layout (``gguf=False``: the LoRA is an ONNX file instead, quicker to sniff); returns
    ``{"installs": [C1, C2], "roots": [all roots], "models": {path: blake3},
    "existing": a real file the library should hold before adoption, "pickle", "readme", ...}``."""
    src = {
        "sd15": real("silero/silero_vad_16k.safetensors"),
        "style": real("llama_vocab/ggml-vocab-phi-3.gguf") if gguf else real("silero/silero_vad_op18_ifless.onnx"),
        "emb": real("silero/silero_vad_openvino_16k.onnx"),
        "vae": real("silero/silero_vad.onnx"),
        "seq": real("silero/silero_vad_16k_sequence.onnx"),
        "x": real("silero/silero_vad_half.onnx"),
        "a1": real("silero/silero_vad_16k_op15.onnx"),
        "pth": real("lpips/v0.1/squeeze.pth"),
    }
    c1, c2, shared, webui = base / "C1", base / "C2", base / "shared", base / "webui"
    style = "style.gguf" if gguf else "style.onnx"
    for c in (c1, c2):
        for key in ("checkpoints", "loras", "vae", "embeddings", "controlnet", "text_encoders"):
            (c / "models" / key).mkdir(parents=True)
        (c / "main.py").write_text("# ComfyUI stand-in\n")
    place = {
        c1 / "models/checkpoints/SD1.5/sd15.safetensors": "sd15",
        c2 / "models/checkpoints/sd15.safetensors": "sd15",
        c1 / "models/loras" / style: "style",
        c2 / "models/loras" / style: "style",
        c1 / "models/embeddings/emb.onnx": "emb",
        c2 / "models/vae/vae.onnx": "vae",
        c2 / "models/controlnet/seq.onnx": "seq",
        shared / "loras/x.onnx": "x",
        webui / "models/Lora/a1.onnx": "a1",
    }
    for dst, key in place.items():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src[key], dst)
    (webui / "models/Stable-diffusion").mkdir(parents=True)
    shutil.copyfile(src["pth"], c1 / "models/loras/squeeze.pth")
    (c1 / "models/loras/readme.txt").write_text("trigger words are in the info file\n")
    sha = {k: sha256(v) for k, v in src.items()}
    (c1 / "models/loras/style.civitai.info").write_text(json.dumps({
        "id": 111, "modelId": 11, "name": "v1", "baseModel": "SD 1.5", "trainedWords": ["inkstyle"],
        "model": {"name": "Ink Style", "type": "LORA"}, "files": [{"hashes": {"SHA256": sha["style"].upper()}}],
        "images": [{"url": "https://image.civitai.com/ink.png", "type": "image"}]}))
    (c1 / "models/loras/style.preview.png").write_bytes(PNG)
    (c2 / "models/vae/vae.cm-info.json").write_text(json.dumps({
        "ModelId": 22, "ModelName": "Clear VAE", "ModelType": "VAE", "VersionId": 222, "VersionName": "v2",
        "BaseModel": "SDXL 1.0", "Hashes": {"SHA256": sha["vae"]}, "TrainedWords": []}))
    (c2 / "models/vae/vae.png").write_bytes(PNG + b"vae")
    (c1 / "models/embeddings/emb.metadata.json").write_text(json.dumps({
        "file_name": "emb", "model_name": "Emb", "sha256": sha["emb"], "base_model": "SD 1.5",
        "notes": "my favourite embedding", "tags": ["faces"], "civitai": {
            "id": 333, "modelId": 33, "name": "v3", "trainedWords": ["embword"], "baseModel": "SD 1.5",
            "model": {"name": "Emb", "type": "TextualInversion"}}}))
    (c1 / "models/embeddings/emb.sha256").write_text(sha["emb"] + "\n")
    (shared / "loras/x.sha256").write_text("0" * 64 + "\n")
    (webui / "cache.json").write_text(json.dumps({"hashes": {"lora/a1": {"mtime": 1.0, "sha256": sha["a1"]}}}))
    (webui / "models/Lora/a1.json").write_text(json.dumps({
        "description": "an A1111 lora", "sd version": "SD1", "activation text": "a1word, second",
        "preferred weight": 0.8, "notes": "kept from A1111"}))
    (c1 / "extra_model_paths.yaml").write_text(
        f"shared:\n  base_path: {shared}\n  loras: loras\n"
        f"a111:\n  base_path: {webui}\n  checkpoints: models/Stable-diffusion\n  loras: |\n    models/Lora\n")
    return {"installs": [c1, c2], "roots": [c1, c2, shared, webui], "sha": sha, "src": src,
            "models": {str(p): blake3.blake3(p.read_bytes()).hexdigest() for p in place},
            "existing": src["seq"], "style": c1 / "models/loras" / style, "pickle": c1 / "models/loras/squeeze.pth",
            "readme": c1 / "models/loras/readme.txt"}

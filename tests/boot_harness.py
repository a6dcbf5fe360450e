"""Helpers for the survival tests (no tests here): a fake ComfyUI tree with this repository as
``custom_nodes/<pack>/``, a ``folder_paths.py`` next to it, and :func:`run_boot`, which executes
``prestartup_script.py`` in a fresh subprocess the way ComfyUI's ``execute_prestartup_script`` does
(``spec_from_file_location(<path without .py>)`` + ``exec_module``, the ComfyUI root on ``sys.path``;
reference/comfyui-integration.md §1).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from model_shapes import KOHYA_LORA, SD15_CHECKPOINT
from st_writer import write_safetensors

REPO = Path(__file__).resolve().parent.parent

FOLDER_PATHS_PY = '''
import os
base_path = os.path.dirname(os.path.abspath(__file__))
models_dir = os.path.join(base_path, "models")
_keys = {"checkpoints": ["checkpoints"], "loras": ["loras"], "vae": ["vae"],
         "text_encoders": ["text_encoders", "clip"], "diffusion_models": ["unet", "diffusion_models"],
         "embeddings": ["embeddings"], "upscale_models": ["upscale_models"], "diffusers": ["diffusers"]}
folder_names_and_paths = {k: ([os.path.join(models_dir, d) for d in v], {".safetensors"}) for k, v in _keys.items()}
'''

RUNNER = '''
import importlib.util, os, sys
comfy = sys.argv[1]
sys.path.insert(0, comfy)
import folder_paths  # noqa: F401  (ComfyUI has set it up before prestartup scripts run)
for pack in sorted(os.listdir(os.path.join(comfy, "custom_nodes"))):
    script = os.path.join(comfy, "custom_nodes", pack, "prestartup_script.py")
    if os.path.isfile(script):
        spec = importlib.util.spec_from_file_location(script[:-3], script)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
'''

LINE = re.compile(r"^\[pumas\] .*$", re.M)


def make_comfyui(base: Path) -> Path:
    """A ComfyUI-shaped tree at ``base`` with ``folder_paths.py`` and this repo in ``custom_nodes``."""
    for key in ("checkpoints", "loras", "vae", "text_encoders", "clip", "unet", "diffusion_models",
                "embeddings", "upscale_models", "diffusers"):
        (base / "models" / key).mkdir(parents=True, exist_ok=True)
    (base / "comfyui_version.py").write_text('__version__ = "0.3.64"\n')
    (base / "main.py").write_text("# ComfyUI stand-in for tests\n")
    (base / "folder_paths.py").write_text(FOLDER_PATHS_PY)
    (base / "custom_nodes").mkdir(exist_ok=True)
    pack = base / "custom_nodes" / "pumas-library"
    if not pack.exists():
        pack.symlink_to(REPO, target_is_directory=True)
    return base


@dataclass
class Boot:
    """One boot: exit code, the ``[pumas]`` lines, all of stderr."""

    rc: int
    lines: list[str]
    stderr: str

    @property
    def line(self) -> str:
        assert len(self.lines) == 1, self.stderr
        return self.lines[0]

    @property
    def ms(self) -> float | None:
        m = re.search(r" in (\d+) ms", self.line)
        return float(m.group(1)) if m else None


def run_boot(comfy: Path, library: Path, state: Path) -> Boot:
    """Run every ``custom_nodes/*/prestartup_script.py`` of ``comfy`` like ComfyUI does, in a subprocess."""
    env = {**os.environ, "PUMAS_LIBRARY": str(library), "PUMAS_STATE": str(state), "PUMAS_OFFLINE": "1"}
    env.pop("PUMAS_DB", None)
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(comfy)], capture_output=True, text=True,
                          timeout=120, cwd=str(comfy), env=env)
    return Boot(proc.returncode, LINE.findall(proc.stderr), proc.stderr)


def populate(library: Path, state: Path, incoming: Path, real_file, n_loras: int = 4) -> list[str]:
    """Import a real file (silero, set to ``vae``), an SD1.5-shaped checkpoint and ``n_loras`` LoRAs;
    returns the model ids."""
    from pumas_core.facade import Library

    incoming.mkdir(parents=True, exist_ok=True)
    files = [write_safetensors(incoming / "dreamy_sd15.safetensors", SD15_CHECKPOINT)]
    files += [write_safetensors(incoming / f"style_{i}.safetensors", KOHYA_LORA,
                                metadata={"ss_network_module": "networks.lora", "ss_output_name": f"style_{i}"})
              for i in range(n_loras)]
    silero = incoming / "silero_vad_16k.safetensors"
    silero.write_bytes(Path(real_file("silero/silero_vad_16k.safetensors")).read_bytes())
    with Library.open(library, state, create=True) as lib:
        rep = lib.import_paths([str(p) for p in files + [silero]], mode="copy", lookup=False)
        assert not rep["failed"], rep["failed"]
        ids = [m["model_id"] for m in rep["imported"]]
        vad = next(m for m in rep["imported"] if m["official_name"] == silero.name)
        lib.update_metadata(vad["model_id"], {"model_type": "vae"})
    return ids


def links(comfy: Path) -> dict[str, str]:
    """``{link path relative to models/: link text}`` of every symlink under ``comfy/models``."""
    models = comfy / "models"
    return {str(p.relative_to(models)): os.readlink(p) for p in sorted(models.rglob("*")) if p.is_symlink()}


def resolving(comfy: Path) -> int:
    """How many of the symlinks under ``comfy/models`` resolve to an existing file or folder."""
    return sum(1 for p in (comfy / "models").rglob("*") if p.is_symlink() and p.exists())

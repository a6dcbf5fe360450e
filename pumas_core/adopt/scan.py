"""Find the model files of existing installs: ComfyUI ``models/*``, its ``extra_model_paths.yaml``
roots, and A1111/Forge folders — each file with the ComfyUI folder key it is listed under.

Facts (reference/comfyui-integration.md §3, ComfyUI ``utils/extra_config.py``): the YAML's top-level
sections have any name; each holds an optional ``base_path`` (``~`` and ``$VARS`` expanded, relative
to the YAML's folder), an optional ``is_default`` and ``key: path`` entries, where a value may hold
several paths, one per line.  Legacy keys ``unet``/``clip`` mean ``diffusion_models``/``text_encoders``.
A1111 keeps models in ``models/Stable-diffusion``, ``models/Lora``, ``models/LyCORIS``, ``models/VAE``,
``models/ESRGAN``, ``models/ControlNet``, ``models/hypernetworks`` and ``embeddings``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInputError
from ..links.comfyui import LEGACY_KEYS, NON_MODEL_KEYS, discover_folder_paths
from ..links.fsops import is_within, link_points_to
from ..vocab import WEIGHT_SUFFIXES

A1111_DIRS = {"models/Stable-diffusion": "checkpoints", "models/Lora": "loras", "models/LyCORIS": "loras",
              "models/VAE": "vae", "models/ESRGAN": "upscale_models", "models/RealESRGAN": "upscale_models",
              "models/ControlNet": "controlnet", "models/hypernetworks": "hypernetworks", "embeddings": "embeddings"}
SHARD_RE = re.compile(r"-\d{5}-of-\d{5}\.[A-Za-z0-9]+$")
MAX_YAML_BYTES = 1 << 20


@dataclass
class Candidate:
    """One file found in an install: ``path`` (absolute, as found), ``folder_key``, ``key_dir`` (the
    folder of that key it lies in), ``subdir`` (``"SD1.5"`` or ``""``), ``size`` (bytes), ``app_root``
    (the install it belongs to), ``same_fs_as`` filled by the planner."""

    path: str
    folder_key: str
    key_dir: str
    subdir: str
    size: int
    app_root: str


@dataclass
class ScanResult:
    """``candidates`` (model files), ``skipped`` (``[{"path", "reason"}]``: our links, user symlinks,
    folder models, shards) and ``installs`` (``[{"root", "kind", "folder_paths"}]``)."""

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    installs: list[dict[str, Any]] = field(default_factory=list)


def read_extra_model_paths(yaml_path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """``{folder_key: [abs dirs]}`` from one ``extra_model_paths.yaml`` (missing file → ``{}``).

    Raises:
        BadInputError: the file is not valid YAML or not a mapping of sections (names the file).
    """
    p = Path(yaml_path)
    try:
        raw = p.read_bytes()[:MAX_YAML_BYTES].decode("utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise BadInputError(f"{p}: cannot read ({exc.strerror})", path=p) from None
    import yaml  # PyYAML: a dependency (also huggingface_hub's)

    try:
        data: Any = yaml.safe_load(raw)
    except Exception as exc:  # yaml.YAMLError and friends
        raise BadInputError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})", path=p) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInputError(f"{p}: expected sections of folder paths", path=p)
    out: dict[str, list[str]] = {}
    for conf in data.values():
        if not isinstance(conf, dict):
            continue
        base = conf.get("base_path")
        base = os.path.expandvars(os.path.expanduser(str(base))) if base else ""
        if base and not os.path.isabs(base):
            base = os.path.join(p.parent, base)
        for key, value in conf.items():
            if key in ("base_path", "is_default") or value is None:
                continue
            key = LEGACY_KEYS.get(str(key), str(key))
            if key in NON_MODEL_KEYS:
                continue
            for line in str(value).splitlines():
                line = line.strip()
                if not line:
                    continue
                full = os.path.join(base, os.path.expandvars(os.path.expanduser(line))) if base else line
                if not os.path.isabs(full):
                    full = os.path.join(p.parent, full)
                full = os.path.normpath(full)
                if full not in out.setdefault(key, []):
                    out[key].append(full)
    return out


def install_folders(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe the install at ``directory``: ``{"root", "kind": "comfyui"|"a1111", "folder_paths"}``.

    Raises:
        BadInputError: missing, not a folder, or neither a ComfyUI nor an A1111/Forge install.
    """
    root = os.path.abspath(os.path.expanduser(os.fspath(directory)))
    if not os.path.isdir(root):
        raise BadInputError(f"{root}: not an existing folder", path=root)
    if (os.path.isdir(os.path.join(root, "models", "Stable-diffusion"))
            or os.path.isfile(os.path.join(root, "webui.py"))):
        fp: dict[str, list[str]] = {}
        for rel, key in A1111_DIRS.items():
            d = os.path.join(root, rel)
            if os.path.isdir(d):
                fp.setdefault(key, []).append(d)
        return {"root": root, "kind": "a1111", "folder_paths": fp}
    markers = [os.path.isfile(os.path.join(root, "main.py")), os.path.isdir(os.path.join(root, "comfy")),
               os.path.isdir(os.path.join(root, "models"))]
    if not any(markers):
        raise BadInputError(f"{root}: not a ComfyUI folder (no main.py, comfy/ or models/) nor an A1111 folder",
                            path=root)
    fp = discover_folder_paths(os.path.join(root, "models"))
    for key, dirs in read_extra_model_paths(os.path.join(root, "extra_model_paths.yaml")).items():
        lst = fp.setdefault(key, [])
        lst += [d for d in dirs if d not in lst]
    return {"root": root, "kind": "comfyui", "folder_paths": fp}


def _walk(key_dir: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """Yield ``(dirpath, filenames, skipped_dirs)``; folder models (``model_index.json``) are not entered."""
    for dirpath, dirnames, filenames in os.walk(key_dir, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        skipped: list[str] = []
        if "model_index.json" in filenames and dirpath != key_dir:
            skipped.append(dirpath)
            dirnames[:] = []
            filenames = []
        for d in list(dirnames):
            if os.path.isfile(os.path.join(dirpath, d, "model_index.json")) or os.path.islink(os.path.join(dirpath, d)):
                skipped.append(os.path.join(dirpath, d))
                dirnames.remove(d)
        yield dirpath, sorted(f for f in filenames if not f.startswith(".")), skipped


def scan(directories: Iterable[str | os.PathLike[str]], library_root: str | os.PathLike[str]) -> ScanResult:
    """Walk every model folder of the installs in ``directories`` (in order; the first install wins
    for a folder two installs share).  Files that are symlinks into ``library_root`` are our links
    (skipped), other symlinks are the user's (skipped), non-weight files stay out of the result.

    Raises:
        BadInputError: a directory is not an install (see :func:`install_folders`).
    """
    lib = os.path.realpath(library_root)
    res = ScanResult()
    seen: set[str] = set()
    for directory in directories:
        inst = install_folders(directory)
        res.installs.append(inst)
        for key, dirs in inst["folder_paths"].items():
            for key_dir in dirs:
                if not os.path.isdir(key_dir) or is_within(os.path.realpath(key_dir), lib):
                    continue
                for dirpath, files, skipped_dirs in _walk(key_dir):
                    for d in skipped_dirs:
                        res.skipped.append({"path": d, "reason": "folder model or symlinked folder: not adopted"})
                    for name in files:
                        _consider(res, seen, lib, inst["root"], key, key_dir, dirpath, name)
    return res


def _consider(res: ScanResult, seen: set[str], lib: str, app_root: str, key: str, key_dir: str, dirpath: str,
              name: str) -> None:
    path = os.path.join(dirpath, name)
    if os.path.splitext(name)[1].lower() not in WEIGHT_SUFFIXES:
        return  # .txt, .yaml, previews, sidecars: left in place
    real = os.path.realpath(path)
    if real in seen:
        return
    seen.add(real)
    if is_within(real, lib) and not os.path.islink(path):
        return  # the library itself (a library kept inside a models folder): never adopt it into itself
    if os.path.islink(path):
        dest = link_points_to(path, os.readlink(path))
        ours = is_within(dest, lib) or is_within(real, lib)
        res.skipped.append({"path": path, "reason": "already a Pumas link" if ours else "a symlink (not adopted)",
                            "action": "skip"})
        return
    if SHARD_RE.search(name):
        res.skipped.append({"path": path, "reason": "part of a sharded set: import its folder with pumas import"})
        return
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        res.skipped.append({"path": path, "reason": f"unreadable ({exc.strerror})"})
        return
    sub = os.path.relpath(dirpath, key_dir)
    res.candidates.append(Candidate(path=path, folder_key=key, key_dir=key_dir,
                                    subdir="" if sub == "." else sub.replace(os.sep, "/"), size=size,
                                    app_root=app_root))

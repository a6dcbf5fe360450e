"""One crash case of the harness: run a ``pumas`` command, SIGKILL it at a chosen point, then open the
library as a user would (``pumas list``) and check every invariant of :mod:`crash_support`.

Used by ``tests/test_crash_import.py``, ``test_crash_sync.py`` and ``test_crash_rebuild.py``; the tally
(:data:`TALLY`) counts kills per phase and collects violations for the summary line.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

from crash_support import (
    check_links,
    check_models,
    cli_args,
    digest,
    last_phase,
    lora_file,
    mount_tmpfs,
    run_cli,
    umount,
)
from st_writer import write_safetensors

MiB = 1 << 20
#: kills per phase reached (the last phase announced before SIGKILL) and every violation seen.
TALLY: dict = {"kills": Counter(), "violations": [], "cases": 0}


def scratch(tmp_path_factory, name: str, size: str = "768m"):
    """A scratch folder for a harness module: a tmpfs (fsync-free, as CI runs as root) or, when it cannot
    be mounted, a plain temporary folder.  Returns ``(path, cleanup)``."""
    base = tmp_path_factory.mktemp(name)
    mnt = base / "mnt"
    if mount_tmpfs(mnt, size) is None:
        return mnt, lambda: umount(mnt)
    mnt.mkdir(exist_ok=True)
    return mnt, lambda: None


def comfy_tree(base: Path) -> Path:
    """A minimal ComfyUI install (``main.py``, ``comfyui_version.py``, ``models/<key>/``)."""
    for key in ("checkpoints", "loras", "vae", "text_encoders", "diffusion_models", "diffusers", "clip"):
        (base / "models" / key).mkdir(parents=True, exist_ok=True)
    (base / "comfyui_version.py").write_text('__version__ = "0.3.64"\n')
    (base / "main.py").write_text("# ComfyUI stand-in\n")
    return base


def source_unit(where: Path, kind: str, seed: int) -> tuple[Path, dict[str, str]]:
    """A unit to import: ``big`` (one 20 MiB LoRA: three 8 MiB copy chunks), ``single`` (a 64 KiB LoRA)
    or ``sharded`` (a two-shard Sharded Set + index).  Returns ``(path to import, {file path: blake3})``."""
    if kind in ("big", "single"):
        f = lora_file(where / f"crash_{kind}_{seed}.safetensors", seed, floats=5 * MiB if kind == "big" else 16384)
        return f, {str(f): digest(f)}
    d = where / f"crash_set_{seed}"
    weight_map = {}
    for i in (1, 2):
        name = f"model-0000{i}-of-00002.safetensors"
        write_safetensors(d / name, {f"layer{i}.weight": ("F32", [65536])}, metadata={"seed": str(seed)})
        weight_map[f"layer{i}.weight"] = name
    (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return d, {str(p): digest(p) for p in sorted(d.iterdir())}


def list_models(root: Path, state: Path, violations: list[str], when: str) -> list[dict]:
    """``pumas --json list`` in a fresh process; a failure is a violation."""
    outcome, out = run_cli(cli_args(root, state, "list"))
    if outcome != "exit 0":
        violations.append(f"{when}: `pumas list` ended with {outcome}")
        return []
    return json.loads(out)["models"]


def check_sources(sources: dict[str, str], models: list[dict], violations: list[str]) -> None:
    """Each source file is at its original path intact, or complete in an indexed model (move mode)."""
    in_library = {f["blake3"] for m in models for f in m["files"]}
    for path, b3 in sources.items():
        if os.path.exists(path):
            if digest(Path(path)) != b3:
                violations.append(f"source {path} changed")
        elif b3 not in in_library:
            violations.append(f"source {path} lost: not at its path and not in an indexed model")


def import_case(case: Path, *, mode: str, kind: str, kill_at: str | None = None,
                kill_after: float | None = None, delay: float = 0.0, seed: int = 0) -> list[str]:
    """Import killed at ``kill_at`` (or after ``kill_after`` s), then open, check, re-import, check.
    The case folder is removed afterwards (the harness runs on a small tmpfs)."""
    try:
        return _import_case(case, mode=mode, kind=kind, kill_at=kill_at, kill_after=kill_after, delay=delay,
                            seed=seed)
    finally:
        shutil.rmtree(case, ignore_errors=True)


def _import_case(case: Path, *, mode: str, kind: str, kill_at: str | None, kill_after: float | None,
                 delay: float, seed: int) -> list[str]:
    root, state, comfy = case / "library", case / "state", comfy_tree(case / "ComfyUI")
    violations: list[str] = []
    assert run_cli(cli_args(root, state, "apps", "add", comfy))[0] == "exit 0"
    src, sources = source_unit(case / "incoming", kind, seed)
    phases = case / "phases.txt"
    outcome, _ = run_cli(cli_args(root, state, "import", "--mode", mode, src), kill_at=kill_at,
                         kill_after=kill_after, delay=delay, phase_file=phases)
    reached = last_phase(phases)
    if outcome != "killed":
        if kill_at:
            violations.append(f"kill point {kill_at} was not reached ({outcome})")
        return _finish(violations, None)
    models = list_models(root, state, violations, f"after kill at {reached}")
    violations += check_models(root, models)
    violations += check_links(root, state, comfy / "models", models, exact=False)
    check_sources(sources, models, violations)
    # the same import again works and stores nothing twice
    if all(os.path.exists(p) for p in sources):
        again = src  # recovery put the sources back (or copy mode): import them again
    elif {f["blake3"] for m in models for f in m["files"]} >= set(sources.values()):
        again = _copy_back(src, sources, models, case / "again")  # moved into the library: same bytes again
    else:
        return _finish(violations, reached)  # a source is lost: already a violation
    outcome, out = run_cli(cli_args(root, state, "import", "--mode", mode, again))
    report = json.loads(out) if out.strip() else {}
    if outcome != "exit 0" or report.get("failed"):
        violations.append(f"re-import after kill at {reached}: {outcome} {report.get('failed')}")
    outcome, out = run_cli(cli_args(root, state, "sync"))
    unmapped = {u["model_id"] for u in json.loads(out).get("unmapped", [])} if outcome == "exit 0" else set()
    if outcome != "exit 0":
        violations.append(f"sync after re-import: {outcome}")
    models = list_models(root, state, violations, "after re-import")
    violations += check_models(root, models)
    violations += check_links(root, state, comfy / "models", models, exact=True, unmapped=unmapped)
    ids = [m["model_id"] for m in models]
    if len(ids) != 1:
        violations.append(f"after kill at {reached} and re-import: {len(ids)} models instead of 1")
    return _finish(violations, reached)


def _copy_back(src: Path, sources: dict[str, str], models: list[dict], dest: Path) -> Path:
    """The moved source is in the library: rebuild the same bytes elsewhere to import them again."""
    by_b3 = {f["blake3"]: Path(m["path"]) / f["name"] for m in models for f in m["files"]}
    for path, b3 in sources.items():
        target = dest / Path(path).relative_to(src.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(by_b3[b3], target)
    return dest / src.name


def _finish(violations: list[str], reached: str | None) -> list[str]:
    TALLY["cases"] += 1
    if reached is not None:
        TALLY["kills"][reached] += 1
    TALLY["violations"] += violations
    return violations


def summary() -> str:
    """One line: total kills, kills per phase, violations."""
    kills = TALLY["kills"]
    per = ", ".join(f"{k}={v}" for k, v in sorted(kills.items()))
    return (f"crash harness: {sum(kills.values())} kills in {TALLY['cases']} cases, "
            f"{len(TALLY['violations'])} violations [{per}]")

"""Benchmark: resolving a real workflow template against libraries of 1k/10k models.

Run by hand (not in CI):  python bench/bench_workflow.py [--sizes 1000,10000] [--dir DIR]

Builds the synthetic library of ``bench_library.make_library`` (N model folders, Deep Scan indexed),
adds four models named like the template ``flux_schnell_full_text_to_image.json`` (from the pinned
``comfyui-workflow-templates-json``, tests/realdata.py), registers a ComfyUI tree and times
``Library.resolve_workflow``: the first run (links created), a second run (nothing to do) and a dry run.
Target: an interactive answer, under 1 s at 10k models; prints the ratio to it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import realdata  # noqa: E402
from bench_library import make_library  # noqa: E402

from pumas_core.facade import Library  # noqa: E402
from pumas_core.library import deepscan  # noqa: E402
from pumas_core.library.index import ModelIndex  # noqa: E402

TEMPLATE = "workflow_templates/flux_schnell_full_text_to_image.json"
NAMED = {"ae.safetensors": "vae", "clip_l.safetensors": "text_encoder", "t5xxl_fp16.safetensors": "text_encoder",
         "flux1-schnell.safetensors": "diffusion_model"}


def add_named(root: Path) -> None:
    """Four model folders whose names are the template's."""
    for name, mtype in NAMED.items():
        mid = hashlib.blake2b(name.encode(), digest_size=32).hexdigest()
        d = root / "named" / mtype / mid[:8]
        d.mkdir(parents=True)
        payload = name.encode()
        (d / name).write_bytes(payload)
        sha = hashlib.sha256(payload).hexdigest()
        meta = {"schema_version": 1, "model_id": mid, "official_name": name, "cleaned_name": name.rsplit(".", 1)[0],
                "category": "named", "family": mtype, "model_type": mtype, "format": "single-file",
                "file_format": "safetensors", "files": [{"name": name, "size": len(payload), "sha256": sha,
                                                         "blake3": mid}],
                "hashes": {"sha256": sha, "blake3": mid}, "size_bytes": len(payload), "security_tier": "safe",
                "added_date": "2026-11-21T00:00:00Z", "updated_date": "2026-11-21T00:00:00Z",
                "match_source": "none", "trust": "none", "pending_online_lookup": False, "tags": [], "description": ""}
        (d / "metadata.json").write_text(json.dumps(meta))


def run(size: int, base: Path, workflow: Path) -> dict:
    root, state, comfy = base / f"lib{size}", base / f"state{size}", base / f"ComfyUI{size}"
    make_library(root, size)
    add_named(root)
    index = ModelIndex(root / "models.db", root)
    deepscan.rebuild(root, index)
    index.close()
    for key in ("vae", "text_encoders", "diffusion_models", "checkpoints", "loras"):
        (comfy / "models" / key).mkdir(parents=True)
    (comfy / "main.py").write_text("")
    out = {"size": size}
    with Library.open(root, state) as lib:
        app_id = lib.add_app(comfy)["app_id"]
        for label, kw in (("dry", {"dry_run": True}), ("first", {}), ("second", {})):
            t0 = time.perf_counter()
            r = lib.resolve_workflow(workflow, app_id=app_id, **kw)
            out[label] = time.perf_counter() - t0
            out[label + "_created"] = r["created"]
    shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    os.environ["PUMAS_OFFLINE"] = "1"
    workflow = realdata.path(TEMPLATE)
    base = Path(tempfile.mkdtemp(prefix="pumas-bench-wf-", dir=args.dir))
    try:
        print(f"{'models':>8} {'dry run':>9} {'first':>9} {'created':>8} {'second':>9} {'created':>8} "
              f"{'1 s/first':>10}")
        for size in (int(s) for s in args.sizes.split(",")):
            r = run(size, base, workflow)
            print(f"{r['size']:>8} {r['dry']*1000:>7.0f}ms {r['first']*1000:>7.0f}ms {r['first_created']:>8} "
                  f"{r['second']*1000:>7.0f}ms {r['second_created']:>8} {1.0 / r['first']:>10.1f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

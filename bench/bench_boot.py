"""Benchmark: the no-op boot sync at ComfyUI start with 10,000 models (target < 50 ms).

Builds a library of N tiny single-file models (metadata.json written with
``pumas_core.library.metadata.write_metadata``, indexed by Deep Scan), a ComfyUI tree, runs one
full boot sync (creates N links, not timed as the target), then times repeated no-op boot syncs
through the same entry point ComfyUI uses (``comfyui_pumas_node.boot.boot_sync``, which opens the
library, registers the install and checks the fast path).  Prints median / p95 and the ratio to
the 50 ms target (ratio < 1 = target met).

Usage: python bench/bench_boot.py [--models 10000] [--runs 20]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_MS = 50.0
TYPES = ("checkpoint", "lora", "vae", "text_encoder", "controlnet", "upscale_model", "embedding")


def build_library(root: Path, n: int) -> None:
    """Write ``n`` model folders (a small file + metadata.json) under ``root``."""
    from pumas_core.library.metadata import now_iso, write_metadata

    now = now_iso()
    for i in range(n):
        data = i.to_bytes(8, "little") * 4
        mid = hashlib.blake2b(data, digest_size=32).hexdigest()  # stand-in id: only uniqueness matters here
        mtype = TYPES[i % len(TYPES)]
        name = f"model_{i:05d}.safetensors"
        d = root / mtype / "bench" / f"model_{i:05d}"
        d.mkdir(parents=True)
        (d / name).write_bytes(data)
        write_metadata(d, {
            "schema_version": 1, "model_id": mid, "official_name": name, "cleaned_name": f"model_{i:05d}",
            "category": mtype, "family": "bench", "model_type": mtype, "format": "single-file",
            "file_format": "safetensors",
            "files": [{"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "blake3": mid}],
            "hashes": {"sha256": hashlib.sha256(data).hexdigest(), "blake3": mid}, "size_bytes": len(data),
            "added_date": now, "updated_date": now, "security_tier": "safe", "match_source": "none",
            "trust": "none", "pending_online_lookup": False, "tags": [], "description": "",
        })


def make_comfy(base: Path) -> dict:
    for key in ("checkpoints", "loras", "vae", "text_encoders", "controlnet", "upscale_models", "embeddings"):
        (base / "models" / key).mkdir(parents=True)
    (base / "main.py").write_text("# bench\n")
    (base / "comfyui_version.py").write_text('__version__ = "0.3.64"\n')
    return {k.name: [str(k)] for k in (base / "models").iterdir()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    from comfyui_pumas_node.boot import boot_sync
    from pumas_core.facade import Library

    with tempfile.TemporaryDirectory(prefix="pumas-bench-boot-") as tmp:
        tmp = Path(tmp)
        os.environ["PUMAS_OFFLINE"] = "1"
        lib_root, state, comfy = tmp / "library", tmp / "state", tmp / "ComfyUI"
        t0 = time.perf_counter()
        build_library(lib_root, args.models)
        with Library.open(lib_root, state) as lib:
            indexed = lib.rebuild()["indexed"]
        fp = make_comfy(comfy)
        t1 = time.perf_counter()
        first = boot_sync(fp, comfy, library=lib_root, state=state, quiet=True)
        t2 = time.perf_counter()
        print(f"setup: {indexed} models indexed in {t1 - t0:.1f} s; first boot sync: {first['created']} links "
              f"created in {(t2 - t1) * 1000:.0f} ms")
        if not first["ok"] or first["created"] != args.models:
            print(f"first sync did not link every model: {first}", file=sys.stderr)
            return 1
        times = []
        for _ in range(args.runs):
            s = boot_sync(fp, comfy, library=lib_root, state=state, quiet=True)
            if not s["ok"] or s["created"]:
                print(f"no-op boot sync did work: {s}", file=sys.stderr)
                return 1
            times.append(s["ms"])
        med = statistics.median(times)
        p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
        print(f"no-op boot sync, {args.models} models: median {med:.1f} ms, p95 {p95:.1f} ms, "
              f"fast_path={s['fast_path']}")
        print(f"ratio to target ({TARGET_MS:.0f} ms): {med / TARGET_MS:.2f} (< 1.00 meets it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

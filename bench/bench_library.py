"""Benchmark: search latency (p50/p99) at 1k/10k/100k models and Deep Scan throughput.

Run by hand (not in CI):  python bench/bench_library.py [--sizes 1000,10000,100000] [--dir DIR]

It writes N real model folders (a metadata.json and a tiny weight file each) into a temporary
library, indexes them with Deep Scan (timed: models/s, target >= 5,000/s without re-hashing), then
runs 500 prefix queries drawn from the vocabulary of names (timed: p50/p99, target p99 < 5 ms at
100k).  Prints one line per size with the ratios to the targets.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pumas_core.library import deepscan  # noqa: E402
from pumas_core.library.index import ModelIndex  # noqa: E402

WORDS = ["juggernaut", "realistic", "vision", "dreamshaper", "flux", "dev", "schnell", "sdxl", "turbo", "lightning",
         "pony", "anime", "portrait", "detail", "tweaker", "lora", "style", "cinematic", "photo", "illustrious", "noob",
         "animagine", "epic", "majicmix", "chilloutmix", "deliberate", "revanimated", "absolute", "reality", "analog",
         "madness", "cyber", "neon", "ghibli", "pixel", "watercolor"]
TYPES = ("checkpoint", "lora", "vae", "text_encoder", "diffusion_model", "controlnet", "embedding", "llm")


def make_library(root: Path, n: int, seed: int = 7) -> None:
    """Write ``n`` model folders under ``root`` (metadata.json + a 16-byte weight file each)."""
    rnd = random.Random(seed)
    for i in range(n):
        name = "_".join(rnd.sample(WORDS, 3)) + f"_v{i % 50}"
        mtype = rnd.choice(TYPES)
        mid = hashlib.blake2b(f"{i}".encode(), digest_size=32).hexdigest()
        d = root / "diffusion" / mtype / f"{name}-{mid[:8]}"
        d.mkdir(parents=True)
        payload = mid[:16].encode()
        (d / f"{name}.safetensors").write_bytes(payload)
        sha = hashlib.sha256(payload).hexdigest()
        meta = {"schema_version": 1, "model_id": mid, "official_name": f"{name}.safetensors",
                "cleaned_name": name, "category": "diffusion", "family": mtype, "model_type": mtype,
                "format": "single-file", "file_format": "safetensors",
                "files": [{"name": f"{name}.safetensors", "size": len(payload), "sha256": sha, "blake3": mid}],
                "hashes": {"sha256": sha, "blake3": mid}, "size_bytes": len(payload),
                "added_date": "2026-11-21T00:00:00Z", "updated_date": "2026-11-21T00:00:00Z",
                "security_tier": "safe", "match_source": "none", "trust": "none", "pending_online_lookup": False,
                "tags": rnd.sample(WORDS, 2), "description": ""}
        (d / "metadata.json").write_text(json.dumps(meta))


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def run(size: int, base: Path) -> dict:
    """Build, scan and query a library of ``size`` models; return the measurements."""
    root = base / f"lib{size}"
    make_library(root, size)
    os.sync()  # a library at rest: do not time the kernel's writeback of the files just generated
    index = ModelIndex(root / "models.db", root)
    scan = deepscan.rebuild(root, index)
    rnd = random.Random(1)
    queries = [" ".join(w[: rnd.randint(2, len(w))] for w in rnd.sample(WORDS, rnd.randint(1, 2))) for _ in range(500)]
    for q in queries[:20]:
        index.search(q, limit=50)  # warm the page cache
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q, limit=50)
        times.append((time.perf_counter() - t0) * 1000)
    index.close()
    shutil.rmtree(root)
    return {"size": size, "scan_models_per_s": scan["models_per_second"], "indexed": scan["indexed"],
            "p50_ms": statistics.median(times), "p99_ms": pct(times, 99)}


def main() -> None:
    """Parse arguments, run every size, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--dir", default=None, help="scratch folder (default: a temp dir)")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pumas-bench-", dir=args.dir))
    try:
        print(f"{'models':>8} {'deep scan/s':>12} {'x target':>9} {'search p50':>11} {'p99':>8} {'target/p99':>10}")
        for size in (int(s) for s in args.sizes.split(",")):
            r = run(size, base)
            print(f"{r['size']:>8} {r['scan_models_per_s']:>12.0f} {r['scan_models_per_s'] / 5000:>9.2f} "
                  f"{r['p50_ms']:>9.3f}ms {r['p99_ms']:>6.3f}ms {5.0 / r['p99_ms']:>10.1f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark of the link subsystem at 10,000 models (real files, real symlinks, real registry.db).

Measures: first full sync; the boot no-op (``needs_sync`` + fast-path ``sync_app``, target < 50 ms);
a forced full re-sync with nothing to change (informational); the health check over 10,000 links
(target < 0.5 s).  Prints each number and its ratio to the target (< 1.0 = within target).

    python bench/bench_links.py [--models 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pumas_core.links import LinkableModel, Registry, needs_sync, sync_app  # noqa: E402
from pumas_core.links.apps import register_app  # noqa: E402
from pumas_core.links.health import check  # noqa: E402

TYPES = ["checkpoint", "lora", "vae", "text_encoder", "embedding", "controlnet", "upscale_model", "diffusion_model"]
KEYS = ["checkpoints", "loras", "vae", "text_encoders", "clip", "diffusion_models", "unet", "embeddings",
        "controlnet", "upscale_models", "diffusers", "clip_vision", "style_models", "gligen"]


def build(base: Path, n: int) -> tuple[Path, Path, list[LinkableModel]]:
    """A library of ``n`` tiny real model files and a ComfyUI tree."""
    lib, comfy = base / "library", base / "ComfyUI"
    for k in KEYS:
        (comfy / "models" / k).mkdir(parents=True)
    (comfy / "main.py").write_text("")
    models = []
    for i in range(n):
        t = TYPES[i % len(TYPES)]
        d = lib / t / f"fam{i % 50}" / f"model_{i:05d}"
        d.mkdir(parents=True)
        name = f"model_{i:05d}.safetensors"
        (d / name).write_bytes(b"x" * 16)
        mid = hashlib.sha256(str(i).encode()).hexdigest()
        models.append(LinkableModel(mid, t, "single-file", d, (name,), name))
    return lib, comfy, models


def timed(fn, repeat=1):
    ts = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return out, ts


def report(label: str, seconds: float, target: float | None) -> None:
    ratio = f"  ratio {seconds / target:.3f} of target {target * 1000:.0f} ms" if target else ""
    print(f"{label:<44} {seconds * 1000:9.2f} ms{ratio}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=10_000)
    ap.add_argument("--keep", help="build in this folder and keep it")
    args = ap.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="pumas-bench-links-"))
    try:
        t0 = time.perf_counter()
        lib, comfy, models = build(base, args.models)
        print(f"built {args.models} models in {time.perf_counter() - t0:.1f} s under {base}")
        reg = Registry(base / "state" / "registry.db")
        app = register_app(reg, comfy)
        gen = 1
        rep, (t_first,) = timed(lambda: sync_app(reg, app, models, library_root=lib, generation=gen))
        assert rep.created == args.models and not rep.errors, rep.to_dict()
        report(f"first sync ({rep.created} links)", t_first, None)

        def boot():
            a = reg.get_app(app["app_id"])
            if needs_sync(reg, a, gen):
                raise SystemExit("fast path missed: needs_sync said True on an unchanged tree")
            return sync_app(reg, a, (), library_root=lib, generation=gen)
        r, ts = timed(boot, repeat=20)
        assert r.fast_path
        report("boot no-op: needs_sync + fast-path sync (median)", statistics.median(ts), 0.050)
        report("boot no-op: worst of 20", max(ts), 0.050)
        _, ts = timed(lambda: needs_sync(reg, app, gen), repeat=20)
        report("needs_sync alone (median)", statistics.median(ts), 0.050)
        r, (t_full,) = timed(lambda: sync_app(reg, app, models, library_root=lib, generation=gen, force=True))
        assert r.created == 0 and r.already_correct == args.models
        report("forced full re-sync, nothing to do (info)", t_full, None)
        by_id = {m.model_id: m for m in models}
        h, ts = timed(lambda: check(reg, lib, by_id), repeat=5)
        assert h["status"] == "healthy" and h["links_checked"] == args.models, h["status"]
        report(f"health check, {h['links_checked']} links (median)", statistics.median(ts), 0.5)
        os.unlink(comfy / "models" / "loras" / models[1].link_name)
        assert needs_sync(reg, app, gen), "a deleted link must trigger a sync"
        r, (t_one,) = timed(lambda: sync_app(reg, app, models, library_root=lib, generation=gen))
        assert r.created == 1
        report("re-sync after the user deleted one link", t_one, None)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Drive-aware import plan benchmark (run by hand, not in CI).

Usage::

    python bench/bench_drives.py [--files 8] [--size-mb 256] [--dir DIR] [--rounds 2]

Creates ``--files`` random files of ``--size-mb`` MiB on the drive holding ``--dir`` (default: the
system temp dir), then imports them into a scratch library folder on the same drive with
:func:`pumas_core.ingest.hashing.copy_and_hash` (BLAKE3 + SHA-256, fsynced — the import pipeline's
copy) under both plans: one sequential stream, and ``pumas_core.drives.SSD_WORKERS`` parallel
workers.  Before each run the page cache is dropped (``/proc/sys/vm/drop_caches``, root only;
otherwise it says the cache is warm and the comparison is about CPU, not the disk).  It prints the
drive kind Pumas detects, the plan it chooses, MB/s of each plan (10^6 bytes/s, best of rounds) and
``chosen / other`` (target >= 1.0: the chosen plan is at least as fast).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pumas_core.drives import SSD_WORKERS, drive_of  # noqa: E402
from pumas_core.ingest.hashing import copy_and_hash  # noqa: E402


def drop_caches() -> bool:
    """Write back and drop the page cache (root only); False when not allowed (shared by the drive benches)."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def run(files: list[Path], out: Path, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    cold = drop_caches()
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda f: copy_and_hash(f, out / (f.name + ".tmp")), files))
    dt = time.perf_counter() - t
    if not cold:
        print("  (page cache could not be dropped: not root; numbers are warm-cache)")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--size-mb", type=int, default=256)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pumas-bench-drives-", dir=a.dir))
    try:
        src = work / "src"
        src.mkdir()
        files = []
        for i in range(a.files):
            p = src / f"model{i}.safetensors"
            with open(p, "wb") as f:
                for _ in range(a.size_mb):
                    f.write(os.urandom(1 << 20))
            files.append(p)
        drive = drive_of(src)
        chosen = drive.workers
        other = 1 if chosen > 1 else SSD_WORKERS
        total = a.files * a.size_mb * (1 << 20)
        best = {chosen: float("inf"), other: float("inf")}
        for _ in range(a.rounds):
            for w in (chosen, other):
                best[w] = min(best[w], run(files, work / "out", w))
        mbs = {w: total / best[w] / 1e6 for w in best}
        print(f"drive: {drive.device or drive.mount} ({drive.fstype}) kind={drive.kind}")
        print(f"plan chosen: {chosen} worker(s); other plan: {other} worker(s)")
        print(f"chosen {mbs[chosen]:.0f} MB/s   other {mbs[other]:.0f} MB/s   "
              f"ratio chosen/other = {mbs[chosen] / mbs[other]:.2f} (target >= 1.0)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

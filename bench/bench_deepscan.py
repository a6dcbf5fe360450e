"""Drive-aware Deep Scan benchmark (run by hand, not in CI).

Usage::

    python bench/bench_deepscan.py [--models 4000] [--dir DIR] [--rounds 2]

Writes ``--models`` model folders (metadata.json + a tiny weight file each, as bench_library.py) on the
drive holding ``--dir`` (default: the system temp dir), then rebuilds the index with Deep Scan under both
read plans, forced through the ``drive_kind`` override: one sequential reader (``hdd``) and
``pumas_core.drives.SSD_WORKERS`` parallel readers (``ssd``).  Before each run the page cache is dropped
(``/proc/sys/vm/drop_caches``, root only; otherwise it says the cache is warm and the comparison is about
CPU, not the disk).  Prints the drive kind Pumas detects, the plan it would choose, models/s of each
plan (best of rounds) and ``chosen / other`` (target >= 1.0: the chosen plan is at least as fast).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_drives import drop_caches  # noqa: E402
from bench_library import make_library  # noqa: E402

from pumas_core.drives import SSD_WORKERS, drive_of  # noqa: E402
from pumas_core.library import deepscan  # noqa: E402
from pumas_core.library.index import ModelIndex  # noqa: E402


def run(root: Path, kind: str) -> tuple[float, int, bool]:
    """One Deep Scan of ``root`` with the drive forced to ``kind``: ``(seconds, indexed, cache dropped)``."""
    db = root.parent / f"models-{kind}.db"
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    index = ModelIndex(db, root)
    cold = drop_caches()
    t = time.perf_counter()
    r = deepscan.rebuild(root, index, drive_overrides={drive_of(root).mount: kind})
    return time.perf_counter() - t, int(r["indexed"]), cold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=4000)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pumas-bench-deepscan-", dir=a.dir))
    try:
        root = work / "lib"
        make_library(root, a.models)
        drive = drive_of(root)
        chosen = "hdd" if drive.workers == 1 else "ssd"
        other = "ssd" if chosen == "hdd" else "hdd"
        best = {chosen: float("inf"), other: float("inf")}
        cold = True
        for _ in range(a.rounds):
            for kind in (chosen, other):
                secs, n, c = run(root, kind)
                assert n == a.models, (n, a.models)
                best[kind] = min(best[kind], secs)
                cold = cold and c
        rate = {k: a.models / best[k] for k in best}
        workers = {"hdd": 1, "ssd": SSD_WORKERS}
        print(f"drive: {drive.device or drive.mount} ({drive.fstype}) kind={drive.kind}"
              + ("" if cold else "  (page cache could not be dropped: not root; numbers are warm-cache)"))
        print(f"plan chosen: {workers[chosen]} reader(s); other plan: {workers[other]} reader(s)")
        print(f"chosen {rate[chosen]:.0f} models/s   other {rate[other]:.0f} models/s   "
              f"ratio chosen/other = {rate[chosen] / rate[other]:.2f} (target >= 1.0)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

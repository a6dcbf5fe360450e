"""Import throughput benchmark: hash-while-copy against its two baselines (run by hand, not in CI).

Usage::

    python bench/bench_import.py [--size-mb 1536] [--dir DIR] [--rounds 3] [--keep]

Creates one random file of ``--size-mb`` MiB in ``--dir`` (default: a temporary directory on the
same disk as the checkout but never inside it, so ``git add -A`` cannot sweep gigabytes into the
repository: the system temp dir if it is on that disk, else the checkout's parent), reads it once
so that every variant
sees a warm page cache (dropping the cache needs root, so we warm it instead), then for
``--rounds`` rounds, interleaved, times:

(a) ``sha256``     hashlib SHA-256 alone over the file (8 MiB ``readinto`` loop, one thread);
(b) ``dd``         a plain durable copy: ``dd if=F of=G bs=8M conv=fsync``;
(c) ``copy+hash``  ``copy_and_hash(F, G)`` (BLAKE3 + SHA-256, fsynced), run in a child process
                   that also reports its peak RSS growth over idle (RSS sampled from a thread);
(d) ``hash_file``  ``hash_file(F)`` (move mode: both hashes in place).

It prints MB/s (10^6 bytes per second; median and best of the rounds) for each, the ratio
``copy+hash / min(sha256, dd)`` (medians) against the project's target >= 0.9, and the peak
RSS growth of (c) against < 64 MB.  Uses only the standard library and ``pumas_core``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHUNK = 8 * 1024 * 1024
TARGET_RATIO = 0.9
RSS_LIMIT_MB = 64


def default_parent() -> Path:
    """The system temp dir if it shares a device with the checkout, else the checkout's parent."""
    tmp = Path(tempfile.gettempdir())
    return tmp if tmp.stat().st_dev == REPO.stat().st_dev else REPO.parent


def make_file(path: Path, size: int) -> None:
    """Write ``size`` random bytes to ``path`` (incompressible) and fsync it."""
    block = os.urandom(CHUNK)
    with open(path, "wb") as f:
        left = size
        i = 0
        while left:
            # vary each block cheaply so no two chunks are identical
            n = min(left, CHUNK)
            f.write(i.to_bytes(8, "little") + block[8:n] if n > 8 else block[:n])
            left -= n
            i += 1
        f.flush()
        os.fsync(f.fileno())


def warm(path: Path) -> None:
    """Read the whole file once so it sits in the page cache."""
    buf = memoryview(bytearray(CHUNK))
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def time_sha256(path: Path) -> tuple[float, str]:
    buf = memoryview(bytearray(CHUNK))
    h = hashlib.sha256()
    t = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(buf[:n])
    return time.perf_counter() - t, h.hexdigest()


def time_dd(src: Path, dst: Path) -> float:
    t = time.perf_counter()
    subprocess.run(["dd", f"if={src}", f"of={dst}", "bs=8M", "conv=fsync", "status=none"],
                   check=True)
    dt = time.perf_counter() - t
    dst.unlink()
    return dt


def time_copy_and_hash(src: Path, dst: Path) -> dict:
    """Run copy_and_hash in a child so its peak RSS growth over idle is measurable."""
    out = subprocess.run([sys.executable, __file__, "--child-copy", str(src), str(dst)],
                         check=True, capture_output=True, text=True)
    dst.unlink()
    return json.loads(out.stdout)


def _rss_bytes() -> int:
    """Current resident set size (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_copy(src: str, dst: str) -> None:
    """Child side of (c): time copy_and_hash and sample RSS from a thread every 10 ms.

    (``ru_maxrss`` alone is not used: after fork+exec it can carry the parent's peak.)
    """
    import threading

    from pumas_core.ingest.hashing import copy_and_hash

    idle = _rss_bytes()
    peak = [idle]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], _rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.perf_counter()
    h = copy_and_hash(Path(src), Path(dst))
    dt = time.perf_counter() - t
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _rss_bytes())
    print(json.dumps({"seconds": dt, "sha256": h.sha256, "blake3": h.blake3,
                      "rss_growth_mb": (peak[0] - idle) / 1e6}))


def time_hash_file(path: Path) -> tuple[float, str]:
    from pumas_core.ingest.hashing import hash_file

    t = time.perf_counter()
    h = hash_file(path)
    return time.perf_counter() - t, h.sha256


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=1536, help="file size in MiB (default 1536)")
    ap.add_argument("--dir", type=Path, default=None, help="where to create the files")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the random file")
    ap.add_argument("--child-copy", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_copy:
        child_copy(*args.child_copy)
        return 0

    size = args.size_mb * 1024 * 1024
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="pumas-bench-", dir=default_parent()))
    workdir.mkdir(parents=True, exist_ok=True)
    src, dst = workdir / "bench-src.bin", workdir / "bench-dst.tmp"
    print(f"file: {src} ({size / 1e6:.0f} MB), cpus: {os.cpu_count()}, rounds: {args.rounds}")
    try:
        if not src.exists() or src.stat().st_size != size:
            t = time.perf_counter()
            make_file(src, size)
            print(f"generated in {time.perf_counter() - t:.1f} s")
        warm(src)
        print("page cache warmed: every variant reads a cached source (no root to drop caches)")
        res: dict[str, list[float]] = {"sha256": [], "dd": [], "copy+hash": [], "hash_file": []}
        rss: list[float] = []
        for r in range(args.rounds):
            dt, ref = time_sha256(src)
            res["sha256"].append(dt)
            res["dd"].append(time_dd(src, dst))
            c = time_copy_and_hash(src, dst)
            assert c["sha256"] == ref, "copy_and_hash digest differs from hashlib"
            res["copy+hash"].append(c["seconds"])
            rss.append(c["rss_growth_mb"])
            dt, got = time_hash_file(src)
            assert got == ref, "hash_file digest differs from hashlib"
            res["hash_file"].append(dt)
            print(f"round {r + 1}: " + ", ".join(f"{k} {size / v[-1] / 1e6:.0f} MB/s"
                                                 for k, v in res.items()))
        mbps = {k: size / statistics.median(v) / 1e6 for k, v in res.items()}
        best = {k: size / min(v) / 1e6 for k, v in res.items()}
        print()
        for k in res:
            print(f"{k:>10}: median {mbps[k]:7.0f} MB/s   best {best[k]:7.0f} MB/s")
        base = min(mbps["sha256"], mbps["dd"])
        ratio = mbps["copy+hash"] / base
        # seconds: the slower baseline's time over ours = our MB/s over the slower MB/s
        per_round = [max(a, d) / c for a, d, c in
                     zip(res["sha256"], res["dd"], res["copy+hash"], strict=True)]
        print("per-round ratios (each against its own round's baselines): "
              + ", ".join(f"{x:.2f}" for x in per_round)
              + f"; median {statistics.median(per_round):.2f}")
        print(f"ratio copy+hash / min(sha256, dd) = {ratio:.2f} (target >= {TARGET_RATIO}) "
              f"{'OK' if ratio >= TARGET_RATIO else 'BELOW TARGET'}")
        peak = max(rss)
        print(f"peak RSS growth of copy+hash over idle = {peak:.1f} MB (target < {RSS_LIMIT_MB}) "
              f"{'OK' if peak < RSS_LIMIT_MB else 'OVER'}")
    finally:
        if dst.exists():
            dst.unlink()
        if not args.keep:
            if args.dir is None:
                shutil.rmtree(workdir, ignore_errors=True)
            elif src.exists():
                src.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())

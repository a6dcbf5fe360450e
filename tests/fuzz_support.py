"""Fuzz harness plumbing: write cases, judge them with our reader and the reference, compare.

Each verdict comes from a child process that reads every case file of a folder in turn, so the
peak RSS it reports (``VmHWM``) is the memory of that reader alone, and a hang is caught by a
per-file alarm instead of stalling the test:

    python tests/fuzz_support.py ours|ref safetensors|gguf DIR   # one JSON line per case, then the peak

*ours* calls the format module's ``parse`` directly (not ``sniff``, whose last-resort wrapper would
hide a parser bug); *ref* opens the file with ``safetensors.safe_open`` or ``gguf.GGUFReader``.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

OURS_ALARM_S = 10.0   # CPU seconds: a case still running after this is a hang (we assert far less)
REF_ALARM_S = 0.5     # CPU seconds: gguf-py walks phantom array items past EOF one by one; give up then
REF_MEMORY = 3 << 30  # address-space cap of the reference child


@dataclass
class Verdict:
    """One reader's verdict on one case: ``ok`` or the exception's class, code and message."""

    name: str
    ok: bool
    error: str = ""
    code: str = ""
    message: str = ""
    secs: float = 0.0  # wall time (inflated when the machine is busy)
    cpu: float = 0.0   # CPU time of this case
    size: int = 0
    rss_mb: float = 0.0  # the child's peak RSS after this case


@dataclass
class Run:
    """All verdicts of one reader on one folder, plus the child's peak RSS in MiB."""

    verdicts: dict = field(default_factory=dict)
    peak_rss_mb: float = 0.0


class _Alarm(Exception):
    pass


def _on_alarm(_sig, _frame):
    raise _Alarm()


def write_cases(folder: Path, cases: list[tuple[str, bytes]], suffix: str) -> list[str]:
    """Write ``cases`` (label, bytes) as ``c00000-<label><suffix>``; returns the file names in order."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, (label, data) in enumerate(cases):
        name = f"c{i:05d}-{re.sub(r'[^A-Za-z0-9_]+', '_', label)[:40]}{suffix}"
        (folder / name).write_bytes(data)
        names.append(name)
    return names


def _judge(who: str, fmt: str, path: Path):
    if who == "ours":
        from pumas_core.ingest.formats import gguf, safetensors

        module = safetensors if fmt == "safetensors" else gguf
        module.parse(path, path.stat().st_size)
    elif fmt == "safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy"):
            pass
    else:
        from gguf import GGUFReader

        GGUFReader(str(path))


def child(who: str, fmt: str, folder: Path) -> None:
    """The child process: judge every file of ``folder`` (sorted), print JSON lines to stdout."""
    if who == "ref":
        resource.setrlimit(resource.RLIMIT_AS, (REF_MEMORY, REF_MEMORY))
    signal.signal(signal.SIGPROF, _on_alarm)  # a CPU-time alarm: a busy machine does not trip it
    for module in ("pumas_core.ingest.formats", "safetensors", "numpy", "gguf"):
        __import__(module)  # imported before the first case, never timed as part of it
    out = sys.stdout
    for path in sorted(folder.iterdir()):
        row = {"name": path.name, "ok": True, "size": path.stat().st_size}
        t, cpu = time.perf_counter(), time.process_time()
        signal.setitimer(signal.ITIMER_PROF, OURS_ALARM_S if who == "ours" else REF_ALARM_S)
        try:
            _judge(who, fmt, path)
        except _Alarm:
            row.update(ok=False, error="Timeout")
        except BaseException as exc:  # the parent judges which kinds are allowed
            row.update(ok=False, error=type(exc).__name__, code=getattr(exc, "code", ""),
                       message=str(exc).splitlines()[0][:300] if str(exc) else "")
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        row["secs"] = round(time.perf_counter() - t, 4)
        row["cpu"] = round(time.process_time() - cpu, 4)
        row["rss_mb"] = peak_rss_mb()
        out.write(json.dumps(row) + "\n")
        out.flush()
    out.write(json.dumps({"peak_rss_mb": peak_rss_mb()}) + "\n")


def peak_rss_mb() -> float:
    """This process's peak resident set since its exec (``VmHWM``; ``ru_maxrss`` would include the
    parent's memory at fork time)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start(who: str, fmt: str, folder: Path) -> subprocess.Popen:
    """Start a child judging ``folder``; pass it to :func:`collect`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, __file__, who, fmt, str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def collect(proc: subprocess.Popen, timeout: float = 600) -> Run:
    """Wait for a child and parse its lines; a child that died is an error with its stderr."""
    out, err = proc.communicate(timeout=timeout)
    run = Run()
    for line in out.splitlines():
        row = json.loads(line)
        if "peak_rss_mb" in row:
            run.peak_rss_mb = row["peak_rss_mb"]
        else:
            run.verdicts[row["name"]] = Verdict(**row)
    if proc.returncode != 0:
        raise AssertionError(f"fuzz child exited {proc.returncode}: {err[-2000:]}")
    return run


def judge_both(fmt: str, folder: Path) -> tuple[Run, Run, float]:
    """Both readers over ``folder``, in parallel; returns ``(ours, ref, wall seconds)``."""
    t = time.perf_counter()
    procs = start("ours", fmt, folder), start("ref", fmt, folder)
    ours, ref = collect(procs[0]), collect(procs[1])
    return ours, ref, time.perf_counter() - t


def compare(ours: Run, ref: Run, explained: dict[str, str]) -> dict:
    """Count the outcomes; ``explained`` maps a regex over our error message to why the reference
    accepts such files.  Returns ``{"cases", "accepted", "rejected", "tracebacks", "hangs",
    "max_secs" (CPU), "false_accepts", "reverse": {class: n}, "unexplained", "ref_timeouts"}``."""
    stats = {"cases": len(ours.verdicts), "accepted": 0, "rejected": 0, "tracebacks": [], "hangs": [],
             "max_secs": 0.0, "false_accepts": [], "reverse": {}, "unexplained": [], "ref_timeouts": 0}
    for name, v in ours.verdicts.items():
        r = ref.verdicts[name]
        stats["max_secs"] = max(stats["max_secs"], v.cpu)
        stats["ref_timeouts"] += r.error == "Timeout"
        if v.error == "Timeout" or v.cpu > time_bound(v.size):
            stats["hangs"].append(name)
        elif not v.ok and v.code not in ("corrupt_header", "unsupported_format"):
            stats["tracebacks"].append(f"{name}: {v.error}: {v.message}")
        stats["accepted" if v.ok else "rejected"] += 1
        if v.ok and not r.ok:
            stats["false_accepts"].append(f"{name}: reference says {r.error}: {r.message}")
        if not v.ok and r.ok:
            why = next((k for k, pat in explained.items() if re.search(pat, v.message)), None)
            if why is None:
                stats["unexplained"].append(f"{name}: {v.message}")
            else:
                stats["reverse"][why] = stats["reverse"].get(why, 0) + 1
    return stats


def time_bound(size: int) -> float:
    """CPU seconds one file may take: 2 s, plus 50 ms per MB for the few multi-MB attack files."""
    return 2.0 + 0.05 * size / 1e6


def seeded(seed: int) -> random.Random:
    """The mutators' random source (fixed seed: every run fuzzes the same cases)."""
    return random.Random(seed)


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2], Path(sys.argv[3]))

"""A real process for the concurrency tests: runs ``pumas`` CLI commands in rounds, in step with
its sibling processes through a file barrier, and prints one JSON line per round.

    python concurrency_worker.py import ROOT STATE BARRIER_DIR WORKER NWORKERS PLAN_JSON
        PLAN_JSON: [[path for worker 0, path for worker 1, ...] per round]; each round every worker
        runs ``pumas --json import PATH --no-lookup`` at the same moment.
    python concurrency_worker.py sync ROOT STATE BARRIER_DIR WORKER NWORKERS ROUNDS MODELS_DIR
        each round every worker runs ``pumas --json sync`` at the same moment; then worker 0 removes
        every symlink under MODELS_DIR so the next round races to create them again.
    python concurrency_worker.py list ROOT STATE STOP_FILE
        runs ``pumas --json list`` until STOP_FILE exists; prints the number of runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

from pumas_core.cli.main import main


def barrier(d: Path, name: str, worker: int, n: int, timeout: float = 60.0) -> None:
    """Wait until all ``n`` workers reached ``name``."""
    (d / f"{name}.{worker}").touch()
    deadline = time.monotonic() + timeout
    while sum(1 for p in d.glob(f"{name}.*")) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"worker {worker}: barrier {name} timed out")
        time.sleep(0.002)


def cli(root: str, state: str, *args: str) -> tuple[int, object, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--library", root, "--state", state, "--json", *args])
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else None), err.getvalue()


def run_import(root, state, bdir, worker, n, plan_json) -> None:
    plan = json.loads(Path(plan_json).read_text())
    for r, paths in enumerate(plan):
        barrier(bdir, f"import{r}", worker, n)
        code, out, err = cli(root, state, "import", paths[worker], "--no-lookup")
        print(json.dumps({"round": r, "code": code, "report": out, "stderr": err[-500:]}), flush=True)


def run_sync(root, state, bdir, worker, n, rounds, models_dir) -> None:
    for r in range(int(rounds)):
        barrier(bdir, f"sync{r}", worker, n)
        code, out, err = cli(root, state, "sync")
        print(json.dumps({"round": r, "code": code, "report": out, "stderr": err[-500:]}), flush=True)
        barrier(bdir, f"synced{r}", worker, n)
        if worker == 0 and r + 1 < int(rounds):
            for p in Path(models_dir).rglob("*"):
                if p.is_symlink():
                    p.unlink()
        barrier(bdir, f"wiped{r}", worker, n)


def run_list(root, state, stop_file) -> None:
    runs = 0
    while not os.path.exists(stop_file):
        code, out, err = cli(root, state, "list")
        if code != 0:
            print(json.dumps({"list_failed": err}), flush=True)
        runs += 1
    print(json.dumps({"runs": runs}), flush=True)


if __name__ == "__main__":
    os.environ["PUMAS_OFFLINE"] = "1"
    mode, root, state, *rest = sys.argv[1:]
    if mode == "import":
        run_import(root, state, Path(rest[0]), int(rest[1]), int(rest[2]), rest[3])
    elif mode == "sync":
        run_sync(root, state, Path(rest[0]), int(rest[1]), int(rest[2]), rest[3], rest[4])
    else:
        run_list(root, state, rest[0])

"""Helpers for the crash-safety harness and the full-disk tests: model files, tmpfs mounts, disk
filling, and the library invariants checked after every kill or refused import.

The invariants (issue 7, item 6) — :func:`check_library` returns a list of violations (empty = fine):

* no model indexed with missing or partial files (each listed file exists with its recorded size,
  and for small files its BLAKE3 matches);
* every model folder on disk (a ``metadata.json`` outside ``.staging``) is indexed, once: nothing
  hidden, nothing stored twice;
* staging holds no ``*.tmp`` entry (cleaned at open);
* every registered link exists and points at its model's file; every symlink into the library in
  the install's model folders is registered (checked after a sync).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import blake3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from st_writer import write_safetensors  # noqa: E402

PY = sys.executable


def lora_file(path: Path, seed: int, *, floats: int = 64) -> Path:
    """A small LoRA-shaped safetensors file, distinct per ``seed`` (``floats`` F32 zeros of payload)."""
    return write_safetensors(path, {
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F32", [floats]),
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F32", [4, 4]),
    }, metadata={"ss_network_module": "networks.lora", "seed": str(seed)})


def digest(path: Path) -> str:
    """BLAKE3 hex of a file."""
    h = blake3.blake3()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# -- the CLI as a user runs it ------------------------------------------------------------------------
def pumas_env(extra: dict | None = None) -> dict:
    """Environment for a ``pumas`` subprocess: offline, no inherited test hooks, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUMAS_TEST_")}
    env["PUMAS_OFFLINE"] = "1"
    env.update(extra or {})
    return env


def pumas(root: Path, state: Path, *args: str, env: dict | None = None, check: bool = True,
          timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``pumas --json --library ROOT --state STATE ARGS`` in a subprocess."""
    cmd = [PY, "-m", "pumas_core.cli.main", "--json", "--library", str(root), "--state", str(state), *args]
    cp = subprocess.run(cmd, capture_output=True, text=True, env=pumas_env(env), timeout=timeout)
    if check and cp.returncode != 0:
        raise AssertionError(f"pumas {' '.join(args)} exited {cp.returncode}: {cp.stderr.strip()[-2000:]}")
    return cp


def pumas_json(root: Path, state: Path, *args: str, **kw):
    """:func:`pumas` and parse its stdout as JSON."""
    return json.loads(pumas(root, state, *args, **kw).stdout)


# -- invariants ----------------------------------------------------------------------------------------
def model_dirs_on_disk(root: Path) -> list[Path]:
    """Folders holding a ``metadata.json`` under ``root`` (not below ``.staging``)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".staging"]
        if "metadata.json" in filenames:
            out.append(Path(dirpath))
            dirnames[:] = []
    return out


def check_models(root: Path, models: list[dict], *, hash_below: int = 1 << 20) -> list[str]:
    """Violations between the index (``models`` as ``pumas list`` returns them) and the disk."""
    bad = []
    indexed = {}
    for m in models:
        d = Path(m["path"])
        if m["model_id"] in indexed:
            bad.append(f"model {m['model_id'][:12]} listed twice")
        indexed[m["model_id"]] = d
        for f in m["files"]:
            p = d / f["name"]
            if not p.is_file():
                bad.append(f"indexed model {m['model_id'][:12]}: file {p} missing")
            elif p.stat().st_size != f["size"]:
                bad.append(f"indexed model {m['model_id'][:12]}: file {p} partial ({p.stat().st_size} of {f['size']})")
            elif f["size"] <= hash_below and digest(p) != f["blake3"]:
                bad.append(f"indexed model {m['model_id'][:12]}: file {p} content differs from its hash")
    seen_paths = {os.path.realpath(p) for p in indexed.values()}
    by_id: dict[str, list[str]] = {}
    for d in model_dirs_on_disk(root):
        meta = json.loads((d / "metadata.json").read_text())
        by_id.setdefault(meta["model_id"], []).append(str(d))
        if os.path.realpath(d) not in seen_paths:
            bad.append(f"model folder {d} is on disk but not indexed (hidden)")
    bad += [f"content {mid[:12]} stored {len(ps)} times: {ps}" for mid, ps in by_id.items() if len(ps) > 1]
    left = staging_leftovers(root)
    if left:
        bad.append(f"staging not cleaned: {left[:3]}")
    return bad


def staging_leftovers(root: Path) -> list[str]:
    """Entries of ``<root>/.staging`` other than the library's writer lock file (``library.lock``)."""
    staging = Path(root) / ".staging"
    if not staging.is_dir():
        return []
    return sorted(p.name for p in staging.iterdir() if p.name != "library.lock")


def registered_links(state: Path) -> dict[str, tuple[str, str]]:
    """``{link_path: (target_path, model_id)}`` from ``registry.db`` (read directly, read-only)."""
    import sqlite3

    db = state / "registry.db"
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
    try:
        con.execute("SELECT count(*) FROM links")
    except sqlite3.OperationalError:  # a full disk cannot hold the -shm file
        from pumas_core.library.diskfull import connect_read_only

        con.close()
        con = connect_read_only(db)
    try:
        return {r[0]: (r[1], r[2]) for r in con.execute("SELECT link_path, target_path, model_id FROM links")}
    finally:
        con.close()


def symlinks_into(models_dir: Path, root: Path) -> dict[str, str]:
    """``{link_path: absolute target}`` of every symlink under ``models_dir`` that points into ``root``."""
    out = {}
    real_root = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(models_dir):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                dest = os.path.normpath(os.path.join(dirpath, os.readlink(p)))
                if dest.startswith(real_root + os.sep) or dest.startswith(str(root) + os.sep):
                    out[p] = dest
    return out


def check_links(root: Path, state: Path, models_dir: Path, models: list[dict], *, exact: bool,
                unmapped: set[str] = frozenset()) -> list[str]:
    """Registry vs disk: every registered link exists and points at an indexed model's file;
    with ``exact`` (after a sync) every symlink into the library is registered and every model linked
    (except ``unmapped`` ones, whose type maps to no ComfyUI folder)."""
    bad = []
    rows = registered_links(state)
    on_disk = symlinks_into(models_dir, root)
    paths = {m["model_id"]: os.path.normpath(m["path"]) for m in models}
    for lp, (target, mid) in rows.items():
        if lp not in on_disk:
            bad.append(f"registered link {lp} is missing")
        elif on_disk[lp] != os.path.normpath(target):
            bad.append(f"registered link {lp} points to {on_disk[lp]}, registry says {target}")
        elif not os.path.exists(lp):
            bad.append(f"registered link {lp} is dangling")
        if mid not in paths:
            bad.append(f"registered link {lp} belongs to a model not in the index")
    if exact:
        bad += [f"symlink {lp} is not registered" for lp in on_disk if lp not in rows]
        linked = {mid for _t, mid in rows.values()}
        bad += [f"model {mid[:12]} has no link" for mid in paths if mid not in linked and mid not in unmapped]
    return bad


# -- small file systems --------------------------------------------------------------------------------
def mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` (``"96m"``) at ``where``; returns None, or why it is not possible."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    where.mkdir(parents=True, exist_ok=True)
    cp = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                        capture_output=True, text=True)
    if cp.returncode != 0:
        return f"mount -t tmpfs failed: {cp.stderr.strip() or cp.returncode}"
    return None


def umount(where: Path) -> None:
    """Unmount (lazily, so an open file in a failed test cannot block it)."""
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill_disk(folder: Path, leave: int = 0) -> Path:
    """Write ``folder/.filler`` until the file system has at most ``leave`` bytes free (``leave=0``:
    until ``ENOSPC``); returns the filler's path (delete it to free the space)."""
    filler = Path(folder) / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
        if free > leave + (1 << 20):
            os.posix_fallocate(fd, os.fstat(fd).st_size, free - leave - (1 << 20))
        block = b"\0" * 4096
        while os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize > leave:
            try:
                os.write(fd, block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    return filler


# -- running pumas to be killed ------------------------------------------------------------------------
def run_cli(argv: list[str], *, kill_at: str | None = None, kill_after: float | None = None,
            delay: float = 0.0, phase_file: Path | None = None, timeout: float = 300) -> tuple[str, str]:
    """Run the CLI entry point ``main(argv)`` in a forked child (a fresh process without the
    interpreter start-up cost) and return ``(outcome, stdout)``; ``outcome`` is ``"killed"`` or
    ``"exit <code>"``.

    ``kill_at`` (``"phase[:n]"``) makes the child SIGKILL itself at that phase (:mod:`pumas_core.testhooks`);
    ``kill_after`` makes the parent SIGKILL it after that many seconds; ``delay`` adds random sleeps of
    up to that many seconds at every phase; ``phase_file`` records the phases reached.
    """
    import contextlib
    import signal
    import tempfile
    import time

    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 70
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                from pumas_core import testhooks
                from pumas_core.cli.main import main

                os.environ["PUMAS_OFFLINE"] = "1"
                testhooks.set_callback(None)
                testhooks.configure(kill_at=kill_at, delay=delay, phase_file=str(phase_file) if phase_file else None)
                with contextlib.redirect_stdout(out):
                    code = main(argv)
                out.flush()
            except BaseException:  # report as exit 70, never run pytest's code in the child
                code = 70
            finally:
                os._exit(code)
        deadline = time.monotonic() + timeout
        if kill_after is not None:
            time.sleep(kill_after)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
        out.seek(0)
        text = out.read()
    if os.WIFSIGNALED(status):
        return ("killed" if os.WTERMSIG(status) == signal.SIGKILL else f"signal {os.WTERMSIG(status)}"), text
    return f"exit {os.WEXITSTATUS(status)}", text


def cli_args(root: Path, state: Path, *args: str) -> list[str]:
    """``--json --offline --library ROOT --state STATE ARGS`` for :func:`run_cli`."""
    return ["--json", "--offline", "--library", str(root), "--state", str(state), *map(str, args)]


def last_phase(phase_file: Path) -> str:
    """The last phase a killed process announced (``"start"`` when none)."""
    try:
        lines = phase_file.read_text().split()
    except OSError:
        return "start"
    return lines[-1] if lines else "start"


def build_library(root: Path, count: int) -> list[dict]:
    """Lay out ``count`` small LoRA models directly (model folders + ``metadata.json`` built with the
    importer's own :func:`~pumas_core.ingest.records.build_metadata`), without running the import
    pipeline on each; index them with ``Library.rebuild`` afterwards.  Returns the metadata dicts."""
    import hashlib

    from pumas_core.identify.result import Identification
    from pumas_core.ingest.records import build_metadata

    ident = Identification(model_type="lora", family="sd15", base_model="SD1.x", precision="fp32", variant=None,
                           parameter_count=None, architecture=None, evidence=["crash harness"])
    metas = []
    for i in range(count):
        name = f"crash_lora_{i:05d}.safetensors"
        d = root / "diffusion" / "sd15" / name[:-12]
        f = lora_file(d / name, i + 1_000_000, floats=8)
        data = f.read_bytes()
        files = [{"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                  "blake3": blake3.blake3(data).hexdigest()}]
        meta = build_metadata(kind="single-file", official_name=name, files=files, primary_format="safetensors",
                              file_formats=["safetensors"], ident=ident, family=None, model_type=None, tags=[])
        (d / "metadata.json").write_text(json.dumps(meta, indent=2))
        metas.append(meta)
    return metas

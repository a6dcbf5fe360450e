"""Kill the adoption with SIGKILL at many points (the journal's ``PUMAS_ADOPT_KILL_AT`` hook: every
journal record and every progress event inside a step is a point), then resume — or undo — and check
that nothing was lost: the resumed state equals an uninterrupted adoption, the undone tree equals
the original one byte for byte."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from adopt_checks import check_adopted
from adopt_fixtures import build, tree_state

from pumas_core.facade import Library

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture
def base(tmp_path):
    """A scratch folder on tmpfs when there is one (fsync-heavy journal, many runs), else tmp_path."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        d = Path(tempfile.mkdtemp(prefix="pumas-adopt-", dir="/dev/shm"))
        yield d
        shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path


def _prepare(d: Path, real, template: Path | None = None) -> tuple[dict, dict]:
    """Build the trees in ``d`` and a library that already holds one of their contents (copied from
    ``template``'s library when given: the index stores relative paths)."""
    t = build(d, real, gguf=False)
    if template is not None:
        shutil.copytree(template / "library", d / "library", symlinks=True)
        with Library.open(d / "library", d / "state") as lib:
            t["existing_id"] = lib.list_models()[0]["model_id"]
    else:
        with Library.open(d / "library", d / "state") as lib:
            t["existing_id"] = lib.import_paths([str(t["existing"])], mode="copy", sync=False,
                                                lookup=False)["imported"][0]["model_id"]
    return t, tree_state(*t["roots"])


def _adopt_killed_at(d: Path, t: dict, n: int) -> int:
    """Run the adoption in a forked child that SIGKILLs itself at point ``n``; returns its wait status."""
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.environ["PUMAS_ADOPT_KILL_AT"] = str(n)
            lib = Library.open(d / "library", d / "state")
            lib.adopt([str(c) for c in t["installs"]])
        except BaseException:  # any failure of the child is reported, never raised
            code = 3
        os._exit(code)
    return os.waitpid(pid, 0)[1]


KILL_POINTS = [1 + round(i * 3.7) for i in range(22)]  # spread over the ~80 points of this tree


def test_kill_at_many_points_then_resume_or_undo(base, real):
    import pumas_core.remote  # noqa: F401 - imported once here, not in every child

    _prepare(base / "template", real)
    killed, resumed, undone = [], 0, 0
    for n in KILL_POINTS:
        d = base / f"k{n}"
        t, before = _prepare(d, real, base / "template")
        status = _adopt_killed_at(d, t, n)
        if not os.WIFSIGNALED(status):
            assert os.WEXITSTATUS(status) == 0
            break  # past the last point: the adoption finished
        assert os.WTERMSIG(status) == signal.SIGKILL
        killed.append(n)
        with Library.open(d / "library", d / "state") as lib:
            if len(killed) % 2 == 0:  # roll back straight from the crash
                u = lib.adopt_undo()
                assert not u["errors"], (n, u)
                undone += 1
            else:
                r = lib.adopt_resume()
                assert r["state"] == "complete" and not r["failed"], (n, r)
                assert r["linked"] == 9 and len(r["models_created"]) == 6, (n, r)
                models = check_adopted(t, lib, d / "library")
                style = models[t["models"][str(t["style"])]]
                assert style["civitai"]["model_id"] == 11 and os.path.isfile(os.path.join(style["path"], "preview.png"))
                resumed += 1
                if len(killed) % 4 == 1:  # and undo after a resumed crash now and then
                    assert not lib.adopt_undo()["errors"], n
                    undone += 1
            if lib.adopt_journals()[0]["state"] == "undone":
                assert tree_state(*t["roots"]) == before, n
                assert [m["model_id"] for m in lib.list_models()] == [t["existing_id"]], n
        shutil.rmtree(d)
    assert len(killed) >= 20, killed
    print(f"kill points: {len(killed)} ({killed[0]}..{killed[-1]}), resumed {resumed}, undone {undone}")


def test_cli_killed_then_resumed(base, real):
    """The real CLI in a subprocess, killed mid-way, then ``pumas adopt --resume`` and ``--undo``."""
    d = base / "cli"
    t, before = _prepare(d, real)
    cmd = [sys.executable, "-m", "pumas_core.cli.main", "--library", str(d / "library"), "--state",
           str(d / "state"), "--json", "adopt"]
    env = {**os.environ, "PUMAS_ADOPT_KILL_AT": "30", "PUMAS_OFFLINE": "1"}
    p = subprocess.run(cmd + [str(c) for c in t["installs"]], env=env, capture_output=True, timeout=120)
    assert p.returncode == -signal.SIGKILL, p.stderr
    env.pop("PUMAS_ADOPT_KILL_AT")
    p = subprocess.run(cmd + [str(t["installs"][0])], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "--resume" in p.stderr  # an unfinished adoption blocks a new one
    p = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    with Library.open(d / "library", d / "state") as lib:
        check_adopted(t, lib, d / "library")
    p = subprocess.run(cmd + ["--undo"], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert tree_state(*t["roots"]) == before

"""No tracked ``.py`` / ``.js`` file is over :data:`MAX_LINES` lines (tests included): the issue-13 contract."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def tracked_sources(root: Path = ROOT) -> list[str]:
    """Repository-relative paths of the tracked ``*.py`` and ``*.js`` files (``git ls-files``)."""
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    out = subprocess.run(["git", "ls-files", "-z", "--", "*.py", "*.js"], cwd=root, capture_output=True,
                         check=True).stdout
    return [p for p in out.decode("utf-8").split("\0") if p]


def oversized(root: Path, paths: list[str], limit: int = MAX_LINES) -> list[str]:
    """``["path: N lines", ...]`` for each file of ``paths`` (relative to ``root``) over ``limit`` lines."""
    found = []
    for rel in paths:
        path = root / rel
        if not path.is_file():  # deleted in the work tree, not yet in the index
            continue
        with path.open("rb") as fh:
            n = sum(1 for _ in fh)
        if n > limit:
            found.append(f"{rel}: {n} lines")
    return found


def test_no_tracked_source_file_is_over_the_limit():
    paths = tracked_sources()
    assert any(p.endswith(".js") for p in paths) and any(p.endswith(".py") for p in paths)
    problems = oversized(ROOT, paths)
    assert not problems, f"files over {MAX_LINES} lines (split them):\n" + "\n".join(problems)


def test_the_check_counts_lines(tmp_path):
    (tmp_path / "big.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "ok.js").write_text("let x;\n" * MAX_LINES)
    assert oversized(tmp_path, ["big.py", "ok.js", "gone.py"]) == [f"big.py: {MAX_LINES + 1} lines"]

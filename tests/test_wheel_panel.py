"""A wheel of pumas-library carries the panel: build it, install it into a fresh venv, serve it.

The wheel is built from a copy of the packaged sources (``pip wheel --no-deps
--no-build-isolation``; setuptools and wheel come with the ``test`` extras, so no index is
needed). The fresh venv gets the wheel with ``--no-deps``; its dependencies are reached through a
``.pth`` line naming this interpreter's site-packages. A ``.pth`` line only adds that folder to
``sys.path`` — the editable-install hooks inside it are not run — so ``pumas_core`` and
``comfyui_pumas_node`` come from the wheel alone (asserted).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import site
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ("pyproject.toml", "README.md", "LICENSE", "pumas_core", "comfyui_pumas_node")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as r:  # loopback only
        return r.status, r.read()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    for mod in ("setuptools", "wheel"):   # found, not imported: importing setuptools here would clash with distutils
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} comes with the test extras (pip install -e .[test])")
    src = tmp_path_factory.mktemp("src")
    for name in PACKAGED:
        s = ROOT / name
        if s.is_dir():
            shutil.copytree(s, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(s, src / name)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--no-index", "-q", "-w", str(out), str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (whl,) = out.glob("pumas_library-*.whl")
    return whl


def test_wheel_contains_panel(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "comfyui_pumas_node/web/js/pumas_panel.js" in names
    assert "comfyui_pumas_node/web/js/lib/panel.js" in names
    assert "comfyui_pumas_node/web/shim/index.html" in names


def test_wheel_install_serves_panel(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "zz_test_deps.pth").write_text("\n".join(deps) + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                           "--no-index", "-q", str(wheel)], capture_output=True, text=True)
    if proc.returncode != 0 and "no such option: --python" in proc.stderr:  # pip < 22.3
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                               "--target", purelib, str(wheel)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    where = subprocess.run([str(py), "-c", "import pumas_core, comfyui_pumas_node; "
                            "print(pumas_core.__file__); print(comfyui_pumas_node.__file__)"],
                           cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    assert all(w.startswith(purelib) for w in where), where   # the wheel's copy, not the source tree

    port = _free_port()
    server = subprocess.Popen([str(py), "-m", "pumas_core.cli.main", "--library", str(tmp_path / "lib"),
                               "--state", str(tmp_path / "state"), "serve", "--port", str(port)],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(base + "/pumas/ui/extensions.json")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    out = server.stdout.read() if server.poll() is not None else ""
                    raise AssertionError(f"pumas serve did not answer: {out}") from None
                time.sleep(0.2)
        scripts = json.loads(body)
        assert status == 200
        assert "/extensions/pumas/pumas_panel.js" in scripts and "/extensions/pumas/lib/panel.js" in scripts
        status, js = _get(base + "/extensions/pumas/pumas_panel.js")
        assert status == 200 and b"registerSidebarTab" in js
        status, page = _get(base + "/")
        assert status == 200 and b"<html" in page.lower()
    finally:
        server.terminate()
        try:
            out, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
    assert "not found" not in (out or ""), out

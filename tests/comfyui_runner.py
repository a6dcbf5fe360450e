"""Run a real ComfyUI (an existing checkout, never installed by us) with this pack in ``custom_nodes``.

Used by ``test_comfyui_e2e.py`` when ``PUMAS_COMFYUI_DIR`` (a ComfyUI checkout) and
``PUMAS_COMFYUI_PYTHON`` (a Python that can run it, with this project installed) are set;
``PUMAS_COMFYUI_PYTHONPATH`` is prepended to ``PYTHONPATH`` (e.g. a test-only torchvision stub).
How to prepare such a ComfyUI on CPU: ``docs/comfyui-e2e.md``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class ComfyUI:
    """One ComfyUI process on a free loopback port with ``base`` as ``--base-directory``."""

    def __init__(self, base: Path, env: dict[str, str], args: tuple[str, ...] = ()):
        self.base = base
        self.env = env
        self.args = tuple(args)  # more ComfyUI arguments, e.g. ("--extra-model-paths-config", path)
        self.proc: subprocess.Popen | None = None
        self.log = base / "comfyui.log"
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240.0) -> "ComfyUI":
        """Boot and wait until ``GET /models`` answers (AssertionError with the log tail if it dies)."""
        (self.base / "custom_nodes").mkdir(parents=True, exist_ok=True)
        pack = self.base / "custom_nodes" / "pumas_library"
        if not pack.exists():
            pack.symlink_to(REPO, target_is_directory=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, **self.env, "PYTHONDONTWRITEBYTECODE": "1"}
        extra = os.environ.get("PUMAS_COMFYUI_PYTHONPATH")
        if extra:
            env["PYTHONPATH"] = extra + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [os.environ["PUMAS_COMFYUI_PYTHON"], "main.py", "--cpu", "--listen", "127.0.0.1",
               "--port", str(self.port), "--database-url", "sqlite:///:memory:", "--disable-api-nodes",
               "--base-directory", str(self.base), *self.args]
        self.proc = subprocess.Popen(cmd, cwd=os.environ["PUMAS_COMFYUI_DIR"], env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"ComfyUI exited {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                self.get("/models")
                return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"ComfyUI not ready after {timeout}s:\n{self.log_text()[-3000:]}")

    def stop(self) -> None:
        """Terminate the process (kill after 15 s)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def get(self, path: str):
        """GET JSON from ComfyUI (raises OSError/HTTPError)."""
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def post(self, path: str, body, content_type: str = "application/json", headers: dict | None = None):
        """POST like the panel does (same-origin ``Origin``); returns ``(status, json)``."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST", headers={
            "Content-Type": content_type, "Origin": self.url, **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def wait_job(self, job_id: str, timeout: float = 120.0) -> dict:
        """Poll ``GET /api/pumas/jobs/{id}`` until it is done or failed."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            job = self.get(f"/api/pumas/jobs/{job_id}")
            if job.get("state") in ("done", "failed"):
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} still running after {timeout}s")

    def checkpoint_choices(self) -> list[str]:
        """``CheckpointLoaderSimple``'s ``ckpt_name`` choices from ``/object_info`` (what the dropdown shows)."""
        info = self.get("/object_info/CheckpointLoaderSimple")["CheckpointLoaderSimple"]
        spec = info["input"]["required"]["ckpt_name"]
        return list(spec[0]) if isinstance(spec[0], list) else list(spec[1].get("options", []))

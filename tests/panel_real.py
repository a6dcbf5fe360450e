"""The real ``pumas serve`` for the panel's browser tests: :class:`RealServe` runs it in a subprocess
on a free loopback port with a fresh library, state dir and import root."""

from __future__ import annotations

import os
from pathlib import Path

from browser_support import ROOT, wait_until


class RealServe:
    """``pumas serve`` (``python -m pumas_core.cli.main serve``) in a subprocess on a free loopback
    port, with a fresh library, state dir and one import root (written to the state's config.json).

    Attributes: ``url``, ``library``, ``state``, ``import_root``, ``log`` (stdout+stderr file), ``env``
    (extra environment, e.g. ``HF_ENDPOINT`` of a loopback fake Hub; ``None`` removes a variable).
    The library may be filled with :class:`~pumas_core.facade.Library` before :meth:`start`.
    """

    def __init__(self, tmp: Path, env: dict[str, str | None] | None = None):
        self.library = tmp / "library"
        self.state = tmp / "state"
        self.import_root = (tmp / "imports").resolve()
        self.import_root.mkdir(parents=True, exist_ok=True)
        self.log = tmp / "serve.log"
        self.proc = None
        self.url = ""
        self.env = dict(env or {})   # extra environment for the server; a None value removes the variable

    def start(self, timeout: float = 20.0) -> "RealServe":
        """Start the server and wait until ``GET /`` answers (AssertionError with the log if not)."""
        import socket
        import subprocess
        import sys
        import urllib.request

        from pumas_core.config import save_config

        save_config(self.state, {"import_roots": [str(self.import_root)]})
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "pumas_core.cli.main", "--library", str(self.library), "--state", str(self.state),
               "serve", "--host", "127.0.0.1", "--port", str(port)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"pumas serve exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        try:
            wait_until(up, timeout)
        except AssertionError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate the server process this object started (kill after 10 s)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(10)


"""ComfyUI-Manager install hook of Pumas Library (run as ``python install.py`` in this folder,
after ComfyUI-Manager has pip-installed each line of requirements.txt; Manager does not install the
``[project].dependencies`` of pyproject.toml).

Makes ``pumas_core`` importable in ComfyUI's Python: if ``import pumas_core`` (and the
extension package) fails, this folder is installed in editable mode
(``python -m pip install -e <folder>``, falling back to ``uv pip install --python <python>``
when pip is absent).  Editable keeps a ``git pull`` of the pack and the core in step.
Only the package index is contacted (through pip).  ``--dry-run`` prints the command.
Exit status: 0 when importable (already, or after the install), 1 if the install failed.
"""

import importlib.util
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def importable() -> bool:
    """True if ``pumas_core`` and ``comfyui_pumas_node`` import in a fresh interpreter
    (run without this folder on ``sys.path``, so a checkout does not hide a missing install)."""
    code = "import pumas_core, comfyui_pumas_node.boot, pumas_core.facade"
    env = dict(os.environ, PYTHONSAFEPATH="1")
    proc = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(HERE) or "/", env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc.returncode == 0


def install_command(folder: str = HERE) -> list[str]:
    """The install command for this interpreter: pip if present, else ``uv pip``."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip", "install", "-e", folder]
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--python", sys.executable, "-e", folder]
    return [sys.executable, "-m", "pip", "install", "-e", folder]


def main(argv=None) -> int:
    """Install if needed; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if importable():
        print("[pumas] install: pumas_core already importable")
        return 0
    cmd = install_command()
    print("[pumas] install: " + " ".join(cmd), flush=True)
    if "--dry-run" in argv:
        return 0
    if subprocess.run(cmd).returncode != 0 or not importable():
        print("[pumas] install failed: pumas_core is still not importable; run the command above by hand",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

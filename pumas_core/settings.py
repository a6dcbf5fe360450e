"""User settings kept in ``<state>/config.json``: the library location and the import roots.

Import roots are the folders the panel's folder browser and path imports may read from.  When
none are configured, sensible ones are offered: the registered ComfyUI installs' ``models``
folders (to adopt an existing collection) and ``~/Downloads`` when it exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import load_config, save_config
from .errors import BadInputError

KEYS = ("import_roots", "library")


def default_import_roots(apps: list[dict]) -> list[str]:
    """Roots offered when the user configured none (existing folders only)."""
    roots = [app["models_dir"] for app in apps if app.get("models_dir")]
    downloads = Path.home() / "Downloads"
    if downloads.is_dir():
        roots.append(str(downloads))
    return [os.path.realpath(r) for r in roots if os.path.isdir(r)]


def read_settings(root: Path, state_dir: Path, apps: list[dict]) -> dict:
    """``{"library", "state_dir", "import_roots", "import_roots_configured"}``."""
    cfg = load_config(state_dir)
    configured = [str(r) for r in cfg.get("import_roots") or [] if isinstance(r, str)]
    return {"library": str(root), "state_dir": str(state_dir),
            "import_roots": configured or default_import_roots(apps),
            "import_roots_configured": bool(configured)}


def validate_changes(changes: dict) -> dict:
    """Check a settings edit and normalise its paths.

    Raises:
        BadInputError: an unknown key, a root that is not an existing absolute folder, or a
            library path that is not absolute.
    """
    if not isinstance(changes, dict):
        raise BadInputError("settings must be a JSON object")
    unknown = set(changes) - set(KEYS)
    if unknown:
        raise BadInputError(f"unknown settings: {', '.join(sorted(unknown))}")
    out: dict = {}
    if "import_roots" in changes:
        roots = changes["import_roots"]
        if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
            raise BadInputError("import_roots must be a list of absolute folder paths")
        for r in roots:
            p = os.path.expanduser(r)
            if not os.path.isabs(p) or not os.path.isdir(p):
                raise BadInputError(f"import root {r}: not an existing absolute folder")
        out["import_roots"] = [os.path.realpath(os.path.expanduser(r)) for r in roots]
    if "library" in changes:
        lib_path = changes["library"]
        if not isinstance(lib_path, str) or not os.path.isabs(os.path.expanduser(lib_path)):
            raise BadInputError("library must be an absolute folder path")
        out["library"] = os.path.expanduser(lib_path)
    return out


def write_settings(state_dir: Path, changes: dict) -> None:
    """Validate ``changes`` and merge them into config.json (other keys kept)."""
    cfg = load_config(state_dir)
    cfg.update(validate_changes(changes))
    save_config(state_dir, cfg)

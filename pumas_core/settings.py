"""User settings kept in ``<state>/config.json``: the library location, the import roots, the
default import mode and whether online lookups are allowed.

Import roots are the folders the panel's folder browser and path imports may read from.  When
none are configured, sensible ones are offered: the registered ComfyUI installs' ``models``
folders (to adopt an existing collection) and ``~/Downloads`` when it exists.

``import_mode`` (``auto``/``copy``/``move``) is the panel's default; :data:`IMPORT_MODE_HELP` is
the one help text for the modes (CLI ``--mode``, the panel, the README).  ``lookups: false`` means
offline: no HuggingFace/CivitAI requests (models stay ``pending_online_lookup``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .config import load_config, save_config
from .errors import BadInputError

KEYS = ("import_roots", "library", "import_mode", "lookups")

IMPORT_MODES = ("auto", "copy", "move")
#: The one help text of the import modes (the panel's copy lives in web/js/lib/format.js; a test keeps them equal).
IMPORT_MODE_HELP = ("auto = copy (your files stay where they are); copy = copy into the library; "
                    "move = move into the library (a rename on the same drive, else copy then delete)")


def lookups_enabled(state_dir: Path) -> bool:
    """False when the user turned online lookups off (``"lookups": false`` in config.json)."""
    return load_config(state_dir).get("lookups", True) is not False


def default_import_roots(apps: list[dict[str, Any]]) -> list[str]:
    """Roots offered when the user configured none (existing folders only)."""
    roots = [app["models_dir"] for app in apps if app.get("models_dir")]
    downloads = Path.home() / "Downloads"
    if downloads.is_dir():
        roots.append(str(downloads))
    return [os.path.realpath(r) for r in roots if os.path.isdir(r)]


def read_settings(root: Path, state_dir: Path, apps: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"library", "library_configured", "state_dir", "import_roots", "import_roots_configured",
    "import_mode", "import_modes", "import_mode_help", "lookups"}``.

    ``library`` is the library in use; ``library_configured`` the ``library`` key of config.json
    (None when unset; ``$PUMAS_LIBRARY`` or ``--library`` win over it).  ``apps``: the registered
    installs (``models_dir`` is read).
    """
    cfg = load_config(state_dir)
    configured = [str(r) for r in cfg.get("import_roots") or [] if isinstance(r, str)]
    mode = cfg.get("import_mode")
    library = cfg.get("library")
    return {"library": str(root), "library_configured": library if isinstance(library, str) else None,
            "state_dir": str(state_dir),
            "import_roots": configured or default_import_roots(apps),
            "import_roots_configured": bool(configured),
            "import_mode": mode if mode in IMPORT_MODES else "auto", "import_modes": list(IMPORT_MODES),
            "import_mode_help": IMPORT_MODE_HELP, "lookups": cfg.get("lookups", True) is not False}


def validate_changes(changes: object) -> dict[str, Any]:
    """Check a settings edit and normalise its paths.

    Raises:
        BadInputError: an unknown key, a root that is not an existing absolute folder, a
            library path that is not absolute or whose parent folder does not exist, an import
            mode that is not one of :data:`IMPORT_MODES`, or ``lookups`` that is not a boolean.
    """
    if not isinstance(changes, dict):
        raise BadInputError("settings must be a JSON object")
    unknown = set(changes) - set(KEYS)
    if unknown:
        raise BadInputError(f"unknown settings: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if "import_roots" in changes:
        roots = changes["import_roots"]
        if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
            raise BadInputError("import_roots must be a list of absolute folder paths")
        for r in roots:
            p = os.path.expanduser(r)
            if not os.path.isabs(p) or not os.path.isdir(p):
                raise BadInputError(f"import root {r}: not an existing absolute folder", path=r)
        out["import_roots"] = [os.path.realpath(os.path.expanduser(r)) for r in roots]
    if "library" in changes:
        lib_path = changes["library"]
        if not isinstance(lib_path, str) or not os.path.isabs(os.path.expanduser(lib_path)):
            raise BadInputError("library must be an absolute folder path")
        lib_path = os.path.normpath(os.path.expanduser(lib_path))
        if os.path.exists(lib_path) and not os.path.isdir(lib_path):
            raise BadInputError(f"library {lib_path}: exists and is not a folder", path=lib_path)
        if not os.path.isdir(os.path.dirname(lib_path)):
            raise BadInputError(f"library {lib_path}: its parent folder does not exist", path=lib_path)
        out["library"] = lib_path
    if "import_mode" in changes:
        if changes["import_mode"] not in IMPORT_MODES:
            raise BadInputError(f"import_mode must be one of {', '.join(IMPORT_MODES)}")
        out["import_mode"] = changes["import_mode"]
    if "lookups" in changes:
        if not isinstance(changes["lookups"], bool):
            raise BadInputError("lookups must be true or false")
        out["lookups"] = changes["lookups"]
    return out


def write_settings(state_dir: Path, changes: object) -> None:
    """Validate ``changes`` (a JSON object) and merge them into config.json (other keys kept).

    Raises:
        BadInputError: see :func:`validate_changes` (nothing is written).
        WriteFailedError: config.json cannot be written (see :func:`pumas_core.config.save_config`).
    """
    cfg = load_config(state_dir)
    cfg.update(validate_changes(changes))
    save_config(state_dir, cfg)

"""Where Pumas keeps its data, and the small JSON config in the state directory.

Resolution order for the library root: explicit argument, ``$PUMAS_LIBRARY``, the
``library`` key of ``<state>/config.json``, then ``platformdirs.user_data_path("pumas")/"library"``.
The state directory: explicit argument, ``$PUMAS_STATE``, then ``platformdirs.user_state_path("pumas")``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text, raise_write_failed, read_json_object

CONFIG_NAME = "config.json"


@dataclass(frozen=True)
class Paths:
    """Resolved locations: ``root`` (library), ``state_dir``, ``db_path`` (models.db)."""

    root: Path
    state_dir: Path
    db_path: Path

    @property
    def registry_path(self) -> Path:
        """``<state>/registry.db``."""
        return self.state_dir / "registry.db"


def default_state_dir() -> Path:
    """The platform state directory for Pumas (not created)."""
    import platformdirs

    return Path(platformdirs.user_state_path("pumas"))


def default_library_root() -> Path:
    """The platform default library root (not created)."""
    import platformdirs

    return Path(platformdirs.user_data_path("pumas")) / "library"


def load_config(state_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``<state>/config.json``; a missing or corrupt file gives ``{}`` (never raises)."""
    return read_json_object(Path(state_dir) / CONFIG_NAME)


def save_config(state_dir: str | os.PathLike[str], config: dict[str, Any]) -> None:
    """Write ``<state>/config.json`` atomically (keys not given are dropped: pass the whole dict).

    Raises:
        WriteFailedError: the state dir cannot be created or written (``path=`` names it; an ``OSError``).
        OSError: ENOSPC/EDQUOT/EFBIG, the disk is full.
    """
    try:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise_write_failed(exc, state_dir)
    atomic_write_text(Path(state_dir) / CONFIG_NAME, json.dumps(config, indent=2, sort_keys=True))


def resolve_paths(library: str | os.PathLike[str] | None = None,
                  state: str | os.PathLike[str] | None = None) -> Paths:
    """Resolve the library root, state dir and ``models.db`` path (nothing is created).

    ``$PUMAS_DB`` overrides the index location (default ``<root>/models.db``).
    """
    state_dir = Path(state or os.environ.get("PUMAS_STATE") or default_state_dir()).expanduser()
    cfg = load_config(state_dir)
    root = Path(library or os.environ.get("PUMAS_LIBRARY") or cfg.get("library") or default_library_root())
    root = root.expanduser().absolute()
    db = Path(os.environ.get("PUMAS_DB") or root / "models.db")
    return Paths(root=root, state_dir=state_dir.absolute(), db_path=db)


def relocated_library(library: str | os.PathLike[str] | None, state: str | os.PathLike[str] | None,
                      old: str | os.PathLike[str], new: str | os.PathLike[str]) -> str | None:
    """Where the library is after a folder move ``old`` → ``new`` (``pumas relocate OLD NEW``).

    When the library root lies under ``old`` and is no longer there, returns its place under ``new`` and
    keeps the configured location (``config.json`` ``library``, when that is what chose it) in step;
    otherwise returns ``library`` unchanged (None: the usual resolution).  Raises WriteFailedError when
    ``config.json`` cannot be written.
    """
    from .links.fsops import is_within

    paths = resolve_paths(library, state)
    old_n, new_n = os.path.normpath(os.path.abspath(old)), os.path.normpath(os.path.abspath(new))
    root = os.path.normpath(str(paths.root))
    if old_n == new_n or not is_within(root, old_n) or os.path.isdir(root):
        return None if library is None else os.fspath(library)
    moved = new_n + root[len(old_n):]
    cfg = load_config(paths.state_dir)
    if not library and not os.environ.get("PUMAS_LIBRARY") and cfg.get("library"):
        cfg["library"] = moved
        save_config(paths.state_dir, cfg)
    return moved

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

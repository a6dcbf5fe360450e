"""Links: the registry of installs and links, the type→folder mapping, sync, health and relocation.

Entry points: :class:`Registry`, :func:`sync_app`, :func:`needs_sync`, :func:`detect_install`,
:func:`install_info`, :mod:`health` (``check``, ``repair``, ``clean``), :func:`relocate`,
:func:`unlink_model`, :func:`unlink_app`.
"""

from .comfyui import detect_install, install_info
from .fastpath import needs_sync
from .mapping import default_mapping, load_mapping, target_folder
from .models import LinkableModel, SyncReport
from .registry import Registry
from .sync import sync_app

__all__ = ["LinkableModel", "SyncReport", "Registry", "sync_app", "needs_sync", "detect_install",
           "install_info", "default_mapping", "load_mapping", "target_folder"]

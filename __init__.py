"""ComfyUI entry point of Pumas Library (this folder is the custom-node pack).

ComfyUI executes this file as a package named after the folder path, so relative imports
would work — but the extension code is imported *absolutely* as ``comfyui_pumas_node``,
so the pip-installed copy (``pip install -e .`` by install.py) and this folder are the same
module, shared with ``prestartup_script.py`` and the ``pumas`` CLI.  If no installed copy
exists, this folder is appended to ``sys.path`` and the package is imported from here.

Import-time work: register the ``/pumas/...`` routes on ``PromptServer.instance.routes``
(the only moment that works) and run the idempotent boot link sync again with ComfyUI's
full ``folder_paths``.  Failures are logged on one line; ComfyUI keeps starting.
"""

import logging
import os
import sys

NODE_CLASS_MAPPINGS = {}          # no nodes; an empty dict marks the pack as loaded (not IMPORT FAILED)
NODE_DISPLAY_NAME_MAPPINGS = {}
WEB_DIRECTORY = "./comfyui_pumas_node/web/js"  # package data too: wheels and `pumas serve` carry the panel

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]

_log = logging.getLogger("pumas")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _import_extension():
    """Import ``comfyui_pumas_node`` (installed copy first, else from this folder)."""
    try:
        import comfyui_pumas_node  # noqa: F401
        import pumas_core  # noqa: F401
    except ImportError:
        if _HERE not in sys.path:
            sys.path.append(_HERE)
        for name in [m for m in sys.modules if m == "comfyui_pumas_node" or m.startswith("comfyui_pumas_node.")]:
            if sys.modules[name] is None:
                del sys.modules[name]
        import comfyui_pumas_node  # noqa: F401
    from comfyui_pumas_node import adapter, boot

    return adapter, boot


def _in_comfyui() -> bool:
    """True when ComfyUI is importing us (its ``server`` module, with PromptServer, is loaded);
    pytest also imports this file when collecting the repository, and must not register anything."""
    server = sys.modules.get("server")
    return server is not None and getattr(getattr(server, "PromptServer", None), "instance", None) is not None


def _setup():
    if not _in_comfyui():
        return None
    try:
        adapter, boot = _import_extension()
    except Exception as exc:
        _log.error("[pumas] extension not loaded: %s: %s", type(exc).__name__, exc)
        return None
    ctx = None
    try:
        ctx = adapter.setup_comfyui()
    except Exception as exc:
        _log.error("[pumas] routes not registered: %s: %s", type(exc).__name__, exc)
    boot.boot_sync(adapter.folder_paths_snapshot(), adapter.comfyui_root(), version=adapter.comfyui_version())
    return ctx


_PUMAS_CONTEXT = _setup()

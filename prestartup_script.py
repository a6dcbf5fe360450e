"""ComfyUI prestartup hook of Pumas Library: the earliest, fast, link-only boot sync.

ComfyUI execs this file as a loose module (no package, no relative imports) after
``folder_paths`` and extra_model_paths are set up, before torch and ``PromptServer``
(ComfyUI's ``main.py``: ``apply_custom_paths()``, then ``execute_prestartup_script()``).
It imports the installed core, or falls back to this folder; it catches everything and logs exactly one line
(``[pumas] boot sync: N created, M ok, K conflicts in X ms`` or ``[pumas] boot sync skipped: …``).
Custom folder keys that other packs register at import time are not known yet; the
sync in ``__init__.py`` runs again (idempotently) with the full ``folder_paths``.
"""

import os
import sys


def _pumas_prestartup():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        try:
            from comfyui_pumas_node import boot
        except ImportError:
            if here not in sys.path:
                sys.path.append(here)
            from comfyui_pumas_node import boot
    except BaseException as exc:  # never break ComfyUI's boot
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        print(f"[pumas] boot sync skipped: extension not importable ({type(exc).__name__}: {exc})",
              file=sys.stderr, flush=True)
        return None
    folder_paths = None
    root = None
    version = None
    try:
        from comfyui_pumas_node import adapter

        folder_paths = adapter.folder_paths_snapshot()
        root = adapter.comfyui_root()
        version = adapter.comfyui_version()
    except BaseException as exc:  # no folder data: the root is derived below
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
    if root is None:  # <ComfyUI>/custom_nodes/<this pack>/prestartup_script.py
        root = os.path.dirname(os.path.dirname(here))
    return boot.boot_sync(folder_paths, root, version=version)


_pumas_prestartup()

"""Names ComfyUI would not resolve to our link: another folder earlier in the key's list holds the name.

ComfyUI's ``folder_paths.get_full_path(key, name)`` returns the first existing ``<dir>/<name>`` over the
key's directories in order (``extra_model_paths.yaml`` roots come first; see
``reference/comfyui-integration.md``), so a file of the same relative name in an earlier directory
shadows our link.  The install's ``folder_paths`` (kept in the registry in ComfyUI's order) is all we
need: this runs without ComfyUI, in health and after each sync.
"""

from __future__ import annotations

import os

from .fsops import is_within


def shadowed_links(app: dict, links: list[dict]) -> list[dict]:
    """Our links in ``app`` that an earlier folder of the same key hides from ComfyUI.

    Args:
        app: the app dict (``folder_paths``: ``{key: [abs dirs in ComfyUI's order]}``).
        links: registry rows of this app (``link_path``, ``folder_key``, ``model_id``).
    Returns:
        ``[{"link_path", "folder_key", "name", "shadowed_by", "model_id"}]`` (``name`` folder-relative, ``/``).
    """
    out = []
    fp = app.get("folder_paths") or {}
    for row in links:
        dirs = fp.get(row["folder_key"]) or []
        lp = row["link_path"]
        own = next((i for i, d in enumerate(dirs) if is_within(lp, d) and lp != os.path.normpath(d)), None)
        if own is None:
            continue
        name = os.path.relpath(lp, dirs[own])
        for d in dirs[:own]:
            cand = os.path.join(d, name)
            if os.path.lexists(cand):
                out.append({"link_path": lp, "folder_key": row["folder_key"], "name": name.replace(os.sep, "/"),
                            "shadowed_by": cand, "model_id": row["model_id"]})
                break
    return out

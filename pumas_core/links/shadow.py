"""Names ComfyUI would not resolve to our link: another folder earlier in the key's list holds the name.

ComfyUI's ``folder_paths.get_full_path(key, name)`` returns the first ``<dir>/<name>`` that is a file
(``os.path.isfile``: symlinks followed, a dangling link skipped) over the key's directories in order, and
``DiffusersLoader`` takes the first directory of that name; an ``extra_model_paths.yaml`` section with
``is_default: true`` puts its folders *first* (others are appended), and ``diffusion_models`` lists
``models/unet`` before ``models/diffusion_models`` (``reference/comfyui-integration.md`` §3).  So a file of
the same relative name in an earlier directory shadows our link.

The search order comes from the install's ``folder_paths`` as kept in the registry: inside ComfyUI the
boot sync (prestartup and ``__init__.py``) stores ComfyUI's live ``folder_paths.folder_names_and_paths``
in that order, so health and the panel use what ComfyUI really searches; from the CLI it is the order the
extension last stored (or, for an install never booted with the extension, the ``models/`` sub-folders,
where nothing can shadow).  This module needs no ComfyUI: it runs in health and after each sync.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from .fsops import is_within


class ShadowedLink(TypedDict):
    """One link ComfyUI does not pick; ``name`` is folder-relative with ``/``; ``shadowed_by`` is absolute."""

    link_path: str
    folder_key: str
    name: str
    shadowed_by: str
    model_id: str
    action: str
    fixable_by: None


def _wins(candidate: str, dir_link: bool) -> bool:
    """Would ComfyUI take ``candidate`` (in an earlier folder) instead of our link?"""
    return os.path.isdir(candidate) if dir_link else os.path.isfile(candidate)


def shadowed_links(app: Mapping[str, Any], links: Iterable[Mapping[str, Any]]) -> list[ShadowedLink]:
    """Our links in ``app`` that an earlier folder of the same key hides from ComfyUI.

    Args:
        app: the app dict (``folder_paths``: ``{key: [abs dirs in ComfyUI's search order]}``).
        links: registry rows of this app (``link_path``, ``folder_key``, ``model_id``; ``kind``
            ``"file"``/``"dir"``, default ``"file"``).
    Returns:
        ``[{"link_path", "folder_key", "name", "shadowed_by", "model_id", "action", "fixable_by": None}]``:
        ``name`` is folder-relative with ``/``, ``action`` one sentence for the user.  Costs one ``stat``
        per earlier folder of the key, per link (none for a link in the key's first folder).
    """
    out: list[ShadowedLink] = []
    fp = app.get("folder_paths") or {}
    for row in links:
        key = str(row["folder_key"])
        dirs = [str(d) for d in fp.get(key) or []]
        lp = os.path.normpath(str(row["link_path"]))
        own = next((i for i, d in enumerate(dirs) if is_within(lp, d) and lp != os.path.normpath(d)), None)
        if not own:  # not in a folder of the key, or in its first folder: nothing comes before it
            continue
        name = os.path.relpath(lp, dirs[own])
        dir_link = row.get("kind") == "dir"
        for d in dirs[:own]:
            cand = os.path.join(d, name)
            if _wins(cand, dir_link):
                shown = name.replace(os.sep, "/")
                out.append({"link_path": lp, "folder_key": key, "name": shown, "shadowed_by": cand,
                            "model_id": str(row["model_id"]), "fixable_by": None,
                            "action": f"ComfyUI loads {cand} for {key}/{shown}: {d} comes before {dirs[own]} in its "
                                      "search order. Rename or remove that file, or give the model another link "
                                      "name (link_name in its overrides.json)."})
                break
    return out

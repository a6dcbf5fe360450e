"""Pinned links: a model linked under the exact folder-relative name a workflow asked for.

A workflow pin is a row of the one ``pins`` table in ``registry.db`` with reason
:data:`~pumas_core.links.registry.PIN_WORKFLOW` and ``(app_id, folder_key, rel_name, model_id)``; its link is
an ordinary registered link at ``<models_dir>/<folder_key>/<rel_name>``.  Every sync plans pinned links
next to the mapping's links, so a full sync keeps them (instead of removing them as stale) and
re-creates them when they go missing.  Pins of models that are not in the library are ignored.
(Adoption pins share the table; a sync never removes them but does not plan them: see
:meth:`Registry.pin <pumas_core.links.registry.Registry.pin>`.)
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from ..vocab import UnitKind
from .mapping import target_dir
from .models import LinkableModel
from .plan import PlannedLink, diffusers_root
from .registry import Registry


def pin_link(app: dict[str, Any], folder_key: str, rel_name: str, model: LinkableModel) -> PlannedLink | None:
    """The link for ``model`` at ``<folder_key>/<rel_name>`` in ``app`` (None for a sharded set, which
    has no one file to name).  ``rel_name`` uses ``/``; callers have checked it has no ``..`` parts."""
    link_path = os.path.join(target_dir(app, folder_key), *rel_name.split("/"))
    if model.kind == UnitKind.DIFFUSION_FOLDER:
        return PlannedLink(link_path, diffusers_root(model), model.model_id, folder_key, "dir")
    if model.kind == UnitKind.SINGLE_FILE and model.files:
        return PlannedLink(link_path, os.path.join(str(model.model_dir), model.files[0]), model.model_id,
                           folder_key, "file")
    return None


def pinned_links(registry: Registry, app: dict[str, Any], models: Iterable[LinkableModel],
                 taken: set[str]) -> list[PlannedLink]:
    """Planned links for the app's workflow pins whose model is among ``models`` and whose path is not in
    ``taken`` (``taken`` gains the paths returned)."""
    pins = registry.pins_for_app(app["app_id"])
    if not pins:
        return []
    by_id = {m.model_id: m for m in models}
    out = []
    for pin in pins:
        model = by_id.get(pin["model_id"])
        p = pin_link(app, pin["folder_key"], pin["rel_name"], model) if model else None
        if p is not None and p.link_path not in taken:
            out.append(p)
            taken.add(p.link_path)
    return out

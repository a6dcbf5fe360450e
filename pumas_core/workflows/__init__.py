"""Workflows just run: find the models a ComfyUI workflow names, link them at the exact names it uses,
download what is missing, and write identity (SHA-256, URL) back into the workflow.

Modules: :mod:`.extract` (references; :mod:`.images` for PNG/WebP), :mod:`.loaders` (which widget is
a model, in which folder), :mod:`.catalog` + :mod:`.resolve` (decisions), :mod:`.apply` (links),
:mod:`.fetch` (downloads), :mod:`.annotate` (identity back into the workflow).  The ``Library``
facade exposes :func:`pumas_core.facade_workflows.resolve_workflow` and ``annotate_workflow``.
"""

from .extract import ModelRef, extract_refs, load_workflow, workflow_format

__all__ = ["ModelRef", "extract_refs", "load_workflow", "workflow_format"]

"""Write identity back into a UI-format workflow: ``properties.models`` of each loader node.

Each model reference whose file is known (a library model, or the file the install already has
under that name) gets an entry ``{"name", "url"?, "hash", "hash_type": "SHA256", "directory"}``
(ComfyUI_frontend ``workflowSchema.ts`` ``zModelFile``; ``url`` is written where the workflow or the
library's HuggingFace/CivitAI identity gives one).  Entries for other files are kept as they are;
the input document is never modified (a deep copy is returned).
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import BadInputError
from .extract import ModelRef, norm_name, workflow_format
from .resolve import Resolution, file_digest

CIVITAI_DOWNLOAD = "https://civitai.com/api/download/models/{}"


def model_url(meta: dict[str, Any]) -> str | None:
    """A public download URL from a model's ``huggingface`` / ``civitai`` identity, or None."""
    hf = meta.get("huggingface") or {}
    if hf.get("repo_id") and hf.get("path"):
        return f"https://huggingface.co/{hf['repo_id']}/resolve/{hf.get('revision') or 'main'}/{hf['path']}"
    civ = meta.get("civitai") or {}
    if civ.get("version_id"):
        return CIVITAI_DOWNLOAD.format(civ["version_id"])
    return None


def _subgraph(doc: dict[str, Any], sid: str) -> dict[str, Any] | None:
    subs = (doc.get("definitions") or {}).get("subgraphs") or []
    return next((s for s in subs if str(s.get("id")) == sid), None)


def _node(doc: dict[str, Any], ref: ModelRef) -> dict[str, Any] | None:
    graph = doc if ref.subgraph is None else _subgraph(doc, ref.subgraph)
    if graph is None:
        return None
    return next((n for n in graph.get("nodes") or [] if isinstance(n, dict) and str(n.get("id")) == ref.node_id), None)


def _upsert(models: list[Any], entry: dict[str, Any]) -> None:
    name, key = norm_name(entry["name"]), entry["directory"]
    from .loaders import folder_key

    for i, m in enumerate(models):
        if isinstance(m, dict) and isinstance(m.get("name"), str) and norm_name(m["name"]) == name \
                and folder_key(m.get("directory")) in (key, None):
            if "url" not in entry and isinstance(m.get("url"), str):
                entry["url"] = m["url"]
            models[i] = {**m, **entry}
            return
    models.append(entry)


def annotate(doc: dict[str, Any], resolutions: list[Resolution]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(annotated copy of doc, {"annotated": N, "skipped": [{"key", "name", "reason"}]})``.

    Raises:
        BadInputError: ``doc`` is an API-format prompt (it has no place for identity).
    """
    if workflow_format(doc) != "ui":
        raise BadInputError("annotate needs a UI-format workflow (an API-format prompt has no node properties)")
    out = copy.deepcopy(doc)
    done = 0
    skipped: list[dict[str, Any]] = []
    for res in resolutions:
        ref = res.ref
        sha = None
        if res.status in ("present", "linked") and res.entry is not None:
            sha = res.entry.sha256
        elif res.status == "present" and res.found_path:
            sha = file_digest(res.found_path, "sha256")
        if not sha:
            skipped.append({"key": ref.key, "name": ref.name, "reason": res.note or res.status})
            continue
        entry: dict[str, Any] = {"name": ref.name, "hash": sha, "hash_type": "SHA256", "directory": ref.directory}
        url = ref.url or (model_url(res.entry.meta) if res.entry else None)
        if url:
            entry["url"] = url
        if ref.node_id is None:
            _upsert(out.setdefault("models", []), entry)
        else:
            node = _node(out, ref)
            if node is None:
                skipped.append({"key": ref.key, "name": ref.name, "reason": "node not found"})
                continue
            props: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else {}
            node["properties"] = props
            models: list[Any] = props["models"] if isinstance(props.get("models"), list) else []
            props["models"] = models
            _upsert(models, entry)
        done += 1
    return out, {"annotated": done, "skipped": skipped}

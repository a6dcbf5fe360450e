"""Model references of a ComfyUI workflow: UI format (schema 0.4 and 1, subgraphs included), API
format, and workflows embedded in PNG/WebP images.

Formats (ComfyUI_frontend ``workflowSchema.ts``):

* UI: ``{"nodes": [{"id", "type", "widgets_values": [...] | {...}, "properties": {"models": [ModelFile]}}],
  "models": [ModelFile]?, "definitions": {"subgraphs": [{"id", "nodes": [...], "models"?}]}?, "version"}``
  where ``ModelFile = {"name", "url", "hash"?, "hash_type"?, "directory"}``; the chosen file is the
  widget value, a folder-relative path (``SDXL/x.safetensors``, Windows users send ``SDXL\\x.safetensors``).
* API: ``{"<node id>": {"class_type", "inputs": {name: value | [node, slot]}}}`` (also wrapped as
  ``{"prompt": {...}}``); models are named by input value only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeGuard

from ..errors import BadInputError
from .images import embedded_texts
from .loaders import LoaderTable, folder_key, merged_table

MAX_WORKFLOW_BYTES = 64 << 20
NOT_A_FILE = {"", "none", "baked vae", "default"}


@dataclass
class ModelRef:
    """One model a workflow needs.

    ``name`` is the value exactly as the workflow has it; ``directory`` the folder key (``vae``);
    ``node_id``/``input`` are None for a model only listed in a ``models`` array; ``subgraph`` is the
    id of the subgraph definition holding the node.  ``hash_type`` is lower-case (``sha256``/``blake3``).
    """

    node_id: str | None
    node_type: str | None
    input: str | None
    directory: str | None
    name: str
    hash: str | None = None
    hash_type: str | None = None
    url: str | None = None
    subgraph: str | None = None

    @property
    def key(self) -> str:
        """Stable id of the reference in this workflow: ``[<subgraph>:]<node_id>:<input>`` (or ``model:<name>``)."""
        if self.node_id is None:
            return f"model:{self.directory}/{self.name}"
        return f"{self.subgraph + ':' if self.subgraph else ''}{self.node_id}:{self.input}"

    @property
    def rel_name(self) -> str:
        """``name`` with Windows separators turned into ``/``."""
        return norm_name(self.name)

    def to_dict(self) -> dict[str, Any]:
        """The reference's fields as a dict."""
        return asdict(self)


def norm_name(name: str) -> str:
    """Folder-relative name with ``\\`` → ``/`` and no leading/trailing separators or blanks."""
    return name.replace("\\", "/").strip().strip("/")


def load_workflow(path: str | Path) -> dict[str, Any]:
    """Read a workflow from a ``.json`` file or a PNG/WebP that embeds one.

    Images: the UI graph (``workflow``) is preferred, the API prompt (``prompt``) otherwise.
    Raises:
        BadInputError: unreadable, too large, not JSON, or an image without an embedded workflow.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_WORKFLOW_BYTES:
            raise BadInputError(f"{p}: {size} bytes is too large for a workflow", path=p)
        texts = embedded_texts(p)
        if texts is not None:
            text = texts.get("workflow") or texts.get("prompt")
            if not text:
                raise BadInputError(f"{p}: image has no embedded workflow or prompt", path=p)
        else:
            text = p.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise BadInputError(f"{p}: cannot read ({exc.strerror or exc})", path=p) from None
    except UnicodeDecodeError:
        raise BadInputError(f"{p}: not a UTF-8 JSON workflow", path=p) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})", path=p) from None
    if not isinstance(doc, dict):
        raise BadInputError(f"{p}: a workflow is a JSON object", path=p)
    return doc


#: ``{(normalised name, folder key or None): {"hash", "hash_type", "url", "directory"}}``
Declared = dict[tuple[str, str | None], dict[str, Any]]


def _prompt(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The node map of an API-format document (bare, or wrapped as ``{"prompt": {...}}``)."""
    prompt = doc.get("prompt")
    return prompt if isinstance(prompt, dict) else doc


def workflow_format(doc: Mapping[str, Any]) -> str:
    """``"ui"`` (has ``nodes``), ``"api"`` (node objects with ``class_type``) or raise BadInputError."""
    if isinstance(doc.get("nodes"), list):
        return "ui"
    prompt = _prompt(doc)
    if prompt and all(isinstance(v, dict) and "class_type" in v for v in prompt.values()):
        return "api"
    raise BadInputError("not a ComfyUI workflow (no 'nodes' list and no API-format prompt)")


def _declared(entries: Any, out: Declared) -> None:
    for m in entries or []:
        if not (isinstance(m, dict) and isinstance(m.get("name"), str)):
            continue
        info = {"hash": m.get("hash") if isinstance(m.get("hash"), str) and m.get("hash") else None,
                "hash_type": (m.get("hash_type") or "sha256").lower() if m.get("hash") else None,
                "url": m.get("url") if isinstance(m.get("url"), str) else None,
                "directory": folder_key(m.get("directory"))}
        nm = norm_name(m["name"])
        for k in ((nm, info["directory"]), (nm, None)):
            out.setdefault(k, info)


def _attach(ref: ModelRef, declared: Declared) -> ModelRef:
    nm = ref.rel_name
    info = declared.get((nm, ref.directory)) or declared.get((nm, None))
    if info is None and "/" in nm:  # templates list the bare file name for a value in a sub-folder
        base = nm.rsplit("/", 1)[1]
        info = declared.get((base, ref.directory)) or declared.get((base, None))
    if info:
        ref.hash, ref.hash_type, ref.url = info["hash"], info["hash_type"], info["url"]
        ref.directory = ref.directory or info["directory"]
    return ref


def _is_file_value(v: object) -> TypeGuard[str]:
    return isinstance(v, str) and v.strip().lower() not in NOT_A_FILE


def _node_refs(node: dict[str, Any], table: LoaderTable, subgraph: str | None) -> list[ModelRef]:
    ntype, nid = node.get("type"), str(node.get("id"))
    wv = node.get("widgets_values")
    entry = table.get(ntype) if isinstance(ntype, str) else None
    refs: list[ModelRef] = []
    if entry is not None:
        for i, wname in enumerate(entry["widgets"]):
            key = entry["models"].get(wname)
            if key is None:
                continue
            v = wv.get(wname) if isinstance(wv, dict) else (wv[i] if isinstance(wv, list) and i < len(wv) else None)
            if _is_file_value(v):
                refs.append(ModelRef(nid, ntype, wname, key, v, subgraph=subgraph))
        return refs
    # an unknown (custom) node: trust the models it declares when a widget carries that name
    values = list(wv.values()) if isinstance(wv, dict) else list(wv or []) if isinstance(wv, list) else []
    names = list(wv.keys()) if isinstance(wv, dict) else [f"widgets_values[{i}]" for i in range(len(values))]
    for m in (node.get("properties") or {}).get("models") or []:
        if not isinstance(m, dict) or not isinstance(m.get("name"), str):
            continue
        for wname, v in zip(names, values, strict=True):
            if _is_file_value(v) and (norm_name(v) == norm_name(m["name"])
                                      or norm_name(v).rsplit("/", 1)[-1] == norm_name(m["name"])):
                refs.append(ModelRef(nid, ntype, wname, folder_key(m.get("directory")), v, subgraph=subgraph))
                break
    return refs


def _ui_refs(doc: dict[str, Any], table: LoaderTable) -> list[ModelRef]:
    graphs: list[tuple[str | None, dict[str, Any]]] = [(None, doc)]
    subs = (doc.get("definitions") or {}).get("subgraphs") if isinstance(doc.get("definitions"), dict) else None
    graphs += [(str(s.get("id")), s) for s in subs or [] if isinstance(s, dict)]
    declared: Declared = {}
    for _sid, g in graphs:
        _declared(g.get("models"), declared)
        for n in g.get("nodes") or []:
            if isinstance(n, dict):
                _declared((n.get("properties") or {}).get("models") if isinstance(n.get("properties"), dict) else None,
                          declared)
    refs: list[ModelRef] = []
    for sid, g in graphs:
        for n in g.get("nodes") or []:
            if isinstance(n, dict):
                refs += [_attach(r, declared) for r in _node_refs(n, table, sid)]
    used = {(r.rel_name, r.directory) for r in refs} | {(r.rel_name.rsplit("/", 1)[-1], r.directory) for r in refs}
    for (nm, d), info in declared.items():
        if d is not None and (nm, d) not in used and info["directory"] == d:
            refs.append(ModelRef(None, None, None, d, nm, info["hash"], info["hash_type"], info["url"]))
            used.add((nm, d))
    return refs


def _api_refs(doc: dict[str, Any], table: LoaderTable) -> list[ModelRef]:
    prompt = _prompt(doc)
    refs: list[ModelRef] = []
    for nid, node in prompt.items():
        entry = table.get(node.get("class_type"))
        inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
        if entry is None:
            continue
        for wname in entry["widgets"]:
            key = entry["models"].get(wname)
            v = inputs.get(wname)
            if key is not None and _is_file_value(v):
                refs.append(ModelRef(str(nid), node["class_type"], wname, key, v))
    return refs


def extract_refs(doc: dict[str, Any], loaders: Mapping[str, Any] | None = None) -> list[ModelRef]:
    """Every model reference of a UI- or API-format workflow, in graph order.

    Args:
        loaders: extra loader definitions (see :mod:`.loaders`) merged over the built-in table.
    Raises:
        BadInputError: ``doc`` is not a workflow, or ``loaders`` is malformed.
    """
    table = merged_table(loaders)
    return _ui_refs(doc, table) if workflow_format(doc) == "ui" else _api_refs(doc, table)

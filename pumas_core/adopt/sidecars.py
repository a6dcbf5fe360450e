"""Read what other tools know about a model file (its sidecars), checked against our SHA-256.

Formats (reference/user-pains-and-formats.md, "Sidecars"):

* ``<stem>.civitai.info`` (Civitai Helper): a CivitAI model-version object (``id, modelId, name,
  baseModel, trainedWords, model{name,type}, files[].hashes.SHA256, images[]``);
* ``<stem>.cm-info.json`` (Stability Matrix ConnectedModelInfo): ``ModelId, ModelName, ModelType,
  VersionId, VersionName, BaseModel, Hashes{SHA256,...}, TrainedWords, ThumbnailImageUrl``;
* ``<stem>.metadata.json`` (ComfyUI-Lora-Manager): ``sha256, base_model, notes, tags, preview_url,
  civitai{id, modelId, name, trainedWords, baseModel, model{name,type}}``;
* ``<stem>.sha256``: plain hex (first token);
* A1111 ``cache.json`` (webui root): ``{"hashes": {"<kind>/<name>": {"mtime", "sha256"}}}``;
* ``<stem>.json`` (A1111 user metadata): ``description, sd version, activation text, preferred weight, notes``.

A sidecar whose SHA-256 differs from ours is reported and ignored; one that names a CivitAI model
with a matching hash fills the same ``civitai`` block a lookup writes (``match_source: sidecar``,
``trust: verified``) and makes the online lookup unnecessary.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..vocab import MatchSource, Trust

if TYPE_CHECKING:
    from ..facade import Library

MAX_SIDECAR_BYTES = 4 << 20
PREVIEW_SUFFIXES = (".preview.png", ".preview.jpg", ".preview.jpeg", ".preview.webp", ".png", ".jpg", ".jpeg",
                    ".webp", ".mp4", ".preview.mp4")
A1111_KEYS = ("description", "sd version", "activation text", "preferred weight", "notes")
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def _stem(path: str) -> str:
    return os.path.splitext(path)[0]


def _load_json(path: str) -> Any:
    """The JSON value in a small regular file, or None (missing, a link, too large, not JSON)."""
    try:
        if os.path.islink(path) or os.path.getsize(path) > MAX_SIDECAR_BYTES:
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _check(claimed: object, sha256: str) -> str:
    if not isinstance(claimed, str) or not HEX64.match(claimed.strip()):
        return "absent"
    return "match" if claimed.strip().lower() == sha256.lower() else "mismatch"


def civitai_base() -> str:
    """The CivitAI site used for page URLs (``$PUMAS_CIVITAI_ENDPOINT`` or https://civitai.com)."""
    from ..remote.lookup import DEFAULT_CIVITAI

    return (os.environ.get("PUMAS_CIVITAI_ENDPOINT") or DEFAULT_CIVITAI).rstrip("/")


def _version_from_cm(cm: dict[str, Any]) -> dict[str, Any]:
    return {"id": cm.get("VersionId"), "modelId": cm.get("ModelId"), "name": cm.get("VersionName"),
            "baseModel": cm.get("BaseModel"), "trainedWords": cm.get("TrainedWords") or [],
            "model": {"name": cm.get("ModelName"), "type": cm.get("ModelType")},
            "images": [{"url": cm["ThumbnailImageUrl"], "type": "image"}] if cm.get("ThumbnailImageUrl") else []}


def _a1111_cache_sha(path: str, rel: str | None) -> tuple[str, str] | None:
    """``(cache.json path, sha256)`` for this file from the nearest A1111 ``cache.json`` (≤ 4 levels up)."""
    name = os.path.basename(path)
    wanted = {name, _stem(name)}
    if rel:
        wanted |= {rel, _stem(rel)}
    d = os.path.dirname(path)
    for _ in range(4):
        cache = os.path.join(d, "cache.json")
        if os.path.isfile(cache):
            data = _load_json(cache)
            hashes = data.get("hashes") if isinstance(data, dict) else None
            if isinstance(hashes, dict):
                for title, entry in hashes.items():
                    if isinstance(entry, dict) and str(title).split("/", 1)[-1] in wanted:
                        return cache, str(entry.get("sha256") or "")
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return None


def read_sidecars(path: str, sha256: str, rel: str | None = None) -> dict[str, Any]:
    """Every sidecar of the model file ``path``, checked against ``sha256``.

    Returns ``{"sidecars": {source: {"file", "sha256_check": "match"|"mismatch"|"absent", "data"?}},
    "mismatches": [one-line messages], "civitai_version": version object or None (only from a
    sidecar whose hash matched), "user": A1111 user metadata or None, "lora_manager": dict or None}``.
    """
    stem = _stem(path)
    out: dict[str, Any] = {"sidecars": {}, "mismatches": [], "civitai_version": None, "user": None,
                           "lora_manager": None}

    def note(source: str, file: str, check: str, data: Any) -> bool:
        entry: dict[str, Any] = {"file": file, "sha256_check": check}
        if check == "mismatch":
            out["mismatches"].append(f"{file}: its SHA-256 does not match {os.path.basename(path)}; ignored")
        else:
            entry["data"] = data
        out["sidecars"][source] = entry
        return check == "match"

    info = _load_json(stem + ".civitai.info")
    if isinstance(info, dict):
        shas = [(f.get("hashes") or {}).get("SHA256") for f in info.get("files") or [] if isinstance(f, dict)]
        checks = {_check(s, sha256) for s in shas} or {"absent"}
        check = "match" if "match" in checks else "mismatch" if "mismatch" in checks else "absent"
        if note("civitai_info", stem + ".civitai.info", check, info):
            out["civitai_version"] = info
    cm = _load_json(stem + ".cm-info.json")
    if isinstance(cm, dict):
        check = _check((cm.get("Hashes") or {}).get("SHA256") if isinstance(cm.get("Hashes"), dict) else None, sha256)
        if note("cm_info", stem + ".cm-info.json", check, cm) and cm.get("ModelId") and not out["civitai_version"]:
            out["civitai_version"] = _version_from_cm(cm)
    lm = _load_json(stem + ".metadata.json")
    if isinstance(lm, dict) and ("sha256" in lm or "civitai" in lm or "file_name" in lm) \
            and note("lora_manager", stem + ".metadata.json", _check(lm.get("sha256"), sha256), lm):
        out["lora_manager"] = lm
        civ = lm.get("civitai")
        if isinstance(civ, dict) and civ.get("modelId") and not out["civitai_version"]:
            out["civitai_version"] = civ
    try:
        with open(stem + ".sha256", encoding="utf-8") as f:
            claimed = (f.read(200).split() or [""])[0]
        note("sha256", stem + ".sha256", _check(claimed, sha256), claimed.lower())
    except OSError:
        pass
    found = _a1111_cache_sha(path, rel)
    if found:
        note("a1111_cache", found[0], _check(found[1], sha256), {"sha256": found[1].lower()})
    user = _load_json(stem + ".json")
    if isinstance(user, dict) and any(k in user for k in A1111_KEYS):
        note("a1111_user", stem + ".json", "absent", {k: user[k] for k in A1111_KEYS if k in user})
        out["user"] = user
    return out


def find_preview(path: str) -> str | None:
    """The first preview image/video next to a model file (``<stem>.preview.png``, ``<stem>.png``, …)."""
    stem = _stem(path)
    for suf in PREVIEW_SUFFIXES:
        p = stem + suf
        if os.path.isfile(p) and not os.path.islink(p):
            return p
    return None


def preview_name(preview: str) -> str:
    """``preview.<ext>`` for a preview file (``x.preview.png`` → ``preview.png``)."""
    return "preview" + os.path.splitext(preview)[1].lower()


def metadata_patch(meta: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """Keys to merge into ``meta`` (a metadata.json dict) from :func:`read_sidecars` output.

    Identity keys are left alone when the user set them (``match_source: manual``).
    """
    patch: dict[str, Any] = {}
    if not found["sidecars"]:
        return patch
    patch["sidecars"] = {**(meta.get("sidecars") or {}), **found["sidecars"]}
    if found["mismatches"]:
        patch["sidecar_mismatches"] = found["mismatches"]
    version = found["civitai_version"]
    manual = meta.get("match_source") == MatchSource.MANUAL
    tags = list(meta.get("tags") or [])
    if version and not manual:
        from ..remote.civitai import summarize

        civ = summarize(version, civitai_base())
        patch.update({"civitai": civ, "match_source": MatchSource.SIDECAR, "trust": Trust.VERIFIED,
                      "pending_online_lookup": False})
        if civ.get("base_model"):
            patch["base_model_remote"] = civ["base_model"]
            tags.append(civ["base_model"])
        if civ.get("trained_words"):
            patch["trained_words"] = civ["trained_words"]
        if civ.get("page_url"):
            patch["source_url"] = civ["page_url"]
        if civ.get("preview_url"):
            patch["preview_url"] = civ["preview_url"]
    lm, user = found["lora_manager"] or {}, found["user"] or {}
    notes = user.get("notes") or lm.get("notes")
    if notes and not meta.get("notes"):
        patch["notes"] = str(notes)
    if user.get("description") and not meta.get("description"):
        patch["description"] = str(user["description"])
    if user.get("activation text") and not patch.get("trained_words") and not meta.get("trained_words"):
        patch["trained_words"] = [w.strip() for w in str(user["activation text"]).split(",") if w.strip()]
    if user.get("preferred weight") not in (None, "", 0):
        patch["preferred_weight"] = user["preferred weight"]
    tags += [str(t) for t in lm.get("tags") or [] if isinstance(t, str)]
    if set(tags) != set(meta.get("tags") or []):
        patch["tags"] = sorted(set(tags))
    return patch


def apply_to_model(lib: Library, model_id: str, paths: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
    """Read the sidecars of every original path (``[(path, rel name in its folder key)]``) of one
    model and merge them into its metadata.json, then the index.

    Returns ``{"sidecars": [sources], "mismatches": [...], "civitai": bool}``.
    Raises OSError (a :class:`~pumas_core.errors.WriteFailedError` among them) when metadata.json cannot be
    read or written; a model that is not indexed is answered with empty results.
    """
    out: dict[str, Any] = {"sidecars": {}, "mismatches": [], "civitai_version": None}

    def change(meta: dict[str, Any]) -> dict[str, Any] | None:
        sha = meta["files"][0]["sha256"]
        merged: dict[str, Any] = {"sidecars": {}, "mismatches": [], "civitai_version": None, "user": None,
                                  "lora_manager": None}
        for path, rel in paths:
            f = read_sidecars(path, sha, rel)
            for k in ("civitai_version", "user", "lora_manager"):
                merged[k] = merged[k] or f[k]
            for k, v in f["sidecars"].items():
                merged["sidecars"].setdefault(k, v)
            merged["mismatches"] += f["mismatches"]
        out.update(merged)
        patch = metadata_patch(meta, merged)
        if not patch:
            return None
        meta.update(patch)
        return meta

    if lib.index.get(model_id) is None:
        return {"sidecars": [], "mismatches": [], "civitai": False}
    lib.store.update(model_id, change)  # the ModelStore writes metadata.json, then the index, under its lock
    merged = out
    return {"sidecars": sorted(merged["sidecars"]), "mismatches": merged["mismatches"],
            "civitai": bool(merged["civitai_version"])}

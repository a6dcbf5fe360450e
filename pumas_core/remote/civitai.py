"""CivitAI lookup by SHA-256.

API (public, no auth; developer.civitai.com "model-versions" reference and the civitai server
code ``src/pages/api/v1/model-versions/by-hash/``):

* ``GET  /api/v1/model-versions/by-hash/{hash}`` → one model-version object, 404 when unknown;
* ``POST /api/v1/model-versions/by-hash`` with a JSON array of ≤100 SHA-256 strings → array of the
  found model-version objects (unknown hashes are simply absent).

A version object carries ``id, modelId, name, baseModel, trainedWords, model{name,type},
files[{hashes{SHA256 (upper-case hex), …}}], images[{url, type}]``.  Hits are cached 24 h,
"not on CivitAI" is cached 7 days (both in the persisted :class:`RemoteCache`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any
from urllib.parse import quote

from ..vocab import ModelType
from .cache import DAY, RemoteCache
from .httpjson import request_json
from .resilience import HostGuard, HostUnavailable, RateLimited, parse_rate_headers

BATCH_MAX = 100
HIT_TTL = DAY
MISS_TTL = 7 * DAY

# CivitAI ``model.type`` (lower case, spaces removed; the keys are CivitAI's words) → our ModelType (DESIGN.md).
CIVITAI_TYPES = {
    "checkpoint": ModelType.CHECKPOINT,  # not-vocab: CivitAI's type word (the key)
    "lora": ModelType.LORA,  # not-vocab: CivitAI's type word (the key)
    "locon": ModelType.LORA,
    "dora": ModelType.LORA,
    "lycoris": ModelType.LORA,
    "textualinversion": ModelType.EMBEDDING,
    "vae": ModelType.VAE,
    "controlnet": ModelType.CONTROLNET,
    "upscaler": ModelType.UPSCALE_MODEL,
    "hypernetwork": ModelType.HYPERNETWORK,  # not-vocab: CivitAI's type word (the key)
}


def map_type(civitai_type: str | None) -> ModelType:
    """Map a CivitAI ``model.type`` (e.g. "LORA", "TextualInversion") to our ModelType (``UNKNOWN`` if none)."""
    return CIVITAI_TYPES.get((civitai_type or "").replace(" ", "").lower(), ModelType.UNKNOWN)


def summarize(version: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Reduce a CivitAI model-version object to the ``civitai`` dict stored in metadata.json."""
    model = version.get("model") or {}
    preview = None
    for img in version.get("images") or []:
        if isinstance(img, dict) and img.get("url") and img.get("type", "image") == "image":
            preview = img["url"]
            break
    model_id, version_id = version.get("modelId"), version.get("id")
    return {
        "model_id": model_id,
        "version_id": version_id,
        "name": " – ".join(x for x in (model.get("name"), version.get("name")) if x) or None,
        "base_model": version.get("baseModel"),
        "trained_words": list(version.get("trainedWords") or []),
        "type": map_type(model.get("type")),
        "civitai_type": model.get("type"),
        "page_url": f"{base_url}/models/{model_id}?modelVersionId={version_id}" if model_id else None,
        "preview_url": preview,
    }


def _file_sha256s(version: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for f in version.get("files") or []:
        h = (f.get("hashes") or {}).get("SHA256") if isinstance(f, dict) else None
        if isinstance(h, str):
            out.add(h.lower())
    return out


class CivitaiClient:
    """CivitAI by-hash lookups through a :class:`HostGuard`, answered from the cache when possible.

    ``cached(sha)`` → (known, value); ``by_hash(sha)`` / ``by_hashes(shas)`` may raise
    :class:`HostUnavailable` (the caller marks the result pending).
    """

    def __init__(self, base_url: str, guard: HostGuard, cache: RemoteCache, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.guard, self.cache, self.timeout = guard, cache, timeout

    def cached(self, sha256: str) -> tuple[bool, dict[str, Any] | None]:
        """Return ``(True, summary or None)`` when the cache knows the answer, else ``(False, None)``."""
        entry = self.cache.get(f"civitai:sha256:{sha256.lower()}")
        if entry is None:
            return False, None
        return True, entry.get("hit")

    def _remember(self, sha256: str, summary: dict[str, Any] | None) -> None:
        self.cache.put(f"civitai:sha256:{sha256.lower()}", {"hit": summary}, HIT_TTL if summary else MISS_TTL)

    def _headers(self, headers: Mapping[str, str]) -> None:
        wait = parse_rate_headers(headers, time.time())
        if wait:
            self.guard.note_backoff(wait)

    def by_hash(self, sha256: str, max_wait: float = 1.0) -> dict[str, Any] | None:
        """Look one SHA-256 up (cache first). Returns the summary dict or None (not on CivitAI)."""
        known, value = self.cached(sha256)
        if known:
            return value
        url = f"{self.base_url}/api/v1/model-versions/by-hash/{quote(sha256.lower())}"
        status, body = self.guard.call(
            lambda: request_json("GET", url, timeout=self.timeout, on_headers=self._headers), max_wait)
        summary = summarize(body, self.base_url) if status == 200 and isinstance(body, dict) else None
        if status in (200, 404) or (status == 400 and summary is None):
            self._remember(sha256, summary)
        return summary

    def by_hashes(self, sha256s: Iterable[str], max_wait: float = 60.0) -> dict[str, dict[str, Any] | None]:
        """Look many SHA-256 up with the batch POST (≤100 per call); cached ones cost nothing.

        Returns ``{sha256: summary or None}`` for every hash that got an answer; hashes whose
        batch could not be sent are absent (their host was unavailable). Raises
        :class:`HostUnavailable` only when no batch at all could be sent.
        """
        out: dict[str, dict[str, Any] | None] = {}
        todo: list[str] = []
        for sha in dict.fromkeys(s.lower() for s in sha256s):
            known, value = self.cached(sha)
            if known:
                out[sha] = value
            else:
                todo.append(sha)
        url = f"{self.base_url}/api/v1/model-versions/by-hash"
        failure: HostUnavailable | None = None
        for i in range(0, len(todo), BATCH_MAX):
            chunk = todo[i:i + BATCH_MAX]
            try:
                post = partial(request_json, "POST", url, body=chunk, timeout=self.timeout, on_headers=self._headers)
                status, body = self.guard.call(post, max_wait)
            except (HostUnavailable, RateLimited) as exc:
                failure = exc if isinstance(exc, HostUnavailable) else HostUnavailable(str(exc))
                break
            if status != 200 or not isinstance(body, list):
                continue  # a 4xx for the batch: leave these for single lookups
            found: dict[str, dict[str, Any]] = {}
            for version in body:
                if isinstance(version, dict):
                    for h in _file_sha256s(version) & set(chunk):
                        found[h] = summarize(version, self.base_url)
            for sha in chunk:
                out[sha] = found.get(sha)
                self._remember(sha, found.get(sha))
        if failure is not None and not out and todo:
            raise failure
        return out

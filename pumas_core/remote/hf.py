"""HuggingFace Hub lookup: filename search → repo file list with LFS sha256 → match.

The Hub has no search by hash (real-test-data.md §3), so a file is identified by:
1. ``GET /api/models?search=<term>&limit=5`` (1 call; cached 24 h, empty answers too);
2. for the best ≤3 candidates ``HfApi.model_info(repo, files_metadata=True)`` =
   ``GET /api/models/{repo}?blobs=true`` (siblings carry ``lfs.sha256``; cached 24 h, "repo not
   found" too); redirects of renamed repos (307) are followed by the client;
3. sha256 equal → ``hash``/``verified``; same name and size → ``filename_exact``/``high``;
   similar name, same extension → ``filename_fuzzy``/``low``.
Budget: at most 4 HTTP calls per file (1 + 3), fewer when cached or matched early.

Timeouts: huggingface_hub 2.4 uses a shared httpx2 client with ``timeout=None``; ``model_info``
takes ``timeout=`` but ``list_models`` does not, so the search goes through the same shared
session (``get_session().get(..., timeout=)``, ``build_hf_headers``, ``hf_raise_for_status``) — the
very request ``list_models(search=…)`` sends — and only the ``id`` of its items is kept.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TypeVar

from huggingface_hub import HfApi, get_session, hf_raise_for_status
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError
from huggingface_hub.hf_api import ModelInfo
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]  # utils.__all__ is built at run time

from ..vocab import MatchSource, Trust
from .cache import DAY, RemoteCache
from .resilience import HostGuard, RateLimited, TransientError, parse_rate_headers

T = TypeVar("T")

SEARCH_TTL = DAY
REPO_TTL = DAY
MAX_CANDIDATES = 3
SEARCH_LIMIT = 5

GENERIC_STEMS = {"model", "pytorch_model", "diffusion_pytorch_model", "adapter_model", "tf_model",
                 "flax_model", "model_index", "weights", "last", "best", "final",
                 "checkpoint"}  # not-vocab: a file-name stem
_SUFFIX_RE = re.compile(
    r"([-_.](fp16|fp32|bf16|fp8(_e4m3fn|_e5m2)?|f16|f32|q\d(_k)?(_[sml])?|q\d_\d|iq\d_\w+|pruned|"
    r"emaonly|ema|safetensors|\d{5}-of-\d{5}))+$", re.IGNORECASE)

try:  # availability errors of huggingface_hub's HTTP stack (httpx2 in 2.x, requests in 0.x)
    import httpx2 as _httpx
    _TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (_httpx.TransportError,)
except ImportError:  # pragma: no cover - older huggingface_hub
    import requests as _requests
    _TRANSPORT_ERRORS = (_requests.ConnectionError, _requests.Timeout)

#: ``(match_source, trust, huggingface dict or None)`` of one file.
HubMatch = tuple[MatchSource, Trust, dict[str, Any] | None]


def search_term(filename: str, hint: str | None = None) -> str | None:
    """Derive the Hub search term from a file name (precision/quant/shard suffixes removed).

    Generic names (``model.safetensors``) fall back to ``hint``; returns None when nothing useful
    remains (then the Hub is not asked).
    """
    stem = PurePosixPath(filename.replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = _SUFFIX_RE.sub("", stem)
    if stem.lower() in GENERIC_STEMS or len(stem) < 3:
        if hint:
            return search_term(hint) if hint != filename else None
        return None
    return stem


def _norm(name: str) -> str:
    name = PurePosixPath(name).name.rsplit(".", 1)[0].lower()
    return re.sub(r"[^a-z0-9]+", "", _SUFFIX_RE.sub("", name))


def _similar(a: str, b: str) -> float:
    a, b = _norm(a), _norm(b)
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b).ratio()


def _translate(exc: BaseException, what: str, timeout: float) -> BaseException:
    """Map a huggingface_hub/httpx error to TransientError / RateLimited, or return it unchanged."""
    if isinstance(exc, OfflineModeIsEnabled):
        return TransientError(f"HF_HUB_OFFLINE is set ({what})")
    if isinstance(exc, _TRANSPORT_ERRORS):
        kind = "timed out" if "Timeout" in type(exc).__name__ else "unreachable"
        extra = f" after {timeout:g}s" if kind == "timed out" else f": {exc}".split("\n")[0]
        return TransientError(f"{kind}{extra} ({what})")
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 429:
            return RateLimited(f"429 Too Many Requests ({what})", parse_rate_headers(exc.response.headers, time.time()))
        if status >= 500:
            return TransientError(f"HTTP {status} ({what})")
    return exc


def _license(info: ModelInfo) -> str | None:
    for tag in info.tags or []:
        if tag.startswith("license:"):
            return tag.split(":", 1)[1]
    card = getattr(info, "card_data", None)
    lic = getattr(card, "license", None) if card is not None else None
    return lic if isinstance(lic, str) else None


class HubClient:
    """Hub lookups through a :class:`HostGuard`; repo file lists and searches cached 24 h."""

    def __init__(self, endpoint: str, guard: HostGuard, cache: RemoteCache, timeout: float) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.api = HfApi(endpoint=self.endpoint)
        self.guard, self.cache, self.timeout = guard, cache, timeout

    def _run(self, fn: Callable[[], T], what: str, max_wait: float) -> T:
        def wrapped() -> T:
            try:
                return fn()
            except Exception as exc:  # broad on purpose: translated or re-raised unchanged
                new = _translate(exc, what, self.timeout)
                if new is exc:
                    raise
                raise new from exc
        return self.guard.call(wrapped, max_wait)

    def search(self, term: str, max_wait: float = 1.0) -> list[str]:
        """Repo ids whose id contains ``term`` (≤5, Hub order). One call unless cached."""
        key = f"hf:search:{term.lower()}"
        hit: list[str] | None = self.cache.get(key)
        if hit is not None:
            return hit

        def call() -> list[str]:
            r = get_session().get(f"{self.endpoint}/api/models", params={"search": term, "limit": SEARCH_LIMIT},
                                  headers=build_hf_headers(), timeout=self.timeout)
            hf_raise_for_status(r)
            return [str(item["id"]) for item in r.json()]
        ids = self._run(call, f"search {term!r}", max_wait)
        self.cache.put(key, ids, SEARCH_TTL)
        return ids

    def repo(self, repo_id: str, max_wait: float = 1.0) -> dict[str, Any] | None:
        """``{id, sha, tags, pipeline_tag, license, files:[{path,size,sha256,blob_id}]}`` or None (no such repo).

        Raises :class:`~pumas_core.remote.resilience.HostUnavailable` when the Hub cannot be asked.
        """
        key = f"hf:repo:{repo_id}"
        hit = self.cache.get(key)
        if hit is not None:
            cached: dict[str, Any] | None = hit.get("repo")
            return cached

        def call() -> dict[str, Any] | None:
            try:
                info = self.api.model_info(repo_id, files_metadata=True, timeout=self.timeout)
            except RepositoryNotFoundError:
                return None
            files = [{"path": s.rfilename, "size": s.size, "blob_id": s.blob_id,
                      "sha256": (s.lfs.sha256 if s.lfs else None)} for s in (info.siblings or [])]
            return {"id": info.id, "sha": info.sha, "tags": list(info.tags or []),
                    "pipeline_tag": info.pipeline_tag, "license": _license(info), "files": files}
        repo = self._run(call, f"model_info {repo_id}", max_wait)
        self.cache.put(key, {"repo": repo}, REPO_TTL)
        if repo and repo["id"] != repo_id:  # renamed: remember under the new name too
            self.cache.put(f"hf:repo:{repo['id']}", {"repo": repo}, REPO_TTL)
        return repo

    def describe(self, repo: dict[str, Any], path: str) -> dict[str, Any]:
        """The ``huggingface`` dict for ``path`` in ``repo`` (metadata.json shape)."""
        rev = repo.get("sha") or "main"
        return {"repo_id": repo["id"], "revision": repo.get("sha"), "path": path,
                "url": f"{self.endpoint}/{repo['id']}/resolve/{rev}/{path}",
                "license": repo.get("license"), "tags": repo.get("tags") or [],
                "pipeline_tag": repo.get("pipeline_tag")}

    def match(self, filename: str, size: int, sha256: str, hint: str | None = None,
              max_wait: float = 1.0) -> HubMatch:
        """Return ``(match_source, trust, huggingface dict or None)`` for one file.

        Raises :class:`~pumas_core.remote.resilience.HostUnavailable` when the Hub cannot be asked.
        """
        known = self.cache.get(f"hf:sha256:{sha256.lower()}")
        if known:
            return MatchSource.HASH, Trust.VERIFIED, known
        term = search_term(filename, hint)
        if not term:
            return MatchSource.NONE, Trust.NONE, None
        ids = self.search(term, max_wait)
        ranked = sorted(ids, key=lambda rid: (rid.split("/")[-1].lower() != term.lower(),
                                              term.lower() not in rid.lower(), ids.index(rid)))
        base, ext = PurePosixPath(filename).name, PurePosixPath(filename).suffix.lower()
        best: tuple[int, MatchSource, Trust, dict[str, Any]] | None = None
        for rid in ranked[:MAX_CANDIDATES]:
            repo = self.repo(rid, max_wait)
            if not repo:
                continue
            same_ext = [f for f in repo["files"] if PurePosixPath(f["path"]).suffix.lower() == ext]
            for f in repo["files"]:
                if f.get("sha256") and f["sha256"].lower() == sha256.lower():
                    hit = self.describe(repo, f["path"])
                    self.cache.put(f"hf:sha256:{sha256.lower()}", hit, 7 * DAY)
                    return MatchSource.HASH, Trust.VERIFIED, hit
            for f in same_ext:
                score: tuple[int, MatchSource, Trust] | None = None
                if PurePosixPath(f["path"]).name == base and f.get("size") == size:
                    score = (2, MatchSource.FILENAME_EXACT, Trust.HIGH)
                elif max(_similar(f["path"], base),
                         _similar(repo["id"].split("/")[-1], base) if len(same_ext) == 1 else 0.0) >= 0.75:
                    score = (1, MatchSource.FILENAME_FUZZY, Trust.LOW)
                if score and (best is None or score[0] > best[0]):
                    best = (score[0], score[1], score[2], self.describe(repo, f["path"]))
        if best is None:
            return MatchSource.NONE, Trust.NONE, None
        return best[1], best[2], best[3]

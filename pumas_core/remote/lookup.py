"""Offline-first orchestration of the HuggingFace and CivitAI lookups.

``RemoteLookup.lookup`` never blocks the caller for long: each host is asked through its
:class:`HostGuard` (7 s timeouts, throttle wait ≤ 1 s, circuit breaker); whatever cannot be asked
now makes the result ``pending`` and the caller sets ``pending_online_lookup``.
``lookup_many`` is for background work (``pumas lookup``, the retry service): it uses the CivitAI
batch POST and waits for throttle slots (up to one window) instead of giving up.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..vocab import MatchSource, Trust
from .cache import RemoteCache
from .civitai import CivitaiClient
from .hf import HubClient, HubMatch
from .resilience import HostUnavailable, ResiliencePolicy, guard_for
from .types import LookupQuery, LookupResult

DEFAULT_HF = "https://huggingface.co"
DEFAULT_CIVITAI = "https://civitai.com"
_RANK = {Trust.VERIFIED: 3, Trust.HIGH: 2, Trust.LOW: 1, Trust.NONE: 0}


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


class RemoteLookup:
    """HuggingFace + CivitAI identity lookup with a persisted cache in ``state_dir``.

    Args:
        state_dir: machine-local state folder; the cache is ``state_dir/remote_cache.db``.
        hf_endpoint: Hub base URL; default ``$HF_ENDPOINT`` or https://huggingface.co.
        civitai_endpoint: default ``$PUMAS_CIVITAI_ENDPOINT`` or https://civitai.com.
        offline: never send requests; cached answers still serve.  The caller decides (the library passes its
            own flag, read once from ``$PUMAS_OFFLINE`` where it is opened); this class reads no switch itself.
        timeout: seconds per HTTP request (connect and each read).
        policy: throttle/circuit tunables (tests shorten them); shared per host in the process.
        interactive_wait: longest throttle wait (s) in :meth:`lookup` before answering pending.
    """

    def __init__(self, state_dir: Path, *, hf_endpoint: str | None = None, civitai_endpoint: str | None = None,
                 offline: bool = False, timeout: float = 7.0, policy: ResiliencePolicy | None = None,
                 interactive_wait: float = 1.0) -> None:
        self.hf_endpoint = (hf_endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_HF).rstrip("/")
        self.civitai_endpoint = (civitai_endpoint or os.environ.get("PUMAS_CIVITAI_ENDPOINT")
                                 or DEFAULT_CIVITAI).rstrip("/")
        self.offline = offline
        self.policy = policy or ResiliencePolicy()
        self.interactive_wait = interactive_wait
        self.cache = RemoteCache(Path(state_dir) / "remote_cache.db")
        self.hf_guard = guard_for(_host(self.hf_endpoint), self.policy)
        self.civitai_guard = guard_for(_host(self.civitai_endpoint), self.policy)
        self.hf = HubClient(self.hf_endpoint, self.hf_guard, self.cache, timeout)
        self.civitai = CivitaiClient(self.civitai_endpoint, self.civitai_guard, self.cache, timeout)

    # -- single file ------------------------------------------------------------------------
    def lookup(self, q: LookupQuery) -> LookupResult:
        """Identify one file (cache first, then the hosts). Never raises for remote problems."""
        return self._lookup(q, self.interactive_wait, civitai_known=None)

    def _lookup(self, q: LookupQuery, max_wait: float,
                civitai_known: tuple[bool, dict[str, Any] | None] | None) -> LookupResult:
        res = LookupResult()
        # CivitAI (hash lookup: a hit is verified)
        if civitai_known is None:
            civitai_known = self.civitai.cached(q.sha256)
            if not civitai_known[0]:
                if self.offline:
                    res.pending = True
                else:
                    try:
                        civitai_known = (True, self.civitai.by_hash(q.sha256, max_wait))
                    except HostUnavailable as exc:
                        res.pending = True
                        res.errors.append(f"{q.filename}: CivitAI lookup deferred: {exc}")
                    except Exception as exc:  # broad on purpose: a malformed answer must not break imports
                        res.errors.append(f"{q.filename}: CivitAI answer not understood: {exc}")
        elif not civitai_known[0]:
            res.pending = True
            res.errors.append(f"{q.filename}: CivitAI lookup deferred: host unavailable")
        if civitai_known[0] and civitai_known[1]:
            res.civitai = civitai_known[1]
            res.match_source, res.trust = MatchSource.HASH, Trust.VERIFIED
        # HuggingFace
        try:
            if self.offline:
                source, trust, hub = self._hf_offline(q)
            else:
                source, trust, hub = self.hf.match(q.filename, q.size, q.sha256, q.name, max_wait)
        except HostUnavailable as exc:
            res.pending = True
            res.errors.append(f"{q.filename}: HuggingFace lookup deferred: {exc}")
        except Exception as exc:  # broad on purpose: a malformed Hub answer must not break imports
            res.errors.append(f"{q.filename}: HuggingFace answer not understood: {type(exc).__name__}: {exc}")
        else:
            if hub is not None:
                res.huggingface = hub
                if _RANK[trust] > _RANK[res.trust]:
                    res.match_source, res.trust = source, trust
            if self.offline and source == MatchSource.NONE:
                res.pending = True
        if self.offline and res.pending and "offline" not in " ".join(res.errors):
            res.errors.append(f"{q.filename}: offline; lookup deferred")
        return res

    def _hf_offline(self, q: LookupQuery) -> HubMatch:
        """Answer from cached Hub data only; raise nothing, send nothing."""
        known = self.cache.get(f"hf:sha256:{q.sha256.lower()}")
        return (MatchSource.HASH, Trust.VERIFIED, known) if known else (MatchSource.NONE, Trust.NONE, None)

    # -- batches ------------------------------------------------------------------------------
    def lookup_many(self, qs: list[LookupQuery]) -> list[LookupResult]:
        """Identify many files: one CivitAI batch POST per 100 hashes, Hub lookups throttled.

        Meant for background jobs: waits up to one throttle window for a slot. Results are in
        the order of ``qs``.
        """
        answers: dict[str, dict[str, Any] | None] = {}
        if qs and not self.offline:
            try:
                answers = self.civitai.by_hashes([q.sha256 for q in qs], max_wait=self.policy.window)
            except HostUnavailable:
                answers = {}
        out: list[LookupResult] = []
        for q in qs:
            known = self.civitai.cached(q.sha256)
            if not known[0] and q.sha256.lower() in answers:
                known = (True, answers[q.sha256.lower()])
            out.append(self._lookup(q, self.policy.window, civitai_known=known if not self.offline else None))
        return out

    # -- status -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """``{"online": bool, "hosts": {host: guard status}, "message": str|None}``."""
        hosts = {self.hf_guard.host: self.hf_guard.status(), self.civitai_guard.host: self.civitai_guard.status()}
        degraded = self.offline or any(h["circuit"] == "open" for h in hosts.values())
        return {"online": not degraded, "hosts": hosts,
                "message": "Using cached data (offline)" if degraded else None}

    def close(self) -> None:
        """Close the cache database."""
        self.cache.close()


def to_metadata_patch(result: LookupResult) -> dict[str, Any]:
    """Keys to merge into metadata.json (the caller never applies this over ``match_source: manual``).

    Returns ``{"pending_online_lookup", "lookup_errors", ...}`` plus, when something was found or
    the lookup was complete: ``match_source, trust, huggingface, civitai, tags`` (to extend the
    existing list, not replace it) and ``license`` / ``base_model_remote`` / ``trained_words`` /
    ``source_url`` / ``preview_url`` when known.  A pending lookup that found nothing leaves
    the identity keys alone.
    """
    patch: dict[str, Any] = {"pending_online_lookup": bool(result.pending), "lookup_errors": list(result.errors)}
    if result.pending and result.match_source == MatchSource.NONE:
        return patch
    patch.update({"match_source": result.match_source, "trust": result.trust,
                  "huggingface": result.huggingface, "civitai": result.civitai})
    tags: list[str] = []
    hub, civ = result.huggingface or {}, result.civitai or {}
    if hub:
        tags += [t for t in hub.get("tags") or [] if not t.startswith(("license:", "region:", "arxiv:"))]
        if hub.get("pipeline_tag"):
            tags.append(hub["pipeline_tag"])
        if hub.get("license"):
            patch["license"] = hub["license"]
        patch["source_url"] = hub.get("url")
    if civ:
        if civ.get("base_model"):
            patch["base_model_remote"] = civ["base_model"]
            tags.append(civ["base_model"])
        if civ.get("trained_words"):
            patch["trained_words"] = civ["trained_words"]
        patch.setdefault("source_url", civ.get("page_url"))
        if civ.get("preview_url"):
            patch["preview_url"] = civ["preview_url"]
    patch["tags"] = list(dict.fromkeys(tags))
    return patch

"""HuggingFace + CivitAI identity lookup that never blocks, and verified Hub downloads.

Contract (docs/internal-api.md, module ``remote``)::

    @dataclass
    class LookupQuery:  filename: str; size: int; sha256: str; blake3: str; file_format: str;
                        model_type: str | None = None; name: str | None = None  # search hint
    @dataclass
    class LookupResult:   # MatchSource / Trust are str enums of pumas_core.vocab
        match_source: MatchSource   # "hash" | "filename_exact" | "filename_fuzzy" | "none"
        trust: Trust                # "verified" | "high" | "low" | "none"
        huggingface: dict | None   # {repo_id, revision, path, url, license, tags, pipeline_tag}
        civitai: dict | None       # {model_id, version_id, name, base_model, trained_words, type,
                                   #  page_url, preview_url}  (type = our model_type vocabulary)
        pending: bool       # a host was offline / throttled / circuit open → pending_online_lookup
        errors: list[str]
    class RemoteLookup:
        __init__(state_dir, *, hf_endpoint=None, civitai_endpoint=None, offline=False, timeout=7.0)
        lookup(q) -> LookupResult
        lookup_many(qs) -> list[LookupResult]    # CivitAI batch POST (≤100 sha256 per call)
        status() -> {"online", "hosts": {host: {"circuit", "failures", "retry_at", "calls_last_minute"}},
                     "message": "Using cached data (offline)" | None}
    to_metadata_patch(result) -> dict          # never apply over match_source "manual"
    download_from_hub(repo_id, filename, dest_dir, *, revision=None, endpoint=None, progress=None) -> Path

Endpoints: ``hf_endpoint`` / ``$HF_ENDPOINT`` / https://huggingface.co; ``civitai_endpoint`` /
``$PUMAS_CIVITAI_ENDPOINT`` / https://civitai.com; ``$PUMAS_OFFLINE=1`` → offline.
Resilience (per host, shared in-process): :mod:`.resilience`; cache: :mod:`.cache`.
"""

from .download import download_from_hub
from .lookup import RemoteLookup, to_metadata_patch
from .resilience import HostUnavailable, ResiliencePolicy
from .types import LookupQuery, LookupResult

__all__ = ["LookupQuery", "LookupResult", "RemoteLookup", "to_metadata_patch", "download_from_hub",
           "ResiliencePolicy", "HostUnavailable"]

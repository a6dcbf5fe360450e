"""Download a workflow's missing model from its URL into the library (server-side, resumable, verified).

Supported: HuggingFace ``resolve`` URLs ``https://huggingface.co/<owner>/<repo>/resolve/<rev>/<path>``
(also ``hf.co`` and the configured Hub endpoint), fetched through :func:`pumas_core.remote.download_from_hub`
(resumable, verified against the Hub's LFS SHA-256); CivitAI download URLs
``https://civitai.com/api/download/models/<version id>`` (and the configured CivitAI endpoint), fetched
through :func:`pumas_core.remote.civitai_download.download_from_civitai` (resumable, verified against
CivitAI's SHA-256).  Then the file is checked against the workflow's own hash when it has one and
imported (move, no second copy) with its upstream identity recorded as verified.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..errors import BadInputError, CorruptFileError
from ..vocab import MatchSource, Trust
from .extract import ModelRef
from .resolve import file_digest

if TYPE_CHECKING:
    from ..facade import Library

HF_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}
CIVITAI_HOSTS = {"civitai.com", "www.civitai.com"}
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_CIVITAI = re.compile(r"^/api/download/models/(?P<vid>[0-9]{1,12})/?$")


def civitai_version(url: str, endpoint: str | None = None) -> int | None:
    """The model-version id of a CivitAI download URL on an allowed host, else None."""
    try:
        u = urlsplit(url)
    except ValueError:
        return None
    hosts = set(CIVITAI_HOSTS) | ({urlsplit(endpoint).netloc.lower()} if endpoint else set())
    m = _CIVITAI.match(u.path) if u.scheme in ("http", "https") and u.netloc.lower() in hosts else None
    return int(m["vid"]) if m else None


def hf_parts(url: str, endpoint: str | None = None) -> tuple[str, str, str] | None:
    """``(repo_id, revision, path)`` of a Hub ``resolve`` URL on an allowed host, else None."""
    try:
        u = urlsplit(url)
    except ValueError:
        return None
    hosts = set(HF_HOSTS)
    if endpoint:
        hosts.add(urlsplit(endpoint).netloc.lower())
    if u.scheme not in ("http", "https") or u.netloc.lower() not in hosts:
        return None
    m = _RESOLVE.match(unquote(u.path))
    if not m or ".." in m["path"].split("/"):
        return None
    return m["repo"], m["rev"], m["path"]


def download_ref(lib: Library, ref: ModelRef, progress: Callable[[dict[str, Any]], None] | None = None) -> str:
    """Download ``ref.url`` into the library; return the model id (already-present content is reused).

    Raises:
        BadInputError: no URL or not a supported download URL.
        CorruptFileError: the bytes contradict the Hub's or the workflow's hash (the file is deleted).
        NotFoundError / RemoteUnavailableError: from the Hub.
    """
    from ..downloads import download_dir, download_from_hub_verified
    from ..remote import LookupResult

    remote = lib.lookups.remote
    parts = hf_parts(ref.url or "", remote.hf_endpoint)
    vid = civitai_version(ref.url or "", remote.civitai_endpoint) if parts is None else None
    version: dict[str, Any] = {}
    if parts is not None:
        repo_id, rev, path = parts
        dest = download_dir(lib.root, repo_id)
        local = download_from_hub_verified(repo_id, path, dest, rev, remote, progress)
    elif vid is not None:
        from ..remote.civitai import summarize
        from ..remote.civitai_download import download_from_civitai

        dest = download_dir(lib.root, f"civitai/{vid}")
        local, version = download_from_civitai(vid, dest, base_url=remote.civitai_endpoint, progress=progress)
    else:
        raise BadInputError(f"{ref.name}: cannot download from {ref.url!r} "
                            "(HuggingFace resolve or CivitAI download URLs only)")
    if ref.hash:
        kind = (ref.hash_type or "sha256").lower()
        actual = file_digest(str(local), "blake3" if kind == "blake3" else "sha256")
        if actual != ref.hash.lower():
            local.unlink(missing_ok=True)
            raise CorruptFileError(f"{local}: downloaded file's {kind} {actual} does not match the workflow's "
                                   f"{ref.hash.lower()}; deleted", path=local)
    report = lib.import_paths([local], mode="move", progress=progress, sync=False, lookup=False)
    if report["failed"]:
        raise BadInputError(report["failed"][0]["error"])
    shutil.rmtree(dest, ignore_errors=True)  # the file was moved into the library; drop the download's leftovers
    if report["imported"]:
        mid = str(report["imported"][0]["model_id"])
        if parts is None:
            lib.lookups.apply(mid, LookupResult(match_source=MatchSource.HASH, trust=Trust.VERIFIED,
                                                 civitai=summarize(version, remote.civitai_endpoint)))
            return mid
        repo = remote.hf.repo(repo_id, max_wait=5.0)
        if repo is not None:
            lib.lookups.apply(mid, LookupResult(match_source=MatchSource.HASH, trust=Trust.VERIFIED,
                                                 huggingface=remote.hf.describe(repo, path)))
        return mid
    return str(report["skipped"][0]["model_id"])

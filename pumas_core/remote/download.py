"""Verified downloads from the HuggingFace Hub into a caller-given staging folder.

Steps: ``HEAD {endpoint}/{repo}/resolve/{rev}/{file}`` (``get_hf_file_metadata``) pins the commit
and gives the expected hash — for LFS/Xet files the ``X-Linked-Etag`` is the file's SHA-256, for
plain git files the ``ETag`` is the git-blob SHA-1 (real-test-data.md §3); then
``hf_hub_download(..., revision=<commit>, local_dir=dest_dir)`` (huggingface_hub resumes partial
downloads from ``dest_dir/.cache/huggingface/download/*.incomplete``); then the file is hashed and
compared.  A mismatch deletes the file and raises :class:`CorruptFileError`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils.tqdm import tqdm as hf_tqdm

from ..errors import CorruptFileError, NotFoundError, PumasError, RemoteUnavailableError
from ..vocab import Stage

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
CHUNK = 1 << 20


def _progress_class(progress: Callable[[dict[str, Any]], None], name: str) -> type[hf_tqdm]:
    """A silent huggingface_hub progress bar class that reports ``downloading`` events to ``progress``."""

    class _Bar(hf_tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]  # huggingface_hub's tqdm is unannotated
            self._done: float = 0
            self._total = kwargs.get("total") or 0

        def update(self, n: float | None = 1) -> bool | None:
            self._done += n or 0
            progress({"stage": Stage.DOWNLOADING, "file": name, "bytes_done": self._done,
                      "bytes_total": self._total})
            return super().update(n)
    return _Bar


def _digest(path: Path, kind: str) -> str:
    if kind == "sha256":
        h = hashlib.sha256()
    else:  # git blob id: sha1("blob <size>\0" + content)
        h = hashlib.sha1()
        h.update(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def download_from_hub(repo_id: str, filename: str, dest_dir: Path, *, revision: str | None = None,
                      endpoint: str | None = None, progress: Callable[[dict[str, Any]], None] | None = None,
                      timeout: float = 10.0) -> Path:
    """Download ``repo_id``/``filename`` into ``dest_dir`` and verify its hash; return the file path.

    Args:
        dest_dir: staging folder chosen by the caller (e.g. ``<root>/.staging/<job>``).
        revision: branch, tag or commit (default "main"); the commit the Hub reports is pinned.
        endpoint: Hub base URL (default ``$HF_ENDPOINT`` or https://huggingface.co).
        progress: gets ``{"stage": "downloading", "file", "bytes_done", "bytes_total"}`` events.
        timeout: seconds for the metadata request.

    Raises:
        NotFoundError: repository, revision or file does not exist.
        CorruptFileError: the downloaded bytes do not match the Hub's hash (the file is deleted),
            or the Hub gave no hash to verify against.
        RemoteUnavailableError: network failure or HTTP error.
        PumasError: whatever ``progress`` raises (for example a cancellation) passes through unchanged.
    """
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    where = f"{repo_id}/{filename}"
    try:
        meta = get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=revision, endpoint=endpoint),
                                    timeout=timeout, endpoint=endpoint)
        expected = (meta.etag or "").strip('"').lower().removeprefix("w/").strip('"')
        local = hf_hub_download(repo_id, filename, revision=meta.commit_hash or revision, local_dir=dest_dir,
                                endpoint=endpoint, etag_timeout=timeout,
                                tqdm_class=_progress_class(progress, where) if progress else None)
    except PumasError:  # from the caller's progress callback: not a download failure
        raise
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as exc:
        raise NotFoundError(f"{where}: not found on {endpoint}") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise RemoteUnavailableError(f"{where}: download failed, HTTP {status} from {endpoint}") from exc
    except OSError as exc:  # includes disk-full while writing
        raise RemoteUnavailableError(f"{where}: download failed: {exc}") from exc
    except Exception as exc:  # httpx transport errors and friends
        raise RemoteUnavailableError(f"{where}: download failed: {type(exc).__name__}: {exc}".split("\n")[0]) from exc
    path = Path(local)
    if _HEX64.match(expected):
        kind = "sha256"
    elif _HEX40.match(expected):
        kind = "git-blob-sha1"
    else:
        path.unlink(missing_ok=True)
        raise CorruptFileError(f"{path}: cannot verify download, the Hub gave no usable hash (ETag {meta.etag!r})",
                               path=path)
    actual = _digest(path, kind)
    if actual != expected:
        path.unlink(missing_ok=True)
        raise CorruptFileError(f"{path}: downloaded file's {kind} {actual} does not match the Hub's {expected}; "
                               "deleted", path=path)
    size = path.stat().st_size
    if meta.size is not None and size != meta.size:  # pragma: no cover - hash already differs
        path.unlink(missing_ok=True)
        raise CorruptFileError(f"{path}: size {size} differs from the Hub's {meta.size}; deleted", path=path)
    return path

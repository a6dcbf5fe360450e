"""Verified downloads of one CivitAI model version into a caller-given staging folder.

Steps: ``GET {base}/api/v1/model-versions/{id}`` (the version object: ``files[]`` with ``name``,
``primary``, ``hashes.SHA256``; developer.civitai.com "Get model version"), then
``GET {base}/api/download/models/{id}`` (redirects followed) streamed into ``<name>.part``; a ``.part``
left by an interrupted download is resumed with ``Range``.  The finished file's SHA-256 must equal
CivitAI's, else it is deleted and :class:`CorruptFileError` is raised.  ``$CIVITAI_API_TOKEN`` (when
set) is sent as ``Authorization: Bearer`` — CivitAI asks for it for some downloads.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CorruptFileError, NotFoundError, PumasError, RemoteUnavailableError
from ..naming import clean_name
from ..vocab import Stage
from .httpjson import USER_AGENT, request_json
from .resilience import RateLimited, TransientError

CHUNK = 1 << 20


def _headers() -> dict[str, str]:
    h = {"User-Agent": USER_AGENT}
    token = os.environ.get("CIVITAI_API_TOKEN")
    if token:
        h["Authorization"] = f"Bearer {token}"
    return h


def primary_file(version: dict[str, Any]) -> dict[str, Any]:
    """The version's primary model file (else its first file).  Raises NotFoundError when it has none."""
    files = [f for f in version.get("files") or [] if isinstance(f, dict) and f.get("name")]
    if not files:
        raise NotFoundError(f"CivitAI version {version.get('id')}: has no files")
    return next((f for f in files if f.get("primary")), files[0])


def download_from_civitai(version_id: int, dest_dir: Path, *, base_url: str, timeout: float = 10.0,
                          progress: Callable[[dict[str, Any]], None] | None = None) -> tuple[Path, dict[str, Any]]:
    """Download the primary file of CivitAI model version ``version_id``; return ``(path, version object)``.

    Raises:
        NotFoundError: unknown version or no file.
        RemoteUnavailableError: network/HTTP failure, or 401/403 (a token is needed).
        CorruptFileError: CivitAI lists no SHA-256, or the bytes do not match it (the file is deleted).
        PumasError: whatever ``progress`` raises passes through unchanged.
    """
    base = base_url.rstrip("/")
    try:
        status, version = request_json("GET", f"{base}/api/v1/model-versions/{int(version_id)}", timeout=timeout)
    except (TransientError, RateLimited) as exc:
        raise RemoteUnavailableError(f"CivitAI version {version_id}: {exc}") from None
    if status == 404 or not isinstance(version, dict):
        raise NotFoundError(f"CivitAI version {version_id}: not found on {base}")
    f = primary_file(version)
    expected = str((f.get("hashes") or {}).get("SHA256") or "").lower()
    if len(expected) != 64:
        raise CorruptFileError(f"CivitAI version {version_id}: no SHA-256 to verify {f['name']} against")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / clean_name(os.path.basename(f["name"].replace("\\", "/")))
    part = final.with_name(final.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(f"{base}/api/download/models/{int(version_id)}", headers=_headers())
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            mode = "ab" if resp.status == 206 and have else "wb"
            done = have if mode == "ab" else 0
            total = done + int(resp.headers.get("Content-Length") or 0)
            with open(part, mode) as out:
                while chunk := resp.read(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress({"stage": Stage.DOWNLOADING, "file": final.name, "bytes_done": done,
                                  "bytes_total": total})
    except PumasError:  # from the caller's progress callback (an OSError too when it is a WriteFailedError)
        raise
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise RemoteUnavailableError(f"CivitAI version {version_id}: download refused (HTTP {exc.code}); "
                                         "set CIVITAI_API_TOKEN to your CivitAI API key") from None
        if exc.code == 404:
            raise NotFoundError(f"CivitAI version {version_id}: download not found") from None
        raise RemoteUnavailableError(f"CivitAI version {version_id}: download failed, HTTP {exc.code}") from None
    except OSError as exc:
        raise RemoteUnavailableError(f"CivitAI version {version_id}: download failed: {exc}") from None
    h = hashlib.sha256()
    with open(part, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    if h.hexdigest() != expected:
        part.unlink(missing_ok=True)
        raise CorruptFileError(f"{final}: downloaded file's sha256 {h.hexdigest()} does not match CivitAI's "
                               f"{expected}; deleted", path=final)
    os.replace(part, final)
    return final, version

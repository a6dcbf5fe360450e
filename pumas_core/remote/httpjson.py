"""A small JSON-over-HTTP client (``urllib.request``) used for CivitAI.

Every function performs exactly one request with a timeout and maps availability problems to
:class:`~pumas_core.remote.resilience.TransientError` (timeouts, refused connections, 5xx) and
:class:`~pumas_core.remote.resilience.RateLimited` (429, or 2xx with ``X-RateLimit-Remaining: 0``
is reported through the ``on_headers`` callback), so it composes with ``HostGuard.call``.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from .resilience import RateLimited, TransientError, parse_rate_headers

USER_AGENT = "pumas-library/0.1 (+https://github.com/pumas-library/pumas-library)"


def request_json(method: str, url: str, *, body: Any = None, timeout: float = 7.0,
                 on_headers: Callable[[Mapping[str, str]], None] | None = None) -> tuple[int, Any]:
    """Send one request and return ``(status, parsed JSON or None)`` for 2xx and 4xx answers.

    Args:
        method: "GET" or "POST"; ``body`` is JSON-encoded for POST.
        timeout: seconds for connect and for each read.
        on_headers: called with the response headers of every answer (rate-limit bookkeeping).

    Raises:
        TransientError: timeout, connection refused/reset, DNS failure, 5xx, unparsable 2xx body.
        RateLimited: HTTP 429 (``retry_after`` from the headers, or None).
    """
    data = None
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, hdrs = exc.code, dict(exc.headers or {})
        try:
            raw = exc.read()
        except (OSError, socket.timeout):
            raw = b""
    except (socket.timeout, TimeoutError) as exc:
        raise TransientError(f"timed out after {timeout:g}s ({url})") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise TransientError(f"timed out after {timeout:g}s ({url})") from exc
        raise TransientError(f"unreachable: {reason} ({url})") from exc
    except (ConnectionError, OSError) as exc:
        raise TransientError(f"connection failed: {exc} ({url})") from exc
    if on_headers is not None:
        on_headers(hdrs)
    if status == 429:
        raise RateLimited(f"429 Too Many Requests ({url})", parse_rate_headers(hdrs, time.time()))
    if status >= 500:
        raise TransientError(f"HTTP {status} ({url})")
    try:
        parsed = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if 200 <= status < 300:
            raise TransientError(f"HTTP {status} with a body that is not JSON ({url})") from exc
        parsed = None
    return status, parsed

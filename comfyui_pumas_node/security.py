"""Request safety checks and path confinement for the Pumas routes.

One implementation serves both servers: :func:`check_request` is called by the
:func:`guard` decorator that wraps every Pumas handler (ComfyUI and ``pumas serve``
register the same wrapped handlers) and by the standalone app's middleware, which
also covers its static files.

Checks (they close the gaps of ComfyUI's own ``origin_only_middleware``, which acts only when both
``Host`` and ``Origin`` are present and the Host is loopback: no Origin, ``Origin: null`` and a
non-loopback Host all pass it — sandboxed iframes, DNS rebinding, LAN access with ``--listen``):

* ``Host`` must name the server: ``localhost``, ``127.0.0.1``, ``[::1]``, a configured
  listen host, or an IP literal equal to the local socket address of the connection
  (LAN access with ``--listen 0.0.0.0``).  Anything else is DNS rebinding → 403.
* ``Origin``, when present, must not be ``null`` and its host:port must equal ``Host``
  (strict, like ComfyUI) → else 403.
* POST (and the websocket) with ``Sec-Fetch-Site`` other than ``same-origin``/``none`` → 403.
* POST needs an explicit ``Content-Type: application/json`` header (uploads:
  ``application/octet-stream``) → else 415; a missing header is refused too (aiohttp would
  report ``application/octet-stream`` for it, so the raw header is checked).
  A JSON content type forces a CORS preflight, which neither server grants.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

from pumas_core.errors import BadInputError, PathNotAllowedError
from pumas_core.security.confine import is_within, real_roots

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
JSON = "application/json"
OCTET = "application/octet-stream"
_SAFE_FETCH_SITES = frozenset({"same-origin", "none"})


@dataclass
class HostPolicy:
    """Which ``Host`` names the server accepts.

    Attributes:
        listen_hosts: extra host names/IPs the server listens as (``--listen``, ``--host``);
            wildcards ``0.0.0.0``/``::`` are ignored (they are not names a browser uses).
        allow_any: accept every Host (set by ``PUMAS_ALLOWED_HOSTS=*``, e.g. behind a proxy).
    """

    listen_hosts: set[str] = field(default_factory=set)
    allow_any: bool = False

    @classmethod
    def from_listen(cls, hosts: Iterable[str] | str | None = None) -> "HostPolicy":
        """Build a policy from listen addresses (a comma-separated string or a list) and
        the ``PUMAS_ALLOWED_HOSTS`` environment variable (comma-separated, ``*`` = any)."""
        if isinstance(hosts, str):
            hosts = hosts.split(",")
        names = {_norm_host(h) for h in (hosts or ()) if h and h.strip()}
        extra = os.environ.get("PUMAS_ALLOWED_HOSTS", "")
        allow_any = any(x.strip() == "*" for x in extra.split(","))
        names |= {_norm_host(x) for x in extra.split(",") if x.strip() and x.strip() != "*"}
        names -= {"0.0.0.0", "::", ""}
        return cls(listen_hosts=names, allow_any=allow_any)

    def allows(self, hostname: str, local_addr: str | None) -> bool:
        """True if a request whose Host names ``hostname`` (no port, lowercase, no brackets)
        arriving on local socket address ``local_addr`` is addressed to this server."""
        if self.allow_any or hostname in LOOPBACK_NAMES or hostname in self.listen_hosts:
            return True
        if local_addr and _is_ip(hostname):
            return _norm_host(local_addr) == hostname
        return False


def _norm_host(h: str) -> str:
    h = h.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if h.startswith("::ffff:") and _is_ip(h):
        addr = ipaddress.ip_address(h)
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            h = str(addr.ipv4_mapped)
    return h


def _is_ip(h: str) -> bool:
    try:
        ipaddress.ip_address(h)
        return True
    except ValueError:  # the stdlib's "not an IP literal" (no PumasError is raised in here)
        return False


def split_host(value: str, default_port: int | None = None) -> tuple[str, int | None]:
    """Split a ``Host`` header value (``name``, ``name:port``, ``[v6]:port``) into
    ``(normalised name, port or default_port)``.  Raises ValueError if malformed."""
    parts = urlsplit("//" + value.strip())
    if parts.hostname is None or parts.path or parts.query or parts.username:
        raise ValueError(value)
    return _norm_host(parts.hostname), parts.port if parts.port is not None else default_port


def refusal(request: web.Request, policy: HostPolicy, body: str | None) -> tuple[int, str, str] | None:
    """Return ``(status, code, message)`` if ``request`` must be refused, else ``None``.

    ``body`` is the content type a POST must carry (:data:`JSON` or :data:`OCTET`);
    ``None`` skips the content-type check (GET, websocket).
    """
    host_hdr = request.headers.get("Host", "")
    try:
        host, port = split_host(host_hdr)
    except ValueError:  # split_host / urlsplit: a malformed header (stdlib errors only, no PumasError)
        return 403, "bad_host", f"Host header {host_hdr!r} is not valid"
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    local = sock[0] if isinstance(sock, tuple) and sock else None
    if not policy.allows(host, local):
        return 403, "bad_host", f"Host {host_hdr!r} is not an address this server listens as"
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin.strip().lower() == "null":
            return 403, "bad_origin", "requests with Origin 'null' are refused"
        o = urlsplit(origin.strip())
        default = {"http": 80, "https": 443}.get(o.scheme)
        try:
            o_host, o_port = split_host(o.netloc, default)
            h_host, h_port = split_host(host_hdr, default)
        except ValueError:  # as above: a malformed Origin
            return 403, "bad_origin", f"Origin {origin!r} is not valid"
        if default is None or (o_host, o_port) != (h_host, h_port):
            return 403, "bad_origin", f"Origin {origin!r} does not match Host {host_hdr!r}"
    state_changing = request.method not in ("GET", "HEAD", "OPTIONS")
    is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
    if state_changing or is_ws:
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site.lower() not in _SAFE_FETCH_SITES:
            return 403, "bad_origin", f"cross-site request refused (Sec-Fetch-Site: {site})"
    if state_changing and body is not None:
        raw = request.headers.get("Content-Type")  # the raw header: aiohttp defaults a missing one
        if raw is None or not raw.strip():
            return 415, "bad_content_type", f"Content-Type header is missing; this request must send {body}"
        media = raw.split(";", 1)[0].strip().lower()
        if media != body:
            return 415, "bad_content_type", f"Content-Type must be {body}, not {media!r}"
    return None


def error_response(status: int, code: str, message: str) -> web.Response:
    """The JSON error body every Pumas route uses: ``{"error": message, "code": code}``."""
    return web.json_response({"error": message, "code": code}, status=status)


#: an aiohttp request handler, as every Pumas route holds it.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: a registered route: ``(method, path, wrapped handler)``.
Route = tuple[str, str, Handler]
#: a row of a route table before wrapping: ``(method, path, handler, POST content type or None)``.
RouteRow = tuple[str, str, Handler, str | None]
#: ``await body_of(request)``: the JSON object body of a request (``{}`` when empty; BadInputError otherwise).
BodyOf = Callable[[web.Request], Awaitable[dict[str, Any]]]
#: ``job_response(job_id)``: the 202 ``{"job", "job_id"}`` answer of a route that started a job.
JobResponse = Callable[[str], web.Response]


def guard(handler: Handler, policy_getter: Callable[[], HostPolicy], body: str | None = JSON) -> Handler:
    """Wrap an aiohttp handler so :func:`refusal` runs before it.

    ``policy_getter`` is called per request (ComfyUI's listen address is known late);
    ``body`` is the POST content type to require (ignored for GET).
    """

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        refused = refusal(request, policy_getter(), body)
        if refused:
            return error_response(*refused)
        return await handler(request)

    return guarded


def confine(path: object, roots: Iterable[str | os.PathLike[str]], what: str = "path") -> Path:
    """Resolve ``path`` and check it lies inside one of ``roots``; return the real path.

    Both sides go through ``os.path.realpath`` (so ``..`` and symlinks are resolved
    before comparing) and the test is ``os.path.commonpath``.

    Raises:
        BadInputError: ``path`` is not a non-empty string, contains NUL, or is relative.
        PathNotAllowedError: the resolved path is outside every root (or no roots exist).
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path) or "\x00" in str(path):
        raise BadInputError(f"{what} {path!r} is not a valid path")
    raw = os.path.expanduser(str(path))
    if not os.path.isabs(raw):
        raise BadInputError(f"{what} {path!r} must be absolute", path=raw)
    if is_within(raw, real_roots(roots)):
        return Path(os.path.realpath(raw))
    raise PathNotAllowedError(
        f"{path}: outside the library, the registered installs and the import roots", path=raw
    )


def within(path: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]]) -> bool:
    """True if :func:`confine` would accept ``path`` (no exception)."""
    try:
        confine(path, roots)
        return True
    except (BadInputError, PathNotAllowedError):
        return False

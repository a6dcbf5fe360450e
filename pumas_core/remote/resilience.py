"""Per-host throttle, circuit breaker and retry policy for every remote call.

One :class:`HostGuard` exists per (host, policy) in a process (see :func:`guard_for`), so all
``RemoteLookup`` objects of one process share the 60 calls/minute budget and the circuit of a
host.  The circuit state is **in-process only** (not persisted): a new CLI process starts with
closed circuits; a host that is down costs it at most ``failure_threshold`` timed-out calls.

Behaviour (seed "HuggingFace API Throttling" / "Offline-First Import"):

* sliding-window throttle: at most ``max_calls`` calls per ``window`` seconds per host; a caller
  waits at most ``max_wait`` seconds for a slot, otherwise :class:`HostUnavailable` (→ pending);
* ``Retry-After`` / ``X-RateLimit-Remaining: 0`` + ``X-RateLimit-Reset`` / HF ``RateLimit`` set a
  back-off; a 429 whose wait is ``<= max_retry_after`` seconds is retried once, else pending;
* circuit breaker: ``failure_threshold`` consecutive transport failures (timeouts, refused
  connections, 5xx) open the circuit for ``open_seconds``; then exactly one half-open probe is
  let through: success closes the circuit, failure re-opens it.  Answers such as 404 count as
  success (the host is up).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class HostUnavailable(Exception):
    """The host cannot be asked now (offline, circuit open, throttled, rate limited, failed).

    The lookup turns this into ``pending=True``; the message is one line naming host and reason.
    """


class TransientError(Exception):
    """A failure that says the host is unreachable or broken (timeout, refused, 5xx)."""


class RateLimited(Exception):
    """The host answered 429 (or a rate-limit header said 0 remaining).

    Attributes:
        retry_after: seconds to wait, or ``None`` when the host gave no hint.
    """

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ResiliencePolicy:
    """Tunables of a :class:`HostGuard` (seconds and counts). Tests shorten the times."""

    max_calls: int = 60
    window: float = 60.0
    failure_threshold: int = 3
    open_seconds: float = 60.0
    max_retry_after: float = 3.0
    default_backoff: float = 30.0   # back-off after a 429 without any hint


def parse_rate_headers(headers: Mapping[str, str], now: float) -> float | None:
    """Return seconds to wait from response headers, or ``None`` when they impose no wait.

    Reads ``Retry-After`` (delay-seconds form, RFC 9110 §10.2.3), ``X-RateLimit-Remaining`` with
    ``X-RateLimit-Reset`` (epoch seconds when > 10^9, else delta seconds) and the IETF draft
    ``RateLimit: "api";r=0;t=55`` header the Hub sends.
    """
    low = {k.lower(): v for k, v in headers.items()}
    ra = low.get("retry-after")
    if ra is not None:
        try:
            return max(0.0, float(ra))
        except ValueError:
            pass
    remaining = low.get("x-ratelimit-remaining")
    if remaining is not None and remaining.strip() == "0":
        reset = low.get("x-ratelimit-reset")
        try:
            value = float(reset) if reset is not None else None
        except ValueError:
            value = None
        if value is not None:
            return max(0.0, value - now if value > 1e9 else value)
    rl = low.get("ratelimit")
    if rl and ";r=0;" in rl.replace(" ", ""):
        for part in rl.replace(" ", "").split(";"):
            if part.startswith("t="):
                try:
                    return max(0.0, float(part[2:]))
                except ValueError:
                    return None
    return None


class HostGuard:
    """Throttle + circuit breaker + back-off of one host. Thread-safe.

    ``call(fn, max_wait)`` runs ``fn`` (which performs exactly one HTTP request and raises
    :class:`TransientError` / :class:`RateLimited` for availability problems) and raises
    :class:`HostUnavailable` instead of waiting longer than ``max_wait`` seconds.
    """

    def __init__(self, host: str, policy: ResiliencePolicy | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.host = host
        self.policy = policy or ResiliencePolicy()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._failures = 0
        self._open_until: float | None = None
        self._probe_in_flight = False
        self._backoff_until: float | None = None

    # -- state -----------------------------------------------------------------------------
    def _state(self, now: float) -> str:
        if self._open_until is None:
            return "closed"
        return "open" if now < self._open_until else "half_open"

    def status(self) -> dict[str, Any]:
        """``{"circuit": "closed"|"open"|"half_open", "failures": n, "retry_at": epoch s|None,
        "calls_last_minute": n}``."""
        with self._lock:
            now = self._clock()
            state = self._state(now)
            retry_at = self._open_until if state == "open" else None
            if self._backoff_until and self._backoff_until > now:
                retry_at = max(retry_at or 0.0, self._backoff_until)
            recent = sum(1 for t in self._calls if t > now - 60.0)
            return {"circuit": state, "failures": self._failures, "retry_at": retry_at,
                    "calls_last_minute": recent}

    def available(self) -> bool:
        """True when a call could be sent now (circuit not open, no back-off running)."""
        now = self._clock()
        with self._lock:
            if self._backoff_until and now < self._backoff_until:
                return False
            return self._state(now) != "open"

    # -- admission ---------------------------------------------------------------------------
    def _admit(self, max_wait: float) -> bool:
        """Reserve a slot; return True when this call is the half-open probe."""
        deadline = self._clock() + max_wait
        while True:
            with self._lock:
                now = self._clock()
                state = self._state(now)
                if state == "open":
                    left = (self._open_until or now) - now  # "open" means _open_until is set
                    raise HostUnavailable(f"{self.host}: circuit open after {self._failures} failures, "
                                          f"retry in {left:.0f}s")
                if state == "half_open" and self._probe_in_flight:
                    raise HostUnavailable(f"{self.host}: circuit half-open, probe in flight")
                wait = 0.0
                if self._backoff_until and now < self._backoff_until:
                    wait = self._backoff_until - now
                else:
                    horizon = max(self.policy.window, 60.0)
                    while self._calls and self._calls[0] <= now - horizon:
                        self._calls.popleft()
                    in_window = [t for t in self._calls if t > now - self.policy.window]
                    if len(in_window) >= self.policy.max_calls:
                        wait = in_window[-self.policy.max_calls] + self.policy.window - now
                if wait <= 0:
                    self._calls.append(now)
                    probe = state == "half_open"
                    if probe:
                        self._probe_in_flight = True
                    return probe
                if now + wait > deadline:
                    why = "rate limited" if self._backoff_until and now < self._backoff_until else "throttled"
                    raise HostUnavailable(f"{self.host}: {why}, next slot in {wait:.1f}s")
            self._sleep(min(wait, max(0.0, deadline - self._clock())) + 0.001)

    def _success(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = None
            self._probe_in_flight = False

    def _failure(self, probe: bool) -> None:
        with self._lock:
            self._failures += 1
            self._probe_in_flight = False
            if probe or self._failures >= self.policy.failure_threshold:
                self._open_until = self._clock() + self.policy.open_seconds

    def note_backoff(self, seconds: float) -> None:
        """Forbid calls to this host for ``seconds`` (from rate-limit headers)."""
        with self._lock:
            until = self._clock() + seconds
            self._backoff_until = max(self._backoff_until or 0.0, until)

    # -- the call ------------------------------------------------------------------------------
    def call(self, fn: Callable[[], T], max_wait: float = 1.0) -> T:
        """Run ``fn`` under the guard; return its value or re-raise its non-availability errors.

        Raises:
            HostUnavailable: circuit open, throttled beyond ``max_wait``, rate limited beyond
                ``policy.max_retry_after``, or ``fn`` raised :class:`TransientError`.
        """
        for attempt in (0, 1):
            probe = self._admit(max_wait)
            try:
                value = fn()
            except RateLimited as exc:
                if probe:
                    self._success()  # the host answered
                wait = exc.retry_after if exc.retry_after is not None else self.policy.default_backoff
                self.note_backoff(wait)
                if attempt == 0 and wait <= self.policy.max_retry_after:
                    self._sleep(wait)
                    with self._lock:
                        self._backoff_until = None
                    continue
                raise HostUnavailable(f"{self.host}: rate limited (429), retry after {wait:.0f}s") from exc
            except TransientError as exc:
                self._failure(probe)
                raise HostUnavailable(f"{self.host}: {exc}") from exc
            except BaseException:
                self._success()  # an answer such as 404: the host is up
                raise
            self._success()
            return value
        raise HostUnavailable(f"{self.host}: rate limited twice")  # pragma: no cover - loop exits above


_GUARDS: dict[tuple[str, ResiliencePolicy], HostGuard] = {}
_GUARDS_LOCK = threading.Lock()


def guard_for(host: str, policy: ResiliencePolicy | None = None) -> HostGuard:
    """The process-wide :class:`HostGuard` of ``host`` (``netloc`` string) under ``policy``."""
    key = (host, policy or ResiliencePolicy())
    with _GUARDS_LOCK:
        if key not in _GUARDS:
            _GUARDS[key] = HostGuard(host, key[1])
        return _GUARDS[key]


def reset_guards() -> None:
    """Forget every host's throttle/circuit state in this process (tests, `pumas lookup --reset`)."""
    with _GUARDS_LOCK:
        _GUARDS.clear()

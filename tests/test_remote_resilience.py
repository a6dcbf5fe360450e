"""Offline-first behaviour: unreachable hosts, timeouts, circuit breaker, 429, offline mode, bad cache."""

from __future__ import annotations

import time

from test_remote_lookup import MINILM_SHA, make, minilm_query

from pumas_core.remote import LookupQuery, RemoteLookup, ResiliencePolicy
from pumas_core.remote.resilience import HostGuard, HostUnavailable, parse_rate_headers


def q(i: int) -> LookupQuery:
    return LookupQuery(f"some-model-{i}.safetensors", 100 + i, f"{i:064x}", "00" * 32, "safetensors")


def test_unreachable_hosts_give_pending_quickly(tmp_path, closed_port_url):
    rl = RemoteLookup(tmp_path / "s", hf_endpoint=closed_port_url, civitai_endpoint=closed_port_url, timeout=0.5)
    t0 = time.monotonic()
    res = rl.lookup(q(1))
    assert time.monotonic() - t0 < 2.0
    assert res.pending and res.match_source == "none"
    assert any("HuggingFace lookup deferred" in e for e in res.errors)
    assert any("CivitAI lookup deferred" in e for e in res.errors)
    assert all("\n" not in e for e in res.errors)


def test_timeout_gives_pending_within_client_timeout(tmp_path, hub, civitai):
    hub.timeout_sleep = 1.5
    hub.fail_next(1, "timeout")
    rl = make(tmp_path, hub, civitai, timeout=0.3)
    t0 = time.monotonic()
    res = rl.lookup(q(2))
    assert time.monotonic() - t0 < 1.2
    assert res.pending and any("timed out" in e for e in res.errors), res.errors
    assert rl.status()["hosts"][hub.url.split("//")[1]]["failures"] == 1


def test_three_failures_open_circuit_then_one_probe(tmp_path, minilm_hub, civitai):
    policy = ResiliencePolicy(failure_threshold=3, open_seconds=0.4)
    rl = make(tmp_path, minilm_hub, civitai, policy=policy)
    host = minilm_hub.url.split("//")[1]
    minilm_hub.fail_next(10, "500")
    for i in range(3):
        assert rl.lookup(q(i)).pending
    assert minilm_hub.total_calls() == 3
    st = rl.status()
    assert st["hosts"][host]["circuit"] == "open" and st["online"] is False
    assert st["message"] == "Using cached data (offline)" and st["hosts"][host]["retry_at"] > time.time()
    res = rl.lookup(q(3))  # the 4th call is not sent
    assert res.pending and "circuit open" in " ".join(res.errors)
    assert minilm_hub.total_calls() == 3
    time.sleep(0.45)
    assert rl.status()["hosts"][host]["circuit"] == "half_open"
    assert rl.lookup(q(4)).pending  # the probe fails (fault still queued) → open again
    assert minilm_hub.total_calls() == 4 and rl.status()["hosts"][host]["circuit"] == "open"
    minilm_hub.faults.clear()
    time.sleep(0.45)
    res = rl.lookup(minilm_query())  # one probe succeeds → closed, lookup completes
    assert res.trust == "verified" and not res.pending
    assert rl.status()["hosts"][host]["circuit"] == "closed" and rl.status()["online"]


def test_429_with_short_retry_after_is_retried_once(tmp_path, minilm_hub, civitai):
    minilm_hub.fail_next(1, "429", retry_after="1")
    rl = make(tmp_path, minilm_hub, civitai)
    t0 = time.monotonic()
    res = rl.lookup(minilm_query())
    assert time.monotonic() - t0 >= 1.0
    assert res.trust == "verified" and not res.pending
    assert minilm_hub.calls["/api/models"] == 2  # the 429 and its retry


def test_429_with_long_retry_after_defers_and_blocks_host(tmp_path, minilm_hub, civitai):
    minilm_hub.fail_next(1, "429", retry_after="120")
    rl = make(tmp_path, minilm_hub, civitai)
    t0 = time.monotonic()
    res = rl.lookup(minilm_query())
    assert time.monotonic() - t0 < 1.0 and res.pending and "retry after 120s" in " ".join(res.errors)
    host = minilm_hub.url.split("//")[1]
    assert rl.status()["hosts"][host]["retry_at"] >= time.time() + 100
    calls = minilm_hub.total_calls()
    assert rl.lookup(q(9)).pending and minilm_hub.total_calls() == calls  # nothing sent during back-off


def test_civitai_429_marks_pending(tmp_path, minilm_hub, civitai):
    civitai.fail_next(1, "429", retry_after="60")
    res = make(tmp_path, minilm_hub, civitai).lookup(minilm_query())
    assert res.trust == "verified" and res.pending  # HF answered, CivitAI still to ask


def test_offline_mode_sends_nothing_but_serves_cache(tmp_path, minilm_hub, civitai):
    make(tmp_path, minilm_hub, civitai).lookup(minilm_query())
    calls = minilm_hub.total_calls() + civitai.total_calls()
    rl = make(tmp_path, minilm_hub, civitai, offline=True)
    cached = rl.lookup(minilm_query())
    assert cached.trust == "verified" and cached.huggingface["path"] == "model.safetensors"
    unknown = rl.lookup(q(5))
    assert unknown.pending and unknown.match_source == "none"
    assert rl.lookup_many([q(6), q(7)])[0].pending
    assert minilm_hub.total_calls() + civitai.total_calls() == calls
    assert rl.status() == {**rl.status(), "online": False, "message": "Using cached data (offline)"}


def test_corrupt_cache_file_is_set_aside(tmp_path, minilm_hub, civitai):
    state = tmp_path / "state"
    state.mkdir()
    (state / "remote_cache.db").write_bytes(b"this is not a database" * 100)
    res = make(tmp_path, minilm_hub, civitai).lookup(minilm_query())
    assert res.trust == "verified"
    assert list(state.glob("remote_cache.db.corrupt-*"))


def test_throttle_refuses_interactive_wait_beyond_limit():
    now = [1000.0]
    g = HostGuard("h", ResiliencePolicy(max_calls=2, window=10.0), clock=lambda: now[0], sleep=lambda s: None)
    assert g.call(lambda: 1, max_wait=0) == 1
    assert g.call(lambda: 2, max_wait=0) == 2
    try:
        g.call(lambda: 3, max_wait=1.0)
    except HostUnavailable as exc:
        assert "throttled" in str(exc)
    else:
        raise AssertionError("third call within the window must be refused")
    now[0] += 10.1
    assert g.call(lambda: 4, max_wait=0) == 4
    assert g.status()["calls_last_minute"] == 3


def test_rate_limit_header_parsing():
    now = 1_700_000_000.0
    assert parse_rate_headers({"Retry-After": "7"}, now) == 7
    assert parse_rate_headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(now + 30)}, now) == 30
    assert parse_rate_headers({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "12"}, now) == 12
    assert parse_rate_headers({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "12"}, now) is None
    assert parse_rate_headers({"RateLimit": '"api";r=0;t=55'}, now) == 55
    assert parse_rate_headers({"RateLimit": '"api";r=10;t=55'}, now) is None
    assert MINILM_SHA  # shared constant import is used

"""A hostile HTTP client against a real aiohttp server on 127.0.0.1: missing Content-Type, symlinks
out of an import root inside a folder import, trickling uploads (rate floor, and ``/pumas/status``
staying responsive while 8 of them are open)."""

from __future__ import annotations

import asyncio
import json
import os
import statistics

import pytest
import pytest_asyncio
from routes_support import stage

from comfyui_pumas_node import upload as upload_mod

SILERO = "silero/silero_vad_16k.safetensors"


@pytest_asyncio.fixture
async def client(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    return await aiohttp_client(create_app(host="127.0.0.1"))


async def raw_request(port: int, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send one raw HTTP/1.1 request (exact headers, nothing added) and return (status, JSON body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
    head_part, _, payload = data.partition(b"\r\n\r\n")
    status = int(head_part.split(b" ", 2)[1])
    if b"chunked" in head_part.lower():
        payload = payload.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return status, json.loads(payload or b"{}")


def upload_head(port: int, name: str, length: int, ctype: str | None = "application/octet-stream") -> str:
    lines = ["POST /pumas/upload HTTP/1.1", f"Host: 127.0.0.1:{port}", f"X-Pumas-Filename: {name}",
             f"Content-Length: {length}", "Connection: close"]
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.asyncio
async def test_upload_without_content_type_refused(both_servers, real):
    port = both_servers.server.port
    data = real(SILERO).read_bytes()
    status, body = await raw_request(port, upload_head(port, "a.safetensors", len(data), ctype=None), data)
    assert status == 415 and body["code"] == "bad_content_type", body
    assert "Content-Type header is missing" in body["error"] and "application/octet-stream" in body["error"]
    # the aiohttp client adds a default Content-Type unless told not to: same refusal
    r = await both_servers.post("/pumas/upload", data=data, skip_auto_headers=("Content-Type",),
                                headers={"X-Pumas-Filename": "a.safetensors"})
    assert r.status == 415 and (await r.json())["code"] == "bad_content_type"
    status, body = await raw_request(port, upload_head(port, "a.safetensors", len(data),
                                                       ctype="application/octet-stream; charset=binary"), data)
    assert status == 200 and body["result"]["imported"], body


@pytest.mark.asyncio
async def test_folder_import_confines_every_file(client, env, real, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = stage(real(SILERO), outside, "secret.safetensors")
    folder = env.incoming / "loras"
    folder.mkdir()
    stage(real("minilm/model.safetensors"), folder, "inside.safetensors")
    os.symlink(secret, folder / "escape.safetensors")
    r = await client.post("/pumas/import", data=json.dumps({"paths": [str(folder)]}).encode(),
                          headers={"Content-Type": "application/json"})
    assert r.status == 202
    job_id = (await r.json())["job"]
    for _ in range(600):
        job = await (await client.get(f"/pumas/jobs/{job_id}")).json()
        if job["state"] in ("done", "failed"):
            break
        await asyncio.sleep(0.05)
    result = job["result"]
    assert [m["official_name"] for m in result["imported"]] == ["inside.safetensors"], job
    (failed,) = result["failed"]
    assert failed["code"] == "path_not_allowed" and failed["path"].endswith("escape.safetensors")
    assert str(secret) in failed["error"]
    # the same symlink named directly is refused before any job starts
    r = await client.post("/pumas/import", data=json.dumps({"paths": [str(folder / "escape.safetensors")]}).encode(),
                          headers={"Content-Type": "application/json"})
    assert r.status == 403 and (await r.json())["code"] == "path_not_allowed"


def _staged_files(root) -> list:
    base = root / ".staging"
    return [p for p in base.rglob("*") if p.is_file()] if base.exists() else []


async def trickle(port: int, name: str, *, total: int, piece: bytes, every: float, pieces: int,
                  hang_up: bool = False) -> tuple[int, dict] | None:
    """A slow client: headers announcing ``total`` bytes, then ``pieces`` pieces, one per ``every`` s
    (stopping early once the server answers); then it returns the answer, or with ``hang_up`` closes
    the connection and returns None."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got = bytearray()

    async def collect() -> None:  # read the answer as soon as it comes, until EOF or reset
        try:
            while chunk := await reader.read(65536):
                got.extend(chunk)
        except ConnectionError:
            pass

    collector = asyncio.ensure_future(collect())
    try:
        writer.write((upload_head(port, name, total) + "\r\n").encode())
        for _ in range(pieces):
            if got or collector.done():
                break
            try:
                writer.write(piece)
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.sleep(every)
        if hang_up:
            collector.cancel()
            return None
        await asyncio.wait_for(collector, timeout=30)
    finally:
        writer.close()
    head, _, payload = bytes(got).partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        payload = payload.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return int(head.split(b" ", 2)[1]), json.loads(payload)


@pytest.mark.asyncio
@pytest.mark.parametrize("pieces", [0, 40], ids=["silent", "trickling"])
async def test_slow_upload_dropped_and_staging_removed(client, env, monkeypatch, pieces):
    monkeypatch.setattr(upload_mod, "RATE_WINDOW_S", 0.5)
    monkeypatch.setattr(upload_mod, "MIN_RATE_BPS", 1000)
    port = client.server.port
    status, body = await trickle(port, "slow.safetensors", total=1_000_000, piece=b"x" * 10, every=0.05,
                                 pieces=pieces)
    assert status == 408 and body["code"] == "upload_too_slow", body
    assert "slow.safetensors" in body["error"] and "1000 bytes/s" in body["error"]
    assert _staged_files(env.root) == []
    assert (await (await client.get("/pumas/models")).json())["models"] == []


@pytest.mark.asyncio
async def test_status_answers_while_8_slow_uploads_are_open(client, env, monkeypatch):
    monkeypatch.setattr(upload_mod, "RATE_WINDOW_S", 60.0)  # the trickles (64 B/s) stay above 8 B/s
    monkeypatch.setattr(upload_mod, "MIN_RATE_BPS", 8)
    port = client.server.port
    assert (await client.get("/pumas/status")).status == 200  # library opened
    loop = asyncio.get_running_loop()
    uploads = [asyncio.ensure_future(trickle(port, f"slow{i}.safetensors", total=10_000, piece=b"y" * 16,
                                             every=0.25, pieces=12, hang_up=True)) for i in range(8)]
    await asyncio.sleep(0.5)  # all 8 are inside the handler, waiting for bytes
    jobs = (await (await client.get("/pumas/jobs")).json())["jobs"]
    assert sum(j["kind"] == "upload" and j["state"] == "running" for j in jobs) == 8
    latencies = []
    for _ in range(10):
        began = loop.time()
        r = await client.get("/pumas/status")
        assert r.status == 200 and (await r.json())["server"] == "standalone"
        latencies.append(loop.time() - began)
        await asyncio.sleep(0.1)
    assert not any(u.done() for u in uploads)  # still open while status was measured
    print(f"status latency with 8 slow uploads: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    assert statistics.median(latencies) < 0.1 and max(latencies) < 1.0, latencies
    await asyncio.gather(*uploads)  # the clients stop by themselves and hang up mid-body
    for _ in range(300):
        jobs = [j for j in (await (await client.get("/pumas/jobs")).json())["jobs"] if j["kind"] == "upload"]
        if all(j["state"] == "failed" for j in jobs):
            break
        await asyncio.sleep(0.05)
    assert len(jobs) == 8 and all(j["state"] == "failed" for j in jobs), jobs
    assert all("truncated" in j["error"] or "interrupted" in j["error"] for j in jobs), jobs
    assert _staged_files(env.root) == []

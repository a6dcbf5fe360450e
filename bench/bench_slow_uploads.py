"""``GET /pumas/status`` latency while slow uploads trickle in (issue 8: ≤ 100 ms with 8 of them open).

Usage: ``python bench/bench_slow_uploads.py [--clients 8] [--rate 64] [--samples 40]``

Starts the standalone server on 127.0.0.1 (a free port, a temporary library), measures the status
latency alone, then opens ``--clients`` raw-socket uploads that each send ``--rate`` bytes/s, measures
it again, and prints median / p95 / max and the ratio of the p95 to the 100 ms target.  The clients
stop by themselves (they hang up after the measurement).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_S = 0.100


async def _status_latency(port: int, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        began = time.perf_counter()
        writer.write(f"GET /pumas/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        await reader.read()
        out.append(time.perf_counter() - began)
        writer.close()
        await asyncio.sleep(0.05)
    return out


async def _trickle(port: int, i: int, rate: int, stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"POST /pumas/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/octet-stream\r\n"
                  f"X-Pumas-Filename: slow{i}.safetensors\r\nContent-Length: 100000000\r\n\r\n").encode())
    piece = b"z" * max(1, rate // 4)
    while not stop.is_set():
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.25)
    writer.close()


def _report(label: str, lat: list[float]) -> None:
    lat = sorted(lat)
    p95 = lat[int(0.95 * (len(lat) - 1))]
    print(f"{label:28s} median {statistics.median(lat) * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms  "
          f"max {lat[-1] * 1e3:7.1f} ms  p95/target {p95 / TARGET_S:5.2f}")


async def main(args) -> None:
    from aiohttp import web

    from comfyui_pumas_node.standalone import create_app

    tmp = Path(tempfile.mkdtemp(prefix="pumas-bench-"))
    os.environ.update(PUMAS_OFFLINE="1", PUMAS_LIBRARY=str(tmp / "lib"), PUMAS_STATE=str(tmp / "state"))
    runner = web.AppRunner(create_app(host="127.0.0.1"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        await _status_latency(port, 3)  # opens the library
        _report("idle", await _status_latency(port, args.samples))
        stop = asyncio.Event()
        clients = [asyncio.ensure_future(_trickle(port, i, args.rate, stop)) for i in range(args.clients)]
        await asyncio.sleep(1.0)
        _report(f"{args.clients} uploads at {args.rate} B/s", await _status_latency(port, args.samples))
        stop.set()
        await asyncio.gather(*clients, return_exceptions=True)
    finally:
        await runner.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--rate", type=int, default=64)
    p.add_argument("--samples", type=int, default=40)
    asyncio.run(main(p.parse_args()))

"""A loopback fake of CivitAI's by-hash API (shapes: real-test-data.md §4).

``GET /api/v1/model-versions/by-hash/{hash}`` → version object or 404 ``{"error":"Model not found"}``;
``POST /api/v1/model-versions/by-hash`` (JSON array of ≤100 SHA-256) → array of found versions,
400 for more than 100; ``GET /api/v1/model-versions/{id}`` → the version; ``GET /api/download/models/{id}``
→ the bytes registered with ``add_download(version_id, data)`` (``Range`` honoured; 401 when the test set
``require_token`` and no ``Authorization: Bearer <token>`` came).  A hash matches any of a file's stored
``hashes`` values, case-insensitively.
Counts requests per path (``calls``) and remembers POST bodies (``batches``).  Faults as in
``tests/fakes/hub.py``: ``fail_next(n, "500"|"timeout"|"429", retry_after)``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


def version_object(sha256: str, *, version_id: int, model_id: int, model_type: str = "LORA",
                   name: str = "v1.0", model_name: str = "Test model", base_model: str = "SDXL 1.0",
                   trained_words: list[str] | None = None, size: int = 0) -> dict:
    """A model-version object in the documented shape (fields per developer.civitai.com)."""
    return {
        "id": version_id, "modelId": model_id, "name": name, "description": None,
        "baseModel": base_model, "baseModelType": "Standard",
        "air": f"urn:air:sdxl:{model_type.lower()}:civitai:{model_id}@{version_id}",
        "status": "Published", "nsfwLevel": 1, "createdAt": "2025-01-01T00:00:00.000Z",
        "publishedAt": "2025-01-01T00:00:00.000Z", "trainedWords": trained_words or [],
        "stats": {"downloadCount": 10, "thumbsUpCount": 1},
        "model": {"name": model_name, "type": model_type, "nsfw": False, "poi": False},
        "files": [{"id": version_id * 10, "name": f"{model_name}.safetensors", "type": "Model",
                   "sizeKB": size / 1024, "metadata": {"format": "SafeTensor", "size": "pruned", "fp": "fp16"},
                   "pickleScanResult": "Success", "virusScanResult": "Success",
                   "hashes": {"AutoV2": sha256[:10].upper(), "SHA256": sha256.upper()},
                   "primary": True, "downloadUrl": f"https://civitai.com/api/download/models/{version_id}"}],
        "images": [{"url": f"https://image.civitai.com/x/{version_id}.jpeg", "nsfwLevel": 1,
                    "width": 512, "height": 512, "hash": "U00000fQfQfQfQfQfQfQfQfQfQfQ", "type": "image"}],
        "downloadUrl": f"https://civitai.com/api/download/models/{version_id}",
    }


class FakeCivitai:
    """Threaded loopback CivitAI; ``url`` is the endpoint. Use as a context manager."""

    def __init__(self) -> None:
        self.versions: list[dict] = []
        self.calls: Counter[str] = Counter()
        self.batches: list[list[str]] = []
        self.faults: list[tuple[str, str | None]] = []
        self.timeout_sleep = 2.0
        self.downloads: dict[int, bytes] = {}
        self.require_token: str | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def add(self, version: dict) -> dict:
        self.versions.append(version)
        return version

    def add_download(self, version_id: int, data: bytes) -> None:
        """Serve ``data`` at ``/api/download/models/{version_id}``."""
        self.downloads[version_id] = data

    def fail_next(self, n: int, kind: str, retry_after: str | None = None) -> None:
        with self._lock:
            self.faults.extend([(kind, retry_after)] * n)

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def __enter__(self) -> "FakeCivitai":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def find(self, h: str) -> dict | None:
        h = h.upper()
        for v in self.versions:
            for f in v["files"]:
                if h in (x.upper() for x in f["hashes"].values()):
                    return v
        return None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            wbufsize = 1 << 16

            def log_message(self, *args):
                pass

            def _send(self, status, body, headers=None):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _enter(self) -> str | None:
                path = unquote(urlsplit(self.path).path)
                with fake._lock:
                    fake.calls[path] += 1
                    fault = fake.faults.pop(0) if fake.faults else None
                if fault is None:
                    return path
                kind, retry_after = fault
                if kind == "timeout":
                    time.sleep(fake.timeout_sleep)
                    self.close_connection = True
                elif kind == "429":
                    self._send(429, {"error": "Too many requests"}, {"Retry-After": retry_after} if retry_after else {})
                else:
                    self._send(int(kind), {"error": "Internal error"})
                return None

            def do_GET(self):
                path = self._enter()
                if path is None:
                    return
                if path.startswith("/api/download/models/"):
                    return self._download(path.rsplit("/", 1)[1])
                if path.startswith("/api/v1/model-versions/") and path.rsplit("/", 1)[1].isdigit():
                    vid = int(path.rsplit("/", 1)[1])
                    v = next((x for x in fake.versions if x["id"] == vid), None)
                    return self._send(200, v) if v else self._send(404, {"error": "Model not found"})
                prefix = "/api/v1/model-versions/by-hash/"
                if not path.startswith(prefix):
                    return self._send(404, {"error": "Not found"})
                v = fake.find(path[len(prefix):])
                self._send(200, v) if v else self._send(404, {"error": "Model not found"})

            def _download(self, vid: str):
                if fake.require_token and self.headers.get("Authorization") != f"Bearer {fake.require_token}":
                    return self._send(401, {"error": "Unauthorized"})
                data = fake.downloads.get(int(vid)) if vid.isdigit() else None
                if data is None:
                    return self._send(404, {"error": "Not found"})
                start, status = 0, 200
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start, status = int(rng[6:].split("-")[0] or 0), 206
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                self.wfile.write(data[start:])

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = self._enter()
                if path is None:
                    return
                if path != "/api/v1/model-versions/by-hash":
                    return self._send(404, {"error": "Not found"})
                hashes = json.loads(body or b"[]")
                fake.batches.append(hashes)
                if not isinstance(hashes, list) or len(hashes) > 100:
                    return self._send(400, {"error": "Invalid hashes"})
                found = []
                for h in hashes:
                    v = fake.find(h)
                    if v is not None and v not in found:
                        found.append(v)
                self._send(200, found)

        return Handler

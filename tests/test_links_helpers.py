"""Helpers for the links tests: real tiny model folders in a temporary library."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pumas_core.links import LinkableModel, Registry
from pumas_core.links.apps import register_app


def mid(seed: str) -> str:
    """A deterministic 64-hex model id."""
    return hashlib.sha256(seed.encode()).hexdigest()


def make_model(lib: Path, name: str, model_type: str = "checkpoint", fmt: str = "single-file",
               files: tuple[str, ...] | None = None, link_name: str | None = None, seed: str | None = None,
               content: bytes | None = None) -> LinkableModel:
    """Create ``lib/<type>/<name>/`` with real files and return its LinkableModel."""
    d = lib / model_type / name
    files = files or (f"{name}.safetensors",)
    for f in files:
        p = d / f
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if content is not None else f"{name}:{f}".encode())
    (d / "metadata.json").write_text("{}")
    return LinkableModel(mid(seed or name), model_type, fmt, d, tuple(files), link_name or files[0])


def setup(tmp_path: Path, comfy_tree: Path):
    """``(registry, app, library_root)`` with the comfy_tree registered."""
    lib = tmp_path / "library"
    lib.mkdir(exist_ok=True)
    reg = Registry(tmp_path / "state" / "registry.db")
    app = register_app(reg, comfy_tree)
    return reg, app, lib


# -- tests of the name rules (pumas_core.links.names) ------------------------------------------

def test_safe_link_name_rules():
    import pytest

    from pumas_core.errors import BadInputError
    from pumas_core.links.names import safe_link_name, suffixed

    assert safe_link_name("a/b\\c.safetensors") == "a_b_c.safetensors"
    assert safe_link_name("lpt1.txt") == "_lpt1.txt"
    assert safe_link_name("e\u0301.pt") == "\u00e9.pt"  # NFC
    long = "é" * 200 + ".safetensors"
    assert len(safe_link_name(long).encode()) <= 255 and safe_link_name(long).endswith(".safetensors")
    assert suffixed("model.safetensors", "blake3:" + "ab" * 32) == "model-abababab.safetensors"
    assert suffixed("sd-turbo", "not-hex-id", is_dir=True).startswith("sd-turbo-")
    for bad in ("", "..", ". . ."):
        with pytest.raises(BadInputError):
            safe_link_name(bad)

"""Shared pytest fixtures: real model files, temporary libraries and ComfyUI trees."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import realdata  # tests/ is on sys.path: pythonpath = ["tests"] in pyproject.toml

#: Fixture modules, registered once here so test modules use their fixtures by name without importing them.
pytest_plugins = ["fakes.fixtures", "fixture_builders", "fs_mounts", "panel_fixtures", "routes_support"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def real_file(rel: str) -> Path:
    """Return a cached real input (``"minilm/model.safetensors"``); skip outside CI if unavailable, fail in CI."""
    try:
        return realdata.path(rel)
    except Exception as exc:  # offline, registry down
        if IN_CI:
            pytest.fail(f"real test input {rel} unavailable in CI: {exc}")
        pytest.skip(f"real test input {rel} unavailable: {exc}")


def pickle_sample(name: str) -> Path:
    """Return a picklescan sample from ``../shared/testdata/pickles`` (skip/fail like :func:`real_file`)."""
    p = realdata.PICKLE_SAMPLES / name
    if not p.exists():
        if IN_CI:
            pytest.fail(f"pickle sample {p} missing in CI")
        pytest.skip(f"pickle sample {p} missing")
    return p


@pytest.fixture
def real():
    """The :func:`real_file` accessor as a fixture."""
    return real_file


@pytest.fixture
def pickles():
    """The :func:`pickle_sample` accessor as a fixture."""
    return pickle_sample


@pytest.fixture
def lib_dirs(tmp_path):
    """A fresh library root and state dir (as ``(root, state)``) under ``tmp_path``."""
    root = tmp_path / "library"
    state = tmp_path / "state"
    return root, state


@pytest.fixture
def lib(lib_dirs, monkeypatch):
    """An offline :class:`~pumas_core.facade.Library` over :func:`lib_dirs` (closed after the test)."""
    from pumas_core.facade import Library

    monkeypatch.setenv("PUMAS_OFFLINE", "1")
    library = Library.open(*lib_dirs)
    yield library
    library.close()


@pytest.fixture
def comfy_tree(tmp_path):
    """A minimal ComfyUI install tree with the default model folders of ComfyUI 0.3.x."""
    base = tmp_path / "ComfyUI"
    for key in (
        "checkpoints", "loras", "vae", "text_encoders", "clip", "diffusion_models", "unet",
        "clip_vision", "style_models", "embeddings", "diffusers", "vae_approx", "controlnet",
        "gligen", "upscale_models", "hypernetworks", "photomaker", "audio_encoders", "configs",
    ):
        (base / "models" / key).mkdir(parents=True)
    (base / "comfyui_version.py").write_text('__version__ = "0.3.64"\n')
    (base / "main.py").write_text("# ComfyUI stand-in for tests\n")
    return base


NETWORK_TEST_MODULES = ("test_remote_", "test_lookup_flow")


@pytest.fixture(autouse=True)
def _no_real_network(request, monkeypatch):
    """No test may reach a real Hub/CivitAI: offline everywhere except the modules that talk to loopback fakes."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    if not name.startswith(NETWORK_TEST_MODULES):
        monkeypatch.setenv("PUMAS_OFFLINE", "1")
    monkeypatch.delenv("HF_ENDPOINT", raising=False)


def pytest_terminal_summary(terminalreporter):
    """Print the crash harness's one-line tally (kills per phase, violations) when it ran."""
    cases = sys.modules.get("crash_cases")
    if cases is not None and cases.TALLY["cases"]:
        terminalreporter.write_line(cases.summary())

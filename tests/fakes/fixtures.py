"""pytest fixtures for the remote fakes: ``from fakes.fixtures import *`` in a test module."""

from __future__ import annotations

import socket

import pytest

from fakes.civitai import FakeCivitai
from fakes.hub import FakeHub
from pumas_core.remote.resilience import reset_guards


@pytest.fixture
def hub():
    """A running :class:`FakeHub` (empty; seed it in the test)."""
    reset_guards()
    with FakeHub() as h:
        yield h
    reset_guards()


@pytest.fixture
def civitai():
    """A running :class:`FakeCivitai`."""
    with FakeCivitai() as c:
        yield c


@pytest.fixture
def minilm_hub(hub, real):
    """The fake Hub seeded with the real MiniLM package files."""
    hub.seed_minilm(real("minilm/model.safetensors").parent)
    return hub


@pytest.fixture
def closed_port_url():
    """A loopback URL on which nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"

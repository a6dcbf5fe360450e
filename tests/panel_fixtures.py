"""pytest fixtures for the panel's browser tests (registered for every test module by ``pytest_plugins`` in
``tests/conftest.py``; a test names ``browser``, ``server``, ``open_panel``... as parameters).

* ``browser`` (module scope) — headless Debian Chromium through Playwright.
* ``server`` — a started :class:`panel_fake.PanelTestServer` with 30 models.
* ``open_panel()`` — a page on ``server`` with the panel loaded; uncaught page errors fail the test.
* ``real_serve`` — a started :class:`panel_real.RealServe` (the real ``pumas serve``, fresh library).
* ``open_real()`` — a page on ``real_serve`` with the panel shown.
"""

from __future__ import annotations

import pytest
from browser_support import LAUNCH_ARGS, chromium_path
from panel_fake import PanelTestServer, make_model
from panel_real import RealServe


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=LAUNCH_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def server(tmp_path):
    srv = PanelTestServer(tmp_path, [make_model(i) for i in range(30)]).start()
    yield srv
    srv.stop()


def _new_page(browser, height: int):
    page = browser.new_context(viewport={"width": 420, "height": height}).new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def _openers(browser, url: str, ready, default_height: int):
    """A page opener for ``url`` (``ready(page)`` waits until it is usable) and its teardown:
    every opened page must end with no page errors."""
    pages = []

    def opener(height: int = default_height):
        page = _new_page(browser, height)
        page.goto(url + "/")
        ready(page)
        pages.append(page)
        return page

    yield opener
    for p in pages:
        assert p.errors == [], p.errors
        p.context.close()


def _stand_in_ready(page) -> None:
    page.wait_for_function("window.__loaded && window.__setupDone", timeout=10_000)
    assert page.evaluate("window.__importErrors") == []
    page.wait_for_selector(".pumas-row")


@pytest.fixture
def open_panel(browser, server):
    """Open the host page; returns a function giving the loaded page (errors on the console fail)."""
    yield from _openers(browser, server.url, _stand_in_ready, 800)


@pytest.fixture
def real_serve(tmp_path):
    srv = RealServe(tmp_path).start()
    yield srv
    srv.stop()


@pytest.fixture
def open_real(browser, real_serve):
    """Like :func:`open_panel`, against the real ``pumas serve``."""
    yield from _openers(browser, real_serve.url, lambda page: page.wait_for_selector(".pumas-panel"), 820)

"""Support for the panel's headless-Chromium tests (no server here).

* :func:`chromium_path` / :data:`LAUNCH_ARGS` — Debian's ``/usr/bin/chromium`` (never a downloaded
  Playwright browser), skipped outside CI when missing, a failure in CI.
* :func:`artifacts_dir` / :func:`shot` — where screenshots go (``$PUMAS_ARTIFACTS`` or ``./test-artifacts``).
* :data:`HOST_PAGE`, :data:`APP_SHIM`, :data:`API_SHIM` — the host page and ComfyUI ``app``/``api`` shims the
  stand-in server (:mod:`panel_fake`) serves; :data:`DROP_JS` drops a desktop file on the panel.
* :func:`wait_until`, :func:`copy_real`, :func:`toasts`.

The servers live in :mod:`panel_fake` (in-memory stand-in of the routes) and :mod:`panel_real`
(the real ``pumas serve``); the pytest fixtures in :mod:`panel_fixtures`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
WEB_JS = ROOT / "comfyui_pumas_node" / "web" / "js"
CHROMIUM = Path(os.environ.get("PUMAS_CHROMIUM", "/usr/bin/chromium"))

LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    """Path of the system Chromium; skip the test outside CI when absent, fail in CI."""
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} missing (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"playwright not installed: {exc}")
        pytest.skip(f"playwright not installed: {exc}")
    return str(CHROMIUM)


def artifacts_dir() -> Path:
    """Screenshot folder (``$PUMAS_ARTIFACTS`` or ``./test-artifacts``), created."""
    d = Path(os.environ.get("PUMAS_ARTIFACTS") or (ROOT / "test-artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d


HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Pumas panel test</title>
<style>:root{--comfy-menu-bg:#353535;--fg-color:#fff;--border-color:#4e4e4e;--comfy-input-bg:#222}
body{margin:0;background:#202020;color:#fff;font-family:sans-serif}
#sidebar{width:380px;height:760px;display:flex;flex-direction:column}
#sidebar>div{height:100%}</style></head>
<body><div id="sidebar"></div><script type="module">
const files = await (await fetch("/extensions")).json();
// Like ComfyUI: import every *.js of the extension, the lib/ modules included.
window.__importErrors = [];
for (const f of files) { try { await import(f); } catch (e) { window.__importErrors.push(f + ": " + e); } }
window.__loaded = true;
</script></body></html>"""

APP_SHIM = """
export const app = {
  toasts: [], refreshCount: 0, settings: {}, tabs: [],
  async refreshComboInNodes() { this.refreshCount += 1; },
  registerExtension(ext) {
    for (const s of ext.settings || []) this.settings[s.id] = s.defaultValue;
    queueMicrotask(async () => { await ext.setup?.(); window.__setupDone = true; });
  },
  extensionManager: {
    registerSidebarTab(tab) { app.tabs.push(tab); app.mount(tab); },
    toast: { add(t) { app.toasts.push(t); } },
    setting: { get: (id) => app.settings[id], set: async (id, v) => { app.settings[id] = v; } },
  },
  mount(tab) {
    const el = document.createElement("div");
    document.getElementById("sidebar").replaceChildren(el);
    tab.render(el);
  },
  remount() { const t = this.tabs[0]; t.destroy?.(); this.mount(t); },
};
window.__app = app;
"""

API_SHIM = """
class Api extends EventTarget {
  apiURL(route) { return "/api" + route; }
  fetchApi(route, opts = {}) { return fetch(this.apiURL(route), { cache: "no-cache", ...opts }); }
}
export const api = new Api();
window.__api = api;
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onmessage = (m) => {
  const { type, data } = JSON.parse(m.data);
  api.dispatchEvent(new CustomEvent(type, { detail: data }));
};
"""


#: page.evaluate(DROP_JS, [name, base64 bytes, selector]) drops one desktop file like a user would.
DROP_JS = """([name, b64, selector]) => {
  const bin = atob(b64); const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const dt = new DataTransfer(); dt.items.add(new File([bytes], name));
  const target = document.querySelector(selector || '.pumas-drop');
  for (const type of ['dragenter', 'dragover', 'drop'])
    target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
}"""


def wait_until(fn, timeout: float = 5.0, step: float = 0.05):
    """Poll ``fn()`` until truthy (returns it) or raise AssertionError after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def copy_real(src: Path, dest_dir: Path, name: str | None = None) -> Path:
    """Copy a real test file into ``dest_dir`` (keeps the cache pristine)."""
    dest = dest_dir / (name or src.name)
    shutil.copyfile(src, dest)
    return dest



def shot(page, name: str) -> Path:
    """Save a screenshot of ``page`` as ``<artifacts>/panel-<name>.png``; return its path."""
    path = artifacts_dir() / f"panel-{name}.png"
    page.screenshot(path=str(path))
    return path


def toasts(page) -> list:
    """The stand-in shim's toasts as ``[[severity, summary, detail]]``."""
    return page.evaluate("window.__app.toasts.map(t => [t.severity, t.summary, t.detail])")

"""End to end inside a real ComfyUI on CPU (skipped unless one is provided; see ``comfyui_runner``).

Boots ComfyUI with this pack in ``custom_nodes`` and a library holding a checkpoint, then checks
what a user sees: no IMPORT FAILED, the boot sync line, the library's models in ComfyUI's own
``GET /models/checkpoints``, a model imported through the panel's routes (by path, by upload, and by
a file dropped on the panel in Chromium) appearing there and in ``CheckpointLoaderSimple`` without a
restart, and ComfyUI still booting when the library is missing or read-only.
"""

from __future__ import annotations

import base64
import os
import subprocess

import pytest
from comfyui_runner import ComfyUI
from model_shapes import SD15_CHECKPOINT
from st_writer import write_safetensors

pytestmark = pytest.mark.skipif(
    not (os.environ.get("PUMAS_COMFYUI_DIR") and os.environ.get("PUMAS_COMFYUI_PYTHON")),
    reason="no ComfyUI checkout given (PUMAS_COMFYUI_DIR / PUMAS_COMFYUI_PYTHON; docs/comfyui-e2e.md)")


def _ckpt(path, size):
    shapes = dict(SD15_CHECKPOINT)
    shapes["model.diffusion_model.out.0.weight"] = ("F16", [size])  # different bytes, different model
    return write_safetensors(path, shapes)


@pytest.fixture
def setup(tmp_path):
    from pumas_core.facade import Library

    base, library, state, imports = (tmp_path / n for n in ("base", "library", "state", "imports"))
    for key in ("checkpoints", "loras", "vae", "text_encoders", "diffusion_models", "diffusers"):
        (base / "models" / key).mkdir(parents=True)
    imports.mkdir()
    with Library.open(library, state) as lib:
        lib.import_paths([_ckpt(tmp_path / "preloaded_sd15.safetensors", 3)])
        lib.update_settings({"import_roots": [str(imports)]})
    env = {"PUMAS_LIBRARY": str(library), "PUMAS_STATE": str(state), "PUMAS_OFFLINE": "1"}
    return base, library, imports, env


def test_extension_in_real_comfyui(setup, tmp_path):
    base, library, imports, env = setup
    comfy = ComfyUI(base, env).start()
    try:
        log = comfy.log_text()
        assert "[pumas] boot sync" in log
        assert not [line for line in log.splitlines() if "IMPORT FAILED" in line and "pumas" in line], log
        assert "preloaded_sd15.safetensors" in comfy.get("/models/checkpoints")

        # import by path through the panel's route
        src = _ckpt(imports / "by_path_sd15.safetensors", 5)
        status, body = comfy.post("/api/pumas/import", {"paths": [str(src)], "mode": "copy"})
        assert status in (200, 202), body
        assert comfy.wait_job(body.get("job") or body.get("job_id"))["state"] == "done"
        assert "by_path_sd15.safetensors" in comfy.get("/models/checkpoints")
        assert "by_path_sd15.safetensors" in comfy.checkpoint_choices()

        # streamed upload (what a drop sends), bigger than nothing ComfyUI's 100 MB cap would allow in one read
        data = _ckpt(tmp_path / "uploaded.safetensors", 7).read_bytes()
        status, body = comfy.post("/api/pumas/upload", data, "application/octet-stream",
                                  {"X-Pumas-Filename": "uploaded_sd15.safetensors"})
        assert status in (200, 202), body
        if body.get("job") or body.get("job_id"):
            comfy.wait_job(body.get("job") or body.get("job_id"))
        assert "uploaded_sd15.safetensors" in comfy.checkpoint_choices()

        _panel_in_chromium(comfy, tmp_path)
    finally:
        comfy.stop()


def _close_dialogs(page) -> None:
    """Close ComfyUI's modal dialogs (the template browser of a first visit): Escape, then each
    dialog's close button, until none is visible (at most ~5 s)."""
    for _ in range(10):
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
        dialogs = page.locator(".p-dialog:visible, [role='dialog'][aria-modal='true']:visible")
        if not dialogs.count():
            return
        close = page.locator(".p-dialog:visible .p-dialog-close-button, .p-dialog:visible button[aria-label='Close']")
        if close.count():
            close.first.click()


def _panel_in_chromium(comfy: ComfyUI, tmp_path) -> None:
    """Open ComfyUI's page, open our sidebar tab, screenshot it, drop a file on it."""
    from browser_support import DROP_JS, LAUNCH_ARGS, artifacts_dir, chromium_path, wait_until
    from playwright.sync_api import sync_playwright

    payload = base64.b64encode(_ckpt(tmp_path / "dropped.safetensors", 9).read_bytes()).decode()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        page.goto(comfy.url, wait_until="load")
        page.wait_for_timeout(2000)
        _close_dialogs(page)  # the "Get Started with a Template" dialog of a first visit
        tab = page.locator(".pumas-library-tab-button, [class*='pumas-library']").first
        page.wait_for_function("() => !!window.app?.extensionManager", timeout=60000)
        page.evaluate("() => window.app.extensionManager.sidebarTab?.toggleSidebarTab?.('pumas-library')")
        if not page.locator(".pumas-drop").count():
            tab.click(timeout=30000)
        page.wait_for_selector(".pumas-drop", timeout=30000)
        page.wait_for_timeout(1500)
        _close_dialogs(page)
        title = page.evaluate("() => (window.app.extensionManager.getSidebarTabs?.() || [])"
                              ".filter(t => t.id === 'pumas-library').map(t => t.title)[0]")
        assert title and title != "Model Library", title   # ComfyUI's own tab is "Model Library"
        page.screenshot(path=str(artifacts_dir() / "comfyui-panel.png"))
        page.evaluate(DROP_JS, ["dropped_sd15.safetensors", payload, ".pumas-drop"])
        wait_until(lambda: "dropped_sd15.safetensors" in comfy.checkpoint_choices(), timeout=60)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(artifacts_dir() / "comfyui-panel-after-drop.png"))
        browser.close()


def test_comfyui_boots_with_missing_library(setup, tmp_path):
    base, _library, _imports, env = setup
    env = {**env, "PUMAS_LIBRARY": str(tmp_path / "not-there" / "library"), "PUMAS_STATE": str(tmp_path / "st2")}
    os.chmod(tmp_path, 0o755)
    (tmp_path / "not-there").write_text("a file where the library's parent should be")
    comfy = ComfyUI(base, env).start()
    try:
        assert isinstance(comfy.get("/models"), list)
        assert "[pumas] boot sync skipped" in comfy.log_text() or "[pumas] boot sync" in comfy.log_text()
        status, body = comfy.post("/api/pumas/sync", {})
        if status == 202:  # a job: it fails with a clear error instead of taking ComfyUI down
            job = comfy.wait_job(body.get("job") or body.get("job_id"))
            assert job["state"] == "failed" and "library" in str(job.get("error")).lower(), job
        else:
            assert status >= 400 and body.get("code"), body
    finally:
        comfy.stop()


def test_comfyui_boots_with_read_only_library(setup, tmp_path):
    base, library, _imports, env = setup
    ro = tmp_path / "ro-library"
    ro.mkdir()
    bind = subprocess.run(["mount", "--bind", str(library), str(ro)], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {bind.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        comfy = ComfyUI(base, {**env, "PUMAS_LIBRARY": str(ro)}).start()
        try:
            assert "preloaded_sd15.safetensors" in comfy.get("/models/checkpoints") or \
                "[pumas] boot sync skipped" in comfy.log_text()
            assert isinstance(comfy.get("/models"), list)
        finally:
            comfy.stop()
    finally:
        subprocess.run(["umount", str(ro)], check=False)


def test_resolve_links_the_workflow_name_without_restart(setup):
    """A workflow naming the library's checkpoint in a sub-folder: linked there, listed by the loader at once."""
    base, _library, _imports, env = setup
    comfy = ComfyUI(base, env).start()
    try:
        wf = {"nodes": [{"id": 4, "type": "CheckpointLoaderSimple",
                         "widgets_values": ["SD15/preloaded_sd15.safetensors"]}]}
        status, body = comfy.post("/api/pumas/resolve", {"workflow": wf})
        assert status == 200, body
        ref = body["references"][0]
        assert (ref["status"], ref["matched_by"]) == ("linked", "name"), ref
        assert "SD15/preloaded_sd15.safetensors" in comfy.checkpoint_choices()
        status, again = comfy.post("/api/pumas/resolve", {"workflow": wf})
        assert again["created"] == 0 and again["references"][0]["status"] == "present"
    finally:
        comfy.stop()

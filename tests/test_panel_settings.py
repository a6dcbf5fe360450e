"""Settings in the panel (import roots, default mode, lookups), the 403 "Add this folder to import
roots" offer, and health that tells the truth after Repair / Clean."""

from __future__ import annotations

import pytest
from browser_support import copy_real, shot, toasts

pytestmark = pytest.mark.browser


def _open_settings(page):
    page.locator(".pumas-settings > summary").click()
    page.locator(".pumas-roots-title").wait_for()


def test_settings_show_roots_and_save_mode_and_lookups(open_panel, server, tmp_path):
    page = open_panel()
    line = page.locator(".pumas-import .pumas-roots-line")
    line.locator(".pumas-roots-list", has_text=str(server.import_root)).wait_for()
    assert line.locator(".pumas-roots-heading").inner_text() == "Import roots"
    line.get_by_role("button", name="Edit…").click()
    page.locator(".pumas-roots-title").wait_for()
    assert page.locator(".pumas-settings").get_attribute("open") is not None
    assert page.locator(".pumas-roots-title").inner_text().lower() == "import roots"
    assert page.locator(".pumas-root").inner_text().startswith(str(server.import_root))
    page.locator(".pumas-default-mode").select_option("copy")
    page.wait_for_function("window.__app.toasts.some(t => t.detail === 'Default import mode: copy')")
    page.locator(".pumas-lookups").uncheck()
    page.wait_for_function("window.__app.toasts.some(t => t.detail.startsWith('Offline'))")
    assert ("settings", None, {"import_mode": "copy"}) in server.bodies
    assert ("settings", None, {"lookups": False}) in server.bodies
    # a typed root: added, shown, removable; a missing folder is refused with the server's reason
    extra = tmp_path / "more models"
    extra.mkdir()
    page.locator(".pumas-root-path").fill(str(tmp_path / "missing"))
    page.locator(".pumas-settings .pumas-add-root-btn").click()
    page.wait_for_function("window.__app.toasts.some(t => t.severity === 'error'"
                           " && t.detail.includes('not an existing absolute folder'))")
    page.locator(".pumas-root-path").fill(str(extra))
    page.locator(".pumas-settings .pumas-add-root-btn").click()
    page.wait_for_function("document.querySelectorAll('.pumas-root').length === 2")
    shot(page, "settings")
    page.get_by_role("button", name=f"Remove import root {extra}").click()
    page.wait_for_function("document.querySelectorAll('.pumas-root').length === 1")
    assert server.settings["import_roots"] == [str(server.import_root)]


def test_import_mode_defaults_to_the_saved_setting(open_panel, server):
    server.settings["import_mode"] = "move"
    page = open_panel()
    page.wait_for_function("document.querySelector('.pumas-import-mode').value === 'move'")
    assert "auto = copy" in page.locator(".pumas-import-mode").get_attribute("title")


def test_403_offers_add_root_and_it_works_at_once(open_panel, server, tmp_path, real):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    src = copy_real(real("minilm/model.safetensors"), outside, "Outside.safetensors")
    page = open_panel()
    page.locator(".pumas-import-path").fill(str(src))
    page.locator(".pumas-import-btn").click()
    offer = page.locator(".pumas-import .pumas-add-root")
    offer.wait_for()
    assert str(outside) in offer.inner_text()
    shot(page, "add-root-offer")
    offer.get_by_role("button", name="Add this folder to import roots").click()
    page.wait_for_function("window.__app.toasts.some(t => t.severity === 'success'"
                           " && t.detail.startsWith('Imported 1 model'))")
    assert str(outside) in server.settings["import_roots"]
    assert server.import_bodies[-1]["paths"] == [str(src)]
    # browsing the new root works at once too
    page.locator(".pumas-import-path").fill(str(outside))
    page.locator(".pumas-browse-btn").click()
    page.locator(".pumas-browser .pumas-file", has_text="Outside.safetensors").wait_for()


def test_repair_reports_fixed_and_not_fixed(open_panel, server):
    broken = {"link_path": "/ComfyUI/models/loras/gone.safetensors", "reason": "target missing", "repairable": False,
              "fixable_by": "clean", "action": "The model is gone: Clean removes the dead link."}
    fixable = {"link_path": "/ComfyUI/models/vae/ok.safetensors", "reason": "link deleted", "fixable_by": "repair"}
    server.health = {"status": "errors", "broken_links": [broken, fixable], "orphaned_links": [],
                     "ghost_apps": [{"app_id": "a1", "root": "/old/ComfyUI", "link_count": 3}], "phantom_models": []}
    server.fix_result = {"fixed": [{"link_path": fixable["link_path"], "reason": "re-created"}],
                         "not_fixed": [{"link_path": broken["link_path"], "reason": "model deleted; use Clean"}]}
    server.after_fix = {**server.health, "broken_links": [broken]}
    page = open_panel()
    page.locator(".pumas-health").click()
    details = page.locator(".pumas-health-details")
    text = details.inner_text()
    assert "Clean removes the dead link" in text and "target missing" in text
    assert "Repair (1)" in page.locator(".pumas-repair-btn").inner_text()
    assert "Clean (2)" in page.locator(".pumas-clean-btn").inner_text()
    page.locator(".pumas-repair-btn").click()
    result = page.locator(".pumas-health-result")
    result.wait_for()
    assert "fixed 1, not fixed 1" in result.inner_text() and "model deleted; use Clean" in result.inner_text()
    page.wait_for_function("window.__app.toasts.some(t => t.severity === 'warn' && t.summary === 'Repair finished')")
    assert not any(t[1] == "Repair finished" and t[0] == "success" for t in toasts(page))
    shot(page, "repair-result")
    # Clean asks first, with the count
    page.locator(".pumas-clean-btn").click()
    confirm = page.locator(".pumas-health-details .pumas-confirm")
    assert "Clean 2 problems?" in confirm.inner_text()
    confirm.get_by_role("button", name="Cancel").click()
    assert not server.posted("/pumas/health/clean")


def test_last_sync_is_local_time(open_panel, server):
    server.apps.append({"app_id": "a1", "root": "/srv/ComfyUI", "version": "0.3.64", "last_sync_at": 1796205964.88301})
    page = open_panel()
    page.locator(".pumas-health").click()
    line = page.locator(".pumas-app").first
    line.wait_for()
    assert "1796205964" not in line.inner_text()
    expected = page.evaluate("new Date(1796205964883).getFullYear()")
    assert "last sync" in line.inner_text() and str(expected) in line.inner_text()


def test_real_serve_add_root_from_403_then_import(open_real, real_serve, real, tmp_path):
    """Against the real `pumas serve`: a file outside the roots is refused (403), the offer adds its
    folder to config.json's import roots, and the retried import succeeds at once."""
    from pumas_core.config import load_config

    outside = (tmp_path / "Downloads elsewhere").resolve()
    outside.mkdir()
    src = copy_real(real("silero/silero_vad_16k.safetensors"), outside, "silero_outside.safetensors")
    page = open_real()
    page.locator(".pumas-import-path").fill(str(src))
    page.locator(".pumas-import-btn").click()
    offer = page.locator(".pumas-import .pumas-add-root")
    offer.wait_for(timeout=20_000)
    offer.get_by_role("button", name="Add this folder to import roots").click()
    page.wait_for_selector("#pumas-toasts .pumas-toast[data-severity='success']:has-text('Imported 1 model')",
                           timeout=30_000)
    assert str(outside) in load_config(real_serve.state)["import_roots"]
    _open_settings(page)
    page.locator(".pumas-root", has_text=str(outside)).wait_for()

"""The sidebar panel (web/js) driven in headless Chromium against a loopback server.

The server is :class:`panel_fake.PanelTestServer`: it serves ``web/js`` the way ComfyUI does
(every ``*.js`` dynamically imported, the ``app``/``api`` shim at ``/scripts/``) and answers the
``/api/pumas/*`` routes in memory. Screenshots go to ``$PUMAS_ARTIFACTS`` or ``./test-artifacts``.
"""

from __future__ import annotations

import base64

import pytest
from browser_support import DROP_JS, artifacts_dir, copy_real, shot, toasts, wait_until
from panel_fake import PanelTestServer, make_model

pytestmark = pytest.mark.browser


def test_loads_as_comfyui_extension_with_inert_lib_modules(open_panel, server):
    page = open_panel()
    assert page.evaluate("window.__app.tabs.map(t => [t.id, t.type, typeof t.render, typeof t.destroy])") == [
        ["pumas-library", "custom", "function", "function"]]
    # every lib/ module was imported before the entry; only one panel and one stylesheet exist
    assert page.locator(".pumas-panel").count() == 1
    assert page.locator("#pumas-panel-style").count() == 1
    assert page.locator("input[aria-label='Search models']").count() == 1
    shot(page, "loaded")


def test_search_is_debounced(open_panel, server):
    page = open_panel()
    before = len(server.model_requests())
    page.locator(".pumas-search").press_sequentially("model_0001", delay=40)
    page.wait_for_function("document.querySelectorAll('.pumas-row').length === 10")
    queried = [p for p in server.model_requests()[before:] if "q=" in p]
    assert queried == ["/api/pumas/models?q=model_0001&limit=500"], queried
    assert page.locator(".pumas-row").first.inner_text().startswith("model_00010")


def test_stale_search_response_is_discarded(open_panel, server):
    server.models += [make_model(100, "slow_model.gguf"), make_model(101, "fast_model.gguf")]
    server.delays["slow"] = 1.2
    page = open_panel()
    search = page.locator(".pumas-search")
    search.fill("slow")
    wait_until(lambda: any("q=slow" in p for p in server.model_requests()))
    search.fill("fast")
    page.wait_for_function("[...document.querySelectorAll('.pumas-row-name')].map(e => e.textContent).join()"
                           " === 'fast_model.gguf'")
    page.wait_for_timeout(1500)   # the slow answer arrives now and must be ignored
    names = page.eval_on_selector_all(".pumas-row-name", "els => els.map(e => e.textContent)")
    assert names == ["fast_model.gguf"]


def test_ten_thousand_models_stay_windowed(browser, tmp_path):
    srv = PanelTestServer(tmp_path, [make_model(i) for i in range(10_000)]).start()
    try:
        page = browser.new_page(viewport={"width": 420, "height": 800})
        page.goto(srv.url + "/")
        page.wait_for_selector(".pumas-row")
        page.wait_for_function("document.querySelector('.pumas-vlist-spacer').style.height !== ''")
        counts = []
        for _ in range(40):   # scroll to the end repeatedly: pages of 500 load as the end nears
            page.eval_on_selector(".pumas-vlist", "el => { el.scrollTop = el.scrollHeight; }")
            page.wait_for_timeout(60)
            counts.append(page.locator(".pumas-row").count())
            if page.evaluate("document.querySelector('.pumas-vlist-spacer').style.height") == f"{10_000 * 44}px":
                break
        assert page.evaluate("document.querySelector('.pumas-vlist-spacer').style.height") == f"{10_000 * 44}px"
        page.eval_on_selector(".pumas-vlist", "el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_function("!!document.querySelector('#pumas-row-9999')")
        last = page.eval_on_selector_all(".pumas-row-name", "els => els.map(e => e.textContent)")
        assert "model_09999.safetensors" in last
        assert max(counts) < 60, counts
        page.eval_on_selector(".pumas-vlist", "el => { el.scrollTop = 5000 * 44; }")
        page.wait_for_function("!!document.querySelector('#pumas-row-5000')")
        assert page.locator(".pumas-row").count() < 60
        assert page.locator("#pumas-row-5000 .pumas-row-name").inner_text() == "model_05000.safetensors"
        page.screenshot(path=str(artifacts_dir() / "panel-10000.png"))
        page.close()
    finally:
        srv.stop()


def test_details_show_hashes_trust_links_and_escape_names(open_panel, server):
    evil = "<img src=x onerror=\"window.__xss=1\">.safetensors"
    server.models.insert(0, make_model(500, evil, base_model="SDXL", precision="fp16",
                                       huggingface={"repo_id": "org/repo", "url": None},
                                       identification={"evidence": ["tensor 'model.diffusion_model' => checkpoint"]}))
    page = open_panel()
    page.locator(".pumas-row").first.click()
    page.wait_for_selector(".pumas-details-name")
    assert page.locator(".pumas-details-name").inner_text() == evil
    text = page.locator(".pumas-details").text_content()
    m = server.models[0]
    assert f"blake3:{m['hashes']['blake3']}" in text and f"sha256:{m['hashes']['sha256']}" in text
    assert "Verified" in text and "SDXL" in text and "fp16" in text and "Linked in (1)" in text
    assert page.locator(".pumas-details a[href='https://huggingface.co/org/repo']").count() == 1
    assert page.evaluate("window.__xss") is None
    assert page.locator(".pumas-details img").count() == 0
    shot(page, "details")


def test_type_edit_and_delete_with_confirmation(open_panel, server):
    page = open_panel()
    first = server.models[0]
    page.locator(".pumas-row").first.click()
    page.wait_for_selector(".pumas-details-name")
    page.locator(".pumas-edit-type").select_option("lora")
    page.get_by_role("button", name="Set type (manual)").click()
    page.wait_for_selector(".pumas-details .pumas-badge:text('Manual')")
    assert first["model_type"] == "lora" and first["match_source"] == "manual"
    page.get_by_role("button", name=f"Delete {first['official_name']}").click()
    page.locator(".pumas-confirm button", has_text="Cancel").click()
    assert first in server.models
    page.get_by_role("button", name=f"Delete {first['official_name']}").click()
    page.locator(".pumas-confirm button", has_text="Delete").click()
    page.wait_for_function("window.__app.toasts.some(t => t.detail.startsWith('Deleted'))")
    assert first not in server.models
    page.wait_for_function(f"!document.querySelector('.pumas-row-name[title=\"{first['official_name']}\"]')")
    assert page.evaluate("window.__app.refreshCount") >= 2


def test_import_by_path_with_folder_browser(open_panel, server, real):
    src = copy_real(real("minilm/model.safetensors"), server.import_root, "MiniLM.safetensors")
    page = open_panel()
    page.locator(".pumas-browse-btn").click()
    page.locator(".pumas-browser .pumas-dir").first.click()
    page.locator(".pumas-browser .pumas-file", has_text="MiniLM.safetensors").click()
    assert page.locator(".pumas-import-path").input_value() == str(src)
    page.locator(".pumas-import-mode").select_option("copy")
    page.locator(".pumas-import-btn").click()
    page.wait_for_function("window.__app.toasts.some(t => t.severity === 'success')")
    assert any("Imported 1 model" in t[2] for t in toasts(page))
    assert server.import_bodies == [{"paths": [str(src)], "mode": "copy"}]
    page.wait_for_function("window.__app.refreshCount >= 1")
    page.locator(".pumas-search").fill("minilm")
    page.wait_for_function("[...document.querySelectorAll('.pumas-row-name')].map(e => e.textContent).join()"
                           " === 'MiniLM.safetensors'")
    shot(page, "imported")


def test_browse_outside_roots_is_refused(open_panel, server):
    page = open_panel()
    page.locator(".pumas-import-path").fill("/etc")
    page.locator(".pumas-browse-btn").click()
    page.wait_for_selector(".pumas-browser .pumas-job-failed")
    assert "outside the import roots" in page.locator(".pumas-browser").inner_text()


def test_pickle_path_import_needs_acknowledgement(open_panel, server, real):
    src = copy_real(real("lpips/v0.1/alex.pth"), server.import_root)
    page = open_panel()
    page.locator(".pumas-import-path").fill(str(src))
    page.locator(".pumas-import-btn").click()
    warn = page.locator(".pumas-warning")
    warn.wait_for()
    assert "alex.pth" in warn.inner_text() and "arbitrary code" in warn.inner_text()
    assert page.locator(".pumas-pickle-go").is_disabled()
    assert not server.posted("/pumas/import")
    shot(page, "pickle-warning")
    page.get_by_label("I understand the risks").check()
    page.locator(".pumas-pickle-go").click()
    page.wait_for_function("window.__app.toasts.some(t => t.severity === 'success')")
    assert server.import_bodies == [{"paths": [str(src)], "mode": "auto", "accept_pickle": True}]
    assert any(m.get("official_name") == "alex.pth" and m["security_tier"] == "pickle" for m in server.models)


def _drop(page, name: str, data: bytes, selector: str = ".pumas-drop"):
    page.evaluate(DROP_JS, [name, base64.b64encode(data).decode(), selector])


def test_drop_uploads_streamed_file(open_panel, server):
    page = open_panel()
    name = "modèle ü #1.safetensors"
    payload = bytes(i % 251 for i in range(3 * 1024 * 1024 + 7))   # over the 1 MB client_max_size: must stream
    _drop(page, name, payload)
    page.wait_for_function("window.__app.toasts.some(t => t.severity === 'success')")
    ups = server.posted("/pumas/upload")
    assert len(ups) == 1
    assert ups[0]["Content-Type"] == "application/octet-stream"
    assert ups[0]["X-Pumas-Filename"] == "mod%C3%A8le%20%C3%BC%20%231.safetensors"
    assert "X-Pumas-Accept-Pickle" not in ups[0]
    assert (server.upload_dir / name).read_bytes() == payload
    page.wait_for_function("window.__app.refreshCount >= 1")


def test_dropped_pickle_waits_for_acknowledgement(open_panel, server):
    page = open_panel()
    _drop(page, "weights.ckpt", b"\x80\x02}q\x00." * 10)
    page.locator(".pumas-warning").wait_for()
    page.wait_for_timeout(200)
    assert not server.posted("/pumas/upload")
    page.get_by_label("I understand the risks").check()
    page.locator(".pumas-pickle-go").click()
    page.wait_for_function("window.__app.toasts.some(t => t.severity === 'success')")
    ups = server.posted("/pumas/upload")
    assert len(ups) == 1 and ups[0]["X-Pumas-Accept-Pickle"] == "1"


def test_server_pickle_refusal_asks_for_acknowledgement(open_panel, server):
    page = open_panel()
    _drop(page, "weights.model", b"\x80\x02}q\x00.", ".pumas-panel")   # a pickle under an innocent name
    page.locator(".pumas-warning").wait_for()    # shown after the server's pickle_not_accepted
    assert "weights.model" in page.locator(".pumas-warning").inner_text()
    assert not any(t[0] == "error" for t in toasts(page))
    page.get_by_label("I understand the risks").check()
    page.locator(".pumas-pickle-go").click()
    page.wait_for_function("window.__app.toasts.some(t => t.severity === 'success')")
    ups = server.posted("/pumas/upload")
    assert len(ups) == 2 and "X-Pumas-Accept-Pickle" not in ups[0] and ups[1]["X-Pumas-Accept-Pickle"] == "1"
    page.wait_for_function("!document.querySelector('.pumas-warning')")


def test_health_badge_details_and_repair(open_panel, server):
    server.health = {"status": "errors", "broken_links": [{"path": "/ComfyUI/models/loras/gone.safetensors"}],
                     "orphaned_links": [], "ghost_apps": ["/old/ComfyUI"], "phantom_models": []}
    page = open_panel()
    badge = page.locator(".pumas-health")
    page.wait_for_selector(".pumas-health.pumas-health-errors")
    assert badge.inner_text() == "Errors"
    badge.click()
    details = page.locator(".pumas-health-details").text_content()
    assert "Broken links (1)" in details and "gone.safetensors" in details
    assert "Missing ComfyUI installs (1)" in details
    shot(page, "health-errors")
    page.locator(".pumas-repair-btn").click()
    page.wait_for_selector(".pumas-health.pumas-health-healthy", timeout=5000)
    assert server.posted("/pumas/health/repair")


def test_folders_moved_by_hand_are_listed_with_repair(open_panel, server):
    """The core reports ``moved_models`` (fixable by repair); the panel lists them and offers Repair."""
    server.health = {"status": "warnings", "broken_links": [], "orphaned_links": [], "ghost_apps": [],
                     "phantom_models": [], "moved_models": [{
                         "model_id": "ab" * 32, "old_path": "/lib/loras/old", "path": "/lib/loras/new",
                         "fixable_by": "repair"}]}
    page = open_panel()
    page.wait_for_selector(".pumas-health.pumas-health-warnings")
    page.locator(".pumas-health").click()
    details = page.locator(".pumas-health-details").text_content()
    assert "Model folders moved by hand (1)" in details and "/lib/loras/new" in details
    assert page.locator(".pumas-repair-btn").is_enabled()


def test_rebuild_index_confirms_then_runs(open_panel, server):
    page = open_panel()
    page.locator(".pumas-health").click()
    page.locator(".pumas-rebuild-btn").click()
    page.locator(".pumas-confirm button", has_text="Cancel").click()
    assert not server.posted("/pumas/rebuild")
    page.locator(".pumas-rebuild-btn").click()
    page.locator(".pumas-confirm button", has_text="Rebuild").click()
    page.wait_for_selector(".pumas-job-running[data-stage='scanning'], .pumas-job-done")
    page.wait_for_selector(".pumas-job-done")
    assert server.posted("/pumas/rebuild")
    page.wait_for_function("window.__app.refreshCount >= 1")


def test_offline_note_and_remount_keeps_state(open_panel, server):
    server.offline = True
    page = open_panel()
    page.get_by_text("Using cached data (offline)").wait_for()
    page.locator(".pumas-search").fill("model_00025")
    page.wait_for_function("document.querySelectorAll('.pumas-row').length === 1")
    page.evaluate("window.__app.remount()")
    assert page.locator(".pumas-panel").count() == 1
    assert page.locator(".pumas-search").input_value() == "model_00025"
    assert page.locator(".pumas-row").count() == 1


def test_toast_feature_detection(open_panel):
    page = open_panel()
    result = page.evaluate("""async () => {
        const { notify } = await import('/extensions/pumas/lib/toast.js');
        const seen = [];
        const newer = { extensionManager: { toast: { add: () => seen.push('add'),
            success: (t, o) => seen.push('success:' + t + ':' + o.description),
            warning: (t) => seen.push('warning:' + t) } } };
        const older = { extensionManager: { toast: { add: (t) => seen.push('add:' + t.severity + ':' + t.summary) } } };
        notify(newer, 'success', 'A', 'd'); notify(newer, 'warn', 'B'); notify(older, 'error', 'C');
        return [seen, notify({}, 'info', 'x')];
    }""")
    assert result == [["success:A:d", "warning:B", "add:error:C"], False]


# ---- against the real `pumas serve` with a real library on disk ------------------------------

def _real_toast(page, severity="success"):
    return page.wait_for_selector(f"#pumas-toasts .pumas-toast[data-severity='{severity}']",
                                  timeout=20_000).text_content()


def test_real_serve_import_by_path_and_details(open_real, real_serve, real):
    import blake3

    src = copy_real(real("minilm/model.safetensors"), real_serve.import_root, "all-MiniLM-L6-v2.safetensors")
    page = open_real()
    page.wait_for_selector(".pumas-health.pumas-health-healthy")
    page.locator(".pumas-browse-btn").click()
    page.locator(".pumas-browser .pumas-dir").first.click()
    page.locator(".pumas-browser .pumas-file", has_text="all-MiniLM-L6-v2").click()
    page.locator(".pumas-import-mode").select_option("copy")
    page.locator(".pumas-import-btn").click()
    assert "Imported 1 model" in _real_toast(page)
    page.locator(".pumas-search").fill("MiniLM")
    page.wait_for_selector(".pumas-row")
    page.locator(".pumas-row").first.click()
    page.wait_for_selector(".pumas-details-name")
    text = page.locator(".pumas-details").text_content()
    assert f"blake3:{blake3.blake3(src.read_bytes()).hexdigest()}" in text
    assert "safetensors" in text and "Safe format" in text
    shot(page, "real-details")


def test_real_serve_drop_upload(open_real, real_serve, real):
    page = open_real()
    _drop(page, "silero vad é.safetensors", real("silero/silero_vad_16k.safetensors").read_bytes())
    assert "Imported 1 model" in _real_toast(page)
    page.locator(".pumas-search").fill("silero")
    page.wait_for_selector(".pumas-row")


def test_real_serve_pickle_needs_acknowledgement(open_real, real_serve, real):
    src = copy_real(real("lpips/v0.1/alex.pth"), real_serve.import_root)
    page = open_real()
    page.locator(".pumas-import-path").fill(str(src))
    page.locator(".pumas-import-btn").click()
    page.locator(".pumas-warning").wait_for()
    assert page.locator(".pumas-pickle-go").is_disabled()
    page.get_by_label("I understand the risks").check()
    page.locator(".pumas-pickle-go").click()
    assert "Imported 1 model" in _real_toast(page)
    page.locator(".pumas-search").fill("alex")
    page.locator(".pumas-row").first.click()
    page.wait_for_selector(".pumas-details .pumas-tier-pickle")

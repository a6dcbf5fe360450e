"""The panel shows and acts on what the library really stores ("Know every model"): trust badges,
upstream matches, low-confidence confirmation, incomplete sets, pending lookups, pickle findings,
phantom files, installs and Sync now — in headless Chromium against the stand-in routes and against
the real ``pumas serve`` with a real library and a loopback fake Hub. Screenshots: test-artifacts/."""

from __future__ import annotations

import pytest
from browser_support import copy_real, shot, toasts, wait_until
from panel_fake import make_model

pytestmark = pytest.mark.browser

TRUSTS = [("verified", "hash", "Verified", "matched by file hash"),
          ("high", "filename_exact", "High confidence", "matched by exact file name"),
          ("low", "filename_fuzzy", "Low confidence", "matched by a similar file name"),
          ("none", "none", "Unknown", "no match found")]
MIRROR = "https://hf-mirror.example"


def _select(page, name):
    page.locator(".pumas-search").fill(name)
    page.wait_for_function(f"[...document.querySelectorAll('.pumas-row-name')].some(e => e.textContent === {name!r})")
    page.locator(".pumas-row-name", has_text=name).first.click()
    page.wait_for_function(f"document.querySelector('.pumas-details-name')?.textContent === {name!r}")


def test_trust_badges_for_every_value(open_panel, server):
    for i, (trust, source, _, _) in enumerate(TRUSTS):
        server.models.insert(0, make_model(700 + i, f"trust_{trust}.safetensors", trust=trust, match_source=source))
    server.models[3]["huggingface"] = {"repo_id": "org/verified-repo",
                                       "url": f"{MIRROR}/org/verified-repo/resolve/abc/m.safetensors"}
    page = open_panel()
    for trust, _source, label, tip in TRUSTS:
        name = f"trust_{trust}.safetensors"
        dot = page.locator(f".pumas-row[aria-label^='{name}'] .pumas-trust-dot")
        page.locator(".pumas-search").fill(name)
        dot.wait_for()
        assert dot.get_attribute("data-trust") == trust and tip in dot.get_attribute("title")
        _select(page, name)
        badge = page.locator(".pumas-details .pumas-trust")
        assert badge.inner_text() == label
        assert badge.get_attribute("title") == f"{label}: {tip}"
        if trust == "verified":
            # the repo page is on the host huggingface.url names, never a hard-coded huggingface.co
            link = page.locator(f".pumas-details a[href='{MIRROR}/org/verified-repo']")
            assert link.inner_text() == "org/verified-repo"
            assert page.locator(".pumas-details a", has_text="file").get_attribute("href").startswith(MIRROR + "/")
            shot(page, "details-verified")


def test_low_confidence_confirm_and_reject(open_panel, server):
    hub = {"repo_id": "org/maybe", "url": None, "license": "apache-2.0"}
    a = make_model(801, "maybe_a.safetensors", trust="low", match_source="filename_fuzzy", huggingface=dict(hub))
    b = make_model(802, "maybe_b.safetensors", trust="low", match_source="filename_fuzzy", huggingface=dict(hub),
                   civitai={"model_id": 5, "name": "Maybe B", "page_url": "https://civitai.example/models/5"})
    server.models[:0] = [a, b]
    page = open_panel()
    _select(page, "maybe_a.safetensors")
    box = page.locator(".pumas-confirm-match")
    assert "is this org/maybe?" in box.inner_text() and "similar file name" in box.inner_text()
    assert page.locator(".pumas-details a[href='https://huggingface.co/org/maybe']").count() == 1
    shot(page, "low-confidence")
    page.get_by_role("button", name="Confirm match").click()
    page.wait_for_function("document.querySelector('.pumas-details .pumas-trust')?.textContent === 'High confidence'")
    assert ("metadata", a["model_id"], {"match_source": "manual", "trust": "high"}) in server.bodies
    assert page.locator(".pumas-confirm-match").count() == 0
    assert page.locator(".pumas-details .pumas-manual").count() == 1
    _select(page, "maybe_b.safetensors")
    assert page.locator(".pumas-details a[href='https://civitai.example/models/5']").inner_text() == "Maybe B"
    page.get_by_role("button", name="Not this model").click()
    page.wait_for_function("document.querySelector('.pumas-details .pumas-trust')?.textContent === 'Unknown'")
    assert ("metadata", b["model_id"], {"huggingface": None, "civitai": None, "trust": "none",
                                        "match_source": "manual"}) in server.bodies
    assert page.locator(".pumas-details .pumas-hf").count() == 0
    assert not any(t[0] == "error" for t in toasts(page))


def test_mark_as_manual(open_panel, server):
    m = make_model(803, "keep_me.safetensors", trust="high", match_source="filename_exact")
    server.models.insert(0, m)
    page = open_panel()
    _select(page, "keep_me.safetensors")
    page.get_by_role("button", name="Mark as manual").click()
    page.wait_for_selector(".pumas-details .pumas-manual")
    assert ("metadata", m["model_id"], {"match_source": "manual"}) in server.bodies
    assert page.get_by_role("button", name="Mark as manual").count() == 0


def test_incomplete_set_download_missing(open_panel, server):
    shards = [f"model-0000{i}-of-00004.safetensors" for i in (1, 3, 4)]
    m = make_model(810, "big-model-sharded", format="sharded-set", complete=False,
                   missing_files=["model-00002-of-00004.safetensors"], trust="verified",
                   files=[{"name": n, "size": 10, "sha256": "a" * 64, "blake3": "b" * 64} for n in shards],
                   huggingface={"repo_id": "org/big-model", "url": None})
    orphan = make_model(811, "no-match-sharded", format="sharded-set", complete=False,
                        missing_files=["x-00001-of-00002.safetensors"], trust="none", match_source="none")
    server.models[:0] = [m, orphan]
    page = open_panel()
    page.locator(".pumas-search").fill("sharded")
    page.wait_for_function("document.querySelectorAll('.pumas-row .pumas-incomplete').length === 2")
    _select(page, "no-match-sharded")
    assert page.get_by_role("button", name="Download missing shards").count() == 0
    assert "No HuggingFace match yet" in page.locator(".pumas-incomplete-box").inner_text()
    _select(page, "big-model-sharded")
    box = page.locator(".pumas-incomplete-box")
    assert "model-00002-of-00004.safetensors" in box.inner_text()
    assert page.locator(".pumas-details .pumas-badge.pumas-incomplete").inner_text() == "Incomplete set"
    shot(page, "incomplete-set")
    page.get_by_role("button", name="Download missing shards").click()
    page.wait_for_selector(".pumas-job-running[data-stage='downloading'], .pumas-job-done")
    page.wait_for_function("window.__app.toasts.some(t => t.severity === 'success'"
                           " && t.detail.startsWith('Imported 1'))")
    assert ("download-missing", m["model_id"], {}) in server.bodies
    page.wait_for_function("!document.querySelector('.pumas-incomplete-box') && "
                           "document.querySelector('.pumas-details-name')?.textContent === 'big-model-sharded'")
    assert server.models[0]["complete"] is True and server.models[0]["model_id"] != m["model_id"]
    page.wait_for_function("window.__app.refreshCount >= 1")


def test_pending_lookup_and_look_up_now(open_panel, server):
    server.offline = True
    m = make_model(820, "pending_one.safetensors", trust="none", match_source="none", pending_online_lookup=True)
    server.models.insert(0, m)
    page = open_panel()
    page.get_by_text("Using cached data (offline)").wait_for()
    page.locator(".pumas-search").fill("pending_one")
    page.wait_for_selector(".pumas-row .pumas-pending")
    _select(page, "pending_one.safetensors")
    assert "(offline)" in page.locator(".pumas-pending-box").inner_text()
    assert page.locator(".pumas-details .pumas-badge.pumas-pending").inner_text() == "Lookup pending"
    shot(page, "pending-lookup")
    page.get_by_role("button", name="Look up now").click()
    page.wait_for_function("document.querySelector('.pumas-details .pumas-trust')?.textContent === 'High confidence'")
    assert ("lookup", None, {"model_ids": [m["model_id"]]}) in server.bodies
    assert page.locator(".pumas-pending-box").count() == 0
    assert any("Lookup finished: 1 updated" in t[2] for t in toasts(page))


def test_pickle_findings_phantoms_and_upstream_details(open_panel, server):
    m = make_model(830, "legacy.pt", file_format="pickle", security_tier="pickle", trust="verified",
                   pickle_scan={"legacy.pt": {"dangerous": [], "suspicious": ["torch._utils._rebuild_tensor_v2"],
                                              "error": None}},
                   phantom_files=["legacy.pt"], parameter_count=22_713_216, precision="fp16", base_model="SD 1.5",
                   license="creativeml-openrail-m", trained_words=["<lora:x>", "shiny"],
                   civitai={"model_id": 9, "name": "Legacy", "page_url": "javascript:alert(1)"},
                   identification={"evidence": ["tensor prefix 'model.diffusion_model.'"],
                                   "detected_type": "checkpoint",
                                   "type_source": "content"})
    server.models.insert(0, m)
    page = open_panel(height=1100)
    _select(page, "legacy.pt")
    text = page.locator(".pumas-details").inner_text()
    assert "suspicious globals torch._utils._rebuild_tensor_v2" in page.locator(".pumas-scan").inner_text()
    assert "22.7M" in text and "fp16" in text and "SD 1.5" in text and "creativeml-openrail-m" in text
    assert page.locator(".pumas-word").all_inner_texts() == ["<lora:x>", "shiny"]
    assert page.locator(".pumas-details a[href^='javascript']").count() == 0   # unsafe URL is not a link
    phantom = page.locator(".pumas-phantoms")
    assert "legacy.pt" in phantom.inner_text()
    red = phantom.evaluate("e => getComputedStyle(e).color")
    assert red == "rgb(255, 68, 68)", red
    assert not page.locator(".pumas-evidence").evaluate("e => e.open")
    page.locator(".pumas-evidence summary").click()
    assert "Detected type: checkpoint (content)" in page.locator(".pumas-evidence").inner_text()
    shot(page, "details-pickle-phantom")


def test_register_install_and_sync_now(open_panel, server, tmp_path):
    comfy = tmp_path / "ComfyUI"
    comfy.mkdir()
    (comfy / "main.py").write_text("# ComfyUI stand-in\n")
    page = open_panel(height=1000)
    page.locator(".pumas-health").click()
    page.get_by_text("No ComfyUI install registered yet.").wait_for()
    assert page.locator(".pumas-sync-btn").is_disabled()
    page.locator(".pumas-app-path").fill(str(tmp_path))
    page.locator(".pumas-app-add").click()
    page.locator(".pumas-app-error").wait_for()
    assert "not a ComfyUI folder" in page.locator(".pumas-app-error").inner_text()
    page.locator(".pumas-app-path").fill(str(comfy))
    page.locator(".pumas-app-add").click()
    page.wait_for_selector(".pumas-app")
    assert str(comfy) in page.locator(".pumas-app").inner_text() and "0.3.64" in page.locator(".pumas-app").inner_text()
    page.locator(".pumas-sync-btn").click()
    page.locator(".pumas-sync-preview [data-card='to create'] b").wait_for()
    assert page.locator(".pumas-sync-preview [data-card='to create'] b").inner_text() == "1"
    assert ("sync/preview", None, {}) in server.bodies and not any(t == "sync" for t, _, _ in server.bodies)
    page.locator(".pumas-sync-apply").click()
    page.wait_for_function("window.__app.toasts.some(t => t.detail === 'Sync finished')")
    assert ("sync", None, {"resolutions": {}}) in server.bodies
    wait_until(lambda: page.evaluate("window.__app.refreshCount") >= 1)
    shot(page, "installs")


# ---- the real `pumas serve`, a real library on disk, a loopback fake Hub -----------------------

@pytest.fixture
def seeded_serve(tmp_path, hub, civitai, minilm_sharded_set, real):
    """``pumas serve`` over a library holding (1) MiniLM as a Sharded Set missing one shard, matched to
    ``acme/minilm-sharded`` with low confidence, and (2) MiniLM's model.safetensors, lookup pending."""
    from fakes.hub import FakeRepo, file_from_path
    from fixture_builders import clone_tree
    from panel_real import RealServe

    from pumas_core.facade import Library
    from pumas_core.remote import LookupResult

    s, rev = minilm_sharded_set, "c" * 40
    hub.add_repo(FakeRepo("acme/minilm-sharded", rev, [file_from_path(s.folder / n, n) for n in [*s.shards, s.index]]))
    hub.seed_minilm(real("minilm/model.safetensors").parent)
    srv = RealServe(tmp_path, env={"PUMAS_OFFLINE": None, "HF_ENDPOINT": hub.url,
                                   "PUMAS_CIVITAI_ENDPOINT": civitai.url})
    src = clone_tree(s.folder, tmp_path / "incoming" / "minilm-sharded")
    (src / s.shards[1]).unlink()
    single = copy_real(real("minilm/model.safetensors"), tmp_path / "incoming", "all-MiniLM-L6-v2.safetensors")
    with Library.open(srv.library, srv.state) as lib:   # offline in the test process: no lookup here
        the_set = lib.import_paths([src], lookup=False)["imported"][0]
        lib.lookups.apply(the_set["model_id"], LookupResult(
            match_source="filename_fuzzy", trust="low", huggingface={
                "repo_id": "acme/minilm-sharded", "revision": rev, "path": s.shards[0],
                "url": f"{hub.url}/acme/minilm-sharded/resolve/{rev}/{s.shards[0]}"}))
        lib.import_paths([single], lookup=False)
    srv.start()
    yield srv, the_set, s.shards[1], hub
    srv.stop()


def test_real_serve_confirm_download_missing_and_look_up_now(browser, seeded_serve):
    from pumas_core.library.metadata import read_metadata

    srv, the_set, gone, hub = seeded_serve
    page = browser.new_context(viewport={"width": 420, "height": 1000}).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(srv.url + "/")
        page.wait_for_function("document.querySelectorAll('.pumas-row .pumas-incomplete').length === 1")
        _select(page, the_set["official_name"])
        assert gone in page.locator(".pumas-incomplete-box").inner_text()
        assert page.locator(".pumas-details .pumas-trust").inner_text() == "Low confidence"
        assert page.locator(f".pumas-details a[href='{hub.url}/acme/minilm-sharded']").count() == 1
        shot(page, "real-incomplete-low")
        page.get_by_role("button", name="Confirm match").click()
        page.wait_for_function("document.querySelector('.pumas-details .pumas-trust')?.textContent"
                               " === 'High confidence'")
        meta = read_metadata(the_set["path"])
        assert meta["trust"] == "high" and meta["match_source"] == "manual"
        page.get_by_role("button", name="Download missing shards").click()
        page.wait_for_selector("#pumas-toasts .pumas-toast[data-severity='success']", timeout=30_000)
        page.wait_for_function("!document.querySelector('.pumas-incomplete-box') && "
                               "!document.querySelector('.pumas-row .pumas-incomplete')", timeout=15_000)
        assert page.locator(".pumas-details-name").inner_text() == the_set["official_name"]
        assert "Files" in page.locator(".pumas-details").inner_text()
        _select(page, "all-MiniLM-L6-v2.safetensors")
        assert page.locator(".pumas-details .pumas-pending").inner_text() == "Lookup pending"
        page.get_by_role("button", name="Look up now").click()
        page.wait_for_function("document.querySelector('.pumas-details .pumas-trust')?.textContent === 'Verified'",
                               timeout=30_000)
        link = page.locator(".pumas-details .pumas-hf a").first
        assert link.get_attribute("href") == f"{hub.url}/sentence-transformers/all-MiniLM-L6-v2"
        assert page.locator(".pumas-pending-box").count() == 0
        shot(page, "real-verified")
        assert errors == [], errors
    finally:
        page.context.close()

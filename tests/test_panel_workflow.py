"""The panel's "Resolve models of this workflow" on the graph open in the page (app.graph.serialize()),
against the real ``pumas serve`` with a real library and a ComfyUI tree: statuses listed, links made at
the template's names, refreshComboInNodes called, a second run creates nothing; identity written back."""

from __future__ import annotations

import json
import os

import pytest
from browser_support import shot
from panel_real import RealServe
from workflow_support import SILERO, load_template, staged

pytestmark = pytest.mark.browser

GRAPH_JS = """async (wf) => {
  const { app } = await import('/scripts/app.js');
  window.__graph = wf;
  window.__combos = 0;
  window.__loaded_graph = null;
  app.graph = { serialize: () => JSON.parse(JSON.stringify(window.__graph)) };
  app.refreshComboInNodes = async () => { window.__combos += 1; };
  app.loadGraphData = async (g) => { window.__loaded_graph = g; };
}"""


@pytest.fixture
def serve_with_install(tmp_path, comfy_tree):
    from pumas_core.facade import Library

    srv = RealServe(tmp_path)
    with Library.open(srv.library, srv.state) as lib:
        lib.import_paths([staged(tmp_path, SILERO, "ae.safetensors")], lookup=False)
        lib.add_app(comfy_tree)
    srv.start()
    yield srv, comfy_tree
    srv.stop()


def test_resolve_open_graph_from_the_panel(browser, serve_with_install):
    srv, comfy = serve_with_install
    page = browser.new_context(viewport={"width": 420, "height": 1000}).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(srv.url + "/")
        page.wait_for_selector(".pumas-panel")
        page.evaluate(GRAPH_JS, load_template("flux_schnell_full_text_to_image.json"))
        page.locator(".pumas-workflow summary").click()
        page.get_by_role("button", name="Resolve models of this workflow").click()
        page.wait_for_selector(".pumas-wf-ref")
        statuses = page.eval_on_selector_all(".pumas-wf-ref", "els => els.map(e => e.dataset.status)")
        assert sorted(statuses) == ["linked", "missing", "missing", "missing"]
        assert os.path.islink(comfy / "models" / "vae" / "ae.safetensors")
        page.wait_for_function("window.__combos === 1")
        assert page.locator(".pumas-wf-download").is_visible()  # the missing ones carry Hub URLs
        assert "huggingface.co" in page.locator(".pumas-wf-missing").first.inner_text()
        shot(page, "workflow-resolved")
        page.get_by_role("button", name="Resolve models of this workflow").click()
        page.wait_for_function("[...document.querySelectorAll('.pumas-wf-ref')]"
                               ".some(e => e.dataset.status === 'present')")
        assert "0 link(s) created" in page.locator(".pumas-wf-summary").inner_text()
        page.get_by_role("button", name="Write model hashes into workflow").click()
        page.wait_for_function("window.__loaded_graph !== null")
        g = page.evaluate("window.__loaded_graph")
        vae = next(n for n in g["nodes"] if n["type"] == "VAELoader")
        assert vae["properties"]["models"][0]["hash_type"] == "SHA256"
        assert len(vae["properties"]["models"][0]["hash"]) == 64
        template = load_template("flux_schnell_full_text_to_image.json")
        assert json.dumps(page.evaluate("window.__graph")) == json.dumps(template)
        assert errors == []
    finally:
        page.context.close()

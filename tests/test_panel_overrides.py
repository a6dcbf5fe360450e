"""The model details' "Overrides" block in headless Chromium against the real ``pumas serve`` (real
library, real symlinks into a ComfyUI 0.3.64 and a 0.3.59 tree): an invalid specifier shows the
server's message inline and writes nothing; ``<0.3.60`` takes the link out of the 0.3.64 install, keeps
it in the 0.3.59 one and says what the sync did; Clear removes the file and links the model again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_support import shot
from model_shapes import KOHYA_LORA
from panel_real import RealServe
from st_writer import write_safetensors
from test_routes_overrides import NAME, old_tree

pytestmark = pytest.mark.browser


@pytest.fixture
def serve_two_installs(tmp_path, comfy_tree):
    from pumas_core.facade import Library

    srv = RealServe(tmp_path)
    lora = write_safetensors(tmp_path / NAME, KOHYA_LORA, metadata={"ss_network_module": "networks.lora"})
    old = old_tree(tmp_path / "Old")
    with Library.open(srv.library, srv.state, create=True) as lib:
        model = lib.import_paths([lora], lookup=False)["imported"][0]
        lib.add_app(comfy_tree)
        lib.add_app(old)
        assert lib.sync()["created"] == 2
    srv.start()
    yield srv, model, comfy_tree / "models" / "loras" / NAME, old / "models" / "loras" / NAME
    srv.stop()


def test_edit_overrides_in_the_details(browser, serve_two_installs):
    srv, model, new_link, old_link = serve_two_installs
    page = browser.new_context(viewport={"width": 420, "height": 1000}).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(srv.url + "/")
        page.locator(".pumas-row-name", has_text=NAME).first.click()
        page.wait_for_function(f"document.querySelector('.pumas-details-name')?.textContent === {NAME!r}")
        page.locator(".pumas-overrides > summary").click()
        spec = page.locator(".pumas-ov-comfyui")
        spec.wait_for()
        assert spec.get_attribute("placeholder") == "<0.3.60"
        page.wait_for_function("document.querySelector('.pumas-ov-comfyui').value === ''")

        spec.fill("newer than 0.3")
        page.locator(".pumas-ov-save").click()
        error = page.locator(".pumas-ov-error")
        error.wait_for()
        assert "'newer than 0.3' is not a valid PEP 440 specifier" in error.inner_text()
        model_dir = Path(model["path"])
        assert not (model_dir / "overrides.json").exists() and new_link.is_symlink()

        spec.fill("<0.3.60")
        page.locator(".pumas-ov-tags").fill("ink, style")
        page.locator(".pumas-ov-save").click()
        # the details re-render (their links list changed) with the block open and the sync's result
        result = page.locator(".pumas-ov-result")
        result.wait_for()
        text = result.inner_text()
        assert "Links updated: 0 created, 1 removed" in text and "0.3.64 is not <0.3.60" in text, text
        assert not page.locator(".pumas-ov-error").is_visible()
        page.wait_for_function("document.querySelector('.pumas-ov-comfyui').value === '<0.3.60'")
        assert page.locator(".pumas-ov-tags").input_value() == "ink, style"
        page.locator(".pumas-details h4", has_text="Linked in (1)").wait_for()
        assert json.loads((model_dir / "overrides.json").read_text()) == {
            "versions": {"comfyui": "<0.3.60"}, "tags": ["ink", "style"]}
        assert not new_link.is_symlink() and old_link.is_symlink()
        page.locator(".pumas-ov-result").scroll_into_view_if_needed()
        shot(page, "overrides-saved")

        page.locator(".pumas-ov-clear").click()
        page.locator(".pumas-ov-result", has_text="Links updated: 1 created, 0 removed").wait_for()
        page.locator(".pumas-details h4", has_text="Linked in (2)").wait_for()
        assert page.locator(".pumas-ov-comfyui").input_value() == ""
        assert not (model_dir / "overrides.json").exists() and new_link.is_symlink() and old_link.is_symlink()
        assert errors == []
    finally:
        page.context.close()

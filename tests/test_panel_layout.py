"""The panel at ComfyUI's real sidebar widths (220 px default, 420 px widened, 1440 px full page):
details and their actions are never clipped, Health stays reachable, thumbnails show, the tab has
its own name. Screenshots go to ``test-artifacts/`` (CI keeps them)."""

from __future__ import annotations

import pytest
from browser_support import shot
from panel_fake import make_model
from panel_fake_extra import png_bytes

pytestmark = pytest.mark.browser

WIDTHS = [220, 420, 1440]

BOX_JS = """(sel) => { const el = document.querySelector(sel); if (!el) return null;
  const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, el.scrollWidth - el.clientWidth]; }"""


def _sized(page, width: int, height: int = 760):
    page.set_viewport_size({"width": width, "height": height})
    page.evaluate("([w, h]) => { const s = document.getElementById('sidebar');"
                  " s.style.width = w + 'px'; s.style.height = h + 'px'; }",
                  [width, height])
    page.wait_for_timeout(150)


def _inside(page, sel: str, container: str, width: int, height: int):
    box = page.evaluate(BOX_JS, sel)
    outer = page.evaluate(BOX_JS, container)
    assert box is not None, f"{sel} missing"
    left, top, right, bottom, _ = box
    o_left, o_top, o_right, o_bottom, _ = outer
    assert left >= o_left - 1 and right <= o_right + 1, (sel, box, outer)
    assert top >= o_top - 1 and bottom <= o_bottom + 1, (sel, box, outer)
    assert right <= width + 1 and bottom <= height + 1, (sel, box, width, height)


@pytest.mark.parametrize("width", WIDTHS)
def test_details_and_actions_fit_every_width(open_panel, server, width):
    long = "dreamshaper_8_pruned_emaonly_with_a_very_long_name_that_never_ends.safetensors"
    server.models.insert(0, make_model(900, long, base_model="SD1.5", model_type="checkpoint", trust="none",
                                       match_source="none"))
    server.previews[server.models[0]["model_id"]] = png_bytes(8, 8, (200, 80, 40))
    page = open_panel()
    _sized(page, width)
    assert page.evaluate("window.__app.tabs[0].title") == "Pumas"
    # thumbnails: an <img> for the model with a preview, a type glyph for the others
    page.wait_for_function("document.querySelector('.pumas-row .pumas-thumb-img')?.complete === true")
    assert page.evaluate("document.querySelector('.pumas-row .pumas-thumb-img').naturalWidth") == 8
    assert page.locator(".pumas-row .pumas-glyph").count() > 0
    shot(page, f"list-{width}")

    page.locator(".pumas-row").first.click()
    page.wait_for_selector(".pumas-details-name")
    for sel in (".pumas-details", ".pumas-drawer-actions", ".pumas-details-close",
                f".pumas-details button[aria-label='Delete {long}']", ".pumas-details .pumas-edit-type"):
        _inside(page, sel, ".pumas-panel", width, 760)
    assert page.evaluate(BOX_JS, ".pumas-drawer-body")[4] <= 0, "the details body scrolls sideways"
    # the type chip comes first; the trust badge is labelled as identity
    badges = page.locator(".pumas-details .pumas-badges").inner_text()
    assert badges.index("checkpoint") < badges.index("Unknown") and "IDENTITY" in badges.upper()
    # "Linked in" is inside the scrollable body and reachable by scrolling it
    page.locator(".pumas-details h4", has_text="Linked in").scroll_into_view_if_needed()
    _inside(page, ".pumas-details h4:nth-of-type(1)", ".pumas-drawer-body", width, 760)
    _inside(page, ".pumas-health", ".pumas-panel", width, 760)
    shot(page, f"details-{width}")

    # Health stays reachable: the badge closes the details and opens the health section
    page.locator(".pumas-health").click()
    page.wait_for_selector(".pumas-details", state="hidden")
    page.locator(".pumas-health-details .pumas-repair-btn").scroll_into_view_if_needed()
    _inside(page, ".pumas-health-details .pumas-repair-btn", ".pumas-panel", width, 760)
    shot(page, f"health-{width}")


def test_sort_and_filters(open_panel, server):
    server.models[:0] = [
        make_model(950, "aaa_big.safetensors", size_bytes=5 * 2**30, base_model="SDXL",
                   added_date="2026-01-01T00:00:00Z"),
        make_model(951, "aab_new.safetensors", size_bytes=10, base_model="Flux.1 D", added_date="2026-12-01T00:00:00Z",
                   trust="low", link_count=0),
        make_model(952, "aac_partial.safetensors", complete=False, missing_files=["x"],
                   added_date="2025-01-01T00:00:00Z"),
    ]
    page = open_panel()
    names = lambda: page.eval_on_selector_all(".pumas-row-name", "els => els.map(e => e.textContent)")  # noqa: E731
    page.wait_for_function("document.querySelector('.pumas-row-name')?.textContent === 'aaa_big.safetensors'")
    assert "5.0 GiB" in page.locator(".pumas-row").first.inner_text()
    page.locator(".pumas-sort").select_option("added")
    assert names()[0] == "aab_new.safetensors"
    page.locator(".pumas-sort").select_option("size")
    assert names()[0] == "aaa_big.safetensors"
    page.locator(".pumas-filters summary").click()
    page.locator(".pumas-base-filter").select_option("Flux.1 D")
    assert names() == ["aab_new.safetensors"]
    page.locator(".pumas-base-filter").select_option("")
    page.locator(".pumas-link-filter").select_option("unlinked")
    assert names() == ["aab_new.safetensors"]
    page.locator(".pumas-link-filter").select_option("")
    page.locator(".pumas-trust-filter").select_option("low")
    assert names() == ["aab_new.safetensors"]
    page.locator(".pumas-trust-filter").select_option("")
    page.locator(".pumas-attention-filter").check()
    assert names() == ["aac_partial.safetensors"]
    shot(page, "filters")

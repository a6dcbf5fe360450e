"""The panel's "Bring in models from this ComfyUI" wizard in Chromium against the real ``pumas serve``:
scan shows the plan, Adopt (confirmed) links every file, Undo (confirmed) restores the tree."""

from __future__ import annotations

import os

from adopt_fixtures import build, tree_state


def _toast(page, text: str) -> str:
    loc = page.locator("#pumas-toasts .pumas-toast", has_text=text)
    loc.first.wait_for(timeout=30_000)
    return loc.first.text_content()


def test_wizard_scan_adopt_undo(open_real, real_serve, real):
    from pumas_core.facade import Library

    t = build(real_serve.import_root / "trees", real, gguf=False)
    with Library.open(real_serve.library, real_serve.state) as lib:
        for c in t["installs"]:
            lib.add_app(c)
    before = tree_state(*t["roots"])
    page = open_real()
    page.locator(".pumas-adopt summary").click()
    page.locator(".pumas-adopt-scan").click()
    summary = page.locator(".pumas-adopt-summary")
    summary.wait_for(timeout=30_000)
    assert "9 files" in summary.text_content() and "duplicate groups" in summary.text_content()
    assert page.locator(".pumas-adopt-files li").count() >= 9
    assert tree_state(*t["roots"]) == before  # scanning changes nothing
    page.locator(".pumas-adopt-apply").click()
    page.locator(".pumas-adopt .pumas-confirm .pumas-danger").click()
    assert "Adopted 9 files" in _toast(page, "Adopted")
    assert all(os.path.islink(p) for p in t["models"])
    page.locator(".pumas-adopt-undo").first.click()
    page.locator(".pumas-adopt .pumas-confirm .pumas-danger").click()
    assert "Restored 9 files" in _toast(page, "Restored")
    assert tree_state(*t["roots"]) == before

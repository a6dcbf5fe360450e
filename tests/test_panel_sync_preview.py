"""The sync preview dialog in headless Chromium: conflicts with reasons, a choice per row, apply-to-all,
capped lists; nothing is sent to ``POST /pumas/sync`` until Apply."""

from __future__ import annotations

import pytest
from browser_support import shot

pytestmark = pytest.mark.browser


def conflict(i, reason="file_exists"):
    return {"link_path": f"/c/models/loras/style{i}.safetensors", "reason": reason,
            "message": "a real file is in the way",
            "model_id": f"{i:064x}", "target_path": f"/lib/lora/x/style{i}.safetensors"}


def test_preview_then_apply_with_choices(open_panel, server):
    server.apps.append({"app_id": "a1", "root": "/c", "version": "0.3.64", "last_sync_at": None})
    creates = [{"action": "create", "link_path": f"/c/models/checkpoints/m{i}.safetensors"} for i in range(45)]
    server.sync_preview = {"dry_run": True, "created": 45, "already_correct": 7, "removed_broken": 0,
                           "removed_stale": 2,
                           "conflicts": [conflict(1), conflict(2, "linked_to_different_source"),
                                         conflict(3, "already_linked")],
                           "planned": creates + [{"action": "remove_stale",
                                                  "link_path": "/c/models/vae/old.safetensors"},
                                                 {"action": "remove_stale",
                                                  "link_path": "/c/models/vae/old2.safetensors"}],
                           "warnings": ["/c/models/loras: the library is on another file system; "
                                        "absolute links will be used"],
                           "errors": []}
    page = open_panel(height=900)
    page.locator(".pumas-health").click()
    page.locator(".pumas-sync-btn").click()
    dlg = page.locator(".pumas-sync-preview")
    dlg.locator("[data-card='conflicts'] b").wait_for()
    assert dlg.locator("[data-card='conflicts'] b").inner_text() == "3"
    assert dlg.locator("[data-card='stale to remove'] b").inner_text() == "2"
    text = dlg.inner_text()
    assert "… and 35 more" in text and "A link to another file is there" in text and "another file system" in text
    box = dlg.locator(".pumas-dialog").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 420 + 1  # never clipped by the viewport
    shot(page, "sync-preview-420")
    dlg.get_by_label("Apply to all conflicts").select_option("backup")
    dlg.get_by_label("Choice for /c/models/loras/style2.safetensors").select_option("rename")
    assert not any(t == "sync" for t, _, _ in server.bodies)
    page.locator(".pumas-sync-apply").click()
    page.wait_for_function("window.__app.toasts.some(t => t.detail === 'Sync finished')")
    sent = [b for t, _, b in server.bodies if t == "sync"][0]
    assert sent == {"resolutions": {"/c/models/loras/style1.safetensors": "backup",
                                    "/c/models/loras/style2.safetensors": "rename",
                                    "/c/models/loras/style3.safetensors": "backup"}}


def test_cancel_sends_nothing(open_panel, server):
    server.apps.append({"app_id": "a1", "root": "/c", "version": "0.3.64", "last_sync_at": None})
    page = open_panel(height=800)
    page.set_viewport_size({"width": 220, "height": 800})
    page.locator(".pumas-health").click()
    page.locator(".pumas-sync-btn").click()
    page.locator(".pumas-sync-cancel").click()
    page.locator(".pumas-sync-preview").wait_for(state="detached")
    assert not any(t == "sync" for t, _, _ in server.bodies)

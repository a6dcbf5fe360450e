"""The panel says when the library itself is offline (issue 7 item 1): the status banner shows the
server's reason instead of an empty library."""

from __future__ import annotations


def test_offline_library_banner(open_panel, server):
    server.library_error = "library offline (/mnt/usb/library not mounted?): the library folder is missing"
    page = open_panel()
    note = page.locator(".pumas-offline")
    note.get_by_text("Library unavailable: library offline (/mnt/usb/library not mounted?)", exact=False).wait_for()
    assert note.is_visible()
    assert "/mnt/usb/library" in (note.get_attribute("title") or "")

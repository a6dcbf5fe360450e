"""Routes of :class:`panel_fake.PanelTestServer` added for settings, previews and repair results.

* ``GET/POST /api/pumas/settings`` — like ``pumas_core.settings``: ``import_roots`` must be existing
  absolute folders (400 otherwise); the roots then confine ``/browse`` and ``/import``.
* ``GET /api/pumas/models/{id}/preview`` — bytes from ``server.previews[id]`` (PNG), else 404.
* Repair/Clean answer ``server.fix_result`` (default: everything fixed) and apply ``server.after_fix``.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from aiohttp import web

IMPORT_MODE_HELP = None  # filled from pumas_core.settings on first use (the fake answers like the core)


def png_bytes(w: int, h: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid solid-colour PNG (8-bit RGB), built with zlib only."""
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def install(server, app: web.Application) -> None:
    """Add the extra routes (call before the catch-all ``/api/pumas/{tail}``)."""
    from pumas_core.settings import IMPORT_MODE_HELP as help_text

    server.previews = {}
    server.fix_result = None
    server.after_fix = None
    server.settings = {"library": "/lib", "library_configured": None, "state_dir": "/state",
                       "import_roots": [str(server.import_root)], "import_roots_configured": False,
                       "import_mode": "auto", "import_modes": ["auto", "copy", "move"],
                       "import_mode_help": help_text, "lookups": True}

    async def get_settings(request):
        return web.json_response(server.settings)

    async def post_settings(request):
        body = await request.json()
        server.bodies.append(("settings", None, body))
        for r in body.get("import_roots", []):
            if not os.path.isabs(r) or not os.path.isdir(r):
                return web.json_response({"error": f"import root {r}: not an existing absolute folder",
                                          "code": "bad_input"}, status=400)
        if "import_roots" in body:
            server.settings.update(import_roots=[os.path.realpath(r) for r in body["import_roots"]],
                                   import_roots_configured=True)
        for key in ("library", "import_mode", "lookups"):
            if key in body:
                server.settings[key] = body[key]
        return web.json_response(server.settings)

    async def preview(request):
        data = server.previews.get(request.match_info["model_id"])
        if data is None:
            return web.json_response({"error": "no preview image", "code": "not_found"}, status=404)
        return web.Response(body=data, content_type="image/png")

    app.router.add_get("/api/pumas/settings", get_settings)
    app.router.add_post("/api/pumas/settings", post_settings)
    app.router.add_get("/api/pumas/models/{model_id}/preview", preview)


def roots(server) -> list[Path]:
    """The folders ``/browse`` and ``/import`` accept."""
    return [Path(r) for r in getattr(server, "settings", {}).get("import_roots", [])] or [server.import_root]


def annotate(server, models: list[dict]) -> list[dict]:
    """``has_preview`` / ``link_count`` like ``pumas_core.listing.annotate``."""
    previews = getattr(server, "previews", {})
    return [{"link_count": 1, **m, "has_preview": m["model_id"] in previews} for m in models]


def fix(server, route: str) -> dict:
    """The Repair/Clean result, and the health afterwards."""
    result = server.fix_result or {"fixed": [], "not_fixed": []}
    server.health = server.after_fix or {"status": "healthy", "broken_links": [], "orphaned_links": [],
                                         "ghost_apps": [], "phantom_models": []}
    return result

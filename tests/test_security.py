"""Route safety: Host / Origin / Content-Type refusals on real aiohttp servers on 127.0.0.1
(the standalone app and a ComfyUI-shaped app), and path confinement."""

from __future__ import annotations

import json
import os

import pytest
from aiohttp import WSServerHandshakeError

from comfyui_pumas_node.security import HostPolicy, confine, split_host
from pumas_core.errors import BadInputError, PathNotAllowedError

JSON_CT = {"Content-Type": "application/json"}


@pytest.fixture
def client(both_servers):
    """The standalone app and the ComfyUI-shaped app, each in turn (``routes_support.both_servers``)."""
    return both_servers


def host(c) -> str:
    return f"127.0.0.1:{c.server.port}"


async def expect(resp, status, code):
    body = await resp.json()
    assert resp.status == status, body
    assert body["code"] == code, body
    return body


@pytest.mark.asyncio
@pytest.mark.parametrize("prefix", ["", "/api"])
async def test_dns_rebinding_host_refused(client, prefix):
    r = await client.get(prefix + "/pumas/jobs", headers={"Host": f"evil.example:{client.server.port}"})
    body = await expect(r, 403, "bad_host")
    assert "evil.example" in body["error"]
    # a matching Origin does not help (ComfyUI's own middleware lets this through)
    r = await client.post(prefix + "/pumas/import", data=b"{}", headers={
        **JSON_CT, "Host": "evil.example", "Origin": "http://evil.example"})
    await expect(r, 403, "bad_host")


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]"])
async def test_loopback_names_accepted(client, name):
    r = await client.get("/api/pumas/jobs", headers={"Host": f"{name}:{client.server.port}"})
    assert r.status == 200
    assert await r.json() == {"jobs": []}


@pytest.mark.asyncio
async def test_origin_null_refused(client):
    r = await client.post("/pumas/import", data=b'{"paths": []}', headers={**JSON_CT, "Origin": "null"})
    await expect(r, 403, "bad_origin")


@pytest.mark.asyncio
@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:{port}", "http://127.0.0.1:1",
                                    "http://127.0.0.1", "not a url"])
async def test_foreign_origin_refused(client, origin):
    origin = origin.format(port=client.server.port)
    r = await client.post("/api/pumas/import", data=b'{"paths": []}', headers={**JSON_CT, "Origin": origin})
    await expect(r, 403, "bad_origin")


@pytest.mark.asyncio
async def test_same_origin_passes_checks(client):
    # reaches the handler, which rejects the empty list itself
    r = await client.post("/api/pumas/import", data=b'{"paths": []}',
                          headers={**JSON_CT, "Origin": f"http://{host(client)}", "Sec-Fetch-Site": "same-origin"})
    await expect(r, 400, "bad_input")


@pytest.mark.asyncio
async def test_cross_site_fetch_refused(client):
    r = await client.post("/pumas/import", data=b'{"paths": []}', headers={**JSON_CT, "Sec-Fetch-Site": "cross-site"})
    await expect(r, 403, "bad_origin")


@pytest.mark.asyncio
@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
async def test_post_needs_json_content_type(client, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    for path in ("/pumas/import", "/pumas/sync", "/pumas/settings", "/pumas/models/x/delete"):
        r = await client.post(path, data=json.dumps({"paths": ["/etc/passwd"]}).encode(), headers=headers)
        await expect(r, 415, "bad_content_type")


@pytest.mark.asyncio
async def test_upload_needs_octet_stream(client):
    r = await client.post("/pumas/upload", data=b"{}", headers={**JSON_CT, "X-Pumas-Filename": "a.safetensors"})
    await expect(r, 415, "bad_content_type")


@pytest.mark.asyncio
async def test_no_state_change_on_get(client):
    for path in ("/pumas/import", "/pumas/upload", "/pumas/sync", "/pumas/health/repair", "/pumas/health/clean",
                 "/pumas/relocate", "/pumas/rebuild", "/pumas/models/abc/delete", "/pumas/models/abc/metadata"):
        r = await client.get(path)
        assert r.status in (404, 405), path


@pytest.mark.asyncio
async def test_import_path_traversal_refused(client, env):
    secret = env.tmp / "secret.safetensors"
    secret.write_bytes(b"x" * 64)
    (env.incoming / "sub").mkdir()
    (env.incoming / "escape.safetensors").symlink_to(secret)
    (env.incoming / "escape_dir").symlink_to(env.tmp)
    for p in (f"{env.incoming}/../secret.safetensors", f"{env.incoming}/sub/../../secret.safetensors",
              str(env.incoming / "escape.safetensors"), str(env.incoming / "escape_dir" / "secret.safetensors"),
              "/etc/passwd", str(secret)):
        r = await client.post("/pumas/import", data=json.dumps({"paths": [p]}).encode(), headers=JSON_CT)
        body = await expect(r, 403, "path_not_allowed")
        assert "outside" in body["error"]
    for bad in ("relative/x.safetensors", "", "a\x00b", 5):
        r = await client.post("/pumas/import", data=json.dumps({"paths": [bad]}).encode(), headers=JSON_CT)
        await expect(r, 400, "bad_input")
    assert not any(env.root.rglob("*.safetensors")), "nothing may be imported"


@pytest.mark.asyncio
async def test_browse_confined_to_import_roots(client, env):
    (env.incoming / "a").mkdir()
    (env.incoming / "a" / "m.safetensors").write_bytes(b"0" * 10)
    (env.incoming / "notes.txt").write_text("no")
    (env.incoming / "out").symlink_to(env.tmp)
    r = await client.get("/pumas/browse")
    body = await r.json()
    assert r.status == 200 and body["roots"] == [os.path.realpath(env.incoming)]
    r = await client.get("/pumas/browse", params={"path": str(env.incoming)})
    body = await r.json()
    assert [e["name"] for e in body["entries"]] == ["a"], "files filtered, escaping symlink hidden"
    assert body["parent"] is None
    r = await client.get("/pumas/browse", params={"path": str(env.incoming / "a")})
    body = await r.json()
    assert body["entries"] == [{"name": "m.safetensors", "path": str(env.incoming / "a" / "m.safetensors"),
                                "is_dir": False, "size": 10}]
    assert body["parent"] == str(env.incoming)
    for p in (str(env.tmp), f"{env.incoming}/..", str(env.incoming / "out"), "/"):
        r = await client.get("/pumas/browse", params={"path": p})
        await expect(r, 403, "path_not_allowed")


@pytest.mark.asyncio
async def test_websocket_checks_origin(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    c = await aiohttp_client(create_app(host="127.0.0.1"))
    with pytest.raises(WSServerHandshakeError) as err:
        await c.ws_connect("/pumas/ws", origin="http://evil.example")
    assert err.value.status == 403
    ws = await c.ws_connect("/api/pumas/ws", origin=f"http://127.0.0.1:{c.server.port}")
    await ws.close()


@pytest.mark.asyncio
async def test_standalone_static_checks_host(env, aiohttp_client):
    from comfyui_pumas_node.standalone import create_app

    c = await aiohttp_client(create_app(host="127.0.0.1"))
    r = await c.get("/", headers={"Host": "rebind.example"})
    assert r.status == 403
    r = await c.get("/")
    assert r.status == 200 and "<title>Pumas Library</title>" in await r.text()


# -- unit level ------------------------------------------------------------------------------------

def test_confine(tmp_path):
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "inside_link").symlink_to(root / "d")
    (root / "outside_link").symlink_to(tmp_path)
    assert confine(str(root / "d"), [root]) == root / "d"
    assert confine(str(root / "inside_link"), [root]) == root / "d"
    assert confine(str(root), [root]) == root
    for bad in (root / "outside_link", root / ".." / "x", tmp_path / "rootx", tmp_path):
        with pytest.raises(PathNotAllowedError) as e:
            confine(str(bad), [root])
        assert str(bad) in str(e.value)
    with pytest.raises(PathNotAllowedError):
        confine(str(root / "d"), [])
    for bad in ("", "rel/x", "a\x00", None, 3):
        with pytest.raises(BadInputError):
            confine(bad, [root])


def test_host_policy(monkeypatch):
    monkeypatch.delenv("PUMAS_ALLOWED_HOSTS", raising=False)
    p = HostPolicy.from_listen("0.0.0.0,192.168.1.5")
    assert p.allows("localhost", None) and p.allows("::1", None) and p.allows("192.168.1.5", None)
    assert not p.allows("0.0.0.0", None) and not p.allows("evil.example", "127.0.0.1")
    assert p.allows("10.0.0.7", "10.0.0.7") and not p.allows("10.0.0.8", "10.0.0.7")
    assert p.allows("10.0.0.7", "::ffff:10.0.0.7")
    monkeypatch.setenv("PUMAS_ALLOWED_HOSTS", "comfy.lan")
    assert HostPolicy.from_listen().allows("comfy.lan", None)
    monkeypatch.setenv("PUMAS_ALLOWED_HOSTS", "*")
    assert HostPolicy.from_listen().allows("anything.example", None)


def test_split_host():
    assert split_host("[::1]:8188") == ("::1", 8188)
    assert split_host("LocalHost") == ("localhost", None)
    assert split_host("example.com", 80) == ("example.com", 80)
    for bad in ("a/b", "user@host", "host?x"):
        with pytest.raises(ValueError):
            split_host(bad)

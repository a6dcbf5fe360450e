"""What a real ComfyUI resolves (opt-in, like ``test_comfyui_e2e.py``; skipped unless ``PUMAS_COMFYUI_DIR`` and
``PUMAS_COMFYUI_PYTHON`` are set, see ``docs/comfyui-e2e.md``).

One boot of ComfyUI on CPU with this pack and an ``extra_model_paths.yaml`` of two sections: ``first``
(``is_default: true``, so ComfyUI searches it *before* ``models/checkpoints``) holds a file named like one
of the library's checkpoints, ``last`` (appended after ``models/``) holds a file named like the other.
Checked against the live process: the prestartup boot sync made the links before the server answered;
ComfyUI's own ``folder_paths.get_full_path`` (asked through a test-only probe pack written into the
temporary ``custom_nodes``) returns the other file for the first name and our link for the second, and
``/pumas/health`` reports exactly the first as shadowed; the panel's JS is served and lists that section;
a diffusers folder removed from the library by hand makes ``/models/diffusers`` answer 500 until a sync
removes the dangling directory link, after which it answers 200; no error from the pack in the log.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

import pytest
from comfyui_runner import ComfyUI
from model_shapes import SD15_CHECKPOINT
from st_writer import write_safetensors

pytestmark = pytest.mark.skipif(
    not (os.environ.get("PUMAS_COMFYUI_DIR") and os.environ.get("PUMAS_COMFYUI_PYTHON")),
    reason="no ComfyUI checkout given (PUMAS_COMFYUI_DIR / PUMAS_COMFYUI_PYTHON; docs/comfyui-e2e.md)")

PROBE = '''# test-only: asks the live folder_paths what ComfyUI resolves
import folder_paths
from aiohttp import web
from server import PromptServer


@PromptServer.instance.routes.get("/probe/full_path")
async def _full_path(request):
    q = request.rel_url.query
    return web.json_response({"full_path": folder_paths.get_full_path(q["key"], q["name"]),
                              "paths": folder_paths.get_folder_paths(q["key"])})

NODE_CLASS_MAPPINGS = {}
'''


def _ckpt(path, size):
    shapes = dict(SD15_CHECKPOINT)
    shapes["model.diffusion_model.out.0.weight"] = ("F16", [size])
    return write_safetensors(path, shapes)


def _diffusers(dest):
    (dest / "unet").mkdir(parents=True)
    (dest / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline",
                                                       "_diffusers_version": "0.6.0",
                                                       "unet": ["diffusers", "UNet2DConditionModel"]}))
    (dest / "unet" / "config.json").write_text(json.dumps({"_class_name": "UNet2DConditionModel"}))
    write_safetensors(dest / "unet" / "diffusion_pytorch_model.safetensors", {"conv_in.weight": ("F16", [8, 4, 3, 3])})
    return dest


def _status(comfy: ComfyUI, path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(comfy.url + path, timeout=30) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), ""


def _sync(comfy: ComfyUI) -> dict:
    status, body = comfy.post("/api/pumas/sync", {})
    assert status in (200, 202), body
    job = body.get("job") or body.get("job_id")
    return comfy.wait_job(job)["result"] if job else body


@pytest.fixture
def install(tmp_path):
    from pumas_core.facade import Library

    base, library, state, src = (tmp_path / n for n in ("base", "library", "state", "src"))
    for key in ("checkpoints", "loras", "vae", "diffusers"):
        (base / "models" / key).mkdir(parents=True)
    (base / "custom_nodes" / "pumas_probe").mkdir(parents=True)
    (base / "custom_nodes" / "pumas_probe" / "__init__.py").write_text(PROBE)
    src.mkdir()
    with Library.open(library, state) as lib:
        r = lib.import_paths([_ckpt(src / "shadowme_sd15.safetensors", 3), _ckpt(src / "plain_sd15.safetensors", 5),
                              _diffusers(src / "tinydiff")], lookup=False)
        assert len(r["imported"]) == 3, r
    for root, name in (("extra_first", "shadowme_sd15.safetensors"), ("extra_last", "plain_sd15.safetensors")):
        (tmp_path / root / "checkpoints").mkdir(parents=True)
        (tmp_path / root / "checkpoints" / name).write_bytes(b"a user's own file in " + root.encode())
    yaml = tmp_path / "extra_model_paths.yaml"
    yaml.write_text(f"first:\n    base_path: {tmp_path / 'extra_first'}\n    is_default: true\n"
                    f"    checkpoints: checkpoints\nlast:\n    base_path: {tmp_path / 'extra_last'}\n"
                    "    checkpoints: checkpoints\n")
    env = {"PUMAS_LIBRARY": str(library), "PUMAS_STATE": str(state), "PUMAS_OFFLINE": "1"}
    return tmp_path, base, env, ("--extra-model-paths-config", str(yaml))


def test_shadowed_link_and_dangling_directory_link_in_real_comfyui(install):
    tmp, base, env, args = install
    t0 = time.monotonic()
    comfy = ComfyUI(base, env, args).start()
    try:
        boot_s = time.monotonic() - t0
        log = comfy.log_text()
        lines = [ln for ln in log.splitlines() if ln.startswith("[pumas] boot sync")]
        assert lines and lines[0].startswith("[pumas] boot sync: 3 created"), log  # prestartup, before the server
        assert "PRESTARTUP FAILED" not in log and not [ln for ln in log.splitlines()
                                                        if "IMPORT FAILED" in ln and "pumas" in ln], log
        ckpts = base / "models" / "checkpoints"
        link = base / "models" / "diffusers" / "tinydiff"
        assert (ckpts / "shadowme_sd15.safetensors").is_symlink() and link.is_dir()
        assert {"shadowme_sd15.safetensors", "plain_sd15.safetensors"} <= set(comfy.get("/models/checkpoints"))

        # ComfyUI's own resolution, asked inside the live process
        first = tmp / "extra_first" / "checkpoints"
        probe = comfy.get("/probe/full_path?key=checkpoints&name=shadowme_sd15.safetensors")
        assert probe["paths"][:2] == [str(first), str(ckpts)], probe
        assert probe["full_path"] == str(first / "shadowme_sd15.safetensors")
        probe = comfy.get("/probe/full_path?key=checkpoints&name=plain_sd15.safetensors")
        assert probe["full_path"] == str(ckpts / "plain_sd15.safetensors")

        health = comfy.get("/api/pumas/health")
        assert [(s["name"], s["shadowed_by"]) for s in health["shadowed_links"]] == [
            ("shadowme_sd15.safetensors", str(first / "shadowme_sd15.safetensors"))], health
        assert health["status"] != "healthy" and health["shadowed_links"][0]["action"]
        assert comfy.get("/pumas/status")["models"] == 3
        from pumas_core.links.comfyui import detect_install  # --base-directory: the version of the code folder

        version = detect_install(os.environ["PUMAS_COMFYUI_DIR"])["version"]
        assert version and [a["version"] for a in comfy.get("/api/pumas/apps")["apps"]] == [version]
        status, js, ctype = _status(comfy, "/extensions/pumas_library/lib/health_items.js")
        assert status == 200 and "javascript" in ctype and b"shadowed_links" in js
        assert _status(comfy, "/extensions/pumas_library/pumas_panel.js")[0] == 200

        # a dangling directory link answers 500 in ComfyUI; a sync must remove it
        assert comfy.get("/models/diffusers") == []
        assert "tinydiff" in json.dumps(comfy.get("/object_info/DiffusersLoader"))
        folder = os.path.realpath(link)
        os.rename(folder, tmp / "tinydiff.moved_away")
        assert _status(comfy, "/models/diffusers")[0] == 500  # ComfyUI's cached mtime of the vanished folder
        result = _sync(comfy)
        assert result["removed_broken"] == 1 and not os.path.lexists(link), result
        assert _status(comfy, "/models/diffusers")[0] == 200
        os.rename(tmp / "tinydiff.moved_away", folder)
        assert _sync(comfy)["created"] == 1 and link.is_dir()
        log = comfy.log_text()  # a traceback through our code names one of our packages
        assert not [ln for ln in log.splitlines() if "pumas_core" in ln or "comfyui_pumas_node" in ln], log[-3000:]
        print(f"boot to /models: {boot_s:.1f} s; boot sync lines: {lines}")
    finally:
        comfy.stop()

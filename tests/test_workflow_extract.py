"""Model references from real templates (UI 0.4, subgraphs), API-format prompts, PNG/WebP images."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from workflow_support import load_template, template, to_api

from pumas_core.errors import BadInputError
from pumas_core.workflows.extract import extract_refs, load_workflow, workflow_format
from pumas_core.workflows.loaders import folder_key


def _by_key(refs):
    return {r.key: r for r in refs}


def test_ui_template_with_hashes():
    refs = extract_refs(load_workflow(template("hidream_e1_full.json")))
    assert [(r.node_type, r.input, r.directory, r.name) for r in refs] == [
        ("UNETLoader", "unet_name", "diffusion_models", "hidream_e1_full_bf16.safetensors"),
        ("QuadrupleCLIPLoader", "clip_name1", "text_encoders", "clip_g_hidream.safetensors"),
        ("QuadrupleCLIPLoader", "clip_name2", "text_encoders", "clip_l_hidream.safetensors"),
        ("QuadrupleCLIPLoader", "clip_name3", "text_encoders", "t5xxl_fp8_e4m3fn_scaled.safetensors"),
        ("QuadrupleCLIPLoader", "clip_name4", "text_encoders", "llama_3.1_8b_instruct_fp8_scaled.safetensors"),
        ("VAELoader", "vae_name", "vae", "ae.safetensors"),
    ]
    vae = refs[-1]
    assert vae.hash == "afc8e28272cd15db3919bacdb6918ce9c1ed22e96cb12c4d5ed0fba823529e38"
    assert vae.hash_type == "sha256"  # "SHA256" in the file: compared case-insensitively
    assert vae.url.startswith("https://huggingface.co/Comfy-Org/HiDream-I1_ComfyUI/resolve/main/")


def test_ui_template_without_hashes_keeps_urls():
    refs = extract_refs(load_template("flux_schnell_full_text_to_image.json"))
    assert {r.name for r in refs} == {"ae.safetensors", "clip_l.safetensors", "t5xxl_fp16.safetensors",
                                      "flux1-schnell.safetensors"}
    assert all(r.hash is None and r.url.startswith("https://huggingface.co/") for r in refs)


def test_subgraph_nodes_are_found():
    doc = load_template("flux_dev_checkpoint_example.json")
    sub = doc["definitions"]["subgraphs"][0]["id"]
    refs = extract_refs(doc)
    assert len(refs) == 4 and all(r.subgraph == sub for r in refs)
    assert _by_key(refs)[f"{sub}:48:unet_name"].name == "flux1-dev.safetensors"


def test_api_format_equivalent_gives_the_same_models():
    doc = load_template("flux_dev_checkpoint_example.json")
    api = to_api(doc)
    assert workflow_format(api) == "api" and workflow_format({"prompt": api}) == "api"
    ui = sorted((r.node_id, r.input, r.directory, r.name) for r in extract_refs(doc))
    assert sorted((r.node_id, r.input, r.directory, r.name) for r in extract_refs(api)) == ui
    found = sorted((r.node_id, r.input, r.name) for r in extract_refs({"prompt": api}))
    assert found == [(a, b, d) for a, b, _, d in ui]


def test_v1_dict_widgets_custom_nodes_and_top_level_models():
    doc = {"version": 1, "nodes": [
        {"id": 1, "type": "LoraLoader", "widgets_values": {"lora_name": "SDXL\\detail.safetensors",
                                                           "strength_model": 1, "strength_clip": 1}},
        {"id": 2, "type": "SomeCustomLoader", "widgets_values": ["x", "mine/model.gguf"],
         "properties": {"models": [{"name": "model.gguf", "directory": "models/LLM", "url": "https://hf.co/a/b/resolve/main/model.gguf"}]}},
        {"id": 3, "type": "VAELoader", "widgets_values": ["None"]},
    ], "models": [{"name": "extra.safetensors", "directory": "models/unet", "hash": "AB" * 32, "hash_type": "SHA256"}]}
    refs = extract_refs(doc)
    assert [(r.key, r.directory, r.name) for r in refs] == [
        ("1:lora_name", "loras", "SDXL\\detail.safetensors"),
        ("2:widgets_values[1]", "LLM", "mine/model.gguf"),
        ("model:diffusion_models/extra.safetensors", "diffusion_models", "extra.safetensors"),
    ]
    assert refs[0].rel_name == "SDXL/detail.safetensors"
    assert refs[1].url and refs[2].hash == "AB" * 32


def test_caller_mapping_extends_the_table():
    doc = {"nodes": [{"id": 5, "type": "MyLoader", "widgets_values": [0.5, "m.safetensors"]}]}
    assert extract_refs(doc) == []
    refs = extract_refs(doc, {"MyLoader": {"widgets": ["w", "model"], "models": {"model": "checkpoints"}}})
    assert [(r.input, r.directory, r.name) for r in refs] == [("model", "checkpoints", "m.safetensors")]


@pytest.mark.parametrize("given,want", [("models/vae", "vae"), ("vae", "vae"), ("models\\unet", "diffusion_models"),
                                        ("clip", "text_encoders"), ("", None), (None, None), ("../../etc", None),
                                        ("models/..", None), ("./x", None), ("LLM", "LLM")])
def test_directory_forms(given, want):
    assert folder_key(given) == want


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for ctype, data in [(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)), *chunks,
                        (b"IDAT", zlib.compress(b"\0\0\0\0")), (b"IEND", b"")]:
        out += struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))
    return out


def test_png_text_ztxt_itxt(tmp_path):
    doc = load_template("image_sdxl_simple.json")
    text = json.dumps(doc)
    api = json.dumps(to_api(doc))
    for i, chunk in enumerate([(b"tEXt", b"workflow\0" + text.encode("latin-1")),
                               (b"zTXt", b"workflow\0\0" + zlib.compress(text.encode("latin-1"))),
                               (b"iTXt", b"workflow\0\1\0\0\0" + zlib.compress(text.encode()))]):
        p = tmp_path / f"img{i}.png"
        p.write_bytes(_png([(b"tEXt", b"prompt\0" + api.encode()), chunk]))
        refs = extract_refs(load_workflow(p))
        assert [(r.node_type, r.name, r.url is not None) for r in refs] == [
            ("CheckpointLoaderSimple", "sd_xl_base_1.0.safetensors", True)], i
    only_prompt = tmp_path / "prompt.png"
    only_prompt.write_bytes(_png([(b"tEXt", b"prompt\0" + api.encode())]))
    assert workflow_format(load_workflow(only_prompt)) == "api"


def test_webp_exif(tmp_path):
    doc = load_template("image_sdxl_simple.json")
    value = b"workflow:" + json.dumps(doc).encode() + b"\0"
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x010F, 2, len(value), 26) + struct.pack("<I", 0)
    exif = b"II*\0" + struct.pack("<I", 8) + ifd + value
    chunks = b"VP8L" + struct.pack("<I", 5) + b"\x2f\0\0\0\0" + b"\0"
    chunks += b"EXIF" + struct.pack("<I", len(exif)) + exif + (b"\0" if len(exif) & 1 else b"")
    p = tmp_path / "img.webp"
    p.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks)
    assert [r.name for r in extract_refs(load_workflow(p))] == ["sd_xl_base_1.0.safetensors"]


@pytest.mark.parametrize("content,msg", [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"),
                                         (b"\x89PNG\r\n\x1a\n", "no embedded workflow"),
                                         (b"\xff\xfe\x00", "not a UTF-8")])
def test_bad_files_one_line_errors(tmp_path, content, msg):
    p = tmp_path / "wf.json"
    p.write_bytes(content)
    with pytest.raises(BadInputError) as info:
        load_workflow(p)
    assert msg in str(info.value) and str(p) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(BadInputError):
        extract_refs({"foo": 1})

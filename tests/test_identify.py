"""Model identification: real files plus checkpoint/LoRA/VAE/Flux-shaped safetensors written here.

The synthetic files use real tensor *names* of the public models with tiny shapes (only the
dimensions a probe reads are real), written with ``st_writer``.
"""

from __future__ import annotations

import json

import pytest
from st_writer import write_safetensors

from pumas_core.identify import identify_file, identify_folder, identify_unit
from pumas_core.ingest.formats import sniff

F16, BF16, F32 = "F16", "BF16", "F32"


def ident(path):
    return identify_file(path, sniff(path))


def st(tmp_path, name, tensors, metadata=None):
    return ident(write_safetensors(tmp_path / name, tensors, metadata))


# ---- real-name fragments ---------------------------------------------------------------
UNET_LDM = {
    "model.diffusion_model.input_blocks.0.0.weight": (F16, [320, 4, 3, 3]),
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (F16, [4, 768]),
    "model.diffusion_model.middle_block.0.in_layers.0.weight": (F16, [8]),
    "model.diffusion_model.out.2.weight": (F16, [4, 320, 3, 3]),
    "model.diffusion_model.time_embed.0.weight": (F16, [4, 320]),
}
VAE_LDM = {
    "first_stage_model.encoder.conv_in.weight": (F32, [128, 3, 3, 3]),
    "first_stage_model.decoder.conv_in.weight": (F32, [512, 4, 3, 3]),
    "first_stage_model.quant_conv.weight": (F32, [8, 8, 1, 1]),
}
CLIP_L_TE = {
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": (F16, [4, 768]),
    "cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.k_proj.weight": (F16, [4, 768]),
}
FLUX = {
    "double_blocks.0.img_attn.qkv.weight": (BF16, [9, 3]),
    "double_blocks.0.txt_mlp.0.weight": (BF16, [4, 3]),
    "single_blocks.0.linear1.weight": (BF16, [4, 3]),
    "img_in.weight": (BF16, [3, 64]),
    "txt_in.weight": (BF16, [3, 16]),
    "final_layer.linear.weight": (BF16, [64, 3]),
}


def test_sd15_checkpoint(tmp_path):
    r = st(tmp_path, "v1-5-pruned.safetensors", {**UNET_LDM, **VAE_LDM, **CLIP_L_TE})
    assert (r.model_type, r.base_model, r.family) == ("checkpoint", "SD1.x", "sd15")
    assert r.precision == "fp16" and r.parameter_count > 0
    assert any("cross-attention width 768" in e for e in r.evidence)


def test_sd15_inpaint_checkpoint(tmp_path):
    t = {**UNET_LDM, **VAE_LDM, **CLIP_L_TE, "model.diffusion_model.input_blocks.0.0.weight": (F16, [320, 9, 3, 3])}
    assert st(tmp_path, "inpaint.safetensors", t).variant == "inpaint"


def test_sd2_checkpoint(tmp_path):
    t = {**UNET_LDM, **VAE_LDM,
         "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (F16, [4, 1024]),
         "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight": (F16, [4, 4])}
    r = st(tmp_path, "x.safetensors", t)
    assert (r.model_type, r.base_model, r.family) == ("checkpoint", "SD2.x", "sd2")


def test_sdxl_checkpoint_and_refiner(tmp_path):
    t = {**UNET_LDM, **VAE_LDM,
         "model.diffusion_model.label_emb.0.0.weight": (F16, [4, 2816]),
         "conditioner.embedders.0.transformer.text_model.encoder.layers.0.mlp.fc1.weight": (F16, [4, 4]),
         "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight": (F16, [4, 4])}
    r = st(tmp_path, "sdxl.safetensors", t)
    assert (r.model_type, r.base_model, r.family, r.variant) == ("checkpoint", "SDXL", "sdxl", None)
    t["model.diffusion_model.label_emb.0.0.weight"] = (F16, [4, 2560])
    assert st(tmp_path, "refiner.safetensors", t).variant == "refiner"


def test_sd3_checkpoint(tmp_path):
    t = {"model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight": (F16, [6, 2]),
         "model.diffusion_model.joint_blocks.1.x_block.attn.qkv.weight": (F16, [6, 2]),
         "model.diffusion_model.x_embedder.proj.weight": (F16, [2, 16, 2, 2]),
         "text_encoders.clip_l.transformer.text_model.final_layer_norm.weight": (F16, [768]),
         "text_encoders.t5xxl.transformer.encoder.block.0.layer.0.SelfAttention.q.weight": (F16, [4, 4]),
         "first_stage_model.decoder.conv_in.weight": (F16, [512, 16, 3, 3])}
    r = st(tmp_path, "sd3.safetensors", t)
    assert (r.model_type, r.base_model, r.family, r.variant) == ("checkpoint", "SD3", "sd3", "2 blocks")


def test_flux_dev_and_schnell_diffusion_models(tmp_path):
    r = st(tmp_path, "flux1-dev.safetensors", {**FLUX, "guidance_in.in_layer.weight": (BF16, [3, 256])})
    assert (r.model_type, r.base_model, r.family, r.variant, r.precision) == \
        ("diffusion_model", "Flux", "flux", "dev", "bf16")
    r = st(tmp_path, "schnell.safetensors", {("model.diffusion_model." + k): v for k, v in FLUX.items()})
    assert (r.model_type, r.variant) == ("diffusion_model", "schnell")


def test_flux_fp8_precision(tmp_path):
    t = {k: ("F8_E4M3", s) for k, s in ((k, v[1]) for k, v in FLUX.items())}
    t["img_in.bias"] = (BF16, [3])
    assert st(tmp_path, "f8.safetensors", t).precision == "fp8"


def test_bare_sdxl_unet_diffusers_naming(tmp_path):
    t = {"conv_in.weight": (F16, [320, 4, 3, 3]), "time_embedding.linear_1.weight": (F16, [4, 4]),
         "add_embedding.linear_1.weight": (F16, [4, 2816]), "mid_block.resnets.0.conv1.weight": (F16, [4]),
         "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight": (F16, [4, 2048])}
    r = st(tmp_path, "unet.safetensors", t)
    assert (r.model_type, r.base_model) == ("diffusion_model", "SDXL")


def test_kohya_loras(tmp_path):
    sd15 = {"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (F16, [4, 768]),
            "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": (F16, [320, 4]),
            "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": (F16, []),
            "lora_te_text_model_encoder_layers_0_self_attn_k_proj.lora_down.weight": (F16, [4, 768])}
    r = st(tmp_path, "style.safetensors", sd15, {"ss_network_module": "networks.lora"})
    assert (r.model_type, r.base_model, r.family, r.architecture) == ("lora", "SD1.x", "sd15", "lora")
    xl = {"lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": (F16, [4, 768]),
          "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": (F16, [4, 1280]),
          "lora_unet_input_blocks_4_1_proj_in.lora_down.weight": (F16, [4, 640])}
    r = st(tmp_path, "xl.safetensors", xl)
    assert (r.model_type, r.base_model) == ("lora", "SDXL")
    flux = {"lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": (BF16, [4, 3072])}
    assert st(tmp_path, "f.safetensors", flux).base_model == "Flux"


def test_peft_flux_lora_and_llm_lora(tmp_path):
    t = {"transformer.single_transformer_blocks.0.attn.to_k.lora_A.weight": (BF16, [4, 3072]),
         "transformer.single_transformer_blocks.0.attn.to_k.lora_B.weight": (BF16, [3072, 4])}
    r = st(tmp_path, "peft.safetensors", t)
    assert (r.model_type, r.base_model) == ("lora", "Flux")
    t = {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": (F32, [4, 64])}
    assert (st(tmp_path, "llm_lora.safetensors", t).base_model) == "other"


def test_lora_base_from_metadata_only(tmp_path):
    t = {"some_module.lora_down.weight": (F16, [4, 8]), "some_module.lora_up.weight": (F16, [8, 4])}
    r = st(tmp_path, "x.safetensors", t, {"modelspec.sai_model_spec": "1.0.0",
                                          "modelspec.architecture": "stable-diffusion-xl-v1-base/lora"})
    assert (r.model_type, r.base_model, r.family) == ("lora", "SDXL", "sdxl")
    assert any("modelspec.architecture" in e for e in r.evidence)
    r = st(tmp_path, "y.safetensors", t, {"ss_network_module": "networks.lora", "ss_base_model_version": "sd_v1"})
    assert r.base_model == "SD1.x"


def test_vaes(tmp_path):
    sd = {"encoder.conv_in.weight": (F32, [128, 3, 3, 3]), "decoder.conv_in.weight": (F32, [512, 4, 3, 3]),
          "quant_conv.weight": (F32, [8, 8, 1, 1]), "post_quant_conv.weight": (F32, [4, 4, 1, 1])}
    r = st(tmp_path, "vae-ft-mse.safetensors", sd)
    assert (r.model_type, r.family, r.base_model) == ("vae", "sd", None)
    r = st(tmp_path, "sdxl_vae.safetensors", sd)
    assert (r.model_type, r.family, r.base_model) == ("vae", "sdxl", "SDXL")
    assert any("weak hint" in e for e in r.evidence)
    flux = {"encoder.conv_in.weight": (BF16, [128, 3, 3, 3]), "decoder.conv_in.weight": (BF16, [512, 16, 3, 3])}
    assert st(tmp_path, "ae.safetensors", flux).family == "flux"


def test_text_encoders_and_clip_vision(tmp_path):
    r = st(tmp_path, "clip_l.safetensors", {"text_model.encoder.layers.0.mlp.fc1.weight": (F16, [4, 4]),
                                            "text_model.final_layer_norm.weight": (F16, [768])})
    assert (r.model_type, r.family) == ("text_encoder", "clip_l")
    r = st(tmp_path, "g.safetensors", {"text_model.encoder.layers.0.mlp.fc1.weight": (F16, [4, 4]),
                                       "text_model.final_layer_norm.weight": (F16, [1280])})
    assert r.family == "clip_g"
    t5 = {"encoder.block.0.layer.0.SelfAttention.q.weight": (F16, [4, 4096]),
          "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight": (F16, [32, 4]),
          "shared.weight": (F16, [4, 4096])}
    r = st(tmp_path, "t5xxl_fp16.safetensors", t5)
    assert (r.model_type, r.family, r.variant) == ("text_encoder", "t5", "xxl")
    cv = {"vision_model.encoder.layers.0.mlp.fc1.weight": (F16, [4, 4]),
          "vision_model.post_layernorm.weight": (F16, [1280])}
    assert st(tmp_path, "cv.safetensors", cv).model_type == "clip_vision"


def test_controlnet_embedding_upscaler(tmp_path):
    cn = {"control_model.input_hint_block.0.weight": (F16, [16, 3, 3, 3]),
          "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (F16, [4, 768]),
          "control_model.zero_convs.0.0.weight": (F16, [4, 4, 1, 1]),
          "control_model.middle_block.0.in_layers.0.weight": (F16, [4])}
    r = st(tmp_path, "control_canny.safetensors", cn)
    assert (r.model_type, r.base_model) == ("controlnet", "SD1.x")
    r = st(tmp_path, "emb.safetensors", {"emb_params": (F32, [2, 768])})
    assert (r.model_type, r.base_model) == ("embedding", "SD1.x")
    r = st(tmp_path, "xlemb.safetensors", {"clip_l": (F32, [2, 768]), "clip_g": (F32, [2, 1280])})
    assert (r.model_type, r.base_model) == ("embedding", "SDXL")
    up = {"conv_first.weight": (F32, [4, 3, 3, 3]), "body.0.rdb1.conv1.weight": (F32, [4, 4, 3, 3]),
          "conv_up1.weight": (F32, [4, 4, 3, 3]), "conv_last.weight": (F32, [3, 4, 3, 3])}
    r = st(tmp_path, "4x.safetensors", up)
    assert (r.model_type, r.family) == ("upscale_model", "esrgan")


def test_unknown_tensors_keep_evidence(tmp_path):
    r = st(tmp_path, "model.safetensors", {"foo.weight": (F32, [2, 2])})
    assert (r.model_type, r.family) == ("unknown", "unknown")
    assert any("no known layout matched" in e for e in r.evidence)


# ---- real files -------------------------------------------------------------------------

def test_minilm_file_is_bert_text_encoder(real):
    r = ident(real("minilm/model.safetensors"))
    assert (r.model_type, r.family, r.precision, r.parameter_count) == ("text_encoder", "bert", "fp32", 22713728)


def test_minilm_folder_is_sentence_transformers(real):
    model = real("minilm/model.safetensors")
    folder = model.parent
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".complete")
    r = identify_folder(folder, files, {model: sniff(model)})
    assert (r.model_type, r.family, r.architecture) == ("text_encoder", "sentence-transformers", "BertModel")
    assert r.parameter_count == 22713728


def test_silero_safetensors_unknown_with_evidence(real):
    r = ident(real("silero/silero_vad_16k.safetensors"))
    assert r.model_type == "unknown" and r.family == "silero" and r.precision == "fp32"
    assert any("stft_conv.weight" in e for e in r.evidence)


def test_onnx_and_torchscript_unknown(real):
    r = ident(real("silero/silero_vad_op18_ifless.onnx"))
    assert r.model_type == "unknown" and any("ir_version 10" in e for e in r.evidence)
    r = ident(real("silero/silero_vad.jit"))
    assert r.model_type == "unknown" and any("torchscript" in e for e in r.evidence)


@pytest.mark.parametrize("name,arch,model_type", [
    ("llama-spm", "llama", "llm"), ("qwen2", "qwen2", "llm"), ("aquila", "llama", "llm"),
    ("command-r", "command-r", "llm"), ("phi-3", "phi3", "llm"), ("bert-bge", "bert", "text_encoder"),
])
def test_vocab_gguf(real, name, arch, model_type):
    r = ident(real(f"llama_vocab/ggml-vocab-{name}.gguf"))
    assert (r.model_type, r.architecture, r.family) == (model_type, arch, arch)


def test_gemma_part00(real):
    r = ident(real("gemma_part1/gemma-3-270m-q4_k_m.gguf.part00"))
    assert (r.model_type, r.family, r.architecture, r.precision, r.variant) == \
        ("llm", "gemma3", "gemma3", "Q4_K_M", "270M")
    assert 250_000_000 < r.parameter_count < 300_000_000


def test_image_gguf(tmp_path):
    gguf = pytest.importorskip("gguf")
    np = pytest.importorskip("numpy")
    p = tmp_path / "flux1-dev-Q4_0.gguf"
    w = gguf.GGUFWriter(str(p), "flux")
    w.add_file_type(2)
    w.add_tensor("double_blocks.0.img_attn.qkv.weight", np.zeros((4, 4), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    r = ident(p)
    assert (r.model_type, r.base_model, r.family, r.precision) == ("diffusion_model", "Flux", "flux", "Q4_0")


# ---- folders ----------------------------------------------------------------------------

def test_diffusers_folder(tmp_path):
    root = tmp_path / "sdxl-base"
    (root / "unet").mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline"}))
    (root / "unet" / "config.json").write_text(json.dumps({"_class_name": "UNet2DConditionModel",
                                                           "cross_attention_dim": 2048}))
    w = write_safetensors(root / "unet" / "diffusion_pytorch_model.safetensors",
                          {"conv_in.weight": (F16, [4, 4, 3, 3]), "down_blocks.0.resnets.0.conv1.weight": (F16, [4])})
    files = sorted(p for p in root.rglob("*") if p.is_file())
    r = identify_folder(root, files, {w: sniff(w)})
    assert (r.model_type, r.base_model, r.family, r.variant) == ("checkpoint", "SDXL", "sdxl", "diffusers")
    assert r.precision == "fp16"


def test_sd2_diffusers_folder_and_unit(tmp_path):
    root = tmp_path / "sd21"
    (root / "unet").mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (root / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 1024}))

    class Unit:
        kind, source_root = "diffusion-folder", root
        files = sorted(p for p in root.rglob("*") if p.is_file())

    r = identify_unit(Unit, {})
    assert (r.model_type, r.base_model) == ("checkpoint", "SD2.x")


def test_transformers_llm_folder(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}))
    shards = [write_safetensors(tmp_path / f"model-0000{i}-of-00002.safetensors",
                                {f"model.layers.{i}.self_attn.q_proj.weight": (BF16, [4, 4])}) for i in (1, 2)]
    r = identify_folder(tmp_path, [tmp_path / "config.json", *shards], {s: sniff(s) for s in shards})
    assert (r.model_type, r.family, r.precision, r.parameter_count) == ("llm", "llama", "bf16", 32)


def test_broken_manifest_ignored(tmp_path):
    (tmp_path / "model_index.json").write_text("{not json")
    r = identify_folder(tmp_path, [tmp_path / "model_index.json"], {})
    assert r.model_type == "unknown" and r.evidence


# ---- torch.save pickles: names from opcodes ---------------------------------------------

def test_zip_torch_save_upscaler_names(tmp_path):
    import pickle
    import zipfile

    keys = {"conv_first.weight": 0, "RRDB_trunk.0.RDB1.conv1.0.weight": 0, "conv_last.weight": 0}
    p = tmp_path / "4x-UltraSharp.pth"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(keys, protocol=2))  # we write it; nothing is loaded
        zf.writestr("archive/version", "3\n")
    r = ident(p)
    assert (r.model_type, r.family, r.parameter_count, r.precision) == ("upscale_model", "esrgan", None, None)
    assert any("read from pickle opcodes" in e for e in r.evidence)


def test_real_legacy_pickles_names_without_unpickling(real, pickles):
    r = ident(real("facenet/pnet.pt"))
    assert r.model_type == "unknown" and any("'conv1.weight'" in e for e in r.evidence)
    r = ident(pickles("pytorch_model.bin"))
    assert r.model_type == "unknown" and any("distilbert.embeddings" in e for e in r.evidence)

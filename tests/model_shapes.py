"""Tensor-name layouts of real model families, for test files written with ``st_writer``.

The names are the ones real files use (SD1.5 original checkpoints as loaded by ComfyUI's
``comfy/supported_models.py``; kohya LoRA naming).  Shapes are tiny so files stay a few KB.
"""

SD15_CHECKPOINT = {
    "model.diffusion_model.input_blocks.0.0.weight": ("F16", [8, 4, 3, 3]),
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight": ("F16", [8, 8]),
    "model.diffusion_model.middle_block.1.proj_in.weight": ("F16", [8, 8]),
    "model.diffusion_model.out.2.weight": ("F16", [4, 8, 3, 3]),
    "first_stage_model.encoder.conv_in.weight": ("F16", [8, 3, 3, 3]),
    "first_stage_model.decoder.conv_out.weight": ("F16", [3, 8, 3, 3]),
    "first_stage_model.quant_conv.weight": ("F16", [8, 8, 1, 1]),
    "cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight": ("F16", [8, 8]),
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": ("F16", [16, 8]),
}

KOHYA_LORA = {
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", [4, 8]),
    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", [8, 4]),
    "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", []),
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": ("F16", [4, 8]),
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight": ("F16", [8, 4]),
}

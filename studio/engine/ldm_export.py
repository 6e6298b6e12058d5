"""Diffusers weights → the original LDM / A1111 single-file key layout.

The inverse of what ``diffusers``' ``from_single_file`` converts, written for any block count and
``layers_per_block`` (the tiny test models have 2 levels and 1 layer where SD1.5 has 4 and 2), following the
layout of diffusers' ``scripts/convert_diffusers_to_original_stable_diffusion.py`` (SD1.x) and of the SGM
checkpoints SDXL ships as (``conditioner.embedders.0`` = CLIP-L, ``.1`` = OpenCLIP bigG). It is how the tests
and the offline demo get single ``.safetensors`` files shaped like Civitai checkpoints.
"""

from __future__ import annotations

from typing import Any

from studio.engine.lazy import torch_modules

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
TEXT_PREFIX = "cond_stage_model.transformer."
SDXL_TEXT_PREFIX = "conditioner.embedders.0.transformer."
SDXL_TEXT_2_PREFIX = "conditioner.embedders.1.model."

_UNET_TOP = {
    "add_embedding.linear_1.": "label_emb.0.0.",  # SDXL's size/pooled-text conditioning
    "add_embedding.linear_2.": "label_emb.0.2.",
    "time_embedding.linear_1.": "time_embed.0.",
    "time_embedding.linear_2.": "time_embed.2.",
    "conv_in.": "input_blocks.0.0.",
    "conv_norm_out.": "out.0.",
    "conv_out.": "out.2.",
}
_RESNET = {
    "norm1.": "in_layers.0.",
    "conv1.": "in_layers.2.",
    "norm2.": "out_layers.0.",
    "conv2.": "out_layers.3.",
    "time_emb_proj.": "emb_layers.1.",
    "conv_shortcut.": "skip_connection.",
}
_VAE_ATTN = {"group_norm.": "norm.", "to_q.": "q.", "to_k.": "k.", "to_v.": "v.", "to_out.0.": "proj_out."}


def _rename(key: str, table: dict[str, str]) -> str:
    for old, new in table.items():
        key = key.replace(old, new)
    return key


def _unet_prefixes(config: Any) -> dict[str, str]:
    """Diffusers block prefix → LDM block prefix, longest first so nested names win."""
    levels, layers = len(config.block_out_channels), config.layers_per_block
    table: dict[str, str] = {}
    for i in range(levels):
        for j in range(layers):
            block = 1 + i * (layers + 1) + j
            table[f"down_blocks.{i}.resnets.{j}."] = f"input_blocks.{block}.0."
            table[f"down_blocks.{i}.attentions.{j}."] = f"input_blocks.{block}.1."
        if i < levels - 1:
            table[f"down_blocks.{i}.downsamplers.0.conv."] = (
                f"input_blocks.{1 + i * (layers + 1) + layers}.0.op."
            )
        up_has_attention = "CrossAttn" in config.up_block_types[i]
        for j in range(layers + 1):
            block = i * (layers + 1) + j
            table[f"up_blocks.{i}.resnets.{j}."] = f"output_blocks.{block}.0."
            table[f"up_blocks.{i}.attentions.{j}."] = f"output_blocks.{block}.1."
        if i < levels - 1:
            slot = 2 if up_has_attention else 1
            table[f"up_blocks.{i}.upsamplers.0."] = f"output_blocks.{i * (layers + 1) + layers}.{slot}."
    table["mid_block.attentions.0."] = "middle_block.1."
    for j in range(2):
        table[f"mid_block.resnets.{j}."] = f"middle_block.{2 * j}."
    return table


def unet_to_ldm(state: dict[str, Any], config: Any) -> dict[str, Any]:
    prefixes = _unet_prefixes(config)
    out = {}
    for key, value in state.items():
        new = _rename(key, _UNET_TOP) if any(key.startswith(k) for k in _UNET_TOP) else key
        for old, ldm in prefixes.items():
            if key.startswith(old):
                rest = key[len(old) :]
                if ".resnets." in old:
                    rest = _rename(rest, _RESNET)
                new = ldm + rest
                break
        out[UNET_PREFIX + new] = value
    return out


def vae_to_ldm(state: dict[str, Any], config: Any) -> dict[str, Any]:
    levels, layers = len(config.block_out_channels), config.layers_per_block
    table: dict[str, str] = {"mid_block.attentions.0.": "mid.attn_1."}
    for j in range(2):
        table[f"mid_block.resnets.{j}."] = f"mid.block_{j + 1}."
    for i in range(levels):
        for j in range(layers):
            table[f"encoder.down_blocks.{i}.resnets.{j}."] = f"encoder.down.{i}.block.{j}."
        for j in range(layers + 1):
            table[f"decoder.up_blocks.{i}.resnets.{j}."] = f"decoder.up.{levels - 1 - i}.block.{j}."
        if i < levels - 1:
            table[f"encoder.down_blocks.{i}.downsamplers.0."] = f"encoder.down.{i}.downsample."
            table[f"decoder.up_blocks.{i}.upsamplers.0."] = f"decoder.up.{levels - 1 - i}.upsample."
    out = {}
    for key, value in state.items():
        new = key.replace("conv_norm_out.", "norm_out.").replace("conv_shortcut.", "nin_shortcut.")
        for old, ldm in table.items():
            new = new.replace(old, ldm)
        if ".attn_1." in new:
            new = _rename(new, _VAE_ATTN)
            if new.endswith(".weight") and value.ndim == 2:
                value = value.reshape(*value.shape, 1, 1)  # LDM's attention uses 1x1 convolutions
        out[VAE_PREFIX + new] = value
    return out


def sd15_pipeline_to_ldm(unet: Any, vae: Any, text_encoder: Any) -> dict[str, Any]:
    """The whole SD1.x checkpoint as one state dict, keys as in an A1111 ``.safetensors``."""
    state = unet_to_ldm(unet.state_dict(), unet.config)
    state.update(vae_to_ldm(vae.state_dict(), vae.config))
    state.update(_clip_keys(text_encoder, TEXT_PREFIX))
    return {k: v.contiguous() for k, v in state.items()}


def _clip_keys(text_encoder: Any, prefix: str) -> dict[str, Any]:
    # Checkpoints name the text model "text_model.*" (transformers 5 dropped that level from its own keys).
    out = {}
    for key, value in text_encoder.state_dict().items():
        if not key.startswith(("text_model.", "text_projection.")):
            key = "text_model." + key
        out[prefix + key] = value
    return out


_OPEN_CLIP_LAYER = {
    "layer_norm1.": "ln_1.",
    "layer_norm2.": "ln_2.",
    "mlp.fc1.": "mlp.c_fc.",
    "mlp.fc2.": "mlp.c_proj.",
    "self_attn.out_proj.": "attn.out_proj.",
}


def open_clip_to_ldm(text_encoder: Any, prefix: str) -> dict[str, Any]:
    """A ``CLIPTextModelWithProjection`` in OpenCLIP's layout (fused q/k/v, transposed projection)."""
    torch = torch_modules().torch
    state = {k[len("sd.") :]: v for k, v in _clip_keys(text_encoder, "sd.").items()}
    out = {
        prefix + "positional_embedding": state.pop("text_model.embeddings.position_embedding.weight"),
        prefix + "token_embedding.weight": state.pop("text_model.embeddings.token_embedding.weight"),
        prefix + "ln_final.weight": state.pop("text_model.final_layer_norm.weight"),
        prefix + "ln_final.bias": state.pop("text_model.final_layer_norm.bias"),
        prefix + "text_projection": state.pop("text_projection.weight").T,
    }
    for i in range(text_encoder.config.num_hidden_layers):
        layer, block = f"text_model.encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            qkv = [state.pop(f"{layer}self_attn.{p}_proj.{kind}") for p in "qkv"]
            out[f"{block}attn.in_proj_{kind}"] = torch.cat(qkv)
        for key in [k for k in state if k.startswith(layer)]:
            out[block + _rename(key[len(layer) :], _OPEN_CLIP_LAYER)] = state.pop(key)
    state.pop("text_model.embeddings.position_ids", None)
    if state:
        raise ValueError(f"Unconverted text encoder weights: {sorted(state)[:5]}")
    return out


def sdxl_pipeline_to_ldm(unet: Any, vae: Any, text_encoder: Any, text_encoder_2: Any) -> dict[str, Any]:
    """The whole SDXL checkpoint as one state dict, keys as in ``sd_xl_base_1.0.safetensors``."""
    state = unet_to_ldm(unet.state_dict(), unet.config)
    state.update(vae_to_ldm(vae.state_dict(), vae.config))
    state.update(_clip_keys(text_encoder, SDXL_TEXT_PREFIX))
    state.update(open_clip_to_ldm(text_encoder_2, SDXL_TEXT_2_PREFIX))
    return {k: v.contiguous() for k, v in state.items()}

"""Tiny random-weight add-ons for the tiny models: ControlNets, an inpainting model, LoRAs.

Shaped for the models of ``tiny_models`` so every ControlNet, inpainting and LoRA path is tested offline.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.atomic import make_shared, make_tree_shared
from studio.engine.lazy import torch_modules
from studio.engine.tiny_models import (
    TINY_SEED,
    _write_single_file,
    build_tiny_sd15_components,
    build_tiny_sdxl_components,
    write_tiny_pipeline,
)


def write_tiny_sd15_inpaint_single_file(path: Path) -> Path:
    """The tiny SD1.x inpainting model as one A1111-style checkpoint plus its ``NAME.config/`` sidecar."""
    from studio.engine.ldm_export import sd15_pipeline_to_ldm

    c = build_tiny_sd15_inpaint_components()
    state = sd15_pipeline_to_ldm(c["unet"], c["vae"], c["text_encoder"])
    return _write_single_file(Path(path), state, write_tiny_sd15_inpaint, "sd15-inpaint")


def build_tiny_controlnet(family: str):
    """A ControlNet for the tiny ``family`` model ("sd15" or "sdxl"), its encoder copied from the tiny UNet as
    ``ControlNetModel.from_unet`` does for real ones, with random zero-convolutions so it visibly steers."""
    mods = torch_modules()
    torch, diffusers = mods.torch, mods.diffusers
    components = build_tiny_sd15_components() if family == "sd15" else build_tiny_sdxl_components()
    controlnet = diffusers.ControlNetModel.from_unet(
        components["unet"], conditioning_embedding_out_channels=(4, 4, 4, 8)
    )
    torch.manual_seed(TINY_SEED + 1)
    with torch.no_grad():
        # Real zero-convolutions start at zero and learn; untrained zeros would make the ControlNet a no-op.
        for name, parameter in controlnet.named_parameters():
            if "controlnet_down_blocks" in name or "controlnet_mid_block" in name or "conv_out" in name:
                parameter.normal_(0.0, 0.5)
    return controlnet


def write_tiny_controlnet(folder: Path, family: str) -> Path:
    """Write a tiny ControlNet folder (config.json + weights) for the tiny ``family`` model; return it."""
    folder = Path(folder)
    build_tiny_controlnet(family).save_pretrained(str(folder), safe_serialization=True)
    make_tree_shared(folder)  # safetensors writes 0600
    return folder


def build_tiny_sd15_inpaint_components() -> dict:
    """The tiny SD1.x components with an inpainting UNet (9 input channels: latents, mask, masked image)."""
    mods = torch_modules()
    torch, diffusers = mods.torch, mods.diffusers
    components = build_tiny_sd15_components()
    torch.manual_seed(TINY_SEED)
    components["unet"] = diffusers.UNet2DConditionModel.from_config(
        {**dict(components["unet"].config), "in_channels": 9}
    )
    return components


def write_tiny_sd15_inpaint(folder: Path) -> Path:
    """Write a tiny SD1.x inpainting pipeline folder into ``folder`` and return it."""
    return write_tiny_pipeline(
        folder,
        "StableDiffusionInpaintPipeline",
        build_tiny_sd15_inpaint_components(),
        requires_safety_checker=False,
    )


LORA_RANK = 4


def _lora_targets(module, prefix: str) -> list[tuple[str, int, int]]:
    """(module name, in, out) of the attention projections a LoRA adapts in ``module``."""
    torch = torch_modules().torch
    wanted = ("to_q", "to_k", "to_v", "to_out.0", "q_proj", "k_proj", "v_proj", "out_proj")
    return [
        (f"{prefix}{name}", sub.in_features, sub.out_features)
        for name, sub in module.named_modules()
        if isinstance(sub, torch.nn.Linear) and name.endswith(wanted)
    ]


def write_tiny_lora(
    path: Path, family: str, format: str = "kohya", seed: int = 1, scale: float = 0.5
) -> Path:
    """Write a random LoRA shaped for the tiny ``family`` model ("sd15"/"sdxl") as ``path`` (.safetensors).

    ``format`` "kohya" writes A1111/kohya keys (``lora_unet_..., lora_te_/lora_te1_/lora_te2_`` with
    ``lora_down``/``lora_up``/``alpha``); "peft" writes diffusers' own keys (``unet.<module>.lora_A.weight``).
    The metadata carries kohya's ``ss_base_model_version``, a trigger phrase and tag frequencies, as real files do.
    """
    components = build_tiny_sd15_components() if family == "sd15" else build_tiny_sdxl_components()
    return write_lora_for(path, components, family, format, seed=seed, scale=scale)


def write_lora_for(
    path: Path, components: dict, family: str, format: str = "kohya", *, seed: int = 1, scale: float = 0.5
) -> Path:
    """Write a random rank-4 LoRA for the attention layers of ``components`` (a pipeline's modules)."""
    from safetensors.torch import save_file

    torch = torch_modules().torch
    if format not in ("kohya", "peft"):
        raise ValueError(f"format must be 'kohya' or 'peft', not {format!r}")
    encoders = [("text_encoder", "lora_te1_" if family == "sdxl" else "lora_te_")]
    if family == "sdxl":
        encoders.append(("text_encoder_2", "lora_te2_"))
    targets = [("unet", "lora_unet_", *t) for t in _lora_targets(components["unet"], "")]
    for component, kohya_prefix in encoders:
        targets += [(component, kohya_prefix, *t) for t in _lora_targets(components[component], "")]
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for component, kohya_prefix, name, width_in, width_out in targets:
        down = torch.randn(LORA_RANK, width_in, generator=generator) * scale
        up = torch.randn(width_out, LORA_RANK, generator=generator) * scale
        if format == "kohya":
            key = kohya_prefix + name.replace(".", "_")
            state[f"{key}.lora_down.weight"] = down
            state[f"{key}.lora_up.weight"] = up
            state[f"{key}.alpha"] = torch.tensor(float(LORA_RANK))
        else:
            state[f"{component}.{name}.lora_A.weight"] = down
            state[f"{component}.{name}.lora_B.weight"] = up
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "ss_base_model_version": "sdxl_base_v1-0" if family == "sdxl" else "sd_v1",
        "ss_output_name": path.stem,
        "modelspec.trigger_phrase": f"tiny {family} style",
        "ss_tag_frequency": json.dumps({"1_tiny": {"tiny tag": 5, "noise": 3, "rare": 1}}),
        "studio_tiny_lora": family,
    }
    save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata=metadata)
    make_shared(path)  # safetensors writes 0600
    return path


def write_tiny_taesd(folder: Path) -> Path:
    """A random-weight ``AutoencoderTiny`` (TAESD preview decoder) folder, a few KB."""
    torch = torch_modules().torch
    diffusers = torch_modules().diffusers
    torch.manual_seed(0)
    tiny = diffusers.AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1),
        num_decoder_blocks=(1, 1, 1, 1),
    )
    tiny.save_pretrained(folder)
    return folder

"""Which family a model belongs to, read from its files (never from its name).

Families: "sd15" (Stable Diffusion 1.x), "sdxl", and their inpainting variants "sd15-inpaint" /
"sdxl-inpaint" (a UNet with 9 input channels: latents, mask, masked image). Anything else (SD 2.x, the SDXL
refiner, SD3, Flux, ...) raises ``ModelError`` naming what was found and what is supported.

Single files are judged by their tensor names, from the safetensors header only:
SD1.x has ``cond_stage_model.transformer.*`` (OpenAI CLIP), SDXL has ``conditioner.embedders.1.*`` (OpenCLIP
bigG beside CLIP), SD2 has ``cond_stage_model.model.*`` (OpenCLIP alone).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from studio.errors import ModelError
from studio.models.model_ref import ModelRef, read_safetensors_header

FAMILY_NAMES = {"sd15": "SD 1.x", "sdxl": "SDXL"}  # as messages name them

FAMILIES = ("sd15", "sdxl")
PIPELINE_CLASSES = {"sd15": "StableDiffusionPipeline", "sdxl": "StableDiffusionXLPipeline"}
INPAINT_FAMILIES = ("sd15-inpaint", "sdxl-inpaint")
SUPPORTED = "Diffusion Studio supports Stable Diffusion 1.x (such as SD1.5) and SDXL models."
UNET_INPUT_KEY = "model.diffusion_model.input_blocks.0.0.weight"

# Tensor-name prefixes of families the studio does not run, for a message that names them.
_OTHER_FAMILIES = (
    ("model.diffusion_model.joint_blocks.", "a Stable Diffusion 3 model"),
    ("text_encoders.", "a Stable Diffusion 3 model"),
    ("double_blocks.", "a Flux model"),
    ("model.diffusion_model.double_blocks.", "a Flux model"),
    ("cond_stage_model.model.", "a Stable Diffusion 2.x model"),
    ("lora_", "a LoRA, not a full model (put it with your LoRAs)"),
)


def base_family(family: str) -> str:
    """ "sd15-inpaint" -> "sd15"."""
    return family.split("-", 1)[0]


def family_of_keys(
    keys: Iterable[str], unet_in_channels: int | None = None, *, name: str = "This file"
) -> str:
    """The family of an original-layout (LDM / A1111) checkpoint from its tensor names."""
    keys = list(keys)
    if any(k.startswith("conditioner.embedders.1.") for k in keys):
        family = "sdxl"
    elif any(k.startswith("cond_stage_model.transformer.") for k in keys):
        family = "sd15"
    else:
        for prefix, what in _OTHER_FAMILIES:
            if any(k.startswith(prefix) for k in keys):
                raise ModelError(f"{name} looks like {what}. {SUPPORTED}")
        if any(k.startswith("conditioner.embedders.0.model.") for k in keys):
            raise ModelError(f"{name} looks like the SDXL refiner, which is not supported. {SUPPORTED}")
        if not any(k.startswith("model.diffusion_model.") for k in keys):
            raise ModelError(
                f"{name} is not a full Stable Diffusion checkpoint (no UNet weights found). {SUPPORTED}"
            )
        raise ModelError(f"{name} has no text encoder weights the studio recognises. {SUPPORTED}")
    return family + "-inpaint" if unet_in_channels == 9 else family


def family_of_header(header: Mapping[str, Any], *, name: str = "This file") -> str:
    keys = [k for k in header if k != "__metadata__"]
    shape = (header.get(UNET_INPUT_KEY) or {}).get("shape") or []
    return family_of_keys(keys, shape[1] if len(shape) > 1 else None, name=name)


def family_of_state_dict(state: Mapping[str, Any], *, name: str = "This file") -> str:
    weight = state.get(UNET_INPUT_KEY)
    channels = int(weight.shape[1]) if weight is not None and len(weight.shape) > 1 else None
    return family_of_keys(state.keys(), channels, name=name)


def family_of_single_file(path: Path) -> str:
    """The family of a .safetensors checkpoint, from its header alone."""
    return family_of_header(read_safetensors_header(path), name=f"'{path.name}'")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"'{path}' cannot be read ({exc}). The model folder may be damaged; download it again."
        ) from exc


def family_of_folder(folder: Path) -> str:
    """The family of a diffusers folder, from model_index.json and the component configs."""
    index = _read_json(folder / "model_index.json")
    class_name = str(index.get("_class_name", ""))
    name = f"The model '{folder.name}'"
    unet = _read_json(folder / "unet" / "config.json")
    channels = unet.get("in_channels")
    has_encoder_2 = bool((index.get("text_encoder_2") or [None])[0])
    has_encoder_1 = bool((index.get("text_encoder") or [None])[0])
    if class_name.startswith("StableDiffusionXL") or has_encoder_2:
        if not has_encoder_1:
            raise ModelError(f"{name} is the SDXL refiner, which is not supported. {SUPPORTED}")
        family = "sdxl"
    elif class_name.startswith("StableDiffusion") and class_name[len("StableDiffusion") :] in _SD_VARIANTS:
        # SD 2.x uses the same pipeline class; its text encoder is OpenCLIP (gelu), SD1.x's is OpenAI CLIP.
        text = _read_json(folder / "text_encoder" / "config.json")
        if text.get("hidden_act", "quick_gelu") != "quick_gelu":
            raise ModelError(f"{name} looks like a Stable Diffusion 2.x model. {SUPPORTED}")
        family = "sd15"
    else:
        what = f"a {class_name}" if class_name else "an unknown kind of pipeline"
        raise ModelError(f"{name} is {what}. {SUPPORTED}")
    return family + "-inpaint" if channels == 9 else family


_SD_VARIANTS = ("Pipeline", "Img2ImgPipeline", "InpaintPipeline")


def detect_family(ref: ModelRef, state_dict: Mapping[str, Any] | None = None) -> str:
    """The family of a resolved reference. Pickle checkpoints need their (safely loaded) ``state_dict``."""
    assert ref.path is not None, "a hub model must be downloaded before its family can be read"
    if ref.kind == "single_file":
        if state_dict is not None:
            return family_of_state_dict(state_dict, name=f"'{ref.path.name}'")
        return family_of_single_file(ref.path)
    return family_of_folder(ref.path)

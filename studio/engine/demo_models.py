"""The offline demo set the studio offers when no model is installed (labelled as random weights)."""

from __future__ import annotations

from pathlib import Path

from studio.engine.tiny_addons import write_tiny_controlnet, write_tiny_lora
from studio.engine.tiny_models import write_tiny_sd15, write_tiny_sd15_single_file, write_tiny_sdxl


def write_demo_models(folder: Path) -> dict[str, Path]:
    """Write the offline demo set: ``DIR/sd15``, ``DIR/sdxl`` folders, ``DIR/sd15.safetensors`` and two LoRAs.

    Returns ``{"sd15": ..., "sdxl": ..., "sd15_single_file": ..., "lora_sd15": ..., "lora_sdxl": ...}``; the
    LoRAs go in ``DIR/loras/`` (``tiny-sd15-lora.safetensors``, ``tiny-sdxl-lora.safetensors``). The tiny
    ControlNets go in ``DIR/controlnet-sd15`` and ``DIR/controlnet-sdxl`` (keys ``controlnet_sd15``/``_sdxl``).
    """
    folder = Path(folder)
    return {
        "sd15": write_tiny_sd15(folder / "sd15"),
        "sdxl": write_tiny_sdxl(folder / "sdxl"),
        "sd15_single_file": write_tiny_sd15_single_file(folder / "sd15.safetensors"),
        "lora_sd15": write_tiny_lora(folder / "loras" / "tiny-sd15-lora.safetensors", "sd15"),
        "lora_sdxl": write_tiny_lora(folder / "loras" / "tiny-sdxl-lora.safetensors", "sdxl"),
        "controlnet_sd15": write_tiny_controlnet(folder / "controlnet-sd15", "sd15"),
        "controlnet_sdxl": write_tiny_controlnet(folder / "controlnet-sdxl", "sdxl"),
    }

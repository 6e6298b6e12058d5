"""The offline demo set the studio offers when no model is installed (labelled as random weights)."""

from __future__ import annotations

from pathlib import Path

from studio.engine.single_file import SIDECAR_SUFFIX
from studio.engine.tiny_addons import write_tiny_controlnet, write_tiny_lora
from studio.engine.tiny_models import write_tiny_sd15, write_tiny_sd15_single_file, write_tiny_sdxl
from studio.models.demo import DEMO_LABEL
from studio.models.model_family import FAMILIES, FAMILY_NAMES


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


def demo_summary(written: dict[str, Path]) -> list[str]:
    """What ``write_demo_models`` wrote, in plain words: which files are models, LoRAs and ControlNets."""
    single = written["sd15_single_file"]
    sidecar = single.with_name(single.stem + SIDECAR_SUFFIX)
    return [
        f"The demo set ({DEMO_LABEL}) is in {written['sd15'].parent}:",
        f"  model        {written['sd15']}  (an {FAMILY_NAMES['sd15']}-shaped model, diffusers folder)",
        f"  model        {written['sdxl']}  (an {FAMILY_NAMES['sdxl']}-shaped model, diffusers folder)",
        f"  model        {single}  (the same {FAMILY_NAMES['sd15']} model as one A1111-style checkpoint file)",
        f"  its configs  {sidecar}  (not a model: the configs the single file loads with; keep it beside it)",
        *(
            f"  LoRA         {written['lora_' + family]}  (for {FAMILY_NAMES[family]} models: "
            f"--lora {written['lora_' + family].stem})"
            for family in FAMILIES
        ),
        *(
            f"  ControlNet   {written['controlnet_' + family]}  (for {FAMILY_NAMES[family]} models: "
            "give its path to --control-model)"
            for family in FAMILIES
        ),
    ]

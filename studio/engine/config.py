"""How the engine is set up: one frozen value, built from the preferences by the backend (window and CLI alike)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EngineConfig:
    """``device`` None picks CUDA, then MPS, then the CPU; ``precision`` "auto" is fp16 on a GPU, fp32 on the CPU.

    ``taesd_path`` (a local AutoencoderTiny folder) gives full-size previews; ``torch_threads`` caps torch's CPU
    threads (None: torch's default); the folders are where LoRAs, ControlNets and annotator weights are found.
    ``vram`` is the VRAM tier ("auto", "high", "medium", "low": ``memory_tiers``), ``fast`` compiles the UNet
    (``fast_mode``), ``fp8_weights`` stores the UNet's weights in fp8 (``enable_layerwise_casting``).
    """

    device: str | None = None
    precision: str = "auto"
    allow_pickle: bool = False
    taesd_path: str | None = None
    torch_threads: int | None = None
    lora_dirs: tuple[str, ...] = ()
    annotators_dir: str | None = None
    controlnet_dirs: tuple[str, ...] = ()
    vram: str = "auto"
    fast: bool = False
    fp8_weights: bool = False

    def with_changes(self, **changes: Any) -> EngineConfig:
        return dataclasses.replace(self, **changes)

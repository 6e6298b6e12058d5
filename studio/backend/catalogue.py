"""What a backend can use: its models, LoRAs and ControlNets, and what it can do (families, controls, samplers).

The local backend lists the files in the artist's folders (no torch: headers and configs only). A remote backend
answers the same questions from its server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.engine.config import EngineConfig
    from studio.models.discovery import ModelEntry
    from studio.models.lora_file import LoraEntry

FAMILIES = ("sd15", "sdxl")


@dataclass(frozen=True)
class Capabilities:
    families: tuple[str, ...]
    control_types: tuple[str, ...]
    samplers: tuple[str, ...]


class Catalogue:
    """The lists of a backend whose engine reads the folders of its ``config`` (``model_dirs`` and the rest)."""

    config: EngineConfig
    model_dirs: tuple[str, ...] = ()  # where checkpoints are looked for, beside the studio's own

    def models(self) -> list[ModelEntry]:
        from studio.models.discovery import discover_models

        return discover_models([Path(folder) for folder in self.model_dirs])

    def loras(self) -> list[LoraEntry]:
        from studio.models.lora_library import scan_loras

        return scan_loras(self.config.lora_dirs)

    def controlnets(self) -> list[Path]:
        from studio.models.controlnets import local_controlnets

        return local_controlnets([Path(folder) for folder in self.config.controlnet_dirs])

    def capabilities(self) -> Capabilities:
        from studio.models.controlnets import CONTROL_TYPES
        from studio.models.samplers import SAMPLER_NAMES

        return Capabilities(FAMILIES, CONTROL_TYPES, SAMPLER_NAMES)

"""What a ComfyUI server has, in the studio's catalogue types: its checkpoints, LoRAs and ControlNets (from
``/models/...``), families read from the files' own metadata where the server shows it (``/view_metadata``),
and the samplers it can run (``/object_info``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.backend.comfyui.answers import expect_list, expect_mapping, name_list
from studio.backend.comfyui.errors import ServerError
from studio.backend.comfyui.job_inputs import ServerFiles, stem

if TYPE_CHECKING:
    from studio.backend.comfyui.http_client import ComfyClient
    from studio.models.discovery import ModelEntry
    from studio.models.lora_file import LoraEntry

MAX_METADATA_READS = (
    200  # one request per file: a server with thousands of LoRAs lists the rest without family
)
METADATA_TIMEOUT = 3.0

# What real files say about their base model (modelspec and kohya's training notes) -> the studio's family.
_ARCHITECTURES = {
    "stable-diffusion-v1": "sd15",
    "stable-diffusion-xl-v1-base": "sdxl",
    "stable-diffusion-xl": "sdxl",
}
_KOHYA_BASES = {"sd_v1": "sd15", "sdxl_base_v1-0": "sdxl", "sdxl": "sdxl"}


def family_from_metadata(metadata: dict[str, Any]) -> str | None:
    arch = str(metadata.get("modelspec.architecture", "")).lower()
    for prefix, family in _ARCHITECTURES.items():
        if arch.startswith(prefix):
            return family
    return _KOHYA_BASES.get(str(metadata.get("ss_base_model_version", "")).lower())


def server_files(client: ComfyClient) -> ServerFiles:
    files = ServerFiles(
        checkpoints=name_list(client.get_json("/models/checkpoints"), "the models"),
        loras=name_list(client.get_json("/models/loras"), "the LoRAs"),
        controlnets=name_list(client.get_json("/models/controlnet"), "the ControlNets"),
    )
    info = expect_mapping(client.get_json("/object_info/KSampler"), "the sampler node")
    try:
        required = info["KSampler"]["input"]["required"]
        files.samplers = tuple(str(name) for name in expect_list(required["sampler_name"][0], "the samplers"))
    except (KeyError, IndexError, TypeError):
        raise ServerError(
            "The server's KSampler node is not what ComfyUI describes; is it ComfyUI?"
        ) from None
    return files


def file_metadata(client: ComfyClient, folder: str, name: str) -> dict[str, Any]:
    """A safetensors file's metadata as the server reads it; {} when it has none or cannot tell."""
    try:
        data = client.get_json(f"/view_metadata/{folder}", {"filename": name}, timeout=METADATA_TIMEOUT)
    except ServerError:
        return {}
    return dict(data) if isinstance(data, dict) else {}


def model_entries(client: ComfyClient, names: list[str]) -> list[ModelEntry]:
    from studio.models.discovery import ModelEntry

    entries = []
    for index, name in enumerate(names):
        family = (
            family_from_metadata(file_metadata(client, "checkpoints", name))
            if index < MAX_METADATA_READS
            else None
        )
        # The server decides what it can load; an unknown family is shown as such, never guessed.
        entries.append(ModelEntry(stem(name), name, family, "single_file", 0))
    return entries


def lora_entries(client: ComfyClient, names: list[str]) -> list[LoraEntry]:
    from studio.models.lora_file import LoraEntry

    entries = []
    for index, name in enumerate(names):
        metadata = file_metadata(client, "loras", name) if index < MAX_METADATA_READS else {}
        trigger = str(metadata.get("modelspec.trigger_phrase", ""))[:200]
        title = metadata.get("modelspec.title") or metadata.get("ss_output_name")
        entries.append(
            LoraEntry(
                name=stem(name),
                path=Path(name),
                size_bytes=0,
                family=family_from_metadata(metadata),
                format="kohya" if "ss_base_model_version" in metadata else "unknown",
                triggers=(trigger,) if trigger else (),
                title=str(title)[:200] if title else None,
            )
        )
    return entries

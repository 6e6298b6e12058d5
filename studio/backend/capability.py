"""What a job needs from a backend, and whether a backend's catalogue has it.

A server can run a job only when it holds the job's checkpoint, every LoRA switched on and every ControlNet the
job names, and knows its sampler and control types. Files are matched by name (the last path part, without the
extension, case-insensitively): the same checkpoint is ``D:/models/sd15/anything.safetensors`` on the artist's
disk and ``sd15/anything.safetensors`` on a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.request import GenerationRequest

if TYPE_CHECKING:
    from studio.backend.protocol import Backend

WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft")


def file_key(reference: str | Path) -> str:
    """The name a model file is matched by across machines: ``a/b/Anything-V3.safetensors`` -> ``anything-v3``."""
    name = str(reference).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].strip().lower()
    for suffix in WEIGHT_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Offer:
    """A backend's catalogue reduced to what matching needs (read once, then reused for every job)."""

    models: frozenset[str]
    loras: frozenset[str]
    controlnets: frozenset[str]
    control_types: frozenset[str]
    samplers: frozenset[str]


def offer_of(backend: Backend) -> Offer:
    """Read ``backend``'s lists (a server answers over the network: call it off the GUI thread)."""
    models = set()
    for entry in backend.models():
        if entry.usable:
            models |= {file_key(entry.reference), file_key(entry.name)}
    capabilities = backend.capabilities()
    return Offer(
        models=frozenset(models),
        loras=frozenset(file_key(entry.name) for entry in backend.loras() if entry.usable),
        controlnets=frozenset(file_key(path) for path in backend.controlnets()),
        control_types=frozenset(capabilities.control_types),
        samplers=frozenset(capabilities.samplers),
    )


def missing(offer: Offer, request: GenerationRequest) -> str:
    """What ``request`` needs that ``offer`` lacks, in words ("the LoRA 'ink'"); "" when it has everything."""
    if file_key(request.model) not in offer.models:
        return f"the model '{file_key(request.model)}'"
    for lora in request.loras:
        if lora.enabled and file_key(lora.name) not in offer.loras:
            return f"the LoRA '{file_key(lora.name)}'"
    for control in request.active_controls:
        if offer.control_types and control.type not in offer.control_types:
            return f"{control.type} control"
        if control.model and file_key(control.model) not in offer.controlnets:
            return f"the ControlNet '{file_key(control.model)}'"
    if offer.samplers and request.sampler not in offer.samplers:
        return f"the sampler '{request.sampler}'"
    return ""

"""What the engine hands back: step previews while it runs, one result at the end. No torch types here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from studio.request import GenerationRequest, LoraRef

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


class StepPreview(NamedTuple):
    """One denoising step. ``image`` is a small HxWx3 uint8 array (latent size, not output size).

    ``step`` counts from 1 across all passes of one image; ``total`` is the true number of callbacks the whole
    run will make (order-2 samplers call back more often than ``steps``; hires fix adds a second pass).
    ``pass_name`` is "base" or "refine". ``image_index`` counts the batch calls (0-based) of a request.
    """

    step: int
    total: int
    image: np.ndarray
    pass_name: str = "base"
    image_index: int = 0


@dataclass(frozen=True)
class ModelInfo:
    """What the metadata records about the model that made an image."""

    name: str
    family: str  # "sd15" or "sdxl"
    hash10: str | None = None  # first 10 hex digits of the checkpoint file's SHA-256, A1111's "Model hash"


@dataclass
class GenerationResult:
    """The images of one request and what is needed to reproduce them.

    ``request`` is the request as run: its ``seed`` is the seed actually used (never -1). ``seeds[i]`` is the
    seed of ``images[i]`` (A1111 convention: seed, seed+1, ...). ``prompt`` and ``negative_prompt`` are the exact
    texts sent to the model. ``notices`` are things the artist should know (a size rounded, a prompt cut).
    """

    request: GenerationRequest
    images: list[Image.Image]
    seeds: list[int]
    prompt: str
    negative_prompt: str
    model: ModelInfo
    cancelled: bool = False
    notices: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    loras: list[LoraRef] = field(default_factory=list)  # applied (request + prompt tags), hash10 = A1111's 12
    server: str = ""  # the generation server that made the images ("" for this computer); never its token

"""What steers a run besides the prompt: ControlNets and an inpainting mask, and the pipeline they need.

``prepare_guidance`` reads the control images, loads the ControlNets (through the engine's cache) and lays out
the inpainting; ``Guidance.call_args`` gives the extra pipeline arguments; ``PipelineVariants`` derives the
right diffusers pipeline from the loaded one with ``from_pipe``, so every variant shares the base weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from studio.engine.control_images import preprocess_control
from studio.engine.controlnet import ControlNetCache
from studio.engine.inpainting import InpaintPlan, plan_inpaint
from studio.engine.lazy import torch_modules
from studio.errors import RequestError, StudioError
from studio.models.controlnets import ControlNetRef, check_family, resolve_controlnet
from studio.models.model_family import INPAINT_FAMILIES, base_family
from studio.request import GenerationRequest

# (family, mode, with ControlNet) -> diffusers pipeline class
_CLASSES = {
    ("sd15", "txt2img", False): "StableDiffusionPipeline",
    ("sd15", "img2img", False): "StableDiffusionImg2ImgPipeline",
    ("sd15", "inpaint", False): "StableDiffusionInpaintPipeline",
    ("sd15", "txt2img", True): "StableDiffusionControlNetPipeline",
    ("sd15", "img2img", True): "StableDiffusionControlNetImg2ImgPipeline",
    ("sd15", "inpaint", True): "StableDiffusionControlNetInpaintPipeline",
    ("sdxl", "txt2img", False): "StableDiffusionXLPipeline",
    ("sdxl", "img2img", False): "StableDiffusionXLImg2ImgPipeline",
    ("sdxl", "inpaint", False): "StableDiffusionXLInpaintPipeline",
    ("sdxl", "txt2img", True): "StableDiffusionXLControlNetPipeline",
    ("sdxl", "img2img", True): "StableDiffusionXLControlNetImg2ImgPipeline",
    ("sdxl", "inpaint", True): "StableDiffusionXLControlNetInpaintPipeline",
}


def resolve_controls(
    request: GenerationRequest, model_family: str | None, folders: tuple[str, ...] = ()
) -> list[ControlNetRef]:
    """Find every ControlNet (repo ids also in ``folders``, see ``resolve_controlnet``) and check its family,
    loading no weights.

    ``model_family`` None (the model is not known yet) still checks that the ControlNets agree with each other.
    """
    refs = []
    for index, control in enumerate(request.active_controls, start=1):
        if not control.model:
            raise RequestError(
                f"Control input {index} ({control.type}) has no ControlNet model. Pick a {control.type} "
                "ControlNet for it, or remove the control."
            )
        refs.append(resolve_controlnet(control.model, folders))
    family = model_family or (refs[0].family if refs else "")
    for ref in refs:
        check_family(ref, family)
    return refs


def peek_model_family(reference: str) -> str | None:
    """The model's family read from its files, without loading it; None when that cannot be done cheaply."""
    from studio.models.model_family import detect_family
    from studio.models.model_ref import resolve_reference

    try:
        ref = resolve_reference(reference)
        if ref.path is None or ref.is_pickle:
            return None
        return detect_family(ref)
    except StudioError:
        return None  # the model load reports it properly


@dataclass
class Guidance:
    """ControlNets with their images and settings, and the inpainting plan, for one request."""

    controlnets: list[Any] = field(default_factory=list)
    images: list[Any] = field(default_factory=list)
    scales: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    inpaint: InpaintPlan | None = None
    refine: Guidance | None = None  # the same ControlNets with control images at the upscaled size

    def call_args(self, mode: str, width: int, height: int) -> dict[str, Any]:
        """Extra pipeline arguments for ``mode`` ("txt2img", "img2img", "inpaint")."""
        args: dict[str, Any] = {}
        if self.controlnets:
            # txt2img ControlNet pipelines take the control image as ``image``; the others as ``control_image``.
            args["image" if mode == "txt2img" else "control_image"] = list(self.images)
            args["controlnet_conditioning_scale"] = list(self.scales)
            args["control_guidance_start"] = list(self.starts)
            args["control_guidance_end"] = list(self.ends)
        if mode == "inpaint" and self.inpaint is not None:
            args["mask_image"] = self.inpaint.mask
            args["width"], args["height"] = width, height
        return args


def prepare_guidance(
    request: GenerationRequest,
    refs: list[ControlNetRef],
    cache: ControlNetCache,
    *,
    device: str,
    dtype: Any,
    notices: list[str],
    annotators: Path | None = None,
) -> Guidance:
    """Control images, loaded ControlNets and the inpainting plan of a validated ``request``."""
    guidance = Guidance()
    if request.mask is not None:
        guidance.inpaint = plan_inpaint(request, notices)
    inpaint = guidance.inpaint
    size = (request.width, request.height)
    controls = request.active_controls  # a switched-off control loads no ControlNet
    for control, ref in zip(controls, refs, strict=True):
        if inpaint is None or inpaint.crop is None:
            image, said = preprocess_control(control, *size, annotators=annotators)
        else:
            # "Only masked": the control map covers the whole picture, so it is cropped as the picture is.
            image, said = preprocess_control(control, *inpaint.original.size, annotators=annotators)
            image = image.crop(inpaint.crop).resize(size, Image.Resampling.LANCZOS)
        notices.extend(said)
        guidance.images.append(image)
        guidance.controlnets.append(cache.get(ref, device=device, dtype=dtype))
        guidance.scales.append(float(control.scale))
        guidance.starts.append(float(control.start))
        guidance.ends.append(float(control.end))
    if request.hires is not None and controls:
        # As A1111's ControlNet does, the refine pass is guided too, by control images made at its size.
        size = request.hires.output_size(request.width, request.height)
        images = [preprocess_control(c, *size, annotators=annotators)[0] for c in controls]
        guidance.refine = dataclasses.replace(guidance, images=images, refine=None)
    return guidance


def check_inpaint_model(request: GenerationRequest, family: str) -> None:
    """An inpainting checkpoint (9-channel UNet) only inpaints."""
    if family in INPAINT_FAMILIES and request.mask is None:
        raise RequestError(
            "The chosen model is an inpainting model: it repaints a masked area of an init image. Give an init "
            "image and a mask, or choose an ordinary model for this."
        )


class PipelineVariants:
    """Pipelines derived from the loaded one with ``from_pipe`` (shared weights), kept for reuse."""

    def __init__(self, base: Any, family: str, limit: int = 4) -> None:
        self.base = base
        self.family = base_family(family)
        self.limit = limit
        self._pipes: dict[tuple[str, tuple[int, ...]], Any] = {}

    def get(self, mode: str, controlnets: list[Any]) -> Any:
        if mode == "txt2img" and not controlnets:
            return self.base
        key = (mode, tuple(id(net) for net in controlnets))
        pipe = self._pipes.pop(key, None)
        if pipe is None:
            diffusers = torch_modules().diffusers
            cls = getattr(diffusers, _CLASSES[(self.family, mode, bool(controlnets))])
            extra = {"controlnet": diffusers.MultiControlNetModel(controlnets)} if controlnets else {}
            pipe = cls.from_pipe(self.base, **extra)
            pipe.set_progress_bar_config(disable=True)
        self._pipes[key] = pipe
        while len(self._pipes) > self.limit:
            self._pipes.pop(next(iter(self._pipes)))
        return pipe

"""A ``GenerationRequest`` as a ComfyUI API graph (the JSON ``/prompt`` takes): one graph per image, so every
image has its own seed (``seed + i``) exactly as the studio's metadata records and A1111 reproduces.

Everything the graph names on the server (checkpoint, LoRAs, ControlNets, uploaded pictures) is resolved
before: ``GraphInputs`` holds server names only, so building is pure and fast to test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studio.request import GenerationRequest

OUTPUT_PREFIX = "diffusion-studio"


@dataclass(frozen=True)
class ControlNode:
    controlnet: str  # the server's file name
    image: str  # the uploaded control image's name
    strength: float
    start: float
    end: float


@dataclass(frozen=True)
class GraphInputs:
    """What one graph needs, in the server's names: texts per BREAK chunk, LoRAs with weights, uploads."""

    checkpoint: str
    prompts: tuple[str, ...]
    negatives: tuple[str, ...]
    sampler: str
    scheduler: str
    loras: tuple[tuple[str, float], ...] = ()
    controls: tuple[ControlNode, ...] = ()
    init_image: str | None = None
    mask: str | None = None


@dataclass
class ComfyGraph:
    """The API graph, and which nodes the progress messages of each pass and the output come from."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    base_sampler: str = ""
    refine_sampler: str = ""
    output: str = ""

    def add(self, class_type: str, **inputs: Any) -> str:
        node_id = str(len(self.nodes) + 1)
        self.nodes[node_id] = {"class_type": class_type, "inputs": inputs}
        return node_id


def img2img_steps(steps: int, strength: float) -> int:
    """The steps an img2img pass runs: ``int(steps * strength)`` as A1111 and diffusers do, at least one."""
    return max(1, int(steps * strength))


def build_graph(request: GenerationRequest, inputs: GraphInputs, seed: int) -> ComfyGraph:
    """The graph of one image of ``request`` with ``seed``."""
    g = ComfyGraph()
    checkpoint = g.add("CheckpointLoaderSimple", ckpt_name=inputs.checkpoint)
    model, clip, vae = [checkpoint, 0], [checkpoint, 1], [checkpoint, 2]
    for name, weight in inputs.loras:
        lora = g.add(
            "LoraLoader", model=model, clip=clip, lora_name=name, strength_model=weight, strength_clip=weight
        )
        model, clip = [lora, 0], [lora, 1]
    positive = _encode(g, clip, inputs.prompts)
    negative = _encode(g, clip, inputs.negatives)
    for control in inputs.controls:
        loader = g.add("ControlNetLoader", control_net_name=control.controlnet)
        picture = g.add("LoadImage", image=control.image)
        applied = g.add(
            "ControlNetApplyAdvanced",
            positive=positive,
            negative=negative,
            control_net=[loader, 0],
            image=[picture, 0],
            strength=control.strength,
            start_percent=control.start,
            end_percent=control.end,
            vae=vae,
        )
        positive, negative = [applied, 0], [applied, 1]
    init: list[Any] | None = None
    mask: list[Any] | None = None
    if inputs.init_image is not None:
        init = [g.add("LoadImage", image=inputs.init_image), 0]
        latent: list[Any] = [g.add("VAEEncode", pixels=init, vae=vae), 0]
        if inputs.mask is not None:
            mask = [g.add("LoadImageMask", image=inputs.mask, channel="red"), 0]
            latent = [g.add("SetLatentNoiseMask", samples=latent, mask=mask), 0]
        steps, denoise = img2img_steps(request.steps, request.strength), request.strength
    else:
        latent = [g.add("EmptyLatentImage", width=request.width, height=request.height, batch_size=1), 0]
        steps, denoise = request.steps, 1.0
    sampling = {"model": model, "seed": seed, "cfg": request.cfg_scale, "sampler_name": inputs.sampler,
                "scheduler": inputs.scheduler, "positive": positive, "negative": negative}  # fmt: skip
    g.base_sampler = g.add("KSampler", **sampling, steps=steps, latent_image=latent, denoise=denoise)
    images: list[Any] = [g.add("VAEDecode", samples=[g.base_sampler, 0], vae=vae), 0]
    if init is not None and mask is not None:
        # The unmasked part stays exactly the artist's picture, as the local engine pastes it back.
        images = [
            g.add(
                "ImageCompositeMasked",
                destination=init,
                source=images,
                x=0,
                y=0,
                resize_source=False,
                mask=mask,
            ),
            0,
        ]
    if request.hires is not None:
        hires = request.hires
        width, height = hires.output_size(request.width, request.height)
        upscaled = g.add(
            "ImageScale", image=images, upscale_method="lanczos", width=width, height=height, crop="disabled"
        )
        encoded = g.add("VAEEncode", pixels=[upscaled, 0], vae=vae)
        g.refine_sampler = g.add(
            "KSampler", **sampling, steps=img2img_steps(hires.steps, hires.strength), latent_image=[encoded, 0],
            denoise=hires.strength,
        )  # fmt: skip
        images = [g.add("VAEDecode", samples=[g.refine_sampler, 0], vae=vae), 0]
    g.output = g.add("SaveImage", images=images, filename_prefix=OUTPUT_PREFIX)
    return g


def total_steps(request: GenerationRequest) -> int:
    """The progress steps of one image: the base pass, then the refine pass."""
    base = img2img_steps(request.steps, request.strength) if request.is_img2img else request.steps
    if request.hires is not None:
        base += img2img_steps(request.hires.steps, request.hires.strength)
    return base


def _encode(g: ComfyGraph, clip: list[Any], texts: tuple[str, ...]) -> list[Any]:
    """The texts of the BREAK chunks encoded and joined, as A1111 joins its 75-token chunks."""
    joined: list[Any] | None = None
    for text in texts or ("",):
        encoded = [g.add("CLIPTextEncode", clip=clip, text=text), 0]
        joined = (
            encoded
            if joined is None
            else [g.add("ConditioningConcat", conditioning_to=joined, conditioning_from=encoded), 0]
        )
    assert joined is not None
    return joined

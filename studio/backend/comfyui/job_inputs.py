"""A request's files and names made ready for a server: the checkpoint, LoRAs and ControlNets matched to the
server's own files, the init image, mask and control images rendered here (as the local engine renders them)
and uploaded. Nothing the artist typed is sent as a file name: only names the server listed."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from studio.backend.comfyui.graph import ControlNode, GraphInputs
from studio.backend.comfyui.prompt_text import comfy_texts
from studio.backend.comfyui.samplers import comfy_sampler
from studio.errors import RequestError
from studio.prompt.a1111_syntax import parse_prompt
from studio.prompt.compose import compose
from studio.request import GenerationRequest, LoraRef

if TYPE_CHECKING:
    pass


@dataclass
class ServerFiles:
    """The names a server listed, per folder, and the ComfyUI samplers it has."""

    checkpoints: list[str] = field(default_factory=list)
    loras: list[str] = field(default_factory=list)
    controlnets: list[str] = field(default_factory=list)
    samplers: tuple[str, ...] | None = None


def stem(name: str) -> str:
    """A file's name without folders and extension, as the studio shows it ("sub/ink.safetensors" -> "ink")."""
    return PurePosixPath(name.replace("\\", "/")).stem


def match_name(wanted: str, names: list[str], what: str, where: str) -> str:
    """The server name meaning ``wanted`` (a server name, a file name or path from this computer, or a stem)."""
    if wanted in names:
        return wanted
    base = Path(wanted.replace("\\", "/")).name
    for candidates in ([n for n in names if PurePosixPath(n).name == base],
                       [n for n in names if stem(n).lower() == stem(base).lower()]):  # fmt: skip
        if candidates:
            return candidates[0]
    listed = ", ".join(stem(n) for n in names[:12]) or "none"
    raise RequestError(
        f"The ComfyUI server '{where}' has no {what} '{stem(base) or wanted}'. It has: {listed}."
    )


@dataclass
class PreparedJob:
    """What every graph of one request shares."""

    request: GenerationRequest  # seed fixed, switched-off controls left out
    prompt: str
    negative: str
    inputs: GraphInputs
    loras: list[LoraRef]
    notices: list[str]


def prepare(request: GenerationRequest, files: ServerFiles, where: str, upload: Any) -> PreparedJob:
    """Match names and render and upload pictures (``upload(png_bytes, name) -> server name``)."""
    notices: list[str] = []
    if not request.model:
        raise RequestError("No model is chosen. Pick one of the server's models, then generate again.")
    checkpoint = match_name(request.model, files.checkpoints, "model", where)
    sampler, scheduler = comfy_sampler(request.sampler, files.samplers)
    prompt, negative = compose(request)
    parsed, parsed_negative = parse_prompt(prompt), parse_prompt(negative)
    texts, notes = comfy_texts(parsed)
    negatives, negative_notes = comfy_texts(parsed_negative)
    notices += list(dict.fromkeys(notes + negative_notes))
    loras = _loras(request, [*parsed.loras, *parsed_negative.loras], files.loras, where)
    init = mask = None
    if request.is_img2img:
        init = upload(_png(_init_picture(request, notices)), "init")
        if request.mask is not None:
            mask = upload(_png(_mask_picture(request, notices)), "mask")
            if request.inpaint_area == "masked":
                notices.append(
                    "A ComfyUI server repaints with the whole picture as context ('masked only' is done by the "
                    "local engine)."
                )
    elif request.mask is not None:
        raise RequestError(
            "Inpainting needs the picture to paint into: add an init image, or remove the mask."
        )
    controls = tuple(
        ControlNode(
            match_name(control.model, files.controlnets, "ControlNet", where),
            upload(_png(_control_picture(control, request, notices)), f"control-{control.type}"),
            control.scale,
            control.start,
            control.end,
        )
        for control in request.active_controls
    )
    inputs = GraphInputs(
        checkpoint=checkpoint,
        prompts=tuple(texts),
        negatives=tuple(negatives),
        sampler=sampler,
        scheduler=scheduler,
        loras=tuple((name, ref.weight) for name, ref in loras),
        controls=controls,
        init_image=init,
        mask=mask,
    )
    applied = [ref for _name, ref in loras]
    return PreparedJob(request, prompt, negative, inputs, applied, notices)


def _loras(
    request: GenerationRequest, tags: list[Any], names: list[str], where: str
) -> list[tuple[str, LoraRef]]:
    """The request's LoRAs and the prompt's ``<lora:name:w>`` tags (a tag wins over the same LoRA in the list)."""
    wanted: dict[str, LoraRef] = {}
    for ref in request.loras:
        if ref.enabled:
            wanted[stem(ref.name).lower()] = LoraRef(stem(ref.name), ref.weight)
    for tag in tags:
        wanted[stem(tag.name).lower()] = LoraRef(
            stem(tag.name), tag.weight if tag.weight is not None else 1.0
        )
    return [(match_name(ref.name, names, "LoRA", where), ref) for ref in wanted.values()]


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload_name(data: bytes, kind: str) -> str:
    """The same picture always gets the same name, so a retry or the next image of a batch uploads nothing new."""
    return f"diffusion-studio-{kind}-{hashlib.sha256(data).hexdigest()[:20]}.png"


def _init_picture(request: GenerationRequest, notices: list[str]) -> Any:
    from studio.engine.pictures import INIT_IMAGE, fit_to_size, read_picture

    what, advice = INIT_IMAGE
    image = read_picture(request.init_image or "", what, advice)
    return fit_to_size(image, (request.width, request.height), what, notices)


def _mask_picture(request: GenerationRequest, notices: list[str]) -> Any:
    from PIL import ImageFilter

    from studio.engine.pictures import fit_to_size, read_picture

    mask = read_picture(request.mask or "", "The inpainting mask", "Paint the mask again or remove it.")
    mask = fit_to_size(mask.convert("L"), (request.width, request.height), "The inpainting mask", notices)
    if request.mask_blur > 0:  # soft edges, as the local engine blurs them
        mask = mask.filter(ImageFilter.GaussianBlur(request.mask_blur))
    return mask.convert("RGB")


def _control_picture(control: Any, request: GenerationRequest, notices: list[str]) -> Any:
    from studio.engine.control_images import preprocess_control
    from studio.models.annotators import ANNOTATORS, resolve_preprocessor

    if resolve_preprocessor(control) in ANNOTATORS:
        raise RequestError(
            f"The {control.type} control needs an annotator model to read the picture, which a ComfyUI server "
            "job does not run. Give a ready control map (preprocessor 'none'), or generate on this computer."
        )
    image, found = preprocess_control(control, request.width, request.height)
    notices += found
    return image

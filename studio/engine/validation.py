"""Checking a request before any work is spent on it. Pure: no torch, no files.

A value the engine can use after an obvious adjustment (a width of 500 → 496) is adjusted WITH a notice that
says so; a value it cannot use raises ``RequestError`` saying what is allowed. Every number that reaches the
model must be a finite number of the right kind: an infinite CFG scale makes NaN latents, which decode to a
black picture, and a request read from JSON or another tool's PNG can hold anything.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from studio.errors import RequestError
from studio.models.model_family import FAMILY_NAMES
from studio.prompt.a1111_syntax import check_prompt_length as check_length
from studio.request import RANDOM_SEED, SEED_MAX, GenerationRequest

SIZE_RANGES: dict[str, tuple[int, int]] = {"sd15": (64, 2048), "sdxl": (256, 4096)}
MAX_STEPS = 500
MAX_CFG = 100.0  # A1111's slider stops at 30; far beyond it the guidance overflows into NaN
MAX_BATCH_SIZE = 16
MAX_BATCH_COUNT = 100
MAX_CLIP_SKIP = 12  # A1111's slider: SD 1.x's text encoder has 12 layers
HIRES_SCALE_RANGE = (1.25, 2.0)
UPSCALERS = ("Lanczos",)
MAX_CONTROL_SCALE = 2.0  # A1111's ControlNet weight slider goes to 2
MAX_MASK_BLUR = 64
MAX_INPAINT_PADDING = 256
INPAINT_AREAS = ("whole", "masked")
LORA_WEIGHT_RANGE = (-2.0, 2.0)
# A1111 encodes a prompt of any length, 75 tokens per chunk; a prompt pasted from a hostile PNG can be 50 MB.
# 32 chunks (2,400 tokens) is far past any real prompt and still encodes in a second or two on a CPU. The
# parser's character cap (MAX_PROMPT_CHARS) is checked first, before the model loads and before the tokenizer
# ever sees the text.
MAX_PROMPT_CHUNKS = 32


def validate(request: GenerationRequest, family: str) -> tuple[GenerationRequest, list[str]]:
    """Return the request as it will run and the notices about what was adjusted.

    ``family`` is "sd15" or "sdxl" (``ModelInfo.family``). Raises ``RequestError`` for unusable values.
    """
    family = family.split("-", 1)[0]  # an inpainting model ("sd15-inpaint") makes the sizes its base makes
    if family not in SIZE_RANGES:
        raise RequestError(f"Unknown model family '{family}'; the studio runs SD 1.x and SDXL models.")
    check_request(request)
    notices: list[str] = []
    width = _round_to_8("width", request.width, notices)
    height = _round_to_8("height", request.height, notices)
    _check_size(width, height, family)
    hires = request.hires
    if hires is not None:
        _check_size(*hires.output_size(width, height), family, what="The upscaled size")
        if hires.upscaler not in UPSCALERS:
            notices.append(f"The upscaler '{hires.upscaler}' is not available here; {UPSCALERS[0]} was used.")
            request = request.with_changes(hires=dataclasses.replace(hires, upscaler=UPSCALERS[0]))
    if (width, height) != (request.width, request.height):
        request = request.with_changes(width=width, height=height)
    return request, notices


def check_request(request: GenerationRequest) -> None:
    """The checks that need no model, so the engine runs them before loading one: every number is a finite
    number in its range, the prompts are short enough to encode. Raises ``RequestError``."""
    for name, value in (("width", request.width), ("height", request.height)):
        if not _is_int(value):  # the family's range is checked once the model says which family it is
            raise RequestError(f"The {name} must be a whole number of pixels, not {value!r}.")
    _check_int("steps", request.steps, 1, MAX_STEPS)
    _check_int("batch size", request.batch_size, 1, MAX_BATCH_SIZE)
    _check_int("batch count", request.batch_count, 1, MAX_BATCH_COUNT)
    _check_number("CFG scale", request.cfg_scale, 0.0, MAX_CFG)
    _check_int("clip skip", request.clip_skip, 1, MAX_CLIP_SKIP)
    seed = request.seed
    highest = SEED_MAX - (request.images_total - 1)  # image i uses seed + i, and the last one must fit too
    if not _is_int(seed) or (seed != RANDOM_SEED and not 0 <= seed <= highest):
        raise RequestError(
            f"The seed must be {RANDOM_SEED} (random) or a whole number from 0 to {highest}, not {seed!r}."
        )
    if request.is_img2img:
        _check_strength("img2img strength (denoising)", request.strength, request.steps)
    hires = request.hires
    if hires is not None:
        low, high = HIRES_SCALE_RANGE
        if not _is_number(hires.scale) or not low <= hires.scale <= high:
            raise RequestError(f"The upscale factor must be between {low} and {high}, not {hires.scale!r}.")
        _check_int("refine steps", hires.steps, 1, MAX_STEPS)
        _check_strength("refine strength (denoising)", hires.strength, hires.steps)
    _check_controls(request)
    _check_inpainting(request)
    for lora in request.loras:
        if lora.enabled:  # a switched-off LoRA never reaches the model
            check_lora_weight(lora.name, lora.weight)
    check_prompt_length("prompt", request.prompt)
    check_prompt_length("negative prompt", request.negative_prompt)


def check_lora_weight(name: str, weight: Any) -> None:
    """Raise ``RequestError`` unless ``weight`` is a number in ``LORA_WEIGHT_RANGE``."""
    low, high = LORA_WEIGHT_RANGE
    if not _is_number(weight) or not low <= weight <= high:
        raise RequestError(f"The weight of the LoRA '{name}' must be from {low} to {high}, not {weight!r}.")


def check_prompt_length(label: str, text: str) -> None:
    """Refuse a prompt too long to encode before it is parsed or tokenized (both grow with its length)."""
    if not isinstance(text, str):
        raise RequestError(f"The {label} must be text, not {type(text).__name__}.")
    check_length(label, text)


def check_prompt_chunks(label: str, chunks: int) -> None:
    """Refuse a prompt that tokenizes into more than ``MAX_PROMPT_CHUNKS`` chunks of 75 tokens."""
    if chunks > MAX_PROMPT_CHUNKS:
        raise RequestError(
            f"The {label} is {chunks} chunks of 75 tokens long; the studio encodes at most {MAX_PROMPT_CHUNKS} "
            f"chunks ({MAX_PROMPT_CHUNKS * 75:,} tokens). Shorten it."
        )


def _check_controls(request: GenerationRequest) -> None:
    for index, control in enumerate(request.active_controls, start=1):
        name = f"control {index} ({control.type})"
        if not control.image:
            raise RequestError(
                f"The {name} has no image. Choose a control image or pose, or remove the control."
            )
        if not _is_number(control.scale) or not 0.0 <= control.scale <= MAX_CONTROL_SCALE:
            raise RequestError(
                f"The {name} weight must be from 0 to {MAX_CONTROL_SCALE}, not {control.scale!r}."
            )
        if not (_is_number(control.start) and _is_number(control.end)) or not (
            0.0 <= control.start < control.end <= 1.0
        ):
            raise RequestError(
                f"The {name} must start before it ends, both from 0 to 1 (got start {control.start}, end "
                f"{control.end})."
            )


def _check_inpainting(request: GenerationRequest) -> None:
    if request.mask is None:
        return
    if request.init_image is None:
        raise RequestError(
            "An inpainting mask needs an init image to paint over. Choose one, or remove the mask."
        )
    if request.hires is not None:
        raise RequestError(
            "Upscale & refine does not combine with inpainting. Turn one of them off (inpaint first, then refine "
            "the result in a second run)."
        )
    _check_int("mask blur", request.mask_blur, 0, MAX_MASK_BLUR)
    _check_int("masked area padding", request.inpaint_padding, 0, MAX_INPAINT_PADDING)
    if request.inpaint_area not in INPAINT_AREAS:
        raise RequestError(
            f"The inpaint area must be one of {', '.join(INPAINT_AREAS)}, not '{request.inpaint_area}'."
        )


def _round_to_8(name: str, value: int, notices: list[str]) -> int:
    if value % 8 == 0:
        return value
    rounded = max(8, int(value / 8 + 0.5) * 8)  # half up: Python's round() would round 4 down to 0
    notices.append(f"The {name} {value} is not a multiple of 8; it was rounded to {rounded}.")
    return rounded


def _check_size(width: int, height: int, family: str, what: str = "The image size") -> None:
    low, high = SIZE_RANGES[family]
    if not (low <= width <= high and low <= height <= high):
        raise RequestError(
            f"{what} {width}×{height} is outside what {FAMILY_NAMES[family]} models can make: width and height "
            f"must each be from {low} to {high} pixels."
        )


def _is_number(value: Any) -> bool:
    """A finite int or float; bool is not a number here (True would pass as 1)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if not _is_int(value):
        raise RequestError(f"The {name} must be a whole number from {low} to {high}, not {value!r}.")
    if not low <= value <= high:
        raise RequestError(f"The {name} must be from {low} to {high}, not {value}.")


def _check_number(name: str, value: float, low: float, high: float) -> None:
    if not _is_number(value) or not low <= value <= high:
        raise RequestError(f"The {name} must be a number from {low:g} to {high:g}, not {value!r}.")


def _check_strength(name: str, strength: float, steps: int) -> None:
    if not _is_number(strength) or not 0.0 <= strength <= 1.0:
        raise RequestError(f"The {name} must be from 0 to 1, not {strength!r}.")
    if int(steps * strength) < 1:
        raise RequestError(
            f"The {name} {strength} with {steps} steps leaves no step to run ({steps} × {strength} < 1). "
            "Raise the strength or the steps."
        )

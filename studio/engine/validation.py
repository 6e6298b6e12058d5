"""Checking a request before any work is spent on it. Pure: no torch, no files.

A value the engine can use after an obvious adjustment (a width of 500 → 496) is adjusted WITH a notice that
says so; a value it cannot use raises ``RequestError`` saying what is allowed.
"""

from __future__ import annotations

import dataclasses

from studio.errors import RequestError
from studio.request import GenerationRequest

SIZE_RANGES: dict[str, tuple[int, int]] = {"sd15": (64, 2048), "sdxl": (256, 4096)}
FAMILY_NAMES = {"sd15": "SD 1.x", "sdxl": "SDXL"}
MAX_STEPS = 500
MAX_BATCH_SIZE = 16
MAX_BATCH_COUNT = 100
HIRES_SCALE_RANGE = (1.25, 2.0)
MAX_SEED = 2**64 - 1
UPSCALERS = ("Lanczos",)
MAX_CONTROL_SCALE = 2.0  # A1111's ControlNet weight slider goes to 2
MAX_MASK_BLUR = 64
MAX_INPAINT_PADDING = 256
INPAINT_AREAS = ("whole", "masked")


def validate(request: GenerationRequest, family: str) -> tuple[GenerationRequest, list[str]]:
    """Return the request as it will run and the notices about what was adjusted.

    ``family`` is "sd15" or "sdxl" (``ModelInfo.family``). Raises ``RequestError`` for unusable values.
    """
    family = family.split("-", 1)[0]  # an inpainting model ("sd15-inpaint") makes the sizes its base makes
    if family not in SIZE_RANGES:
        raise RequestError(f"Unknown model family '{family}'; the studio runs SD 1.x and SDXL models.")
    notices: list[str] = []
    width = _round_to_8("width", request.width, notices)
    height = _round_to_8("height", request.height, notices)
    _check_size(width, height, family)
    _check_int("steps", request.steps, 1, MAX_STEPS)
    _check_int("batch size", request.batch_size, 1, MAX_BATCH_SIZE)
    _check_int("batch count", request.batch_count, 1, MAX_BATCH_COUNT)
    if not request.cfg_scale >= 0:  # also catches NaN
        raise RequestError(f"The CFG scale must be 0 or more, not {request.cfg_scale}.")
    if request.seed != -1 and not 0 <= request.seed <= MAX_SEED - request.images_total:
        raise RequestError(
            f"The seed must be -1 (random) or a whole number from 0 to {MAX_SEED}, not {request.seed}."
        )
    if request.is_img2img:
        _check_strength("img2img strength (denoising)", request.strength, request.steps)
    hires = request.hires
    if hires is not None:
        low, high = HIRES_SCALE_RANGE
        if not low <= hires.scale <= high:
            raise RequestError(f"The upscale factor must be between {low} and {high}, not {hires.scale}.")
        _check_int("refine steps", hires.steps, 1, MAX_STEPS)
        _check_strength("refine strength (denoising)", hires.strength, hires.steps)
        _check_size(*hires.output_size(width, height), family, what="The upscaled size")
        if hires.upscaler not in UPSCALERS:
            notices.append(f"The upscaler '{hires.upscaler}' is not available here; {UPSCALERS[0]} was used.")
            request = request.with_changes(hires=dataclasses.replace(hires, upscaler=UPSCALERS[0]))
    _check_controls(request)
    _check_inpainting(request)
    if (width, height) != (request.width, request.height):
        request = request.with_changes(width=width, height=height)
    return request, notices


def _check_controls(request: GenerationRequest) -> None:
    for index, control in enumerate(request.active_controls, start=1):
        name = f"control {index} ({control.type})"
        if not control.image:
            raise RequestError(
                f"The {name} has no image. Choose a control image or pose, or remove the control."
            )
        if not 0.0 <= control.scale <= MAX_CONTROL_SCALE:
            raise RequestError(
                f"The {name} weight must be from 0 to {MAX_CONTROL_SCALE}, not {control.scale}."
            )
        if not 0.0 <= control.start < control.end <= 1.0:
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


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise RequestError(f"The {name} must be from {low} to {high}, not {value}.")


def _check_strength(name: str, strength: float, steps: int) -> None:
    if not 0.0 <= strength <= 1.0:
        raise RequestError(f"The {name} must be from 0 to 1, not {strength}.")
    if int(steps * strength) < 1:
        raise RequestError(
            f"The {name} {strength} with {steps} steps leaves no step to run ({steps} × {strength} < 1). "
            "Raise the strength or the steps."
        )

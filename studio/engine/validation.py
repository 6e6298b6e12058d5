"""Checking a request before any work is spent on it. Pure: no torch, no files.

A value the engine can use after an obvious adjustment (a width of 500 → 496) is adjusted WITH a notice that
says so; a value it cannot use raises ``RequestError`` saying what is allowed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

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


def validate(request: GenerationRequest, family: str) -> tuple[GenerationRequest, list[str]]:
    """Return the request as it will run and the notices about what was adjusted.

    ``family`` is "sd15" or "sdxl" (``ModelInfo.family``). Raises ``RequestError`` for unusable values.
    """
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
    if (width, height) != (request.width, request.height):
        request = request.with_changes(width=width, height=height)
    return request, notices


def prompt_overflow(tokenizer: Any, text: str) -> str | None:
    """The words of ``text`` the text encoder never sees, or None when it all fits.

    ``tokenizer`` is the pipeline's CLIP tokenizer (``model_max_length`` counts the start and end tokens).
    """
    if not text:
        return None
    ids = tokenizer(text, truncation=False, add_special_tokens=False).input_ids
    room = tokenizer.model_max_length - 2
    if len(ids) <= room:
        return None
    # A cut can split a multi-byte character (emoji); its stray bytes decode to U+FFFD, which says nothing.
    return tokenizer.decode(ids[room:]).replace("\ufffd", "").strip()


def overflow_notice(label: str, dropped: str, limit: int) -> str:
    """The notice for a cut prompt: what was cut and why."""
    return (
        f"The {label} is longer than the model reads ({limit - 2} tokens), so the end was cut: "
        f"'{dropped}'. Shorten it, or move the important words to the front."
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

"""validate(): what is adjusted (always with a notice) and what is refused (with the allowed range)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.engine.validation import validate
from studio.errors import RequestError
from studio.request import GenerationRequest, HiresSettings

OK = GenerationRequest(model="m", width=512, height=512, steps=20)


def test_a_good_request_passes_unchanged():
    assert validate(OK, "sd15") == (OK, [])
    assert validate(OK.with_changes(width=1024, height=1024), "sdxl")[1] == []


@given(st.integers(min_value=64, max_value=2048))
def test_width_is_rounded_to_the_nearest_multiple_of_8_with_a_notice(width):
    request, notices = validate(OK.with_changes(width=width), "sd15")
    assert request.width % 8 == 0 and abs(request.width - width) <= 4
    if width % 8:
        assert notices == [f"The width {width} is not a multiple of 8; it was rounded to {request.width}."]
    else:
        assert notices == [] and request.width == width


def test_both_sides_rounded_give_two_notices():
    request, notices = validate(OK.with_changes(width=500, height=301), "sd15")
    assert (request.width, request.height) == (504, 304)
    assert len(notices) == 2 and "height 301" in notices[1] and "304" in notices[1]


@pytest.mark.parametrize(
    ("family", "width", "height", "range_text"),
    [
        ("sd15", 56, 512, "64 to 2048"),
        ("sd15", 512, 2056, "64 to 2048"),
        ("sdxl", 248, 1024, "256 to 4096"),
        ("sdxl", 1024, 4104, "256 to 4096"),
    ],
)
def test_sizes_outside_the_family_range_are_refused(family, width, height, range_text):
    with pytest.raises(RequestError, match=range_text):
        validate(OK.with_changes(width=width, height=height), family)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"steps": 0}, "steps must be from 1 to 500, not 0"),
        ({"steps": 501}, "steps must be from 1 to 500"),
        ({"cfg_scale": -0.5}, "CFG scale must be 0 or more"),
        ({"cfg_scale": float("nan")}, "CFG scale"),
        ({"batch_size": 0}, "batch size must be from 1 to 16"),
        ({"batch_size": 17}, "batch size must be from 1 to 16"),
        ({"batch_count": 0}, "batch count"),
        ({"seed": -2}, "seed must be -1"),
        ({"init_image": "x.png", "strength": 1.5}, "strength .* from 0 to 1"),
        ({"init_image": "x.png", "strength": -0.1}, "strength .* from 0 to 1"),
        ({"init_image": "x.png", "strength": 0.01}, "leaves no step"),
        ({"hires": HiresSettings(scale=3.0)}, "upscale factor must be between 1.25 and 2.0"),
        ({"hires": HiresSettings(scale=1.1)}, "upscale factor"),
        ({"hires": HiresSettings(steps=0)}, "refine steps"),
        ({"hires": HiresSettings(strength=2.0)}, "refine strength"),
        ({"width": 1536, "hires": HiresSettings(scale=1.5)}, "upscaled size 2304×768"),
        ({"width": 7}, "image size 8×512 is outside"),
    ],
)
def test_unusable_values_are_refused(changes, match):
    request = OK.with_changes(**changes)
    with pytest.raises(RequestError, match=match):
        validate(request, "sd15")


def test_empty_prompt_and_strength_bounds_are_allowed():
    validate(OK.with_changes(prompt="", negative_prompt=""), "sd15")
    validate(OK.with_changes(init_image="x.png", strength=1.0), "sd15")
    validate(OK.with_changes(hires=HiresSettings(scale=2.0, strength=0.0 + 0.05, steps=20)), "sd15")


def test_unknown_upscaler_is_replaced_with_a_notice():
    request, notices = validate(OK.with_changes(hires=HiresSettings(upscaler="Latent")), "sd15")
    assert request.hires.upscaler == "Lanczos"
    assert notices == ["The upscaler 'Latent' is not available here; Lanczos was used."]


def test_unknown_family_is_refused():
    with pytest.raises(RequestError, match="family 'flux'"):
        validate(OK, "flux")

"""validate(): what is adjusted (always with a notice) and what is refused (with the allowed range)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.engine.validation import (
    MAX_PROMPT_CHUNKS,
    check_prompt_chunks,
    check_request,
    validate,
)
from studio.errors import RequestError
from studio.prompt.a1111_syntax import MAX_PROMPT_CHARS
from studio.request import RANDOM_SEED, SEED_MAX, ControlInput, GenerationRequest, HiresSettings, LoraRef

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


def test_seeds_are_random_or_64_bit_and_every_image_seed_fits():
    """A seed past 32 bits (ComfyUI writes them) runs as it is; the last image's seed (seed + n - 1) must fit."""
    for seed in (RANDOM_SEED, 0, 2**40, SEED_MAX):
        check_request(OK.with_changes(seed=seed))
    check_request(OK.with_changes(seed=SEED_MAX - 3, batch_size=2, batch_count=2))
    highest = rf"seed must be -1 \(random\) or a whole number from 0 to {SEED_MAX - 1},"
    with pytest.raises(RequestError, match=highest):
        check_request(OK.with_changes(seed=SEED_MAX, batch_size=2))
    with pytest.raises(RequestError, match="seed must be -1"):
        check_request(OK.with_changes(seed=SEED_MAX + 1))


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
        ({"cfg_scale": -0.5}, "CFG scale must be a number from 0 to 100, not -0.5"),
        ({"cfg_scale": float("nan")}, "CFG scale must be a number from 0 to 100, not nan"),
        ({"cfg_scale": float("inf")}, "CFG scale must be a number from 0 to 100, not inf"),
        ({"cfg_scale": 101.0}, "CFG scale must be a number from 0 to 100"),
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


INF, NAN = float("inf"), float("nan")
MASKED = {"init_image": "x.png", "mask": "m.png"}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"init_image": "x.png", "strength": NAN}, "img2img strength .* not nan"),
        ({"init_image": "x.png", "strength": INF}, "img2img strength .* not inf"),
        ({"hires": HiresSettings(strength=NAN)}, "refine strength .* not nan"),
        ({"hires": HiresSettings(scale=INF)}, "upscale factor .* not inf"),
        ({"hires": HiresSettings(scale=NAN)}, "upscale factor .* not nan"),
        ({"hires": HiresSettings(steps=2.5)}, "refine steps must be a whole number"),
        (
            {"controls": (ControlInput("canny", "c.png", scale=INF),)},
            r"control 1 \(canny\) weight .* not inf",
        ),
        (
            {"controls": (ControlInput("canny", "c.png", start=NAN),)},
            r"control 1 \(canny\) must start before",
        ),
        ({"controls": (ControlInput("canny", "c.png", end=INF),)}, r"control 1 \(canny\) must start before"),
        ({"loras": (LoraRef("ink", INF),)}, "weight of the LoRA 'ink' must be from -2.0 to 2.0, not inf"),
        ({"loras": (LoraRef("ink", NAN),)}, "weight of the LoRA 'ink' .* not nan"),
        ({**MASKED, "mask_blur": INF}, "mask blur must be a whole number from 0 to 64, not inf"),
        ({**MASKED, "inpaint_padding": NAN}, "masked area padding must be a whole number"),
        ({"steps": 2.0}, "steps must be a whole number"),
        ({"batch_size": True}, "batch size must be a whole number"),
        ({"width": 512.5}, "width must be a whole number of pixels"),
        ({"seed": 4.0}, "seed must be -1"),
    ],
)
def test_non_finite_and_wrongly_typed_numbers_are_refused_before_a_model_loads(changes, match):
    """check_request needs no model: the engine runs it first, so inf/NaN never reach the pipeline."""
    with pytest.raises(RequestError, match=match):
        check_request(OK.with_changes(**changes))
    with pytest.raises(RequestError, match=match):
        validate(OK.with_changes(**changes), "sd15")


def test_switched_off_loras_are_not_checked():
    check_request(OK.with_changes(loras=(LoraRef("ink", INF, enabled=False),)))


def test_prompts_too_long_to_encode_are_refused_before_parsing():
    at_limit = "a" * MAX_PROMPT_CHARS
    check_request(OK.with_changes(prompt=at_limit, negative_prompt=at_limit))
    with pytest.raises(RequestError, match=f"The prompt is {MAX_PROMPT_CHARS + 1:,} characters long"):
        check_request(OK.with_changes(prompt=at_limit + "a"))
    with pytest.raises(RequestError, match="The negative prompt is 50,000,000 characters long.*Shorten it"):
        check_request(OK.with_changes(negative_prompt="x" * 50_000_000))


def test_too_many_chunks_is_refused_with_the_count():
    check_prompt_chunks("prompt", MAX_PROMPT_CHUNKS)
    with pytest.raises(RequestError, match=f"negative prompt is {MAX_PROMPT_CHUNKS + 1} chunks of 75 tokens"):
        check_prompt_chunks("negative prompt", MAX_PROMPT_CHUNKS + 1)

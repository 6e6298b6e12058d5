"""The one request type: JSON round trip, versions, and clear errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.errors import RequestError
from studio.request import (
    SCHEMA_VERSION,
    SEED_MAX,
    ControlInput,
    GenerationRequest,
    HiresSettings,
    LoraRef,
)


def full_request() -> GenerationRequest:
    return GenerationRequest(
        model="stabilityai/stable-diffusion-xl-base-1.0",
        prompt="a knight in armor 🛡️, moonlit",
        negative_prompt="blurry",
        style="digital-art",
        lighting="moonlight",
        composition="low-angle",
        seed=1234,
        steps=30,
        cfg_scale=6.5,
        sampler="Euler a",
        width=832,
        height=1216,
        batch_size=2,
        batch_count=3,
        init_image="/tmp/source.png",
        strength=0.6,
        hires=HiresSettings(scale=1.5, strength=0.4, steps=12),
        controls=(
            ControlInput(
                "canny", "/tmp/photo.jpg", model="lllyasviel/sd-controlnet-canny", params={"low": 80}
            ),
        ),
        loras=(LoraRef("ink-style", 0.7), LoraRef("/loras/detail.safetensors", -0.5, enabled=False)),
        mask="/tmp/mask.png",
    )


def test_json_round_trip_is_exact():
    request = full_request()
    text = request.to_json()
    assert json.loads(text)["version"] == SCHEMA_VERSION
    assert GenerationRequest.from_json(text) == request


def test_image_seeds_count_up_from_the_seed_batch_by_batch():
    request = GenerationRequest(seed=100, batch_size=2, batch_count=3)
    assert request.image_seeds() == [100, 101, 102, 103, 104, 105]
    assert request.image_seeds(1) == [102, 103] and request.image_seeds(2) == [104, 105]
    with pytest.raises(ValueError, match="random seed"):
        GenerationRequest().image_seeds()


def test_a_64_bit_seed_read_from_a_file_is_kept_whole():
    """ComfyUI writes seeds past 32 bits; reading one must not cut it (random seeds alone are 32-bit)."""
    assert GenerationRequest.from_dict({"seed": SEED_MAX}).seed == SEED_MAX


def test_request_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        full_request().prompt = "changed"  # type: ignore[misc]
    assert full_request().with_changes(seed=5).seed == 5


def test_version_1_migrates_to_current():
    old = {
        "version": 1,
        "model": "m",
        "prompt": "cat",
        "seed": 3,
        "hires": {"scale": 2.0, "strength": 0.3, "steps": 9},
    }
    request = GenerationRequest.from_dict(old)
    assert (request.prompt, request.seed, request.controls, request.loras, request.mask) == (
        "cat",
        3,
        (),
        (),
        None,
    )
    assert request.hires == HiresSettings(scale=2.0, strength=0.3, steps=9)


def test_newer_version_asks_for_an_update():
    with pytest.raises(RequestError, match="newer Diffusion Studio"):
        GenerationRequest.from_dict({"version": SCHEMA_VERSION + 1, "prompt": "x"})


@pytest.mark.parametrize(
    "data, field_name",
    [
        ({"steps": "many"}, "steps"),
        ({"seed": 1.5}, "seed"),
        ({"cfg_scale": True}, "cfg_scale"),
        ({"prompt": 3}, "prompt"),
        ({"hires": "yes"}, "hires"),
        ({"controls": ["canny"]}, "controls"),
        ({"steps": float("inf")}, "steps"),
        ({"mask_blur": float("-inf")}, "mask_blur"),
    ],
)
def test_bad_values_name_the_field(data, field_name):
    with pytest.raises(RequestError, match=f"'{field_name}'"):
        GenerationRequest.from_dict({"version": SCHEMA_VERSION, **data})


def test_unknown_keys_are_kept_in_extras():
    request = GenerationRequest.from_dict({"version": SCHEMA_VERSION, "prompt": "x", "eta_ddim": 0.5})
    assert request.extras == {"eta_ddim": 0.5}
    assert GenerationRequest.from_json(request.to_json()).extras == {"eta_ddim": 0.5}


def test_version_2_requests_get_clip_skip_1():
    old = GenerationRequest.from_dict({"version": 2, "prompt": "x"})
    assert old.clip_skip == 1
    assert GenerationRequest.from_json(old.with_changes(clip_skip=2).to_json()).clip_skip == 2


def test_invalid_json_is_a_request_error():
    with pytest.raises(RequestError, match="not valid JSON"):
        GenerationRequest.from_json("{nope")


@given(
    st.text(), st.integers(min_value=-1, max_value=2**32), st.floats(allow_nan=False, allow_infinity=False)
)
def test_any_prompt_seed_and_cfg_round_trip(prompt, seed, cfg):
    request = GenerationRequest(prompt=prompt, seed=seed, cfg_scale=cfg)
    assert GenerationRequest.from_json(request.to_json()) == request

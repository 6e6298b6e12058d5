"""Inpainting: masks, A1111's crop for "only masked", paste-back, and runs on a normal and an inpainting model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from studio.engine import Engine
from studio.engine.config import EngineConfig
from studio.engine.inpainting import crop_region, load_mask, plan_inpaint
from studio.engine.validation import validate
from studio.errors import RequestError
from studio.request import ControlInput, GenerationRequest, HiresSettings


@pytest.fixture
def picture(tmp_path):
    """An 96×96 init image and a mask with a white square at (40..63, 30..53)."""
    rng = np.random.default_rng(1)
    init = tmp_path / "init.png"
    Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(init)
    mask = tmp_path / "mask.png"
    image = Image.new("L", (96, 96), 0)
    ImageDraw.Draw(image).rectangle((40, 30, 63, 53), fill=255)
    image.save(mask)
    return init, mask


def _request(model, init, mask, **changes) -> GenerationRequest:
    return GenerationRequest(
        model=str(model),
        prompt="a stone wall",
        seed=5,
        steps=4,
        sampler="Euler",
        width=64,
        height=64,
        init_image=str(init),
        mask=str(mask),
        strength=0.75,
    ).with_changes(**changes)


# --- masks and geometry (no model) -------------------------------------------------------------------------


def test_a_mask_of_the_same_shape_is_resized_and_said(tmp_path):
    path = tmp_path / "small.png"
    image = Image.new("L", (48, 48), 0)
    ImageDraw.Draw(image).rectangle((10, 10, 20, 20), fill=255)
    image.save(path)
    notices = []
    mask = load_mask(str(path), (96, 96), notices)
    assert mask.size == (96, 96) and mask.mode == "L"
    assert len(notices) == 1 and "48×48" in notices[0] and "96×96" in notices[0]


def test_a_mask_of_another_shape_is_a_request_error(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("L", (96, 48), 255).save(path)
    with pytest.raises(RequestError, match="96×48.*96×96"):
        load_mask(str(path), (96, 96), [])


@pytest.mark.parametrize("content", [None, b"not a picture"])
def test_an_unreadable_mask_is_a_request_error(tmp_path, content):
    path = tmp_path / "mask.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RequestError, match="inpainting mask"):
        load_mask(str(path), (64, 64), [])


def test_an_empty_mask_is_a_request_error(tmp_path):
    path = tmp_path / "black.png"
    Image.new("L", (64, 64), 0).save(path)
    with pytest.raises(RequestError, match="empty"):
        load_mask(str(path), (64, 64), [])


def test_crop_region_pads_the_box_and_matches_the_aspect_ratio():
    mask = Image.new("L", (200, 100), 0)
    ImageDraw.Draw(mask).rectangle((90, 40, 109, 49), fill=255)  # a 20×10 box
    assert crop_region(mask, 5, 64, 64) == (85, 30, 115, 60)  # 30×20 padded, widened to 30×30
    x1, y1, x2, y2 = crop_region(mask, 5, 128, 64)
    assert (x2 - x1, y2 - y1) == (40, 20)
    # Near an edge the crop shifts inside the picture instead of shrinking.
    corner = Image.new("L", (100, 100), 0)
    ImageDraw.Draw(corner).rectangle((0, 0, 9, 29), fill=255)
    assert crop_region(corner, 0, 64, 64) == (0, 0, 30, 30)


def test_paste_back_keeps_pixels_outside_the_blurred_mask(picture):
    init, mask = picture
    plan = plan_inpaint(_request("m", init, mask, width=96, height=96, mask_blur=4), [])
    (result,) = plan.paste_back([Image.new("RGB", (96, 96), (0, 255, 0))])
    original, pasted = np.asarray(Image.open(init)), np.asarray(result)
    overlay = np.asarray(plan.overlay_mask)
    assert (pasted[overlay == 0] == original[overlay == 0]).all()
    assert (pasted[overlay == 255] == (0, 255, 0)).all()
    assert 0 < ((overlay > 0) & (overlay < 255)).sum()  # a feathered seam


def test_masked_area_plan_crops_and_upscales(picture):
    init, mask = picture
    plan = plan_inpaint(_request("m", init, mask, inpaint_area="masked", inpaint_padding=8, mask_blur=0), [])
    assert plan.crop == (32, 22, 72, 62)
    assert plan.image.size == plan.mask.size == (64, 64)
    assert plan.original.size == (96, 96)


def test_validation_of_inpainting_requests(picture):
    init, mask = picture
    with pytest.raises(RequestError, match="needs an init image"):
        validate(_request("m", init, mask, init_image=None), "sd15")
    with pytest.raises(RequestError, match="Upscale & refine"):
        validate(_request("m", init, mask, hires=HiresSettings()), "sd15")
    with pytest.raises(RequestError, match="inpaint area"):
        validate(_request("m", init, mask, inpaint_area="around"), "sd15")
    with pytest.raises(RequestError, match="mask blur"):
        validate(_request("m", init, mask, mask_blur=-1), "sd15")
    assert validate(_request("m", init, mask), "sd15-inpaint")[1] == []


# --- the engine --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(EngineConfig(torch_threads=2))


def _unchanged_outside(result: Image.Image, original: Image.Image, region) -> bool:
    x1, y1, x2, y2 = region
    a, b = np.asarray(result).copy(), np.asarray(original).copy()
    a[y1:y2, x1:x2] = b[y1:y2, x1:x2] = 0
    return bool((a == b).all())


@pytest.mark.slow
def test_whole_picture_inpainting_with_a_normal_model(engine, tiny_models, picture):
    init, mask = picture
    previews = []
    result = engine.generate(_request(tiny_models / "sd15", init, mask), on_step=previews.append)
    (image,) = result.images
    assert image.size == (64, 64)
    assert any("96×96" in notice for notice in result.notices)  # the init image was resized
    assert [p.total for p in previews] == [3, 3, 3]  # int(4 × 0.75) steps
    resized = Image.open(init).convert("RGB").resize((64, 64), Image.Resampling.LANCZOS)
    # The square (40..63, 30..53) of 96 px is (26..42, 20..35) at 64 px; blur 4 reaches ~3σ further.
    assert _unchanged_outside(image, resized, (10, 4, 58, 52))
    assert not _unchanged_outside(image, resized, (0, 0, 0, 0))


@pytest.mark.slow
def test_only_masked_inpainting_keeps_the_original_size(engine, tiny_models, tiny_controlnets, picture):
    init, mask = picture
    control = ControlInput("scribble", str(init), str(tiny_controlnets / "controlnet-sd15"))
    request = _request(
        tiny_models / "sd15", init, mask, inpaint_area="masked", inpaint_padding=8, controls=(control,)
    )
    (image,) = engine.generate(request).images
    original = Image.open(init).convert("RGB")
    assert image.size == (96, 96)
    crop = plan_inpaint(request, []).crop  # the blurred mask's box, padded and squared
    assert crop[2] - crop[0] < 96 and crop[3] - crop[1] < 96
    assert _unchanged_outside(image, original, crop)  # nothing outside the crop is touched
    assert not _unchanged_outside(image, original, (0, 0, 0, 0))


@pytest.mark.slow
def test_inpainting_model_inpaints_and_refuses_plain_generation(engine, tiny_controlnets, picture):
    init, mask = picture
    model = tiny_controlnets / "sd15-inpaint"
    result = engine.generate(_request(model, init, mask, strength=1.0))
    assert result.model.family == "sd15-inpaint"
    assert result.images[0].size == (64, 64)
    assert engine._variants.get("inpaint", []).unet.config.in_channels == 9
    with pytest.raises(RequestError, match="inpainting model"):
        engine.generate(_request(model, init, mask).with_changes(mask=None, init_image=None))


@pytest.mark.slow
def test_an_inpainting_single_file_loads_and_inpaints(engine, tmp_path, picture):
    from studio.engine.tiny_addons import write_tiny_sd15_inpaint_single_file
    from studio.models.model_family import family_of_single_file

    path = write_tiny_sd15_inpaint_single_file(tmp_path / "tiny-inpainting.safetensors")
    assert family_of_single_file(path) == "sd15-inpaint"
    init, mask = picture
    result = engine.generate(_request(path, init, mask, strength=1.0))
    assert result.model.family == "sd15-inpaint" and result.images[0].size == (64, 64)
    assert engine._loaded.pipe.unet.config.in_channels == 9

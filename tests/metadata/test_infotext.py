"""A1111 infotext: written as A1111 writes it, read from A1111/Forge/SD.Next text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.metadata.infotext import (
    format_infotext,
    infotext_to_request,
    parse_infotext,
    result_infotext,
    studio_version,
)
from studio.request import GenerationRequest, HiresSettings
from studio.results import GenerationResult, ModelInfo

MODEL = ModelInfo(name="dreamshaper_8", family="sd15", hash10="879db523c3")


def test_settings_line_follows_a1111_order_and_format():
    request = GenerationRequest(
        prompt="a knight in armor", negative_prompt="blurry", seed=1234, sampler="DPM++ 2M Karras"
    )
    assert format_infotext(request, model=MODEL) == (
        "a knight in armor\n"
        "Negative prompt: blurry\n"
        "Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 1234, Size: 512x512, "
        f"Model hash: 879db523c3, Model: dreamshaper_8, Version: Diffusion Studio {studio_version()}"
    )


def test_no_negative_line_without_negative_and_no_hash_without_hash():
    text = format_infotext(GenerationRequest(prompt="cat", sampler="Euler a"), model=ModelInfo("m", "sd15"))
    assert "Negative prompt" not in text
    assert "Model hash" not in text
    assert text.startswith("cat\nSteps: 25, Sampler: Euler a, CFG scale: 7.0,")


def test_plain_sampler_whose_a1111_default_is_karras_is_written_as_uniform():
    # A1111 1.9+ reads "DPM++ 2M" + "Automatic" as Karras, so the plain schedule must be named.
    text = format_infotext(GenerationRequest(sampler="DPM++ 2M"))
    assert "Sampler: DPM++ 2M, Schedule type: Uniform," in text
    request, _ = infotext_to_request(parse_infotext(text))
    assert request.sampler == "DPM++ 2M"


def test_img2img_and_hires_write_denoising_and_hires_keys():
    img2img = format_infotext(GenerationRequest(init_image="/tmp/x.png", strength=0.6))
    assert "Denoising strength: 0.6," in img2img and "Hires" not in img2img
    hires = format_infotext(
        GenerationRequest(hires=HiresSettings(scale=2.0, strength=0.45, steps=12, upscaler="R-ESRGAN 4x+"))
    )
    assert (
        "Denoising strength: 0.45, Hires upscale: 2.0, Hires steps: 12, Hires upscaler: R-ESRGAN 4x+, Version:"
        in hires
    )
    assert "Denoising strength" not in format_infotext(GenerationRequest())


def test_values_with_commas_colons_or_quotes_are_json_quoted():
    text = format_infotext(GenerationRequest(), model=ModelInfo('models/a, b: "c"', "sd15"))
    assert 'Model: "models/a, b: \\"c\\""' in text
    assert parse_infotext(text)["Model"] == 'models/a, b: "c"'


def test_result_infotext_uses_final_prompts_and_each_image_seed():
    request = GenerationRequest(prompt="knight", style="oil", seed=7, batch_size=2)
    result = GenerationResult(
        request=request, images=[Image.new("RGB", (8, 8))] * 2, seeds=[7, 8],
        prompt="knight, oil painting", negative_prompt="photo", model=MODEL,
    )  # fmt: skip
    second = result_infotext(result, 1)
    assert second.startswith("knight, oil painting\nNegative prompt: photo\n")
    assert "Seed: 8," in second


def test_parse_real_a1111_text():
    text = (
        "photo of a duck\nNegative prompt: monochrome\nSteps: 15, Sampler: UniPC, CFG scale: 5, Seed: 235284042, "
        "Size: 512x400, Model hash: c0d1994c73, Model: realistic_realisticVisionV20_v20"
    )
    assert parse_infotext(text) == {
        "Prompt": "photo of a duck", "Negative prompt": "monochrome", "Steps": "15", "Sampler": "UniPC",
        "CFG scale": "5", "Seed": "235284042", "Size": "512x400", "Model hash": "c0d1994c73",
        "Model": "realistic_realisticVisionV20_v20",
    }  # fmt: skip


def test_parse_multiline_prompt_and_negative_crlf_and_unknown_keys():
    text = (
        "masterpiece,\r\n(knight:1.2), armor\r\nNegative prompt: blurry,\r\nlowres\r\n"
        'Steps: 30, Sampler: Euler a, CFG scale: 6.5, Seed: 9, Size: 640x832, Lora hashes: "a: 1, b: 2", '
        "ADetailer model: face_yolov8n.pt, Version: f2.0.1v1.10.1"
    )
    parsed = parse_infotext(text)
    assert parsed["Prompt"] == "masterpiece,\n(knight:1.2), armor"
    assert parsed["Negative prompt"] == "blurry,\nlowres"
    assert parsed["Lora hashes"] == "a: 1, b: 2"
    assert parsed["ADetailer model"] == "face_yolov8n.pt"
    request, unmapped = infotext_to_request(parsed)
    assert (request.width, request.height, request.cfg_scale, request.sampler) == (640, 832, 6.5, "Euler a")
    # Lora hashes become request.loras here; metadata_read matches them to the LoRA library (or reports them).
    assert [(r.name, r.hash10) for r in request.loras] == [("a", "1"), ("b", "2")]
    assert "ADetailer model: face_yolov8n.pt" in unmapped
    assert request.extras["ADetailer model"] == "face_yolov8n.pt"


def test_prompt_only_text_and_colon_prompts_stay_prompt():
    assert parse_infotext("a cat") == {"Prompt": "a cat", "Negative prompt": ""}
    text = "style: oil, light: soft, mood: calm"
    assert parse_infotext(text)["Prompt"] == text
    text = "masterpiece, (cat:1.2), (dog:1.1), (bird:0.9)"
    assert parse_infotext(text)["Prompt"] == text


def test_unquoted_comma_in_a_value_is_glued_back():
    parsed = parse_infotext("cat\nSteps: 20, Sampler: Euler, Model: my, model, Seed: 3")
    assert parsed["Model"] == "my, model"
    assert parsed["Seed"] == "3"


def test_trailing_lines_after_settings_are_kept():
    parsed = parse_infotext("cat\nSteps: 20, Sampler: Euler, Seed: 3\nTemplate: {a|b} cat")
    assert parsed["Steps"] == "20" and parsed["Trailing text"] == "Template: {a|b} cat"


@pytest.mark.parametrize(
    ("sampler", "schedule", "expected"),
    [
        ("DPM++ 2M", "Karras", "DPM++ 2M Karras"),
        ("DPM++ 2M", "Automatic", "DPM++ 2M Karras"),
        ("DPM++ 2M SDE", "Automatic", "DPM++ 2M SDE Exponential"),
        ("Euler a", "Automatic", "Euler a"),
        ("DPM++ 2M", "Uniform", "DPM++ 2M"),
        ("DPM++ 2M Karras", None, "DPM++ 2M Karras"),
        ("DPM++ 2M", None, "DPM++ 2M"),
    ],
)
def test_sampler_and_schedule_type_become_one_sampler_name(sampler, schedule, expected):
    params = {"Prompt": "x", "Sampler": sampler}
    if schedule:
        params["Schedule type"] = schedule
    request, unmapped = infotext_to_request(params)
    assert request.sampler == expected
    assert unmapped == []


def test_unknown_schedule_and_bad_values_are_reported_not_fatal():
    request, unmapped = infotext_to_request(
        {"Prompt": "x", "Sampler": "Euler", "Schedule type": "Align Your Steps", "Steps": "many", "Size": "big"}
    )
    assert request.sampler == "Euler" and request.steps == GenerationRequest().steps
    assert any(u.startswith("Schedule type: Align Your Steps") for u in unmapped)
    assert any(u.startswith("Steps: many") for u in unmapped)
    assert any(u.startswith("Size: big") for u in unmapped)


def test_hires_keys_map_to_hires_settings():
    request, unmapped = infotext_to_request(parse_infotext(
        "cat\nSteps: 20, Sampler: Euler, Seed: 3, Size: 512x768, Denoising strength: 0.4, Hires upscale: 2, "
        "Hires upscaler: Latent"
    ))  # fmt: skip
    assert request.hires == HiresSettings(scale=2.0, strength=0.4, steps=20, upscaler="Latent")
    assert request.strength == GenerationRequest().strength and unmapped == []


def test_img2img_denoising_without_hires_is_mapped_and_explained():
    request, unmapped = infotext_to_request({"Prompt": "x", "Denoising strength": "0.35"})
    assert request.strength == 0.35 and request.hires is None
    assert any("img2img" in u for u in unmapped)


_safe_text = st.text(alphabet=st.sampled_from(list("abcXYZ 0189,:()[]\"'\\éß猫-")), max_size=30).map(
    str.strip
)


@settings(max_examples=150, deadline=None)
@given(
    prompt_lines=st.lists(_safe_text.filter(lambda s: not s.startswith("Negative prompt:")), min_size=1, max_size=3),
    negative=_safe_text,
    seed=st.integers(0, 2**63),
    steps=st.integers(1, 150),
    cfg=st.floats(0, 30, allow_nan=False).map(lambda x: round(x, 2)),
    sampler=st.sampled_from(["Euler a", "DPM++ 2M", "DPM++ 2M Karras", "DPM++ SDE Exponential", "UniPC"]),
    size=st.tuples(st.integers(64, 2048), st.integers(64, 2048)),
    model=_safe_text,
    hires=st.none() | st.builds(HiresSettings, scale=st.sampled_from([1.5, 2.0]), strength=st.sampled_from([0.3, 0.5]),
                                steps=st.integers(1, 30), upscaler=_safe_text.filter(bool)),
)  # fmt: skip
def test_format_then_parse_round_trips(prompt_lines, negative, seed, steps, cfg, sampler, size, model, hires):
    prompt = "\n".join(prompt_lines).strip()
    request = GenerationRequest(
        prompt=prompt, negative_prompt=negative, seed=seed, steps=steps, cfg_scale=cfg, sampler=sampler,
        width=size[0], height=size[1], model=model, hires=hires,
    )  # fmt: skip
    back, unmapped = infotext_to_request(parse_infotext(format_infotext(request)))
    assert unmapped == []
    assert back.with_changes(extras={}) == request


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_infotext_never_raises(text):
    parsed = parse_infotext(text)
    assert isinstance(parsed, dict)
    infotext_to_request(parsed)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["Steps", "Seed", "Size", "Sampler", "Schedule type", "CFG scale",
                                        "Hires upscale", "Hires steps", "Hires resize", "Denoising strength",
                                        "Hires strength", "Model", "Prompt"]), st.text(max_size=12)))  # fmt: skip
def test_infotext_to_request_never_raises_on_odd_values(params):
    request, unmapped = infotext_to_request(params)
    assert isinstance(request, GenerationRequest) and isinstance(unmapped, list)

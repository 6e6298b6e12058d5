"""Clip skip: SD 1.x reads an earlier text-encoder layer (through the final norm), SDXL keeps A1111's reading."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from studio.errors import RequestError
from studio.request import GenerationRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_process import run_cli, tiny_generate  # noqa: E402

pytestmark = pytest.mark.slow


def test_sd15_clip_skip_2_is_the_penultimate_layer_through_the_final_norm(tiny_models):
    import torch

    from studio.engine import loading
    from studio.engine.prompt_embeds import prompt_embeds

    pipe = loading.load_model(str(tiny_models / "sd15")).pipe
    ids = pipe.tokenizer("a cat", padding="max_length", max_length=77, return_tensors="pt").input_ids
    encoder = pipe.text_encoder
    with torch.no_grad():
        hidden = encoder(ids, output_hidden_states=True).hidden_states
        norm = getattr(encoder, "text_model", encoder).final_layer_norm
        expected = {1: hidden[-1], 2: norm(hidden[-2])}
        expected[1] = norm(hidden[-1])  # the last layer's output is the normed last hidden state
    for skip in (1, 2):
        got = prompt_embeds(pipe, "a cat", "", clip_skip=skip)["prompt_embeds"]
        assert torch.allclose(got, expected[skip], atol=1e-5), skip
    assert not torch.allclose(expected[1], expected[2])
    layers = encoder.config.num_hidden_layers
    with pytest.raises(RequestError, match=f"more layers than this model's text encoder has \\({layers}\\)"):
        prompt_embeds(pipe, "a cat", "", clip_skip=layers + 1)


def test_sdxl_clip_skip_2_is_its_usual_reading(tiny_models):
    import torch

    from studio.engine import loading
    from studio.engine.prompt_embeds import prompt_embeds

    pipe = loading.load_model(str(tiny_models / "sdxl")).pipe
    one, two = (prompt_embeds(pipe, "a cat", "", clip_skip=n) for n in (1, 2))
    # SDXL always reads the penultimate layer (A1111 ignores clip skip there): 1 and 2 are the same picture.
    assert torch.equal(one["prompt_embeds"], two["prompt_embeds"])
    with torch.no_grad():
        ids = pipe.tokenizer("a cat", padding="max_length", max_length=77, return_tensors="pt").input_ids
        penultimate = pipe.text_encoder(ids, output_hidden_states=True).hidden_states[-2]
    assert torch.equal(two["prompt_embeds"][..., : penultimate.shape[-1]], penultimate)
    # The tiny encoders have 2 layers: going 3 back is refused with the reason.
    with pytest.raises(RequestError, match="Choose a clip skip from 1 to 2"):
        prompt_embeds(pipe, "a cat", "", clip_skip=3)


def test_clip_skip_changes_the_picture_and_round_trips_through_the_png(tiny_models, tmp_path):
    from studio.engine.config import EngineConfig
    from studio.engine.engine import Engine
    from studio.metadata.reader import read_image_settings
    from studio.metadata.saving import save_result

    engine = Engine(EngineConfig(device="cpu"))
    request = GenerationRequest(
        model=str(tiny_models / "sd15"), prompt="a fox", width=64, height=64, steps=2, seed=3
    )
    plain = engine.generate(request)
    skipped = engine.generate(request.with_changes(clip_skip=2))
    assert not np.array_equal(np.asarray(plain.images[0]), np.asarray(skipped.images[0]))
    path = save_result(skipped, tmp_path)[0]
    settings = read_image_settings(path)
    assert "Clip skip: 2" in settings.raw["parameters"]
    assert settings.request.clip_skip == 2
    assert "Clip skip" not in read_image_settings(save_result(plain, tmp_path / "p")[0]).raw["parameters"]


def test_cli_flag_and_a_bad_value(tiny_models, tmp_path, studio_home):
    out = tmp_path / "out"
    run = run_cli(
        *tiny_generate(tiny_models / "sd15", "--clip-skip", "13", "--out", str(out)), env_home=studio_home
    )
    assert run.returncode == 2 and "clip skip must be from 1 to 12, not 13" in run.stderr
    assert "Traceback" not in run.stderr and not out.exists()
    run = run_cli(
        *tiny_generate(tiny_models / "sd15", "--clip-skip", "2", "--out", str(out)), env_home=studio_home
    )
    assert run.returncode == 0, run.stderr
    [png] = out.glob("*.png")
    from studio.metadata.reader import read_image_settings

    assert read_image_settings(png).request.clip_skip == 2

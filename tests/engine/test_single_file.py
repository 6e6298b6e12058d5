"""Single-file checkpoints: offline loading, same picture as the folder, and the shipped reference configs."""

from __future__ import annotations

import json
import socket

import pytest

from studio.engine.loading import load_model
from studio.engine.single_file import _shared_tokenizer, config_folder_for, reference_config_folder
from studio.paths import resources_dir


def _image(pipe):
    import torch

    generator = torch.Generator().manual_seed(1234)
    out = pipe(
        "a lighthouse at dusk",
        num_inference_steps=2,
        width=64,
        height=64,
        generator=generator,
        output_type="np",
    )
    return out.images[0]


def test_single_file_loads_with_the_network_blocked(tiny_single_file, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted during offline loading")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_model(str(tiny_single_file))
    assert loaded.info.family == "sd15"


def test_single_file_gives_the_same_image_as_the_folder(tiny_single_file, tiny_models):
    import numpy as np

    from_file = _image(load_model(str(tiny_single_file)).pipe)
    from_folder = _image(load_model(str(tiny_models / "sd15")).pipe)
    assert from_file.std() > 0.01  # a real (noisy) picture, not a blank
    np.testing.assert_array_equal(from_file, from_folder)


def test_sdxl_single_file_gives_the_same_image_as_its_folder(tmp_path):
    """SGM layout: CLIP-L under conditioner.embedders.0, OpenCLIP (fused q/k/v) under conditioner.embedders.1."""
    import numpy as np

    from studio.engine.tiny_models import SDXL_SINGLE_FILE_WIDTH, write_tiny_sdxl, write_tiny_sdxl_single_file

    single = write_tiny_sdxl_single_file(tmp_path / "xl_model.safetensors")
    folder = write_tiny_sdxl(tmp_path / "xl_folder", text_encoder_2_width=SDXL_SINGLE_FILE_WIDTH)
    loaded = load_model(str(single))
    assert (loaded.info.family, loaded.pipe.tokenizer_2.pad_token) == ("sdxl", "!")
    from_file, from_folder = _image(loaded.pipe), _image(load_model(str(folder)).pipe)
    assert from_file.std() > 0.01
    np.testing.assert_allclose(from_file, from_folder, atol=1e-4)


def test_sidecar_config_wins_over_reference_config(tiny_single_file, tmp_path):
    assert config_folder_for(tiny_single_file, "sd15") == tiny_single_file.with_name("sd15.config")
    plain = tmp_path / "civitai_model.safetensors"
    assert config_folder_for(plain, "sdxl") == resources_dir() / "model_configs" / "sdxl"
    assert config_folder_for(plain, "sd15-inpaint") == reference_config_folder("sd15")


def test_shared_clip_vocabulary_is_openai_clip():
    vocab = json.loads(
        (resources_dir() / "model_configs" / "clip_tokenizer" / "vocab.json").read_text("utf-8")
    )
    assert len(vocab) == 49408 and vocab["<|startoftext|>"] == 49406 and vocab["<|endoftext|>"] == 49407
    merges = (resources_dir() / "model_configs" / "clip_tokenizer" / "merges.txt").read_text("utf-8")
    assert merges.startswith("#version: 0.2\n")
    tokenizer = _shared_tokenizer(reference_config_folder("sd15"), "tokenizer")
    # Token ids of openai/clip-vit-large-patch14 for this text.
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_sdxl_second_tokenizer_pads_with_exclamation_mark():
    folder = reference_config_folder("sdxl")
    first, second = _shared_tokenizer(folder, "tokenizer"), _shared_tokenizer(folder, "tokenizer_2")
    assert first.pad_token == "<|endoftext|>" and second.pad_token == "!"
    assert second.pad_token_id == 0 and first.pad_token_id == 49407


@pytest.mark.parametrize(
    ("family", "unet_params", "vae_params", "encoders"),
    # Parameter counts of the real SD1.5 and SDXL base 1.0 components.
    [
        ("sd15", 859_520_964, 83_653_863, {"text_encoder": 123_060_480}),
        ("sdxl", 2_567_463_684, 83_653_863, {"text_encoder": 123_060_480, "text_encoder_2": 694_659_840}),
    ],
)
def test_reference_configs_describe_the_real_models(family, unet_params, vae_params, encoders):
    """Instantiated on the meta device (no memory), the shipped configs have the real models' sizes."""
    import torch
    import transformers
    from diffusers import AutoencoderKL, UNet2DConditionModel

    folder = reference_config_folder(family)
    index = json.loads((folder / "model_index.json").read_text())
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    with torch.device("meta"):
        assert (
            count(UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet")))
            == unet_params
        )
        assert count(AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))) == vae_params
        for name, params in encoders.items():
            cls = getattr(transformers, index[name][1])
            config = transformers.CLIPTextConfig.from_pretrained(folder / name)
            assert count(cls(config)) == params

"""Latent previews: the per-family RGB factors, TAESD decoding and what a preview costs."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from studio.engine import Engine
from studio.engine.config import EngineConfig
from studio.engine.previews import LATENT_RGB_BIAS, LATENT_RGB_FACTORS, LatentPreviewer, load_taesd
from studio.errors import ModelError
from studio.request import GenerationRequest


def _to_uint8(value: float) -> int:
    return int(np.clip((value + 1.0) * 127.5, 0, 255))


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_each_channel_maps_through_its_factor_row(family):
    previewer = LatentPreviewer(family)
    latents = torch.zeros(2, 4, 3, 5)
    latents[0, 2] = 1.0  # only channel 2 lit, in the first image of the batch
    image = previewer(latents)
    assert image.shape == (3, 5, 3) and image.dtype == np.uint8
    expected = [
        _to_uint8(f + b) for f, b in zip(LATENT_RGB_FACTORS[family][2], LATENT_RGB_BIAS[family], strict=True)
    ]
    assert np.abs(image[1, 4].astype(int) - expected).max() <= 1


def test_a_nan_latent_previews_black_without_a_cast_warning():
    import warnings

    latents = torch.full((1, 4, 2, 2), float("nan"))
    latents[0, :, 0, 0] = float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "invalid value encountered in cast" would raise here
        image = LatentPreviewer("sd15")(latents)
    assert image.dtype == np.uint8 and image[1, 1].tolist() == [0, 0, 0]


def test_sdxl_previews_differ_from_sd15_and_include_the_bias():
    zeros = torch.zeros(1, 4, 2, 2)
    sd15, sdxl = LatentPreviewer("sd15")(zeros), LatentPreviewer("sdxl")(zeros)
    assert (sd15 == 127).all()
    assert sdxl[0, 0].tolist() == [_to_uint8(b) for b in LATENT_RGB_BIAS["sdxl"]]


@pytest.fixture
def taesd_folder(tmp_path):
    from studio.engine.tiny_addons import write_tiny_taesd

    return write_tiny_taesd(tmp_path / "taesd")


@pytest.mark.slow
def test_taesd_previews_are_full_size(tiny_models, taesd_folder):
    engine = Engine(EngineConfig(taesd_path=str(taesd_folder)))
    previews = []
    request = GenerationRequest(
        model=str(tiny_models / "sd15"), seed=1, steps=2, sampler="Euler", width=64, height=64
    )
    engine.generate(request, on_step=previews.append)
    assert len(previews) == 2
    assert all(p.image.shape == (64, 64, 3) and p.image.dtype == np.uint8 for p in previews)


def test_unreadable_taesd_folder_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="TAESD"):
        load_taesd(str(tmp_path / "missing"), "cpu", torch.float32)


@pytest.mark.slow
def test_previews_cost_under_three_percent_of_generation(tiny_models, monkeypatch):
    """Time spent making previews, measured inside one run, against that run's whole time."""
    engine = Engine()
    spent = []
    real_call = LatentPreviewer.__call__

    def timed(self, latents):
        start = time.perf_counter()
        image = real_call(self, latents)
        spent.append(time.perf_counter() - start)
        return image

    monkeypatch.setattr(LatentPreviewer, "__call__", timed)
    request = GenerationRequest(
        model=str(tiny_models / "sd15"), seed=1, steps=10, sampler="Euler", width=128, height=128
    )
    engine.generate(request)  # load and warm up
    result = engine.generate(request, on_step=lambda preview: None)
    assert len(spent) == 10
    assert sum(spent) / result.elapsed_s < 0.03


def test_gpu_previews_are_queued_then_sent_in_order_once_landed(monkeypatch):
    """The asynchronous path, with a stand-in for the CUDA copy and event (no GPU here)."""
    import threading

    from studio.engine.previews import LatentPreviewer, StepReporter

    landed = {"ready": False}

    class FakeEvent:
        def query(self):
            return landed["ready"]

        def synchronize(self):
            landed["ready"] = True

    sent = []
    previewer = LatentPreviewer("sd15")
    monkeypatch.setattr(previewer, "asynchronous", lambda latents: True)
    reporter = StepReporter(3, 0, sent.append, previewer, threading.Event())

    def fake_copy(latents):
        reporter._in_flight.append((reporter.step, reporter.pass_name, latents[0], FakeEvent()))

    monkeypatch.setattr(reporter, "_queue_copy", fake_copy)

    import torch

    latents = torch.zeros(1, 4, 8, 8)
    reporter(None, 0, None, {"latents": latents})
    reporter(None, 1, None, {"latents": latents + 1})
    assert sent == []  # nothing waits for the GPU while it is still busy
    reporter.flush()
    assert [p.step for p in sent] == [1, 2]
    assert sent[0].image.shape == (8, 8, 3)
    assert not (sent[0].image == sent[1].image).all()  # each preview shows its own step's latent

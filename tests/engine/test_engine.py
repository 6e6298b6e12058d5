"""The engine end to end on the tiny random-weight models (64 px, 2 steps; SDXL at its 256 px minimum)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from studio.engine import Engine, loading
from studio.engine import engine as engine_module
from studio.engine.config import EngineConfig
from studio.errors import RequestError
from studio.prompt.compose import compose
from studio.request import GenerationRequest, HiresSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(EngineConfig(torch_threads=2))


def _request(tiny_models, family: str = "sd15", **changes) -> GenerationRequest:
    size = 64 if family == "sd15" else 256
    base = GenerationRequest(
        model=str(tiny_models / family),
        prompt="a red fox",
        negative_prompt="blurry",
        seed=42,
        steps=2,
        sampler="Euler",
        width=size,
        height=size,
    )
    return base.with_changes(**changes)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_txt2img_batches_and_seeds(engine, tiny_models, family):
    request = _request(tiny_models, family, batch_size=2, batch_count=2)
    result = engine.generate(request)
    assert len(result.images) == 4
    assert all(image.size == (request.width, request.height) for image in result.images)
    assert result.seeds == [42, 43, 44, 45]
    assert result.model.family == family
    assert (result.prompt, result.negative_prompt) == compose(request)
    assert not result.cancelled and result.notices == []
    assert result.request.seed == 42 and result.elapsed_s > 0


def test_same_request_gives_identical_images(engine, tiny_models):
    request = _request(tiny_models, sampler="Euler a", batch_size=2)
    first = engine.generate(request)
    second = engine.generate(request)
    for a, b in zip(first.images, second.images, strict=True):
        assert a.tobytes() == b.tobytes()
    assert first.images[0].tobytes() != first.images[1].tobytes()


def test_each_image_depends_only_on_its_seed(engine, tiny_models):
    """Per-image generators: image 2 of a batch (seed+1) is the image a single run with seed+1 makes."""
    batch = engine.generate(_request(tiny_models, batch_size=2))
    alone = engine.generate(_request(tiny_models, seed=43))
    # Batched and single convolutions may round differently in the last bit; the noise is the same.
    assert np.abs(_pixels(batch.images[1]) - _pixels(alone.images[0])).max() <= 2


def test_random_seed_is_chosen_and_recorded(engine, tiny_models):
    result = engine.generate(_request(tiny_models, seed=-1, batch_size=2))
    assert result.request.seed >= 0
    assert result.seeds == [result.request.seed, result.request.seed + 1]
    again = engine.generate(result.request)
    assert again.images[0].tobytes() == result.images[0].tobytes()


def test_img2img_resizes_the_init_image_and_says_so(engine, tiny_models, tmp_path):
    path = tmp_path / "init.png"
    Image.new("RGB", (100, 60), (200, 30, 30)).save(path)
    result = engine.generate(_request(tiny_models, init_image=str(path), strength=0.5, steps=4))
    assert [image.size for image in result.images] == [(64, 64)]
    assert any("100×60" in notice and "64×64" in notice for notice in result.notices)
    # The img2img pipeline shares the loaded weights instead of loading them again.
    assert engine._variants.get("img2img", []).unet is engine._loaded.pipe.unet


def test_img2img_strength_changes_the_result(engine, tiny_models, tmp_path):
    path = tmp_path / "init.png"
    Image.new("RGB", (64, 64), (10, 200, 30)).save(path)
    low = engine.generate(_request(tiny_models, init_image=str(path), strength=0.25, steps=4))
    high = engine.generate(_request(tiny_models, init_image=str(path), strength=1.0, steps=4))
    assert low.notices == []
    assert low.images[0].tobytes() != high.images[0].tobytes()


@pytest.mark.parametrize("content", [None, b"not a picture"])
def test_unreadable_init_image_is_a_request_error(engine, tiny_models, tmp_path, content):
    path = tmp_path / "broken.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RequestError, match="init image"):
        engine.generate(_request(tiny_models, init_image=str(path)))


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_hires_fix_refines_at_the_larger_size(engine, tiny_models, family):
    request = _request(tiny_models, family, hires=HiresSettings(scale=1.5, strength=0.5, steps=4))
    previews, stages = [], []
    result = engine.generate(request, on_step=previews.append, on_stage=stages.append)
    width, height = request.hires.output_size(request.width, request.height)
    assert [image.size for image in result.images] == [(width, height)]
    # Euler: 2 base steps + int(4 × 0.5) refine steps.
    assert [(p.step, p.total, p.pass_name) for p in previews] == [
        (1, 4, "base"),
        (2, 4, "base"),
        (3, 4, "refine"),
        (4, 4, "refine"),
    ]
    latent = request.width // 8
    assert previews[0].image.shape == (latent, latent, 3)
    assert previews[-1].image.shape == (height // 8, width // 8, 3)
    assert "Refining (upscale ×1.5)…" in stages


def test_previews_cover_every_callback(engine, tiny_models):
    previews = []
    result = engine.generate(_request(tiny_models, steps=3, batch_count=2), on_step=previews.append)
    assert [(p.step, p.total, p.image_index) for p in previews] == [
        (1, 3, 0),
        (2, 3, 0),
        (3, 3, 0),
        (1, 3, 1),
        (2, 3, 1),
        (3, 3, 1),
    ]
    assert all(p.image.dtype == np.uint8 and p.image.shape == (8, 8, 3) for p in previews)
    assert len(result.images) == 2


def _count_decodes(engine, monkeypatch) -> list[int]:
    calls = []
    vae = engine._loaded.pipe.vae
    original = vae.decode

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(vae, "decode", counting)
    return calls


def test_cancel_stops_within_a_step_and_skips_the_decode(engine, tiny_models, monkeypatch):
    request = _request(tiny_models, steps=10)
    reference = engine.generate(request)
    decodes = _count_decodes(engine, monkeypatch)
    cancel = threading.Event()
    previews = []

    def on_step(preview):
        previews.append(preview)
        if preview.step == 2:
            cancel.set()

    unet = engine._loaded.pipe.unet
    unet_calls = []
    handle = unet.register_forward_pre_hook(lambda *_: unet_calls.append(1))
    try:
        result = engine.generate(request, on_step=on_step, cancel=cancel)
    finally:
        handle.remove()
    assert result.cancelled and result.images == [] and result.seeds == []
    assert len(previews) == 2 and len(unet_calls) == 3  # the step running when cancel came, then nothing
    assert decodes == []
    # The next run is unaffected by the cancelled one.
    after = engine.generate(request)
    assert not after.cancelled and decodes == [1]
    assert after.images[0].tobytes() == reference.images[0].tobytes()


def test_cancel_keeps_finished_batches(engine, tiny_models):
    cancel = threading.Event()

    def on_step(preview):
        if preview.image_index == 1:
            cancel.set()

    result = engine.generate(
        _request(tiny_models, batch_size=2, batch_count=3), on_step=on_step, cancel=cancel
    )
    assert result.cancelled and len(result.images) == 2 and result.seeds == [42, 43]


def test_on_batch_hands_over_each_batch_as_soon_as_it_is_decoded(engine, tiny_models):
    batches = []
    previews_at_batch = []
    previews = []

    def on_batch(result):
        batches.append(result)
        previews_at_batch.append(len(previews))

    request = _request(tiny_models, batch_size=2, batch_count=3)
    result = engine.generate(request, on_step=previews.append, on_batch=on_batch)
    assert [batch.seeds for batch in batches] == [[42, 43], [44, 45], [46, 47]]
    assert [len(batch.images) for batch in batches] == [2, 2, 2]
    # Called after each batch, before the next one's first step: nothing waits for the end of the job.
    per_call = len(previews) // 3
    assert previews_at_batch == [per_call, 2 * per_call, 3 * per_call]
    flat = [image.tobytes() for batch in batches for image in batch.images]
    assert flat == [image.tobytes() for image in result.images] and result.seeds == [42, 43, 44, 45, 46, 47]
    for batch in batches:
        assert batch.request == result.request and not batch.cancelled
        assert (batch.prompt, batch.negative_prompt, batch.model) == (
            result.prompt,
            result.negative_prompt,
            result.model,
        )


def test_on_batch_gets_the_refined_images_and_never_a_cancelled_batch(engine, tiny_models):
    batches = []
    cancel = threading.Event()

    def on_step(preview):
        if preview.image_index == 1:
            cancel.set()

    request = _request(tiny_models, batch_count=2, hires=HiresSettings(scale=2.0, strength=0.5, steps=2))
    result = engine.generate(request, on_step=on_step, cancel=cancel, on_batch=batches.append)
    assert result.cancelled and len(batches) == 1
    assert batches[0].seeds == [42] and batches[0].images[0].size == (128, 128)
    assert batches[0].images[0].tobytes() == result.images[0].tobytes()


def test_cancel_during_refine_skips_both_decodes_of_that_batch(engine, tiny_models, monkeypatch):
    decodes = _count_decodes(engine, monkeypatch)
    cancel = threading.Event()

    def on_step(preview):
        if preview.pass_name == "refine":
            cancel.set()

    request = _request(tiny_models, hires=HiresSettings(scale=2.0, strength=0.5, steps=4))
    result = engine.generate(request, on_step=on_step, cancel=cancel)
    assert result.cancelled and result.images == []
    assert decodes == [1]  # the base pass decode the upscale needs; never the refined one


def test_model_is_loaded_once_and_replaced_cleanly(tiny_models, monkeypatch):
    loads = []
    real = loading.load_model

    def counting(reference, **kwargs):
        loads.append(reference)
        return real(reference, **kwargs)

    monkeypatch.setattr(loading, "load_model", counting)
    freed = []
    monkeypatch.setattr(engine_module, "free_memory", lambda device: freed.append(device))
    engine = Engine()
    stages = []
    engine.generate(_request(tiny_models), on_stage=stages.append)
    engine.generate(_request(tiny_models, seed=7), on_stage=stages.append)
    assert len(loads) == 1 and stages.count("Loading model…") == 1
    old_pipe = engine._loaded.pipe
    engine.generate(_request(tiny_models, "sdxl"))
    assert len(loads) == 2 and freed == ["cpu"] and engine._loaded.pipe is not old_pipe
    engine.unload()
    assert engine._loaded is None and freed == ["cpu", "cpu"]


def test_long_prompt_is_encoded_whole_without_a_notice(engine, tiny_models):
    # The tiny tokenizer makes one token per character: 75 fit in one chunk, the rest goes in a second.
    prompt = "a" * 75 + " more words"
    short = engine.generate(_request(tiny_models, prompt="a" * 75))
    result = engine.generate(_request(tiny_models, prompt=prompt))
    assert result.notices == [] and result.prompt == prompt
    assert not np.array_equal(np.asarray(short.images[0]), np.asarray(result.images[0]))


def test_unicode_and_emoji_prompts_generate(engine, tiny_models):
    result = engine.generate(_request(tiny_models, prompt="château 🦊 狐狸 — naïve", negative_prompt="😀"))
    assert len(result.images) == 1 and result.prompt == "château 🦊 狐狸 — naïve"


def test_empty_prompt_generates(engine, tiny_models):
    assert len(engine.generate(_request(tiny_models, prompt="", negative_prompt="")).images) == 1


def test_size_is_rounded_with_a_notice(engine, tiny_models):
    result = engine.generate(_request(tiny_models, width=70))
    assert result.images[0].size == (72, 64) and result.request.width == 72
    assert result.notices == ["The width 70 is not a multiple of 8; it was rounded to 72."]


def test_bad_requests_raise_request_errors(engine, tiny_models):
    with pytest.raises(RequestError, match="No model"):
        engine.generate(GenerationRequest(model=""))
    with pytest.raises(RequestError, match="Unknown sampler 'Bogus'.*Euler a"):
        engine.generate(_request(tiny_models, sampler="Bogus"))
    with pytest.raises(RequestError, match="256 to 4096"):
        engine.generate(_request(tiny_models, "sdxl", width=64))


def test_out_of_memory_becomes_a_request_error(engine, tiny_models, monkeypatch):
    import torch

    engine.generate(_request(tiny_models))

    def exhausted(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(engine, "_run_batch", exhausted)
    with pytest.raises(RequestError, match="ran out of memory making 64×64 images in batches of 1"):
        engine.generate(_request(tiny_models))


@pytest.mark.parametrize("sampler", ["Heun", "DPM2 a Karras", "DPM++ SDE"])
def test_order_two_samplers_report_their_true_total_in_img2img_and_hires(
    engine, tiny_models, tmp_path, sampler
):
    path = tmp_path / "init.png"
    Image.new("RGB", (64, 64), (90, 90, 200)).save(path)
    request = _request(
        tiny_models,
        sampler=sampler,
        steps=5,
        init_image=str(path),
        strength=0.6,
        hires=HiresSettings(scale=1.25, strength=0.5, steps=4),
    )
    previews = []
    engine.generate(request, on_step=previews.append)
    total = previews[0].total
    assert total > int(5 * 0.6) + int(4 * 0.5)  # order 2: more callbacks than steps
    assert [p.step for p in previews] == list(range(1, total + 1))
    assert previews[-1].pass_name == "refine"

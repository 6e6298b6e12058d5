"""VRAM tiers: the choice from memory figures (a table), each tier's setup on the tiny models, the OOM drop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_fixtures import pixels, tiny_request

from studio.engine import Engine
from studio.engine.config import EngineConfig
from studio.engine.memory_tiers import (
    GB,
    TIER_STAGE_PREFIX,
    MemoryPlan,
    TierPlacer,
    choose_tier,
    is_out_of_memory,
    lower_tier,
)
from studio.errors import RequestError

# free GB, family, size, batch, ControlNets, fp8 -> tier, VAE tiling, VAE slicing
TABLE = [
    (24, "sdxl", 1024, 1, 0, False, "high", False, False),  # a 24 GB card: everything fits
    (12, "sdxl", 1024, 1, 0, False, "high", False, False),  # 12 GB: SDXL alone fits whole
    (11, "sdxl", 1024, 1, 1, False, "medium", False, False),  # + a ControlNet on 11 GB: model offload
    (8, "sdxl", 1024, 1, 0, False, "medium", False, False),  # 8 GB: the UNet alone fits
    (10, "sdxl", 1024, 2, 0, False, "medium", False, True),  # a batch of two decodes one by one
    (6, "sdxl", 1024, 1, 0, False, "low", False, False),  # 6 GB: group offload
    (6, "sdxl", 1024, 1, 0, True, "medium", False, False),  # fp8 storage halves the UNet: it fits again
    (6, "sdxl", 1024, 1, 1, False, "low", False, False),  # the goal: SDXL + ControlNet in 6 GB
    (4, "sd15", 512, 1, 0, False, "high", False, False),  # SD1.5 fits a 4 GB card whole
    (3, "sd15", 512, 1, 0, False, "medium", False, False),
    (2, "sd15", 512, 1, 0, False, "low", False, False),
    (1.5, "sd15", 512, 1, 0, False, "low", True, False),  # nothing fits: the lowest tier, tiles too
    (4, "sd15", 2048, 1, 0, False, "low", True, False),  # a huge image: tiles for the decode
    (24, "sdxl", 2048, 4, 0, False, "low", False, True),  # one 2048² image still decodes whole
    (80, "sdxl", 2048, 4, 0, False, "high", False, False),  # a big card decodes even that whole
    (12, "sd15-inpaint", 512, 1, 0, False, "high", False, False),  # inpaint models share their base's table
]


@pytest.mark.parametrize(
    ("free", "family", "size", "batch", "nets", "fp8", "tier", "tiling", "slicing"), TABLE
)
def test_tier_table(free, family, size, batch, nets, fp8, tier, tiling, slicing):
    plan = choose_tier(int(free * GB), family, size, size, batch, nets, fp8)
    assert (plan.tier, plan.vae_tiling, plan.vae_slicing) == (tier, tiling, slicing), plan.reason
    assert plan.fp8_weights == fp8


def test_named_tier_is_used_as_given_and_unknown_refused():
    assert choose_tier(80 * GB, "sdxl", 1024, 1024, setting="low").tier == "low"
    assert choose_tier(1 * GB, "sdxl", 1024, 1024, setting="high").tier == "high"  # the artist's choice
    with pytest.raises(ValueError, match="VRAM"):
        choose_tier(8 * GB, "sdxl", 1024, 1024, setting="huge")


def test_no_gpu_memory_keeps_everything_in_place():
    plan = choose_tier(None, "sdxl", 1024, 1024, batch=4, controlnets=2)
    assert plan == MemoryPlan("high")
    assert "everything on the GPU" in plan.describe()


def test_tiers_drop_one_at_a_time():
    assert [lower_tier("high"), lower_tier("medium"), lower_tier("low")] == ["medium", "low", None]


def test_out_of_memory_errors_are_recognised():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


# --- on the tiny models (slow, as the other engine runs) ---------------------------------------------------

slow = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(tiny_models) -> np.ndarray:
    return pixels(Engine(EngineConfig(torch_threads=2)).generate(tiny_request(tiny_models)))


@slow
@pytest.mark.parametrize("tier", ["high", "medium", "low"])
def test_each_tier_sets_up_and_makes_the_same_picture(tiny_models, reference, tier):
    """On the CPU the offload hooks install and run (the copies are no-ops): the picture must not change."""
    engine = Engine(EngineConfig(torch_threads=2, vram=tier))
    stages: list[str] = []
    result = engine.generate(tiny_request(tiny_models), on_stage=stages.append)
    assert [s for s in stages if s.startswith(TIER_STAGE_PREFIX)] == [
        TIER_STAGE_PREFIX + MemoryPlan(tier).describe()
    ]
    assert np.abs(pixels(result) - reference).max() <= 1
    assert result.notices == []
    again: list[str] = []
    engine.generate(tiny_request(tiny_models), on_stage=again.append)
    assert not any(s.startswith(TIER_STAGE_PREFIX) for s in again)  # said once per model


@slow
def test_batch_slices_the_vae_in_the_medium_tier(tiny_models, monkeypatch):
    monkeypatch.setattr("studio.engine.memory_tiers.free_device_memory", lambda device: 10 * GB)
    engine = Engine(EngineConfig(torch_threads=2, vram="medium"))
    engine.generate(tiny_request(tiny_models, batch_size=2))
    assert engine._placer is not None and engine._placer.plan is not None
    assert engine._placer.plan.vae_slicing
    assert engine._ready()[0].pipe.vae.use_slicing


@slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="the offloads copy to a GPU: this one needs CUDA")
@pytest.mark.parametrize("tier", ["medium", "low"])
def test_offload_tiers_on_cuda_make_the_high_tiers_picture(tiny_models, tier):
    """On a GPU the hooks really move weights (group offload with a CUDA stream): prompt encoding, denoising and
    the decode must all find their inputs on the device."""
    high = Engine(EngineConfig(device="cuda", vram="high")).generate(tiny_request(tiny_models, batch_size=2))
    engine = Engine(EngineConfig(device="cuda", vram=tier))
    result = engine.generate(tiny_request(tiny_models, batch_size=2))
    assert engine._placer is not None and engine._placer.tier == tier
    assert np.abs(pixels(result) - pixels(high)).max() <= 2


@slow
def test_fp8_weights_store_the_unet_in_8_bits(tiny_models, reference):
    """Layerwise casting: fp8 storage, computed in the pipeline's dtype. The picture changes a little (said in
    the setting's tooltip), but it is a picture of the same seed, not noise or NaN."""
    engine = Engine(EngineConfig(torch_threads=2, fp8_weights=True))
    result = engine.generate(tiny_request(tiny_models))
    unet = engine._ready()[0].pipe.unet
    assert unet.conv_in.weight.dtype == torch.float8_e4m3fn
    assert engine._placer is not None and engine._placer.plan is not None and engine._placer.plan.fp8_weights
    difference = np.abs(pixels(result) - reference)
    assert 0 < difference.mean() < 40  # close to the full-precision picture, not equal to it


class FakeAllocator:
    """Fails the UNet's forward with CUDA's out-of-memory error while the pipeline is in a tier it "cannot fit"."""

    def __init__(self, placer_of, fits: set[str]) -> None:
        self.placer_of = placer_of
        self.fits = fits
        self.failures = 0

    def __call__(self, module, args, kwargs):
        tier = self.placer_of().tier
        if tier not in self.fits:
            self.failures += 1
            raise torch.OutOfMemoryError(f"CUDA out of memory in the fake allocator ({tier} tier)")


def _with_allocator(engine: Engine, tiny_models, fits: set[str]) -> FakeAllocator:
    engine.generate(tiny_request(tiny_models, steps=1))  # loads the model
    allocator = FakeAllocator(lambda: engine._placer, fits)
    engine._ready()[0].pipe.unet.register_forward_pre_hook(allocator, with_kwargs=True)
    return allocator


@slow
def test_out_of_memory_drops_one_tier_and_retries(tiny_models, reference):
    engine = Engine(EngineConfig(torch_threads=2))
    allocator = _with_allocator(engine, tiny_models, fits={"medium", "low"})
    stages: list[str] = []
    result = engine.generate(tiny_request(tiny_models), on_stage=stages.append)
    assert allocator.failures == 1
    assert engine._placer is not None and engine._placer.tier == "medium"
    assert np.abs(pixels(result) - reference).max() <= 1  # the retry makes the same picture
    assert len(result.notices) == 1
    assert "ran out of memory in the High VRAM tier" in result.notices[0]
    assert "Medium" in result.notices[0]
    assert TIER_STAGE_PREFIX + MemoryPlan("medium").describe() in stages


@slow
def test_out_of_memory_retries_only_once(tiny_models):
    engine = Engine(EngineConfig(torch_threads=2))
    allocator = _with_allocator(engine, tiny_models, fits=set())
    with pytest.raises(RequestError, match="ran out of memory making 64×64 images"):
        engine.generate(tiny_request(tiny_models))
    assert allocator.failures == 2  # the first try and the one retry
    assert engine._placer is not None and engine._placer.tier == "medium"


@slow
def test_out_of_memory_in_the_lowest_tier_is_a_clear_error(tiny_models):
    engine = Engine(EngineConfig(torch_threads=2, vram="low"))
    allocator = _with_allocator(engine, tiny_models, fits=set())
    with pytest.raises(RequestError, match="Lower the size or the batch size"):
        engine.generate(tiny_request(tiny_models))
    assert allocator.failures == 1


@slow
def test_weights_that_do_not_fit_drop_a_tier_at_placement(tiny_models, monkeypatch):
    """The move onto the device itself runs out of memory: the model starts one tier down, and says so."""
    real_move = TierPlacer._move

    def move(self, pipe, tier):
        if tier == "high":
            raise torch.OutOfMemoryError("CUDA out of memory while moving the weights")
        real_move(self, pipe, tier)

    monkeypatch.setattr(TierPlacer, "_move", move)
    engine = Engine(EngineConfig(torch_threads=2))
    result = engine.generate(tiny_request(tiny_models))
    assert engine._placer is not None and engine._placer.tier == "medium"
    assert result.images and "ran out of memory in the High VRAM tier" in result.notices[0]

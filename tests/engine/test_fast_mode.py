"""Fast mode: the compile setup on the tiny models, the named first-compile stage, the same picture as eager."""

from __future__ import annotations

import shutil
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from engine_fixtures import pixels, tiny_request

from studio.engine import Engine
from studio.engine.config import EngineConfig
from studio.engine.fast_mode import (
    BACKEND_ENV,
    LORA_UNFUSED,
    MODE_ENV,
    NOT_IN_HIGH_TIER,
    SHAPES_KEPT,
    CompileStage,
    compile_cache_dir,
    compile_mode,
)
from studio.request import GenerationRequest, LoraRef

FIRST_TIME = "Preparing fast mode for {} — first time only"


def test_compile_mode_per_device_and_override(monkeypatch):
    monkeypatch.delenv(MODE_ENV, raising=False)
    assert compile_mode("cuda") == "reduce-overhead"  # CUDA graphs: shapes are static per compiled graph
    assert compile_mode("cuda:1") == "reduce-overhead"
    assert compile_mode("cpu") == "default"  # no CUDA graphs on the CPU
    monkeypatch.setenv(MODE_ENV, "max-autotune")
    assert compile_mode("cuda") == "max-autotune"


def test_compile_stage_ticks_until_the_first_step():
    """The compile runs inside the first UNet call; the stage keeps moving beside it and stops at the first step."""
    stages: list[str] = []
    reporter = SimpleNamespace(step=0)
    stage = CompileStage("Preparing fast mode for 512×512 — first time only", stages.append, reporter, 60)
    time.sleep(2.3)
    reporter.step = 1
    time.sleep(1.2)
    ticks = len(stages)
    time.sleep(1.1)
    stage.stop()
    assert stages[0] == "Preparing fast mode for 512×512 — first time only…"
    assert stages[1] == "Preparing fast mode for 512×512 — first time only… 1 s (about 60 s)"
    assert 3 <= ticks <= 4 and len(stages) == ticks  # nothing after the first step
    assert stage.elapsed_s >= 2


# --- on the tiny models -------------------------------------------------------------------------------------


@pytest.fixture
def traced_only(monkeypatch):
    """Dynamo traces the model (the graph breaks and guards are real) but no kernels are generated: the setup
    in seconds. The real inductor compile is ``test_inductor_compile_*`` below."""
    monkeypatch.setenv(BACKEND_ENV, "eager")


def _generate(engine: Engine, request: GenerationRequest) -> tuple[list[str], object]:
    stages: list[str] = []
    result = engine.generate(request, on_stage=stages.append, on_step=lambda preview: None)
    return stages, result


@pytest.mark.slow
def test_fast_mode_compiles_once_per_size_and_says_so(tiny_models, traced_only):
    eager = Engine(EngineConfig(torch_threads=2)).generate(tiny_request(tiny_models))
    engine = Engine(EngineConfig(torch_threads=2, fast=True))
    stages, result = _generate(engine, tiny_request(tiny_models))
    assert FIRST_TIME.format("64×64") + "…" in stages
    pipe = engine._ready()[0].pipe
    assert pipe.unet._compiled_call_impl is not None and pipe.vae.decoder._compiled_call_impl is not None
    assert pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert {type(p).__name__ for p in pipe.unet.attn_processors.values()} == {"FusedAttnProcessor2_0"}
    assert torch._dynamo.config.recompile_limit >= SHAPES_KEPT  # a graph per size, never a silent eager fallback
    assert np.abs(pixels(result) - pixels(eager)).max() <= 2  # fused QKV: fp noise only
    again, _ = _generate(engine, tiny_request(tiny_models))
    assert not any(s.startswith("Preparing fast mode") for s in again)  # compiled already
    other, _ = _generate(engine, tiny_request(tiny_models, width=128))
    assert FIRST_TIME.format("128×64") + "…" in other  # a new size compiles once, and says so


@pytest.mark.slow
def test_fast_mode_stays_eager_in_an_offload_tier(tiny_models, traced_only):
    engine = Engine(EngineConfig(torch_threads=2, fast=True, vram="medium"))
    stages, result = _generate(engine, tiny_request(tiny_models))
    assert NOT_IN_HIGH_TIER in result.notices
    assert engine._ready()[0].pipe.unet._compiled_call_impl is None
    assert not any(s.startswith("Preparing fast mode") for s in stages)


@pytest.mark.slow
def test_a_lora_undoes_the_fused_attention(tiny_models, traced_only, tmp_path):
    from studio.engine.tiny_addons import write_tiny_lora

    lora = write_tiny_lora(tmp_path / "style.safetensors", "sd15")
    engine = Engine(EngineConfig(torch_threads=2, fast=True))
    _generate(engine, tiny_request(tiny_models))
    with_lora = tiny_request(tiny_models, loras=(LoraRef(str(lora), 1.0),))
    stages, result = _generate(engine, with_lora)
    assert LORA_UNFUSED in result.notices
    pipe = engine._ready()[0].pipe
    assert "FusedAttnProcessor2_0" not in {type(p).__name__ for p in pipe.unet.attn_processors.values()}
    assert FIRST_TIME.format("64×64") + "…" in stages
    eager = Engine(EngineConfig(torch_threads=2)).generate(with_lora)
    assert np.abs(pixels(result) - pixels(eager)).max() <= 2  # the LoRA really applies


@pytest.mark.slow
def test_an_out_of_memory_drop_leaves_fast_mode(tiny_models, traced_only):
    engine = Engine(EngineConfig(torch_threads=2, fast=True))
    _generate(engine, tiny_request(tiny_models, steps=1))
    placer = engine._placer
    failures = []

    def allocator(module, args, kwargs):
        if placer is not None and placer.tier == "high":
            failures.append(1)
            raise torch.OutOfMemoryError("CUDA out of memory (fake)")

    engine._ready()[0].pipe.unet.register_forward_pre_hook(allocator, with_kwargs=True)
    _stages, result = _generate(engine, tiny_request(tiny_models))
    assert failures == [1] and result.images
    assert engine._ready()[0].pipe.unet._compiled_call_impl is None  # eager in the offload tier
    assert any("ran out of memory" in notice for notice in result.notices)


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("g++") is None, reason="inductor compiles C++ on the CPU: no C++ compiler here"
)
def test_inductor_compile_gives_the_same_picture_and_a_warm_cache(tiny_models):
    """The real compile. On this project's shared 2-core machine the tiny UNet compiled in 65 s alone, 237 s
    beside other jobs (a fresh process with the studio's caches: 73 s, dynamo still traces), and this whole test
    (UNet and VAE decoder) took 270 s: hence slow, and one size only."""
    eager = Engine(EngineConfig(torch_threads=2)).generate(tiny_request(tiny_models))
    engine = Engine(EngineConfig(torch_threads=2, fast=True))
    _stages, result = _generate(engine, tiny_request(tiny_models))
    assert np.abs(pixels(result) - pixels(eager)).max() <= 2
    cache = compile_cache_dir()
    assert any(cache.glob("portable-torch*-cpu.bin"))  # torch's portable artefacts, for the next launch
    assert (cache / "inductor").is_dir()  # inductor's own cache lives in the studio's folder too

"""A scriptable stand-in for ``studio.engine.engine.Engine``: no torch, instant, deterministic.

Tests script what the next ``generate`` calls do: how many steps, an error to raise, a pause on a step (so a test
can cancel or queue while a job runs), or a hang that only cancel ends. Like the real engine it runs
``batch_count`` batch calls of ``batch_size`` images and hands each finished batch to ``on_batch``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from studio.backend.local import LocalBackend
from studio.engine.config import EngineConfig
from studio.request import GenerationRequest
from studio.results import GenerationResult, ModelInfo, StepPreview


@dataclass
class Script:
    """What one ``generate`` call does."""

    steps: int = 3
    error: BaseException | None = None
    error_at_step: int = 0  # raise before this step (0: before any step)
    pause_at_step: int | None = None  # wait on ``FakeEngine.resume`` (or cancel) before this step
    pause_at_batch: int = 0  # ... of this batch call (0-based)
    step_delay_s: float = 0.0


@dataclass
class FakeEngine:
    scripts: list[Script] = field(default_factory=list)
    default: Script = field(default_factory=Script)
    resume: threading.Event = field(default_factory=threading.Event)
    reached_pause: threading.Event = field(default_factory=threading.Event)
    calls: list[GenerationRequest] = field(default_factory=list)
    unloaded: bool = False
    thread_names: list[str] = field(default_factory=list)
    configured: list[EngineConfig] = field(default_factory=list)

    def configure(self, config: EngineConfig) -> None:
        self.configured.append(config)

    def generate(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepPreview], None] | None = None,
        cancel: threading.Event | None = None,
        on_stage: Callable[[str], None] | None = None,
        on_batch: Callable[[GenerationResult], None] | None = None,
    ) -> GenerationResult:
        self.calls.append(request)
        self.thread_names.append(threading.current_thread().name)
        script = self.scripts.pop(0) if self.scripts else self.default
        if on_stage:
            on_stage("Loading model…")
        request = request.with_changes(seed=request.seed if request.seed >= 0 else 1234)
        images: list[Image.Image] = []
        seeds: list[int] = []
        for call in range(request.batch_count):
            for step in range(1, script.steps + 1):
                if script.error is not None and step > script.error_at_step:
                    raise script.error
                if script.pause_at_step == step and script.pause_at_batch == call:
                    self.reached_pause.set()
                    while not self.resume.wait(0.01):
                        if cancel is not None and cancel.is_set():
                            break
                if cancel is not None and cancel.is_set():
                    return self._result(request, images, seeds, cancelled=True)
                if script.step_delay_s:
                    time.sleep(script.step_delay_s)
                if on_step:
                    level = int(255 * step / script.steps)
                    preview = np.full((request.height // 8, request.width // 8, 3), level, dtype=np.uint8)
                    on_step(StepPreview(step, script.steps, preview, image_index=call))
            first = request.seed + call * request.batch_size
            batch_seeds = list(range(first, first + request.batch_size))
            batch = [Image.new("RGB", (request.width, request.height), (200, 120, 40)) for _ in batch_seeds]
            if on_batch:
                on_batch(self._result(request, batch, batch_seeds))
            images += batch
            seeds += batch_seeds
        if script.error is not None:
            raise script.error
        return self._result(request, images, seeds)

    def _result(
        self, request: GenerationRequest, images: list, seeds: list[int], cancelled: bool = False
    ) -> GenerationResult:
        return GenerationResult(
            request=request,
            images=list(images),
            seeds=list(seeds),
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            model=ModelInfo(name="fake", family="sd15"),
            cancelled=cancelled,
        )

    def unload(self) -> None:
        self.unloaded = True


def fake_backend(engine: Any = None) -> LocalBackend:
    """The backend seam, in this process, on ``engine`` (a FakeEngine, or a class or function making one)."""
    if engine is None:
        engine = FakeEngine()
    make = engine if callable(engine) and not isinstance(engine, FakeEngine) else (lambda: engine)
    return LocalBackend(engine_factory=lambda config: make())

"""A scriptable stand-in for ``studio.engine.engine.Engine``: no torch, instant, deterministic.

Tests script what the next ``generate`` calls do: how many steps, an error to raise, a pause on a step (so a test
can cancel or queue while a job runs), or a hang that only cancel ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from studio.engine.events import GenerationResult, ModelInfo, StepPreview
from studio.request import GenerationRequest


@dataclass
class Script:
    """What one ``generate`` call does."""

    steps: int = 3
    error: BaseException | None = None
    error_at_step: int = 0  # raise before this step (0: before any step)
    pause_at_step: int | None = None  # wait on ``FakeEngine.resume`` (or cancel) before this step
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

    def generate(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepPreview], None] | None = None,
        cancel: threading.Event | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> GenerationResult:
        self.calls.append(request)
        self.thread_names.append(threading.current_thread().name)
        script = self.scripts.pop(0) if self.scripts else self.default
        if on_stage:
            on_stage("Loading model…")
        seed = request.seed if request.seed >= 0 else 1234
        for step in range(1, script.steps + 1):
            if script.error is not None and step > script.error_at_step:
                raise script.error
            if script.pause_at_step == step:
                self.reached_pause.set()
                while not self.resume.wait(0.01):
                    if cancel is not None and cancel.is_set():
                        break
            if cancel is not None and cancel.is_set():
                return self._result(request, seed, cancelled=True)
            if script.step_delay_s:
                time.sleep(script.step_delay_s)
            if on_step:
                level = int(255 * step / script.steps)
                preview = np.full((request.height // 8, request.width // 8, 3), level, dtype=np.uint8)
                on_step(StepPreview(step, script.steps, preview))
        if script.error is not None:
            raise script.error
        return self._result(request, seed)

    def _result(self, request: GenerationRequest, seed: int, cancelled: bool = False) -> GenerationResult:
        image = Image.new("RGB", (request.width, request.height), (200, 120, 40))
        return GenerationResult(
            request=request.with_changes(seed=seed),
            images=[] if cancelled else [image],
            seeds=[] if cancelled else [seed],
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            model=ModelInfo(name="fake", family="sd15"),
            cancelled=cancelled,
        )

    def unload(self) -> None:
        self.unloaded = True

"""The engine the process-backend tests run in the child: ``FakeEngine``, scripted by the prompt (the parent
cannot hand the child a script object): "crash" kills the process mid-run, "hang" ignores cancel."""

from __future__ import annotations

import os
import signal
import time

from fake_engine import FakeEngine

from studio.engine.config import EngineConfig


class PromptScriptedEngine(FakeEngine):
    def generate(self, request, on_step=None, cancel=None, on_stage=None, on_batch=None):
        if request.prompt == "crash":
            os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's out-of-memory killer does
        if request.prompt == "hang":
            while True:  # a torch op that never looks at cancel
                time.sleep(0.05)
        return super().generate(request, on_step, cancel, on_stage, on_batch)


def build(config: EngineConfig) -> PromptScriptedEngine:
    return PromptScriptedEngine()

"""The one interface every engine sits behind: the local diffusers engine (in this process or its own) today, a
generation server tomorrow. The window's state and the CLI talk to this and nothing else.

A listener submits requests and tasks, then drains typed events (``events.py``) with ``next_event``: every job
sends ``JobQueued``, then ``JobStarted``, stages and step previews, an ``ImagesReady`` per finished batch, and ends
with exactly one of ``JobFinished``, ``JobFailed`` or ``JobCancelled``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from studio.backend.catalogue import Capabilities
from studio.backend.events import BackendEvent
from studio.backend.tasks import Task
from studio.engine.config import EngineConfig
from studio.request import GenerationRequest

if TYPE_CHECKING:
    from studio.models.discovery import ModelEntry
    from studio.models.lora_file import LoraEntry


class Backend(Protocol):
    name: str
    config: EngineConfig

    def start(self, warm_up: bool = True) -> None: ...

    def submit(self, request: GenerationRequest, job_id: int | None = None) -> int: ...

    def run_task(self, task: Task, task_id: int | None = None) -> int: ...

    def cancel(self, job_id: int | None = None) -> None: ...

    def configure(self, config: EngineConfig, model_dirs: tuple[str, ...] | None = None) -> None: ...

    def next_event(self, timeout: float | None = None) -> BackendEvent | None: ...

    @property
    def busy(self) -> bool: ...

    def close(self, timeout: float = 1.5) -> bool: ...

    def models(self) -> list[ModelEntry]: ...

    def loras(self) -> list[LoraEntry]: ...

    def controlnets(self) -> list[Path]: ...

    def capabilities(self) -> Capabilities: ...

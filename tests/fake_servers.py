"""Stand-ins for generation servers: a FakeEngine behind the backend seam, with a catalogue of its own and a
switch that says whether it still answers (what ``check_connection`` tells the dispatcher of a real one)."""

from __future__ import annotations

from pathlib import Path

from fake_engine import FakeEngine, Script

from studio.backend import events as ev
from studio.backend.local import LocalBackend
from studio.errors import StudioError
from studio.models.discovery import ModelEntry
from studio.models.lora_file import LoraEntry
from studio.request import GenerationRequest


class FakeServer(LocalBackend):
    """A "server" named ``name`` holding the checkpoints ``models`` (names without suffix) and ``loras``."""

    def __init__(
        self,
        name: str,
        models: tuple[str, ...] = ("tiny",),
        loras: tuple[str, ...] = (),
        controlnets: tuple[str, ...] = (),
        engine: FakeEngine | None = None,
    ) -> None:
        self.engine = engine or FakeEngine(default=Script(steps=2, step_delay_s=0.02))
        super().__init__(engine_factory=lambda config: self.engine)
        self.name = name
        self.up = True  # what its connection check answers
        self.listings = 0
        self._models, self._loras, self._controlnets = models, loras, controlnets

    def probe(self) -> bool:
        return self.up

    def die(self) -> None:
        """Stop answering: every job from now on fails the way a dropped connection does."""
        self.up = False
        self.engine.default = Script(steps=2, step_delay_s=0.02, error=StudioError("The connection was lost."))

    def models(self) -> list[ModelEntry]:
        self.listings += 1
        if not self.up:
            raise ConnectionError("no answer")
        return [ModelEntry(m, f"checkpoints/{m}.safetensors", "sd15", "single_file", 1) for m in self._models]

    def loras(self) -> list[LoraEntry]:
        return [LoraEntry(name, Path(f"{name}.safetensors"), 1, "sd15") for name in self._loras]

    def controlnets(self) -> list[Path]:
        return [Path(f"{name}.safetensors") for name in self._controlnets]


def job(model: str = "tiny", **changes) -> GenerationRequest:
    return GenerationRequest(model=f"/home/artist/models/{model}.safetensors", prompt="a fox", width=64, height=64,
                             steps=2, seed=1, **changes)  # fmt: skip


def drain(backend, job_ids, timeout: float = 20.0) -> list:
    """Every event until each of ``job_ids`` has ended."""
    open_jobs, events = set(job_ids), []
    while open_jobs:
        event = backend.next_event(timeout=timeout)
        assert event is not None, f"no event for {timeout} s; open {open_jobs}; so far {events}"
        events.append(event)
        if isinstance(event, ev.JOB_ENDS):
            open_jobs.discard(event.job_id)
    return events


def runners_of(events) -> dict[int, list[str]]:
    """Job id -> where it started, in order (more than one when it moved)."""
    where: dict[int, list[str]] = {}
    for event in events:
        if isinstance(event, ev.JobStarted):
            where.setdefault(event.job_id, []).append(event.runner)
    return where

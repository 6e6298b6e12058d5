"""The queue of waiting generations: what Generate adds while a job runs, visible and editable."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from studio.request import GenerationRequest

_ids = itertools.count(1)


@dataclass(frozen=True)
class Job:
    """One request waiting for (or being served by) the worker. ``id`` is unique for the run of the app."""

    request: GenerationRequest
    id: int = 0
    runner: str = ""  # where the job runs (a server's name) when a backend says so; "" shows nothing

    @staticmethod
    def new(request: GenerationRequest) -> Job:
        return Job(request=request, id=next(_ids))

    def label(self) -> str:
        prompt = " ".join(self.request.prompt.split()) or "(empty prompt)"
        if len(prompt) > 48:
            prompt = prompt[:47] + "…"
        count = self.request.images_total
        return f"{prompt} · {self.request.width}×{self.request.height} · {count} image{'s' if count != 1 else ''}"


class JobQueue(QObject):
    """Waiting jobs in order. ``paused`` holds the queue (a restored session waits for the artist)."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self.paused = False
        self._running: dict[int, tuple[Job, str]] = {}  # sent to the backend and not ended: job, where it runs

    def mark_running(self, job: Job, where: str = "") -> None:
        """``job`` left the queue for the backend (``where``: the server it runs on, once known)."""
        self._running[job.id] = (job, where)
        self.changed.emit()

    def mark_ended(self, job_id: int) -> None:
        if self._running.pop(job_id, None) is not None:
            self.changed.emit()

    def running_text(self) -> str:
        """Where the jobs being generated run ("Running on desk: a fox…", one line each, the prompt cut short to
        fit a narrow panel); "" when none says where."""
        lines = []
        for job, where in self._running.values():
            prompt = " ".join(job.request.prompt.split()) or "(empty prompt)"
            if where:
                lines.append(f"Running on {where}: {prompt if len(prompt) <= 28 else prompt[:27] + '…'}")
        return "\n".join(lines)

    def __len__(self) -> int:
        return len(self._jobs)

    def jobs(self) -> list[Job]:
        return list(self._jobs)

    def add(self, request: GenerationRequest) -> Job:
        job = Job.new(request)
        self._jobs.append(job)
        self.changed.emit()
        return job

    def remove(self, job_id: int) -> bool:
        """Drop a waiting job; False when it is not (or no longer) waiting."""
        for index, job in enumerate(self._jobs):
            if job.id == job_id:
                del self._jobs[index]
                self.changed.emit()
                return True
        return False

    def move(self, job_id: int, index: int) -> bool:
        """Put a waiting job at ``index`` (clamped), so the worker takes the jobs in the new order."""
        for position, job in enumerate(self._jobs):
            if job.id == job_id:
                del self._jobs[position]
                self._jobs.insert(max(0, min(index, len(self._jobs))), job)
                if position != self._jobs.index(job):
                    self.changed.emit()
                return True
        return False

    def set_runner(self, job_id: int, runner: str) -> bool:
        """Say where a waiting job runs (e.g. a ComfyUI server's name); the queue shows it under the job."""
        for position, job in enumerate(self._jobs):
            if job.id == job_id:
                if job.runner != runner:
                    self._jobs[position] = dataclasses.replace(job, runner=runner)
                    self.changed.emit()
                return True
        return False

    def put_back(self, job: Job) -> None:
        """A job that could not run now goes back to the front, and the queue waits for the artist."""
        self._jobs.insert(0, job)
        self.paused = True
        self.changed.emit()

    def take_next(self) -> Job | None:
        if self.paused or not self._jobs:
            return None
        job = self._jobs.pop(0)
        self.changed.emit()
        return job

    def set_paused(self, paused: bool) -> None:
        if paused != self.paused:
            self.paused = paused
            self.changed.emit()

    def replace_all(self, requests: list[GenerationRequest]) -> None:
        self._jobs = [Job.new(r) for r in requests]
        self.changed.emit()

"""What a backend tells its listener, one typed event at a time, whichever engine runs the work.

Every event is small and picklable, so the same events cross the process boundary of the engine process (and,
later, come from a remote server). Previews carry the latent-size picture (a few KB), never the full image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from studio.results import GenerationResult, StepPreview


@dataclass(frozen=True)
class JobQueued:
    job_id: int


@dataclass(frozen=True)
class JobStarted:
    job_id: int
    runner: str = ""  # where it runs, when a job may run on one of several backends (a server's name)


@dataclass(frozen=True)
class Stage:
    """What the engine is doing ("Loading model…", "Decoding…"); ``loading`` marks the model and LoRA loads."""

    job_id: int
    text: str
    loading: bool = False


@dataclass(frozen=True)
class StepProgress:
    job_id: int
    preview: StepPreview


@dataclass(frozen=True)
class ImagesReady:
    """One batch call's images, decoded: saved at once, so a crash later loses none of them."""

    job_id: int
    result: GenerationResult


@dataclass(frozen=True)
class JobFinished:
    job_id: int
    result: GenerationResult


@dataclass(frozen=True)
class JobFailed:
    """``message`` is for the artist; ``detail`` (a traceback, or "") is for the log and a bug report."""

    job_id: int
    message: str
    detail: str = ""
    retryable: bool = False  # nothing is wrong with the request (no server could take it now): it may run again


@dataclass(frozen=True)
class JobCancelled:
    """``result`` holds the batches that finished before the cancel (None when none did)."""

    job_id: int
    result: GenerationResult | None = None


@dataclass(frozen=True)
class TaskFinished:
    task_id: int
    value: Any


@dataclass(frozen=True)
class TaskFailed:
    task_id: int
    message: str
    detail: str = ""


@dataclass(frozen=True)
class EngineReady:
    """The engine is built (torch imported) and waits for work."""


@dataclass(frozen=True)
class EngineLost:
    """The engine process died (a crash or an out-of-memory kill); the next job starts a new one."""

    message: str


BackendEvent = Union[  # noqa: UP007 - a runtime alias, for isinstance-free readers and type checkers alike
    JobQueued, JobStarted, Stage, StepProgress, ImagesReady, JobFinished, JobFailed, JobCancelled,
    TaskFinished, TaskFailed, EngineReady, EngineLost,
]  # fmt: skip

JOB_ENDS = (JobFinished, JobFailed, JobCancelled)  # after one of these, a job sends nothing more

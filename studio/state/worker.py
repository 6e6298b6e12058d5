"""The window's side of the backend seam: backend events in, Qt signals out.

One listener thread drains the backend's typed events (``studio.backend.events``) and re-emits them as signals,
delivered queued on the GUI thread. Step previews are not queued one per step: the newest waits in a slot and
``preview_ready`` fires when the slot goes from empty to full, so a slow GUI sees the newest picture and never a
backlog. Each batch of images is saved here the moment it arrives, so a crash or a kill later in a long job
loses at most the batch in progress. The engine itself runs wherever the backend puts it (its own process, for
the window): nothing here imports torch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.backend.events import (
    BackendEvent,
    EngineLost,
    EngineReady,
    ImagesReady,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobStarted,
    Stage,
    StepProgress,
    TaskFailed,
    TaskFinished,
)
from studio.backend.protocol import Backend
from studio.backend.tasks import Task
from studio.engine.config import EngineConfig
from studio.errors import StudioError
from studio.state.jobs import Job

log = logging.getLogger("studio.worker")

LISTEN_S = 0.1  # how long the listener waits for an event before it looks whether it should stop


def default_saver(result: Any, folder: Path) -> list[Path]:
    from studio.metadata.saving import save_result

    return save_result(result, folder)


class _JobSaves:
    """What the batches of one job were saved to, the first save error and the notices saving added."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths: list[Path] = []
        self.error = ""
        self.notices: list[str] = []


class GenerationWorker(QObject):
    """Serves ``submit``-ted jobs through ``backend``. Start with ``start()``, end with ``shutdown()``."""

    job_started = Signal(int)  # job id
    job_runner = Signal(int, str)  # job id, where it runs (a server's name), when the backend has several
    stage = Signal(int, str)  # job id, what the engine is doing ("Loading model…")
    progress = Signal(int, int, int, str, int)  # job id, step, total, pass name, image index
    preview_ready = Signal()  # the latest preview waits in take_preview()
    # object, not list: PySide would convert a list element by element on every delivery.
    # job id, one batch's GenerationResult, its saved paths, save error ("" if saved): as each batch is saved
    batch_saved = Signal(int, object, object, str)
    # job id, GenerationResult, saved paths (every batch's), first save error ("" if all saved)
    finished = Signal(int, object, object, str)
    failed = Signal(int, str, str)  # job id, message, detail
    retryable = Signal(int)  # job id: its failure (sent next) is no fault of the request, which may run again
    # job id, the partial GenerationResult or None, the paths its finished batches were saved to
    cancelled = Signal(int, object, object)
    task_finished = Signal(int, object)  # task id (run_task's), value
    task_failed = Signal(int, str, str)  # task id, message, detail
    engine_ready = Signal()
    engine_lost = Signal(str)  # the engine process died; the message says what the studio did
    # Live mode's runs (``submit_live``): every event of theirs comes here, none through the signals above, and
    # nothing of theirs is saved.
    live_event = Signal(object)

    def __init__(
        self,
        backend: Backend,
        saver: Callable[[Any, Path], list[Path]] = default_saver,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self._saver = saver
        self._saves: dict[int, _JobSaves] = {}
        self._live: set[int] = set()
        self._preview_lock = threading.Lock()
        self._preview: Any = None
        self.preview_job = 0  # the job of the newest preview (several run at once on several servers)
        self._stopping = threading.Event()
        # Daemon: a listener blocked on a broken backend must not keep the process alive after the window closed.
        self._thread = threading.Thread(target=self._listen, name="studio-events", daemon=True)

    # --- GUI side -----------------------------------------------------------------------------------------

    def start(self, warm_up: bool = True) -> None:
        """Start listening; ``warm_up`` has the backend build its engine now so the first Generate is quicker."""
        self.backend.start(warm_up)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self.backend.busy

    @property
    def slots(self) -> int:
        """How many jobs the backend generates at once (one per server for several servers, else one)."""
        return int(getattr(self.backend, "slots", 1))

    def submit(self, job: Job, output_folder: Path) -> None:
        self._saves[job.id] = _JobSaves(output_folder)
        self.backend.submit(job.request, job.id)

    def submit_live(self, request: Any, job_id: int) -> None:
        """Run a live-mode request: its events come through ``live_event`` only; nothing is saved. Thread-safe."""
        self._live.add(job_id)
        self.backend.submit(request, job_id)

    def cancel_job(self, job_id: int) -> None:
        """Cancel one job by its id (a live run), running or waiting."""
        self.backend.cancel(job_id)

    def run_task(self, task: Task) -> int:
        """Run ``task`` where the engine lives; its value comes back through ``task_finished`` with the id returned."""
        return self.backend.run_task(task)

    def configure(self, config: EngineConfig, model_dirs: tuple[str, ...] | None = None) -> None:
        """The engine's set-up for the following jobs (the backend applies it between jobs)."""
        self.backend.configure(config, model_dirs)

    def cancel(self) -> None:
        """Cancel the running job, if any (the engine stops at the next step)."""
        self.backend.cancel()  # the backend knows what runs, even before its JobStarted has reached us

    def take_preview(self) -> Any:
        """The newest StepPreview not yet shown (None if none); empties the slot."""
        with self._preview_lock:
            preview, self._preview = self._preview, None
        return preview

    def shutdown(self, timeout: float = 1.5) -> bool:
        """Cancel, close the backend and stop listening within about ``timeout`` s. True when both ended in time."""
        self._stopping.set()
        closed = self.backend.close(timeout)
        if self._thread.is_alive():
            self._thread.join(LISTEN_S * 3)
        return closed and not self._thread.is_alive()

    # --- the listener thread ------------------------------------------------------------------------------

    def _listen(self) -> None:
        while not self._stopping.is_set():
            event = self.backend.next_event(timeout=LISTEN_S)
            if event is not None:
                try:
                    self._dispatch(event)
                except Exception:  # noqa: BLE001 - one bad event must not silence every later one
                    log.exception("handling %s failed", type(event).__name__)

    def _dispatch(self, event: BackendEvent) -> None:
        job_id = getattr(event, "job_id", None)
        if job_id is not None and job_id in self._live:
            if isinstance(event, JobFinished | JobFailed | JobCancelled):
                self._live.discard(job_id)
            self.live_event.emit(event)
            return
        if isinstance(event, StepProgress):
            self._on_step(event.job_id, event.preview)
        elif isinstance(event, Stage):
            self.stage.emit(event.job_id, event.text)
        elif isinstance(event, JobStarted):
            with self._preview_lock:
                self._preview = None
            self.job_started.emit(event.job_id)
            if event.runner:
                self.job_runner.emit(event.job_id, event.runner)
        elif isinstance(event, ImagesReady):
            self._save_batch(event.job_id, event.result)
        elif isinstance(event, JobFinished | JobFailed | JobCancelled):
            self._end(event)
        elif isinstance(event, TaskFinished):
            self.task_finished.emit(event.task_id, event.value)
        elif isinstance(event, TaskFailed):
            self.task_failed.emit(event.task_id, event.message, event.detail)
        elif isinstance(event, EngineReady):
            self.engine_ready.emit()
        elif isinstance(event, EngineLost):
            self.engine_lost.emit(event.message)

    def _end(self, event: JobFinished | JobFailed | JobCancelled) -> None:
        saves = self._saves.pop(event.job_id, None) or _JobSaves(Path())
        if isinstance(event, JobFinished):
            result = event.result
            # Saving may have added notices (a pose too large to embed); the artist reads them on the result.
            result.notices.extend(n for n in saves.notices if n not in result.notices)
            log.info("job %d done in %.1f s, saved %s", event.job_id, result.elapsed_s, saves.paths)
            self.finished.emit(event.job_id, result, saves.paths, saves.error)
        elif isinstance(event, JobCancelled):
            self.cancelled.emit(event.job_id, event.result, saves.paths)
        else:
            log.warning("job %d failed: %s", event.job_id, event.message)
            if event.retryable:
                self.retryable.emit(event.job_id)
            self.failed.emit(event.job_id, event.message, event.detail)

    def _save_batch(self, job_id: int, batch: Any) -> None:
        """Save one batch the moment it arrives (the engine's ``on_batch``, across the seam)."""
        saves = self._saves.get(job_id)
        if saves is None:
            return
        try:
            paths, error = list(self._saver(batch, saves.folder)), ""
        except StudioError as exc:
            paths, error = [], str(exc)
        saves.paths += paths
        saves.error = saves.error or error
        saves.notices += [n for n in batch.notices if n not in saves.notices]
        self.batch_saved.emit(job_id, batch, paths, error)

    def _on_step(self, job_id: int, preview: Any) -> None:
        self.progress.emit(job_id, preview.step, preview.total, preview.pass_name, preview.image_index)
        with self._preview_lock:
            was_empty = self._preview is None
            self._preview, self.preview_job = preview, job_id
        if was_empty:
            self.preview_ready.emit()

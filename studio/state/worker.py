"""The one worker thread: it owns the engine and serves jobs one at a time.

It talks to the GUI only through Qt signals (emitted from the worker thread, delivered queued on the GUI
thread). Step previews are not queued one per step: the worker keeps only the latest one in a slot and signals
``preview_ready`` when the slot goes from empty to full, so a slow GUI sees the newest picture and never a
backlog. The engine module (and so torch) is imported inside the thread, after the window is up. Each batch
of images is saved as soon as the engine has decoded it, so a crash or a kill later in a long job loses at most
the batch in progress.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.errors import StudioError
from studio.state.jobs import Job

log = logging.getLogger("studio.worker")

UNEXPECTED = (
    "Something went wrong while generating. The studio is still running; try again, and if it happens again "
    "send the log file with the details below."
)

EngineFactory = Callable[[], Any]


def default_engine_factory(torch_threads: int | None = None, allow_pickle: bool = False) -> EngineFactory:
    """A factory that builds the real engine; called in the worker thread, so torch loads there."""

    def build() -> Any:
        from studio.engine.engine import Engine

        return Engine(allow_pickle=allow_pickle, torch_threads=torch_threads)

    return build


def default_saver(result: Any, folder: Path) -> list[Path]:
    from studio.metadata.saving import save_result

    return save_result(result, folder)


class _JobSaves:
    """What the batches of one job were saved to, the first save error and the notices saving added."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.error = ""
        self.notices: list[str] = []


class GenerationWorker(QObject):
    """Serves ``submit``-ted jobs on its own thread. Start with ``start()``, end with ``shutdown()``."""

    job_started = Signal(int)  # job id
    stage = Signal(int, str)  # job id, what the engine is doing ("Loading model…")
    progress = Signal(int, int, int, str, int)  # job id, step, total, pass name, image index
    preview_ready = Signal()  # the latest preview waits in take_preview()
    # object, not list: PySide would convert a list element by element on every delivery.
    # job id, one batch's GenerationResult, its saved paths, save error ("" if saved): as each batch is saved
    batch_saved = Signal(int, object, object, str)
    # job id, GenerationResult, saved paths (every batch's), first save error ("" if all saved)
    finished = Signal(int, object, object, str)
    failed = Signal(int, str, str)  # job id, message, detail
    # job id, the partial GenerationResult or None, the paths its finished batches were saved to
    cancelled = Signal(int, object, object)
    task_finished = Signal(str, object)  # task name, return value
    task_failed = Signal(str, str, str)  # task name, message, detail
    engine_ready = Signal()

    def __init__(
        self,
        engine_factory: EngineFactory | None = None,
        saver: Callable[[Any, Path], list[Path]] = default_saver,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine_factory = engine_factory or default_engine_factory()
        self._saver = saver
        self._engine: Any = None
        self._commands: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._cancel = threading.Event()
        self._current_job: int | None = None
        self._preview_lock = threading.Lock()
        self._preview: Any = None
        self._engine_settings: dict[str, Any] = {}  # set on the engine when built and on every change
        # Daemon: a torch op that ignores cancel must not keep the process alive after the window closed.
        self._thread = threading.Thread(target=self._run, name="studio-worker", daemon=True)

    # --- GUI side -----------------------------------------------------------------------------------------

    def start(self, warm_up: bool = True) -> None:
        """Start the thread; ``warm_up`` builds the engine right away so the first Generate is quicker."""
        self._thread.start()
        if warm_up:
            self._commands.put(("warm", None))

    @property
    def busy(self) -> bool:
        return self._current_job is not None

    def submit(self, job: Job, output_folder: Path) -> None:
        self._commands.put(("job", (job, output_folder)))

    def run_task(self, name: str, function: Callable[[], Any]) -> None:
        """Run ``function`` on the worker thread (after the current job); result via ``task_finished``."""
        self._commands.put(("task", (name, function)))

    def configure_engine(self, **attributes: Any) -> None:
        """Engine attributes (e.g. ``lora_dirs``) for the following jobs, set on the worker thread between jobs."""
        self._commands.put(("configure", attributes))

    def cancel(self) -> None:
        """Cancel the running job, if any (the engine stops at the next step)."""
        if self._current_job is not None:
            self._cancel.set()

    def take_preview(self) -> Any:
        """The newest StepPreview not yet shown (None if none); empties the slot."""
        with self._preview_lock:
            preview, self._preview = self._preview, None
        return preview

    def shutdown(self, timeout: float = 1.5) -> bool:
        """Cancel, stop the thread and wait up to ``timeout`` s. True when the thread ended in time."""
        self._cancel.set()
        self._commands.put(("stop", None))
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- worker thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            kind, payload = self._commands.get()
            if kind == "stop":
                self._unload()
                return
            if kind == "warm":
                self._safely("engine", self._ensure_engine)
            elif kind == "configure":
                self._engine_settings.update(payload)
                if self._engine is not None:
                    self._configure(self._engine)
            elif kind == "task":
                name, function = payload
                self._safely(name, function, report=True)
            elif kind == "job":
                self._serve(*payload)

    def _ensure_engine(self) -> Any:
        if self._engine is None:
            self._engine = self._engine_factory()
            self._configure(self._engine)
            self.engine_ready.emit()
        return self._engine

    def _configure(self, engine: Any) -> None:
        for key, value in self._engine_settings.items():
            setattr(engine, key, value)

    def _safely(self, name: str, function: Callable[[], Any], report: bool = False) -> None:
        try:
            value = function()
        except StudioError as exc:
            log.warning("task %s failed: %s", name, exc)
            self.task_failed.emit(name, str(exc), "")
        except Exception as exc:  # noqa: BLE001 - anything else is a bug, reported with its traceback
            log.exception("task %s crashed", name)
            self.task_failed.emit(
                name, f"Something went wrong ({type(exc).__name__}).", traceback.format_exc()
            )
        else:
            if report:
                self.task_finished.emit(name, value)

    def _serve(self, job: Job, output_folder: Path) -> None:
        self._cancel.clear()
        self._current_job = job.id
        with self._preview_lock:
            self._preview = None
        self.job_started.emit(job.id)
        started = time.monotonic()
        saves = _JobSaves()
        try:
            engine = self._ensure_engine()
            result = engine.generate(
                job.request,
                on_step=lambda preview: self._on_step(job.id, preview),
                cancel=self._cancel,
                on_stage=lambda text: self.stage.emit(job.id, text),
                on_batch=lambda batch: self._save_batch(job.id, batch, output_folder, saves),
            )
            # Saving may have added notices (a pose too large to embed); the artist reads them on the result.
            result.notices.extend(n for n in saves.notices if n not in result.notices)
            if result.cancelled:
                self.cancelled.emit(job.id, result, saves.paths)
                return
            log.info("job %d done in %.1f s, saved %s", job.id, time.monotonic() - started, saves.paths)
            self.finished.emit(job.id, result, saves.paths, saves.error)
        except StudioError as exc:
            log.warning("job %d failed: %s", job.id, exc)
            if self._cancel.is_set():
                self.cancelled.emit(job.id, None, saves.paths)
            else:
                self.failed.emit(job.id, str(exc), "")
        except Exception:  # noqa: BLE001 - a bug must not kill the worker or reach the artist as a traceback
            log.exception("job %d crashed", job.id)
            self.failed.emit(job.id, UNEXPECTED, traceback.format_exc())
        finally:
            self._current_job = None

    def _save_batch(self, job_id: int, batch: Any, folder: Path, saves: _JobSaves) -> None:
        """Save one batch the moment the engine has decoded it (the engine's ``on_batch``)."""
        try:
            paths, error = list(self._saver(batch, folder)), ""
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
            self._preview = preview
        if was_empty:
            self.preview_ready.emit()

    def _unload(self) -> None:
        if self._engine is not None:
            try:
                self._engine.unload()
            except Exception:  # noqa: BLE001 - closing must not fail on a broken engine
                log.exception("engine unload failed")

"""The window's brain without widgets: the current request, the queue, the worker and the session.

Widgets edit the request through ``set_request``/``update`` and listen to the signals; the worker's signals
are turned into GUI-friendly ones here (the newest preview only, at display rate). The session's files (the
request, the drawn layers, the pose) are owned here too: the widgets draw into ``canvas`` and ``pose``, and
``generate`` and ``shutdown`` put them on disk.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.request import RANDOM_SEED, GenerationRequest
from studio.settings import AppSettings, save_settings
from studio.state.canvas_store import CanvasStore
from studio.state.embedding_list import EmbeddingList
from studio.state.input_snapshot import snapshot_inputs
from studio.state.jobs import Job, JobQueue
from studio.state.lora_list import LoraList
from studio.state.model_list import ModelList, usable
from studio.state.pose_store import PoseStore, pose_file
from studio.state.session import Session, SessionAutosave, session_folder
from studio.state.worker import GenerationWorker

if TYPE_CHECKING:
    from studio.models.model_folders import ModelFolders

log = logging.getLogger("studio.state")

NO_MODEL = (
    "Choose a model first: the welcome page offers a tiny demo model (no download) and recommended downloads; "
    "models you add appear in the Model list of the settings."
)
PREVIEW_INTERVAL_S = 1 / 30  # display rate: previews arriving faster are dropped, never queued

ERROR, NOTICE, INFO = "error", "notice", "info"
# What a message is about: its banner leaves when that is dealt with (``messages_resolved``).
GENERATION, MODEL = "generation", "model"


class AppState(QObject):
    request_changed = Signal(object)  # GenerationRequest
    running_changed = Signal(bool)
    job_started = Signal(object)  # Job
    stage = Signal(str)
    progress = Signal(int, int, str, int)  # step, total, pass name, image index
    preview = Signal(object)  # the newest StepPreview
    result_ready = Signal(object, object)  # GenerationResult, list of saved paths
    job_cancelled = Signal()
    job_failed = Signal(str)  # the message (also sent through ``message``)
    message = Signal(str, str, str)  # kind (error/notice/info), sentence, detail
    sourced_message = Signal(str, str, str, str)  # the same, then its source (GENERATION, MODEL or "")
    messages_resolved = Signal(str)  # a source whose messages no longer hold: a job started, the model changed
    last_seed_changed = Signal(object)  # int; seeds go up to SEED_MAX, past a C++ int
    annotators_changed = Signal(object)  # the annotators folder in effect (Path or None)
    models_folder_changed = Signal(object)  # the models folder now in effect (Path)
    demo_building = Signal(bool)  # the demo model is being built (True), or that ended (False)

    def __init__(
        self,
        settings: AppSettings,
        worker: GenerationWorker,
        models: ModelList | None = None,
        session_path: Path | None = None,
        parent: QObject | None = None,
        loras: LoraList | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.worker = worker
        self.models = models or ModelList(parent=self)
        self.queue = JobQueue(self)
        self._request = GenerationRequest()
        self.running: Job | None = None  # the job whose progress the window shows (the oldest in flight)
        self.in_flight: dict[int, Job] = {}  # every job sent to the backend and not ended: one per server
        self.last_seed: int | None = None  # the first seed of the last finished job: "Reuse last" fixes it
        self.unsaved_results: list[Any] = []  # batches whose save failed, kept so nothing is lost
        self._save_error_shown_for: int | None = None  # a full disk fails every batch: say it once per job
        self.autosave = SessionAutosave(self.snapshot, session_path, on_error=self.notice, parent=self)
        self._session_folder = session_folder(self.autosave.path)
        self.pose = PoseStore(pose_file(self._session_folder), on_error=self.notice, parent=self)
        # The sketch, mask and reference layers the canvas widgets draw. ``failed`` comes from the store's save
        # thread: a bound method, so Qt queues it onto this object's (the GUI) thread.
        self.canvas = CanvasStore(self._session_folder, parent=self)
        self.canvas.failed.connect(self.notice)
        # The pose canvas is the generation size, so the pose editor shows what ControlNet will get.
        self.request_changed.connect(lambda request: self.pose.fit_to(request.width, request.height))
        self._last_preview_at = 0.0
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.timeout.connect(self._deliver_preview)
        self.queue.changed.connect(self.autosave.schedule)
        worker.job_started.connect(self._on_started)
        worker.job_runner.connect(self._on_runner)
        worker.retryable.connect(self._on_retryable)
        self._retryable: set[int] = set()  # failed jobs that go back to the queue instead of being dropped
        # Bound methods (not lambdas): Qt then queues the worker thread's signals onto this object's thread.
        worker.stage.connect(self._on_stage)
        worker.progress.connect(self._on_progress)
        worker.preview_ready.connect(self._on_preview_ready)
        worker.batch_saved.connect(self._on_batch_saved)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.task_finished.connect(self._on_task_finished)
        worker.task_failed.connect(self._on_task_failed)
        self.models.changed.connect(self._on_models)
        self.models.failed.connect(self.error)
        self.loras = loras or LoraList(parent=self)
        self.loras.failed.connect(self.error)
        self.embeddings = EmbeddingList(parent=self)  # textual inversion, from the LoRA roots' tools
        self.embeddings.failed.connect(self.error)
        self._select_after_refresh: str | None = None
        worker.engine_lost.connect(self.error)
        self._demo_task: int | None = None
        self.configure_backend()

    # --- models ---------------------------------------------------------------------------------------------

    def model_search_dirs(self) -> list[Path]:
        return self.settings.model_search_dirs()

    def model_folders(self) -> ModelFolders:
        """Where checkpoints, ControlNets and LoRAs of the artist's models folder live."""
        return self.settings.model_folders()

    def controlnet_folders(self) -> list[Path]:
        """The folders ControlNets are listed from: the models folder's, then the studio's own."""
        return self.settings.controlnet_folders()

    def configure_backend(self) -> None:
        """Hand the engine the preferences' folders and options (applied between jobs): one set-up, from settings."""
        from studio.backend.factory import engine_config, model_dirs

        self.worker.configure(engine_config(self.settings), model_dirs(self.settings))

    def set_models_folder(self, folder: Path | str | None) -> None:
        """Keep models in ``folder`` from now on (None: the studio's own): downloads go there, it is scanned."""
        from studio import paths

        chosen = str(folder) if folder and Path(folder) != paths.models_dir() else None
        if chosen != self.settings.models_folder:
            self.settings.models_folder = chosen
            self.save_settings()
        self.models_folder_changed.emit(self.settings.models())
        self.refresh_models()

    def refresh_models(self) -> None:
        self.models.refresh(self.model_search_dirs())
        self.refresh_loras()

    def lora_roots(self) -> list[str]:
        return self.settings.lora_roots()

    def refresh_loras(self) -> None:
        roots = self.lora_roots()
        self.configure_backend()  # the engine reads the same folders
        self.loras.refresh(roots)
        self.embeddings.refresh(roots)

    def add_lora_folder(self, path: Path) -> None:
        """An A1111/ComfyUI root or a folder of LoRAs chosen by the artist: remembered, then scanned."""
        if str(path) not in self.settings.lora_dirs:
            self.settings.lora_dirs.append(str(path))
            self.save_settings()
        self.refresh_loras()

    def annotators_folder(self) -> Path | None:
        """Where the annotator weights are looked for: ``DIFFUSION_STUDIO_ANNOTATORS`` if set, else the setting."""
        from studio.models.annotators import annotators_dir

        return annotators_dir(self.settings.annotators_folder)

    def set_annotators_folder(self, folder: str | None) -> None:
        """Remember the artist's annotators folder (None: none) and hand it to the engine for the next jobs."""
        self.settings.annotators_folder = folder or None
        self.save_settings()
        # The setting as it is: the engine applies DIFFUSION_STUDIO_ANNOTATORS over it.
        self.configure_backend()
        self.annotators_changed.emit(self.annotators_folder())

    def add_model_path(self, path: Path, folder_of_models: bool = False) -> None:
        """A model file or folder (or, with ``folder_of_models``, an A1111/ComfyUI folder) chosen by the artist."""
        target = self.settings.model_dirs if folder_of_models else self.settings.extra_models
        if str(path) not in target:
            target.append(str(path))
            self.save_settings()
        if not folder_of_models:
            # Chosen once the scan has read it: a file the list files under "Cannot be used" is refused then.
            self._select_after_refresh = str(path)
        self.refresh_models()

    def add_found_folders(self, folders: list) -> None:
        """Other tools' model folders the artist confirmed (``install_finder.FoundFolder``): remembered, scanned."""
        for folder in folders:
            if str(folder.path) not in self.settings.model_dirs:
                self.settings.model_dirs.append(str(folder.path))
            if folder.loras is not None and str(folder.loras) not in self.settings.lora_dirs:
                self.settings.lora_dirs.append(str(folder.loras))
        self.answer_found_folders()
        self.refresh_models()

    def answer_found_folders(self) -> None:
        """The first-run offer of found folders was answered: it is not made again on its own."""
        self.settings.found_folders_offered = True
        self.save_settings()

    def create_demo_models(self) -> None:
        """Write the tiny offline demo models (where the engine runs: it imports torch) and select SD 1.5."""
        from studio import paths
        from studio.backend.tasks import BuildDemoModels

        folder = paths.models_dir() / "demo"
        self.info("Building the offline demo model (random weights — shows the workflow, not a picture)…")
        self._demo_task = self.worker.run_task(BuildDemoModels(str(folder)))
        self.demo_building.emit(True)

    def _on_task_finished(self, task_id: int, value: Any) -> None:
        if task_id == self._demo_task:
            self._demo_task = None
            self.demo_building.emit(False)
            folder = Path(value["sd15"]).parent
            if str(folder) not in self.settings.model_dirs:
                self.settings.model_dirs.append(str(folder))
                self.save_settings()
            self._select_after_refresh = str(value["sd15"])
            self.refresh_models()

    def _on_models(self, entries: list) -> None:
        wanted = self._select_after_refresh
        self._select_after_refresh = None
        if wanted:
            self._select_added(wanted)
        elif not self._request.model and entries:
            # Nothing chosen yet (first run): start with the first model the list shows.
            first = next((e for group in self.models.grouped().values() for e in group if usable(e)), None)
            if first is not None:
                self.update(model=str(first.reference))

    def _select_added(self, wanted: str) -> None:
        """Choose the model just added or built, unless the scan found it cannot be used: then say why."""
        entry = self.models.find(wanted)
        if entry is None:
            name = Path(wanted).name
            self.error(
                f"'{name}' is not a model the studio can paint with (it may be a LoRA, a ControlNet or another "
                "kind of file). The current model is kept; add a Stable Diffusion 1.5 or SDXL checkpoint.",
                source=MODEL,
            )
        elif not usable(entry):
            self.error(
                f"The model '{entry.name}' cannot be used: {entry.problem} The current model is kept.",
                source=MODEL,
            )
        else:
            self.update(model=str(entry.reference))

    # --- the request ----------------------------------------------------------------------------------------

    @property
    def request(self) -> GenerationRequest:
        return self._request

    def set_request(self, request: GenerationRequest) -> None:
        if request == self._request:
            return
        model_changed = request.model != self._request.model
        self._request = request
        if model_changed:
            self.messages_resolved.emit(MODEL)
        self.request_changed.emit(request)
        self.autosave.schedule()

    def update(self, **changes: Any) -> None:
        self.set_request(self._request.with_changes(**changes))

    def apply_image_settings(self, settings: Any, seed_only: bool = False) -> None:
        """Reuse what an image records (an ``ImageSettings`` from the metadata reader).

        The model is matched against the installed ones by reference or name; one that is not installed leaves
        the current model in place and says so. Whatever the reader could not map is reported too.
        """
        found = settings.request
        if seed_only:
            if found.seed == RANDOM_SEED or settings.source == "none":
                self.error("This image does not record its seed, so it cannot be reused.")
                return
            self._reuse_seed(found.seed)
            return
        if settings.source == "none":
            self.error(
                "This image holds no generation settings (it was not made by an AI tool that records them)."
            )
            return
        if _only_a_prompt(settings):
            # Plain text pasted: it is a prompt, not a set of settings; everything else stays as it is.
            self.update(
                prompt=found.prompt, negative_prompt=found.negative_prompt or self._request.negative_prompt
            )
            self.info("The pasted text holds no settings, so it became the prompt.")
            return
        request = self.pose.restore_from_metadata(settings.raw, found)
        entry = self.models.find(found.model) if found.model else None
        if entry is not None:
            request = request.with_changes(model=str(entry.reference))
        else:
            request = request.with_changes(model=self._request.model)
            if found.model:
                self.notice(
                    f"The image was made with the model '{found.model}', which is not installed here; the current "
                    "model is kept. Add that model to reproduce the image exactly."
                )
        self.set_request(request)
        if settings.unmapped:
            self.notice(
                "Some settings of this image have no equivalent here and were left out: "
                + "; ".join(settings.unmapped)
                + "."
            )
        else:
            self.info(f"Settings restored from the image ({settings.source}).")

    def reuse_last_seed(self) -> None:
        """Fix the seed of the last picture made, to vary it by changing the prompt."""
        if self.last_seed is not None:  # nothing made yet: the window's "Reuse last" is greyed out until then
            self._reuse_seed(self.last_seed)

    def _reuse_seed(self, seed: int) -> None:
        # The one way a seed is reused, from the last picture or from an image's metadata.
        self.update(seed=seed)
        self.info(f"Seed {seed} reused.")

    def restore(self, session: Session) -> None:
        """Put a saved session back: its request, and its queue held paused until the artist resumes it."""
        self.set_request(session.request)
        if session.queue:
            self.queue.replace_all(session.queue)
            self.queue.set_paused(True)
            count = len(session.queue)
            self.notice(
                f"{count} queued generation{'s were' if count != 1 else ' was'} restored from the last session. "
                "Press Resume queue to run them."
            )

    def snapshot(self) -> Session:
        pending = [job.request for job in self.queue.jobs()]
        # A killed app must not forget the jobs it was running.
        pending[:0] = [job.request for job in self.in_flight.values()]
        return Session(request=self._request, queue=pending)

    # --- jobs -----------------------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self.running is not None

    def generate(self) -> Job | None:
        """Queue the current request; it starts at once when nothing runs. None when it cannot run."""
        request = self._request
        if not request.model:
            self.error(NO_MODEL, source=MODEL)
            return None
        if not request.prompt.strip() and not (request.style or request.lighting or request.composition):
            self.error(
                "Write a prompt (or pick a style) first: the model needs to be told what to draw.",
                source=GENERATION,
            )
            return None
        self.flush_inputs()
        return self.queue_request(request)

    def queue_request(self, request: GenerationRequest) -> Job | None:
        """Queue ``request`` (Generate's, or live mode's Refine) with frozen copies of its session files."""
        try:
            # A queued job must not see later strokes: it gets frozen copies of the session's files.
            request = snapshot_inputs(request, self.session_folder())
        except OSError as exc:
            self.error(
                f"The sketch, mask or pose of this generation could not be kept for the queue ({exc}). Free some "
                "disk space or check the data folder's permissions, then generate again."
            )
            return None
        job = self.queue.add(request)
        self.queue.set_paused(False)
        self._pump()
        return job

    def flush_inputs(self) -> None:
        """Put the drawn layers and the pose on disk now: the engine reads their files, and the queue copies them,
        so the last stroke and the last drag must be in them."""
        self.canvas.flush()
        if self.pose.pending():
            self.pose.flush()

    def session_folder(self) -> Path:
        """Where the session's drawn layers, pose and frozen job inputs live (beside ``session.json``)."""
        return self._session_folder

    def resume_queue(self) -> None:
        self.queue.set_paused(False)
        self._pump()

    def cancel(self) -> None:
        if self.running is not None:
            self.stage.emit("Cancelling…")
            self.worker.cancel()

    def remove_job(self, job_id: int) -> None:
        self.queue.remove(job_id)

    def _pump(self) -> None:
        # One job at a time for one engine; with several servers, as many as they take (``worker.slots``).
        while len(self.in_flight) < self.worker.slots:
            job = self.queue.take_next()
            if job is None:
                return
            self.in_flight[job.id] = job
            self.queue.mark_running(job)
            if self.running is None:
                self.running = job
                self.running_changed.emit(True)
            self.worker.submit(job, self.settings.outputs())

    def _done(self, job_id: int) -> None:
        self.in_flight.pop(job_id, None)
        self.queue.mark_ended(job_id)
        if self.running is None or self.running.id == job_id:
            self.running = next(iter(self.in_flight.values()), None)  # the window follows the next one
            self._preview_timer.stop()
            self.worker.take_preview()  # a stale preview must not land on the final image
            if self.running is None:
                self.running_changed.emit(False)
        self.autosave.schedule()
        self._pump()

    def _shown(self, job_id: int) -> bool:
        """Whether ``job_id``'s progress is the one shown (with several in flight, only the oldest's is)."""
        return len(self.in_flight) < 2 or (self.running is not None and self.running.id == job_id)

    def _on_runner(self, job_id: int, runner: str) -> None:
        job = self.in_flight.get(job_id)
        if job is not None:
            self.queue.mark_running(job, runner)

    def _on_started(self, job_id: int) -> None:
        if self.running is not None and self.running.id == job_id:
            self.messages_resolved.emit(GENERATION)  # the last failure is history once the next one runs
            self.job_started.emit(self.running)

    def _on_stage(self, job_id: int, text: str) -> None:
        if self._shown(job_id):
            self.stage.emit(text)

    def _on_progress(self, job_id: int, step: int, total: int, pass_name: str, image_index: int) -> None:
        if self._shown(job_id):
            self.progress.emit(step, total, pass_name, image_index)

    def _on_task_failed(self, task_id: int, text: str, detail: str) -> None:
        if task_id == self._demo_task:  # other tasks' owners say what failed where the artist looks
            self._demo_task = None
            self.demo_building.emit(False)
            self.error(text, detail, source=MODEL)

    def _on_preview_ready(self) -> None:
        wait = PREVIEW_INTERVAL_S - (time.monotonic() - self._last_preview_at)
        if wait > 0:
            if not self._preview_timer.isActive():
                self._preview_timer.start(int(wait * 1000) + 1)
            return
        self._deliver_preview()

    def _deliver_preview(self) -> None:
        shown = self._shown(self.worker.preview_job)
        preview = self.worker.take_preview()
        if preview is not None and self.running is not None and shown:
            self._last_preview_at = time.monotonic()
            self.preview.emit(preview)

    def _on_batch_saved(self, job_id: int, batch: Any, _saved: list, save_error: str) -> None:
        if not save_error:
            return
        self.unsaved_results.append(batch)
        if self._save_error_shown_for != job_id:
            self._save_error_shown_for = job_id
            self.error(save_error)

    def _on_finished(self, job_id: int, result: Any, saved: list, _save_error: str) -> None:
        # A save error was reported, and its batch kept, as that batch was saved (``_on_batch_saved``).
        self.messages_resolved.emit(GENERATION)
        if result.seeds:
            self.last_seed = int(result.seeds[0])
            self.last_seed_changed.emit(self.last_seed)
        for notice in getattr(result, "notices", []) or []:
            self.notice(notice)
        self._done(job_id)
        self.result_ready.emit(result, saved)

    def _on_retryable(self, job_id: int) -> None:
        self._retryable.add(job_id)

    def _on_failed(self, job_id: int, message: str, detail: str) -> None:
        self.error(message, detail, source=GENERATION)
        job = self.in_flight.get(job_id)
        if job_id in self._retryable and job is not None:  # nothing lost: it waits, paused, to be tried again
            self._retryable.discard(job_id)
            self.queue.put_back(job)
            self.notice("The generation is back in the queue, paused: press Resume queue to try it again.")
        self._done(job_id)
        self.job_failed.emit(message)

    def _on_cancelled(self, job_id: int, result: Any, saved: list) -> None:
        if saved:
            count = len(saved)
            self.info(
                f"Generation cancelled. The {count} image{'s' if count != 1 else ''} finished before the cancel "
                f"{'were' if count != 1 else 'was'} saved."
            )
        else:
            self.info("Generation cancelled.")
        self._done(job_id)
        if saved and result is not None:
            self.result_ready.emit(result, saved)  # into the gallery with the others; job_cancelled follows
        self.job_cancelled.emit()

    # --- messages and lifetime ------------------------------------------------------------------------------

    def error(self, text: str, detail: str = "", source: str = "") -> None:
        """An error for the artist; ``source`` (GENERATION, MODEL) withdraws it once that is dealt with."""
        log.info("error shown: %s", text)
        self._post(ERROR, text, detail, source)

    def notice(self, text: str, source: str = "") -> None:
        self._post(NOTICE, text, "", source)

    def info(self, text: str, source: str = "") -> None:
        self._post(INFO, text, "", source)

    def _post(self, kind: str, text: str, detail: str, source: str) -> None:
        self.message.emit(kind, text, detail)
        self.sourced_message.emit(kind, text, detail, source)

    def save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except Exception as exc:  # noqa: BLE001 - preferences failing to save must not block closing
            log.warning("settings not saved: %s", exc)

    def shutdown(self, timeout: float = 1.5) -> bool:
        """Cancel what runs, write the session (request, pose, drawn layers) and stop the worker; True when the
        worker ended in time."""
        self.autosave.flush()
        self.pose.flush()
        self.canvas.close()
        self.save_settings()
        # Scans report through signals of objects about to be deleted: stop them first (briefly: a scan stuck
        # on a network share is a daemon thread and cannot hold the process).
        self.models.shutdown(0.3)
        self.loras.shutdown(0.3)
        self.embeddings.shutdown(0.3)
        return self.worker.shutdown(timeout)


def _only_a_prompt(settings: Any) -> bool:
    """True for A1111-style text with a prompt (and negative) but no settings line."""
    from studio.metadata.infotext import parse_infotext

    raw = getattr(settings, "raw", None) or {}
    if settings.source != "a1111" or set(raw) != {"parameters"}:
        return False
    return set(parse_infotext(raw["parameters"])) <= {"Prompt", "Negative prompt"}

"""Live mode: the picture follows the brush. Inputs in, live pictures out, over the window's backend.

The controller turns the artist's changes (a stroke finished or under way, a joint moved, the prompt or a LoRA
weight edited) into offers to a ``LiveScheduler`` (latest wins), and the scheduler's starts into live runs on the
worker (``submit_live``): a fixed seed, live mode's few steps, never the queue, never saved. The sketch's pixels
are copied on the GUI thread (a memcpy) and encoded and written on a helper thread, so a stroke never waits for
a PNG. "Keep" saves the picture on show into the gallery with its full metadata; "Refine" queues it as a normal
generation. While a normal generation runs, live mode holds and resumes with the newest input afterwards.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from studio.backend.events import ImagesReady, JobCancelled, JobFailed, JobFinished, StepProgress
from studio.errors import StudioError
from studio.request import RANDOM_SEED_LIMIT, GenerationRequest
from studio.state.input_snapshot import snapshot_inputs
from studio.state.live_inputs import (
    POSE,
    REFINE_STRENGTH,
    SKETCH,
    LiveSettings,
    fixed_seed,
    live_files,
    live_request,
    write_live_inputs,
)
from studio.state.live_scheduler import LiveScheduler

if TYPE_CHECKING:
    from studio.state.app_state import AppState

log = logging.getLogger("studio.live")

STROKE_THROTTLE_MS = 150  # while a stroke goes on, at most one input this often (a throttle, not a debounce)
LIVE_IDS_FROM = 1_000_000_000  # live run ids stay clear of the queue's job ids and the backend's task ids
FPS_WINDOW_S = 3.0

_live_ids = itertools.count(LIVE_IDS_FROM)

SketchPixels = Callable[[], "np.ndarray | None"]


class _Prepared:
    """A run's inputs being written on the helper thread; a cancel before the submit means it never runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.submitted = False
        self.cancelled = False


class LiveController(QObject):
    enabled_changed = Signal(bool)
    picture = Signal(object)  # the GenerationResult of the newest live picture
    progress = Signal(int, int)  # step, total of the live run in flight
    status = Signal(str)  # a short line for the live view ("Drawing…", "Held: a generation runs", an error)
    _prepared_failed = Signal(int, str)  # run id, message: from the helper thread

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.worker = state.worker
        self.settings = LiveSettings()
        self.sketch_pixels: SketchPixels = lambda: None  # set by the Sketch tab
        self.enabled = False
        self.scheduler = LiveScheduler(self._start, self._cancel)
        self.result: Any = None  # the GenerationResult on show
        self.latencies: list[float] = []  # input offered -> picture shown, seconds
        self._offered_at: dict[int, float] = {}
        self._shown_at: deque[float] = deque()
        self._prepared: dict[int, _Prepared] = {}
        self._seed = secrets.randbelow(RANDOM_SEED_LIMIT)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-inputs")
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(STROKE_THROTTLE_MS)
        self._throttle.timeout.connect(lambda: self.input_changed(soft=True))
        # Bound methods: Qt queues the listener thread's and the helper thread's signals onto this thread.
        self.worker.live_event.connect(self._on_event)
        self._prepared_failed.connect(self._on_prepare_failed)
        state.running_changed.connect(self._on_running)
        state.request_changed.connect(self._on_request)
        state.pose.changed.connect(self._on_pose)

    # --- switching -------------------------------------------------------------------------------------------

    def set_enabled(self, enabled: bool) -> None:
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if enabled:
            self._seed = secrets.randbelow(RANDOM_SEED_LIMIT)
            self.scheduler.hold(self.state.is_running)
            self.input_changed()
        else:
            self._throttle.stop()
            self.scheduler.stop()
            self.status.emit("Live mode is off.")
        self.enabled_changed.emit(enabled)

    def set_source(self, source: str) -> None:
        """SKETCH (img2img from the sketch) or POSE (the controls alone): the tab the artist works in."""
        if source not in (SKETCH, POSE) or source == self.settings.source:
            return
        self.settings = LiveSettings(self.settings.steps, self.settings.strength, source)
        self.input_changed()

    def set_strength(self, strength: float) -> None:
        self.settings = LiveSettings(self.settings.steps, strength, self.settings.source)
        self.input_changed()

    def set_steps(self, steps: int) -> None:
        self.settings = LiveSettings(steps, self.settings.strength, self.settings.source)
        self.input_changed()

    # --- inputs ----------------------------------------------------------------------------------------------

    def input_changed(self, soft: bool = False) -> None:
        """The inputs changed (a stroke ended, a joint moved): ask for a picture of them now. ``soft``: a stroke
        still goes on, so the run in flight is not cancelled for it."""
        self._throttle.stop()
        if not self.enabled:
            return
        request = self.state.request
        problem = self._cannot_run(request)
        if problem:
            self.status.emit(problem)
            return
        base = live_request(request, self.settings, fixed_seed(request, self._seed))
        sketch = self.sketch_pixels() if self.settings.source == SKETCH else None
        if self.settings.source == POSE and self.state.pose.pending():
            self.state.pose.flush()  # a few hundred bytes of JSON: the live run reads the file
        self.scheduler.offer((base, sketch), soft=soft)
        self._offered_at[self.scheduler.revision] = time.perf_counter()

    def input_moving(self) -> None:
        """A stroke goes on: ask for a picture now and then, not on every pointer move."""
        if self.enabled and not self._throttle.isActive():
            self._throttle.start()

    def _cannot_run(self, request: GenerationRequest) -> str:
        if not request.model:
            return "Choose a model first: live mode draws with it."
        if not request.prompt.strip() and not (request.style or request.lighting or request.composition):
            return "Write a prompt: live mode needs to know what to draw."
        if self.settings.source == POSE and not request.active_controls:
            return 'Tick "Use as control" under the pose for live mode to follow it.'
        return ""

    def _on_request(self, _request: GenerationRequest) -> None:
        self.input_changed()  # the prompt, a LoRA weight, a setting: latest wins coalesces the typing

    def _on_pose(self, *_args: Any) -> None:
        if self.settings.source == POSE:
            self.input_moving()

    # --- runs ------------------------------------------------------------------------------------------------

    def _start(self, payload: tuple[GenerationRequest, np.ndarray | None]) -> int:
        run_id = next(_live_ids)
        prepared = self._prepared[run_id] = _Prepared()
        keep = live_files(self.result.request) if self.result is not None else set()
        self._pool.submit(self._prepare, run_id, prepared, payload, keep)
        self.status.emit("Drawing…")
        return run_id

    def _prepare(
        self, run_id: int, prepared: _Prepared, payload: tuple[GenerationRequest, Any], keep: set[str]
    ) -> None:
        """On the helper thread: write the inputs, then submit (unless cancelled meanwhile)."""
        base, sketch = payload
        try:
            request = write_live_inputs(base, sketch, self.state.session_folder(), keep)
        except OSError as exc:
            self._prepared_failed.emit(
                run_id,
                f"Live mode could not write the sketch ({exc}). Free some disk space, then draw again.",
            )
            return
        with prepared.lock:
            if prepared.cancelled:
                self._prepared_failed.emit(run_id, "")
                return
            prepared.submitted = True
            self.worker.submit_live(request, run_id)

    def _cancel(self, run_id: int) -> None:
        prepared = self._prepared.get(run_id)
        if prepared is None:
            return
        with prepared.lock:
            prepared.cancelled = True
            if prepared.submitted:
                self.worker.cancel_job(run_id)

    def _on_prepare_failed(self, run_id: int, message: str) -> None:
        self._prepared.pop(run_id, None)
        if message:
            self.status.emit(message)
        self.scheduler.ended(run_id, has_picture=False)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, StepProgress):
            self.scheduler.progress(event.job_id, event.preview.step, event.preview.total)
            if self.scheduler.in_flight is not None and self.scheduler.in_flight.run_id == event.job_id:
                self.progress.emit(event.preview.step, event.preview.total)
            return
        if isinstance(event, ImagesReady):
            return  # the whole result comes with JobFinished; live pictures are never saved
        if not isinstance(event, JobFinished | JobCancelled | JobFailed):
            return
        self._prepared.pop(event.job_id, None)
        if isinstance(event, JobFailed):
            self.status.emit(event.message)
        result = event.result if isinstance(event, JobFinished) else None
        shown = self.scheduler.ended(event.job_id, has_picture=bool(result is not None and result.images))
        if shown and result is not None:
            self._show(result)
        elif self.scheduler.idle and self.enabled and not isinstance(event, JobFailed):
            self.status.emit("Ready")

    def _show(self, result: Any) -> None:
        now = time.perf_counter()
        revision = self.scheduler.shown_revision
        offered = self._offered_at.get(revision)
        for old in [r for r in self._offered_at if r <= revision]:
            del self._offered_at[old]
        if offered is not None:
            self.latencies.append(now - offered)
        self._shown_at.append(now)
        while self._shown_at and now - self._shown_at[0] > FPS_WINDOW_S:
            self._shown_at.popleft()
        self.result = result
        self.picture.emit(result)
        fps = self.fps()
        self.status.emit(f"{fps:.1f} pictures/s" if fps else "Picture ready")

    def fps(self) -> float:
        """Pictures shown per second over the last few seconds."""
        if len(self._shown_at) < 2:
            return 0.0
        span = self._shown_at[-1] - self._shown_at[0]
        return (len(self._shown_at) - 1) / span if span > 0 else 0.0

    def _on_running(self, running: bool) -> None:
        self.scheduler.hold(running)
        if self.enabled:
            self.status.emit("Held while a generation runs." if running else "Ready")

    # --- Keep and Refine -------------------------------------------------------------------------------------

    def keep(self) -> list:
        """Save the picture on show into the gallery with its full metadata; the paths written ([] if none)."""
        from studio.metadata.saving import save_result

        result = self.result
        if result is None:
            self.state.notice("There is no live picture to keep yet: draw, and keep it when you like it.")
            return []
        try:
            # The live frames are short-lived: the kept picture's metadata must name files that stay.
            result.request = snapshot_inputs(result.request, self.state.session_folder())
            saved = save_result(result, self.state.settings.outputs())
        except (OSError, StudioError) as exc:
            self.state.error(
                f"The live picture could not be kept ({exc}). Free some disk space, then keep it again."
            )
            return []
        self.state.result_ready.emit(result, saved)
        return saved

    def refine(self) -> Any:
        """Queue the picture on show as a normal generation: img2img from it at the artist's own steps."""
        result = self.result
        if result is None:
            self.state.notice("There is no live picture to refine yet.")
            return None
        folder = self.state.session_folder() / "inputs"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            picture = folder / f"live-{result.request.seed}-{int(time.time() * 1000)}.png"
            result.images[0].save(picture)
        except OSError as exc:
            self.state.error(
                f"The live picture could not be kept for refining ({exc}). Free some disk space."
            )
            return None
        request = result.request.with_changes(
            steps=self.state.request.steps,
            init_image=str(picture),
            strength=REFINE_STRENGTH,
        )
        return self.state.queue_request(request)

    def shutdown(self) -> None:
        self.set_enabled(False)
        self._pool.shutdown(wait=False, cancel_futures=True)

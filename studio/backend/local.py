"""The diffusers engine in this process: one thread owns it and serves jobs in order; tasks have a thread of
their own, so a control preview or a pose detection never waits behind a long generation.

The CLI uses it directly; the window runs it inside the engine process (``process.py``), so torch never shares
the window's interpreter. Events go into a queue that the listener drains with ``next_event``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from studio.backend.events import (
    EngineReady,
    ImagesReady,
    JobCancelled,
    JobFailed,
    JobFinished,
    Stage,
    StepProgress,
)
from studio.backend.threaded import ThreadedBackend
from studio.engine.config import EngineConfig
from studio.errors import StudioError
from studio.request import GenerationRequest

log = logging.getLogger("studio.backend")

UNEXPECTED = (
    "Something went wrong while generating. The studio is still running; try again, and if it happens again "
    "send the log file with the details below."
)
LOADING_STAGES = ("Loading model…", "Loading LoRAs…")  # the engine's stage texts for loads (Stage.loading)

EngineFactory = Callable[[EngineConfig], Any]


def build_engine(config: EngineConfig) -> Any:
    """The real engine (imports torch: call it on the thread or in the process that owns the engine)."""
    from studio.engine.engine import Engine

    return Engine(config)


class LocalBackend(ThreadedBackend):
    """Runs requests on the engine in this process. ``start()`` it, ``close()`` it when done."""

    name = "local"

    def __init__(
        self,
        config: EngineConfig | None = None,
        model_dirs: tuple[str, ...] = (),
        engine_factory: EngineFactory = build_engine,
    ) -> None:
        super().__init__("studio-engine", "studio-tasks")
        self.config = config or EngineConfig()
        self.model_dirs = model_dirs
        self._engine_factory = engine_factory
        self._engine: Any = None

    # --- the listener's side ----------------------------------------------------------------------------------

    def start(self, warm_up: bool = True) -> None:
        """Start the engine thread; ``warm_up`` builds the engine now so the first Generate is quicker."""
        self._start_threads()
        if warm_up:
            self._commands.put(("warm", None))

    def configure(self, config: EngineConfig, model_dirs: tuple[str, ...] | None = None) -> None:
        """Use ``config`` from the next job on (applied between jobs, never under a running one)."""
        if model_dirs is not None:
            self.model_dirs = model_dirs
        self.config = config  # what the catalogue reads now; the engine gets it on its thread, between jobs
        self._commands.put(("configure", config))

    # --- the engine's thread ----------------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            kind, payload = self._commands.get()
            if kind == "stop":
                self._unload()
                return
            if kind == "warm":
                self._warm()
            elif kind == "configure":
                if self._engine is not None:
                    self._engine.configure(payload)
            elif kind == "job":
                self._run_job(*payload)

    def _ensure_engine(self) -> Any:
        if self._engine is None:
            self._engine = self._engine_factory(self.config)
            self._events.put(EngineReady())
        return self._engine

    def _warm(self) -> None:
        try:
            self._ensure_engine()
        except Exception:  # noqa: BLE001 - reported again, with its message, by the first job
            log.exception("building the engine failed")

    def _run_job(self, job_id: int, request: GenerationRequest) -> None:
        if not self._begin_job(job_id):
            return
        try:
            result = self._ensure_engine().generate(
                request,
                on_step=lambda preview: self._events.put(StepProgress(job_id, preview)),
                cancel=self._cancel,
                on_stage=lambda text: self._events.put(Stage(job_id, text, text in LOADING_STAGES)),
                on_batch=lambda batch: self._events.put(ImagesReady(job_id, batch)),
            )
        except StudioError as exc:
            log.warning("job %d failed: %s", job_id, exc)
            cancelled = self._cancel.is_set()
            self._events.put(JobCancelled(job_id) if cancelled else JobFailed(job_id, str(exc)))
        except Exception:  # noqa: BLE001 - a bug must not end the engine or reach the artist as a traceback
            log.exception("job %d crashed", job_id)
            self._events.put(JobFailed(job_id, UNEXPECTED, traceback.format_exc()))
        else:
            self._events.put(
                JobCancelled(job_id, result) if result.cancelled else JobFinished(job_id, result)
            )
        finally:
            self._running = None

    def _unload(self) -> None:
        if self._engine is not None:
            try:
                self._engine.unload()
            except Exception:  # noqa: BLE001 - closing must not fail on a broken engine
                log.exception("engine unload failed")

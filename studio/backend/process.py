"""The local engine in a process of its own: the window's backend.

Torch's import and model loads hold the interpreter lock for hundreds of milliseconds at a time; in a child
process they cannot stall the window. A crash or an out-of-memory kill inside torch ends only the child: the
open jobs fail with a message that says so, nothing in the window is lost, and the next job starts a new engine.
A run that ignores cancel is ended by stopping the child.

The child runs a ``LocalBackend`` and forwards its events unchanged; commands go the other way. Both are
pickled over ``multiprocessing`` queues of the "spawn" kind (fork is unsafe beside Qt's threads). Previews are
latent-size pictures of a few KB, so plain pickling stays cheap.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import multiprocessing
import queue
import threading
from typing import Any

from studio.backend.base import BackendBase
from studio.backend.events import (
    JOB_ENDS,
    BackendEvent,
    EngineLost,
    JobCancelled,
    JobFailed,
    JobStarted,
    TaskFailed,
    TaskFinished,
)
from studio.backend.local import LocalBackend, build_engine
from studio.backend.tasks import Task
from studio.engine.config import EngineConfig
from studio.request import GenerationRequest

log = logging.getLogger("studio.backend")

STUCK_AFTER_S = 10.0  # a cancelled run still going after this long is stopped with its process
POLL_S = 0.25  # how often the reader looks whether the child is still alive


def crash_message(exitcode: int | None) -> str:
    """What the artist reads when the engine process died: what happened, that nothing is lost, what next."""
    cause = " (it ran out of memory or was killed)" if exitcode in (-9, 137) else ""
    return (
        f"The engine stopped unexpectedly{cause}, exit code {exitcode}. Your work in the studio is kept; the "
        "engine starts again with the next generation. If it happens again, try a smaller size or batch."
    )


class ProcessBackend(BackendBase):
    """``LocalBackend``'s interface, with the engine in a child process (started by ``start`` or the first job).

    ``engine_factory`` names a function ``module:name`` the child builds its engine with (tests use a fake
    engine); None is the real one.
    """

    name = "local"

    def __init__(
        self,
        config: EngineConfig | None = None,
        model_dirs: tuple[str, ...] = (),
        engine_factory: str | None = None,
    ) -> None:
        super().__init__()
        self.config = config or EngineConfig()
        self.model_dirs = model_dirs
        self._factory = engine_factory
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._process: Any = None
        self._commands: Any = None
        self._ids = itertools.count(1)
        self._open_jobs: set[int] = set()  # submitted and not ended
        self._open_tasks: set[int] = set()
        self._cancelling: set[int] = set()

    # --- the listener's side ----------------------------------------------------------------------------------

    def start(self, warm_up: bool = True) -> None:
        if warm_up:
            with self._lock:
                self._ensure_process()

    def submit(self, request: GenerationRequest, job_id: int | None = None) -> int:
        job_id = next(self._ids) if job_id is None else job_id
        with self._lock:
            self._ensure_process()
            self._open_jobs.add(job_id)
            self._commands.put(("job", (job_id, request)))
        return job_id

    def run_task(self, task: Task, task_id: int | None = None) -> int:
        task_id = next(self._ids) if task_id is None else task_id
        with self._lock:
            self._ensure_process()
            self._open_tasks.add(task_id)
            self._commands.put(("task", (task_id, task)))
        return task_id

    def cancel(self, job_id: int | None = None) -> None:
        with self._lock:
            if self._process is None:
                return
            if job_id is None:  # the running one: the child knows it even before its JobStarted got here
                self._commands.put(("cancel", None))
                job_id = self._running
                if job_id is None:
                    return
            elif job_id not in self._open_jobs:
                return
            else:
                self._commands.put(("cancel", job_id))
            self._cancelling.add(job_id)
            if job_id == self._running:
                watchdog = threading.Timer(STUCK_AFTER_S, self._stop_if_stuck, (job_id, self._process))
                watchdog.daemon = True
                watchdog.start()

    def configure(self, config: EngineConfig, model_dirs: tuple[str, ...] | None = None) -> None:
        with self._lock:
            self.config = config
            if model_dirs is not None:
                self.model_dirs = model_dirs
            if self._process is not None:
                self._commands.put(("configure", (config, model_dirs)))

    @property
    def pid(self) -> int | None:
        """The engine process's id (None when none runs): for tests and the log."""
        return self._process.pid if self._process is not None else None

    def close(self, timeout: float = 1.5) -> bool:
        with self._lock:
            process, self._process = self._process, None
            if process is None:
                return True
            self._commands.put(("stop", None))
        process.join(timeout)
        if process.is_alive():  # a torch op that ignores cancel: closing the studio must not wait for it
            process.kill()
            process.join(1.0)
        return not process.is_alive()

    # --- the child --------------------------------------------------------------------------------------------

    def _ensure_process(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        self._commands, events = self._context.Queue(), self._context.Queue()
        process = self._context.Process(
            target=serve_in_child,
            args=(self._commands, events, self.config, self.model_dirs, self._factory),
            name="studio-engine",
            daemon=True,
        )
        process.start()
        log.info("engine process %d started", process.pid)
        self._process = process
        threading.Thread(
            target=self._read, args=(process, events), name="studio-engine-events", daemon=True
        ).start()

    def _read(self, process: Any, events: Any) -> None:
        while True:
            try:
                event = events.get(timeout=POLL_S)
            except queue.Empty:
                if not process.is_alive():
                    self._lost(process)
                    return
                continue
            except (EOFError, OSError):  # the pipe broke with the child
                self._lost(process)
                return
            if event is None:  # the child closed cleanly
                return
            self._track(event)
            self._events.put(event)

    def _track(self, event: BackendEvent) -> None:
        with self._lock:
            if isinstance(event, JobStarted):
                self._running = event.job_id
            elif isinstance(event, JOB_ENDS):
                self._open_jobs.discard(event.job_id)
                self._cancelling.discard(event.job_id)
                if self._running == event.job_id:
                    self._running = None
            elif isinstance(event, TaskFinished | TaskFailed):
                self._open_tasks.discard(event.task_id)

    def _stop_if_stuck(self, job_id: int, process: Any) -> None:
        with self._lock:
            stuck = self._running == job_id and self._process is process
        if stuck:
            log.warning(
                "job %d ignored cancel for %.0f s: stopping the engine process", job_id, STUCK_AFTER_S
            )
            process.kill()

    def _lost(self, process: Any) -> None:
        """The child died: end every open job and task with a message, and start afresh next time."""
        process.join(1.0)
        with self._lock:
            if self._process is not process:
                return  # closed on purpose, or an old child already replaced
            self._process = None
            jobs, tasks, cancelling = sorted(self._open_jobs), sorted(self._open_tasks), set(self._cancelling)
            self._open_jobs.clear()
            self._open_tasks.clear()
            self._cancelling.clear()
            self._running = None
        if jobs and set(jobs) <= cancelling:  # a stuck run stopped on the artist's cancel: no crash to report
            for job_id in jobs:
                self._events.put(JobCancelled(job_id))
            return
        message = crash_message(process.exitcode)
        log.error("engine process %s ended: exit code %s", process.pid, process.exitcode)
        for job_id in jobs:
            self._events.put(JobCancelled(job_id) if job_id in cancelling else JobFailed(job_id, message))
        for task_id in tasks:
            self._events.put(TaskFailed(task_id, message))
        if not jobs:  # a job's failure already says it; an idle crash is said once, on its own
            self._events.put(EngineLost(message))


def serve_in_child(
    commands: Any, events: Any, config: EngineConfig, model_dirs: tuple[str, ...], factory: str | None
) -> None:
    """The engine process's main: a LocalBackend fed from ``commands``, its events forwarded to ``events``."""
    with contextlib.suppress(Exception):  # a log file that cannot be opened must not stop the engine
        from studio.logging_setup import setup_logging

        setup_logging()
    backend = LocalBackend(config, model_dirs, _import_factory(factory) if factory else build_engine)
    backend.start(warm_up=True)
    stopping = threading.Event()

    def take_commands() -> None:
        while True:
            kind, payload = commands.get()
            if kind == "stop":
                stopping.set()
                return
            if kind == "job":
                backend.submit(payload[1], payload[0])
            elif kind == "task":
                backend.run_task(payload[1], payload[0])
            elif kind == "cancel":
                backend.cancel(payload)
            elif kind == "configure":
                backend.configure(*payload)

    threading.Thread(target=take_commands, name="studio-engine-commands", daemon=True).start()
    while not stopping.is_set():
        event = backend.next_event(timeout=POLL_S)
        if event is not None:
            events.put(event)
    backend.close()
    events.put(None)
    events.close()
    events.join_thread()


def _import_factory(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)

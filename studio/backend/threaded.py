"""A backend that runs its jobs one at a time on a thread of its own, and its tasks on a second thread beside it.

The local engine and a ComfyUI server differ only in how one job runs (``_serve`` takes the commands); queueing,
numbering, cancelling a queued or running job, the task thread and closing are this one implementation.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import traceback
from abc import ABC, abstractmethod
from typing import Any

from studio.backend.base import BackendBase
from studio.backend.events import JobCancelled, JobQueued, JobStarted, TaskFailed, TaskFinished
from studio.backend.tasks import Task
from studio.errors import StudioError
from studio.request import GenerationRequest

log = logging.getLogger("studio.backend")


class ThreadedBackend(BackendBase, ABC):
    def __init__(self, thread_name: str, task_thread_name: str) -> None:
        super().__init__()
        self._commands: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._tasks: queue.Queue[tuple[int, Task] | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._cancel = threading.Event()
        self._cancelled: set[int] = set()  # queued jobs cancelled before they started
        # Daemon: work that ignores cancel must not keep the process alive after the studio closed.
        self._thread = threading.Thread(target=self._serve, name=thread_name, daemon=True)
        self._task_thread = threading.Thread(target=self._serve_tasks, name=task_thread_name, daemon=True)
        self._started = False

    def _start_threads(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()
            self._task_thread.start()

    def submit(self, request: GenerationRequest, job_id: int | None = None) -> int:
        """Queue ``request``; its events carry the returned job id (``job_id`` when the caller numbers jobs)."""
        job_id = next(self._ids) if job_id is None else job_id
        self._events.put(JobQueued(job_id))
        self._commands.put(("job", (job_id, request)))
        return job_id

    def run_task(self, task: Task, task_id: int | None = None) -> int:
        """Queue ``task`` behind the tasks before it; its value comes as ``TaskFinished``."""
        task_id = next(self._ids) if task_id is None else task_id
        self._tasks.put((task_id, task))
        return task_id

    def cancel(self, job_id: int | None = None) -> None:
        """Stop ``job_id`` (the running job when None) within a step; a queued one never starts."""
        if job_id is None or job_id == self._running:
            if self._running is not None:
                self._cancel.set()
        else:
            self._cancelled.add(job_id)

    def close(self, timeout: float = 1.5) -> bool:
        """Cancel, stop the threads and wait up to ``timeout`` s. True when the job thread ended in time."""
        self._cancel.set()
        self._commands.put(("stop", None))
        self._tasks.put(None)
        for thread in (self._thread, self._task_thread):
            if thread.is_alive():
                thread.join(timeout)
        return not self._thread.is_alive()

    def _begin_job(self, job_id: int) -> bool:
        """On the job thread: mark ``job_id`` running (True), or end it as cancelled while it waited (False)."""
        if job_id in self._cancelled:
            self._cancelled.discard(job_id)
            self._events.put(JobCancelled(job_id))
            return False
        self._cancel.clear()
        self._running = job_id
        self._events.put(JobStarted(job_id))
        return True

    @abstractmethod
    def _serve(self) -> None:
        """The job thread: take ``self._commands`` until ("stop", None); each backend runs a job its own way."""

    def _serve_tasks(self) -> None:
        while (item := self._tasks.get()) is not None:
            self._run_task(*item)

    def _run_task(self, task_id: int, task: Task) -> None:
        try:
            value = task.run()
        except StudioError as exc:
            log.warning("task %s failed: %s", type(task).__name__, exc)
            self._events.put(TaskFailed(task_id, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a bug, reported with its traceback
            log.exception("task %s crashed", type(task).__name__)
            message = f"Something went wrong ({type(exc).__name__}: {exc})."
            self._events.put(TaskFailed(task_id, message, traceback.format_exc()))
        else:
            self._events.put(TaskFinished(task_id, value))

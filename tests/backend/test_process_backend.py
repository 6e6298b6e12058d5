"""The engine in its own process: the same events cross the boundary; a crash or a stuck run ends only the child."""

from __future__ import annotations

import pytest

from studio.backend import events as ev
from studio.backend import process
from studio.backend.process import ProcessBackend
from studio.engine.config import EngineConfig
from studio.request import GenerationRequest

REQUEST = GenerationRequest(model="m", prompt="a fox", width=64, height=64, steps=3)


@pytest.fixture
def backend():
    backend = ProcessBackend(EngineConfig(), engine_factory="process_fake:build")
    backend.start()
    yield backend
    assert backend.close(timeout=5)


def _until_end(backend, job_id: int, timeout: float = 60) -> list:
    events = []
    while True:
        event = backend.next_event(timeout=timeout)
        assert event is not None, f"no event; so far {events}"
        events.append(event)
        if isinstance(event, ev.JOB_ENDS) and event.job_id == job_id:
            return events


def test_events_and_images_cross_the_process_boundary(backend):
    events = _until_end(backend, backend.submit(REQUEST))
    assert [e.preview.step for e in events if isinstance(e, ev.StepProgress)] == [1, 2, 3]
    assert any(isinstance(e, ev.ImagesReady) for e in events)
    finished = events[-1]
    assert isinstance(finished, ev.JobFinished) and finished.result.images[0].size == (64, 64)
    assert backend.pid is not None and not backend.busy


def test_a_killed_engine_fails_the_job_and_the_next_job_gets_a_new_one(backend):
    first_pid = backend.pid
    crashed = backend.submit(REQUEST.with_changes(prompt="crash"))
    queued = backend.submit(REQUEST)
    events = _until_end(backend, crashed)
    failed = events[-1]
    assert isinstance(failed, ev.JobFailed) and "stopped unexpectedly" in failed.message
    assert "out of memory" in failed.message and "kept" in failed.message
    rest = backend.next_event(timeout=10)
    assert isinstance(rest, ev.JobFailed) and rest.job_id == queued  # it died with the child
    again = _until_end(backend, backend.submit(REQUEST))
    assert isinstance(again[-1], ev.JobFinished)
    assert backend.pid not in (None, first_pid)


def test_an_engine_that_dies_while_idle_is_said_once(backend):
    import os
    import signal

    os.kill(backend.pid, signal.SIGKILL)
    event = backend.next_event(timeout=10)
    while isinstance(event, ev.EngineReady):
        event = backend.next_event(timeout=10)
    assert isinstance(event, ev.EngineLost) and "out of memory" in event.message
    assert isinstance(_until_end(backend, backend.submit(REQUEST))[-1], ev.JobFinished)


def test_a_run_that_ignores_cancel_is_stopped_with_its_process(backend, monkeypatch):
    monkeypatch.setattr(process, "STUCK_AFTER_S", 0.5)
    stuck = backend.submit(REQUEST.with_changes(prompt="hang"))
    while not isinstance(backend.next_event(timeout=30), ev.JobStarted):
        pass
    backend.cancel()
    events = _until_end(backend, stuck, timeout=30)
    assert events[-1] == ev.JobCancelled(stuck)  # the artist asked for it: no crash message
    assert isinstance(_until_end(backend, backend.submit(REQUEST))[-1], ev.JobFinished)


def test_closing_ends_a_stuck_engine_at_once():
    backend = ProcessBackend(engine_factory="process_fake:build")
    backend.submit(REQUEST.with_changes(prompt="hang"))
    while not isinstance(backend.next_event(timeout=30), ev.JobStarted):
        pass
    assert backend.close(timeout=0.5)


def test_tasks_run_in_the_engine_process(backend):
    import os

    task = backend.run_task(ProcessId())
    event = backend.next_event(timeout=30)
    while isinstance(event, ev.EngineReady):
        event = backend.next_event(timeout=30)
    assert isinstance(event, ev.TaskFinished) and event.task_id == task
    assert event.value == backend.pid != os.getpid()


class ProcessId:
    def run(self) -> int:
        import os

        return os.getpid()

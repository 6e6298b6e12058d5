"""The backend seam on the engine in this process: typed events in order, cancel, tasks, configuration."""

from __future__ import annotations

import threading

import pytest
from fake_engine import FakeEngine, Script

from studio.backend import events as ev
from studio.backend.local import LocalBackend
from studio.backend.tasks import BuildDemoModels
from studio.engine.config import EngineConfig
from studio.errors import RequestError
from studio.request import GenerationRequest

REQUEST = GenerationRequest(model="m", prompt="a fox", width=64, height=64, steps=3)


@pytest.fixture
def engine():
    return FakeEngine()


@pytest.fixture
def backend(engine):
    made: list[EngineConfig] = []

    def factory(config: EngineConfig) -> FakeEngine:
        made.append(config)
        return engine

    backend = LocalBackend(EngineConfig(torch_threads=1), engine_factory=factory)
    backend.made = made
    backend.start(warm_up=False)
    yield backend
    assert backend.close()


def _until_end(backend, job_id: int) -> list:
    events = []
    while True:
        event = backend.next_event(timeout=10)
        assert event is not None, f"no event; so far {events}"
        events.append(event)
        if isinstance(event, ev.JOB_ENDS) and event.job_id == job_id:
            return events


def test_a_job_sends_typed_events_in_order(backend):
    job = backend.submit(REQUEST)
    events = _until_end(backend, job)
    kinds = [type(event) for event in events]
    assert kinds[:3] == [ev.JobQueued, ev.JobStarted, ev.EngineReady]
    assert kinds.count(ev.StepProgress) == 3 and kinds.count(ev.ImagesReady) == 1 and kinds[-1] is ev.JobFinished
    assert [e.preview.step for e in events if isinstance(e, ev.StepProgress)] == [1, 2, 3]
    assert next(e for e in events if isinstance(e, ev.Stage)).loading  # "Loading model…"
    assert events[-1].result.images[0].size == (64, 64)
    assert backend.made == [EngineConfig(torch_threads=1)]  # built once, from the config


def test_the_caller_may_number_the_jobs(backend):
    assert backend.submit(REQUEST, job_id=41) == 41
    assert {getattr(e, "job_id", 41) for e in _until_end(backend, 41)} == {41}


def test_a_bad_request_fails_with_the_engines_sentence(backend, engine):
    engine.scripts.append(Script(error=RequestError("Pick a model first.")))
    events = _until_end(backend, backend.submit(REQUEST))
    assert events[-1] == ev.JobFailed(events[-1].job_id, "Pick a model first.", "")


def test_a_bug_fails_with_a_traceback_for_the_log(backend, engine):
    engine.scripts.append(Script(error=ZeroDivisionError("boom")))
    failed = _until_end(backend, backend.submit(REQUEST))[-1]
    assert isinstance(failed, ev.JobFailed) and "try again" in failed.message
    assert "ZeroDivisionError: boom" in failed.detail


def test_cancel_stops_the_running_job_and_a_queued_one_never_starts(backend, engine):
    engine.scripts.append(Script(steps=5, pause_at_step=2))
    first = backend.submit(REQUEST)
    second = backend.submit(REQUEST)
    assert engine.reached_pause.wait(10)
    assert backend.busy
    backend.cancel(second)
    backend.cancel()  # the running one
    events = _until_end(backend, first)
    assert isinstance(events[-1], ev.JobCancelled)
    rest = _until_end(backend, second)
    assert rest[-1] == ev.JobCancelled(second) and not any(isinstance(e, ev.JobStarted) for e in rest)
    assert len(engine.calls) == 1


def test_configure_applies_between_jobs(backend, engine):
    backend.submit(REQUEST)
    backend.configure(EngineConfig(lora_dirs=("/loras",)), model_dirs=("/models",))
    _until_end(backend, backend.submit(REQUEST))
    assert engine.configured[-1] == EngineConfig(lora_dirs=("/loras",))
    assert backend.model_dirs == ("/models",)


def test_tasks_run_on_their_own_thread_with_typed_results(backend, tmp_path):
    ran_on: list[str] = []

    class Probe:
        def run(self) -> str:
            ran_on.append(threading.current_thread().name)
            return "done"

    class Broken:
        def run(self) -> None:
            raise RequestError("That photo cannot be read.")

    ok = backend.run_task(Probe())
    bad = backend.run_task(Broken())
    events = [backend.next_event(timeout=10) for _ in range(2)]
    assert events == [ev.TaskFinished(ok, "done"), ev.TaskFailed(bad, "That photo cannot be read.", "")]
    assert ran_on == ["studio-tasks"]  # beside the engine's thread: a preview never waits for a generation


@pytest.mark.slow
def test_the_demo_models_task_builds_the_demo_set(tmp_path):
    backend = LocalBackend()
    backend.start(warm_up=False)
    try:
        task = backend.run_task(BuildDemoModels(str(tmp_path / "demo")))
        event = backend.next_event(timeout=300)
        assert isinstance(event, ev.TaskFinished) and event.task_id == task
        assert (tmp_path / "demo" / "sd15" / "model_index.json").is_file()
    finally:
        backend.close()


def test_the_catalogue_lists_what_the_configured_folders_hold(tmp_path, tiny_models, tiny_controlnets):
    """Models, LoRAs and ControlNets come from the backend's folders, read from headers (no engine built)."""
    from studio.engine.tiny_addons import write_tiny_lora

    loras = tmp_path / "loras"
    write_tiny_lora(loras / "ink.safetensors", "sd15")
    config = EngineConfig(lora_dirs=(str(loras),), controlnet_dirs=(str(tiny_controlnets),))
    backend = LocalBackend(config, model_dirs=(str(tiny_models),), engine_factory=_never)
    assert {entry.name for entry in backend.models()} >= {"sd15", "sdxl"}
    assert [entry.name for entry in backend.loras()] == ["ink"]
    assert {path.name for path in backend.controlnets()} >= {"controlnet-sd15", "controlnet-sdxl"}
    capabilities = backend.capabilities()
    assert capabilities.families == ("sd15", "sdxl") and "Euler a" in capabilities.samplers
    assert "openpose" in capabilities.control_types


def _never(config: EngineConfig) -> FakeEngine:
    raise AssertionError("listing must not build the engine")

"""AppState: queueing while a job runs, removing, cancelling, previews at display rate, messages, reuse."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fake_engine import FakeEngine, Script, fake_backend

from studio.request import RANDOM_SEED, GenerationRequest
from studio.settings import AppSettings
from studio.state.app_state import ERROR, INFO, NOTICE, AppState
from studio.state.model_list import ModelList
from studio.state.worker import GenerationWorker

REQUEST = GenerationRequest(model="fake-model", prompt="a knight in armor", width=64, height=64, steps=2)


def entry(name, reference, family="sd15"):
    return SimpleNamespace(name=name, reference=reference, family=family)


@pytest.fixture
def make_state(qtbot, tmp_path):
    states = []

    def make(engine: FakeEngine, entries=()):
        worker = GenerationWorker(
            fake_backend(engine), saver=lambda result, folder: [folder / f"{len(engine.calls)}.png"]
        )
        state = AppState(
            AppSettings(output_folder=str(tmp_path / "out")),
            worker,
            ModelList(lambda dirs: list(entries)),
            session_path=tmp_path / "session.json",
        )
        state.messages = []
        state.message.connect(lambda *m: state.messages.append(m))
        worker.start(warm_up=False)
        states.append(state)
        return state

    yield make
    for state in states:
        assert state.shutdown(2.0)


def test_generate_runs_and_reports_the_result(qtbot, make_state):
    state = make_state(FakeEngine())
    state.set_request(REQUEST)
    results = []
    state.result_ready.connect(lambda result, saved: results.append((result, saved)))
    assert state.generate() is not None
    assert state.is_running
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert not state.is_running
    assert state.last_seed == 1234
    assert results[0][0].request.prompt == "a knight in armor"


def test_generate_while_running_queues_and_queued_jobs_can_be_removed(qtbot, make_state):
    engine = FakeEngine(scripts=[Script(steps=3, pause_at_step=1)])
    state = make_state(engine)
    state.set_request(REQUEST)
    first = state.generate()
    assert engine.reached_pause.wait(5)
    state.update(prompt="second")
    second = state.generate()
    state.update(prompt="third")
    third = state.generate()
    assert [job.id for job in state.queue.jobs()] == [second.id, third.id]
    assert state.running.id == first.id
    state.remove_job(second.id)
    engine.resume.set()
    qtbot.waitUntil(lambda: not state.is_running and len(engine.calls) == 2, timeout=5000)
    assert [r.prompt for r in engine.calls] == ["a knight in armor", "third"]
    assert len(state.queue) == 0


def test_reordered_queue_runs_in_the_new_order(qtbot, make_state):
    engine = FakeEngine(scripts=[Script(steps=3, pause_at_step=1)])
    state = make_state(engine)
    state.set_request(REQUEST)
    state.generate()
    assert engine.reached_pause.wait(5)
    jobs = {}
    for prompt in ("second", "third", "fourth"):
        state.update(prompt=prompt)
        jobs[prompt] = state.generate()
    assert state.queue.move(jobs["fourth"].id, 0)
    engine.resume.set()
    qtbot.waitUntil(lambda: not state.is_running and len(engine.calls) == 4, timeout=5000)
    assert [r.prompt for r in engine.calls] == ["a knight in armor", "fourth", "second", "third"]


def test_cancel_ends_the_job_and_the_next_one_starts(qtbot, make_state):
    engine = FakeEngine(scripts=[Script(steps=5, pause_at_step=2)])
    state = make_state(engine)
    state.set_request(REQUEST)
    state.generate()
    assert engine.reached_pause.wait(5)
    state.generate()  # queued behind the paused job
    cancelled = []
    state.job_cancelled.connect(lambda: cancelled.append(True))
    state.cancel()
    qtbot.waitUntil(lambda: bool(cancelled) and len(engine.calls) == 2 and not state.is_running, timeout=5000)
    assert (INFO, "Generation cancelled.", "") in state.messages


def test_cancel_after_a_saved_batch_shows_it_with_the_others(qtbot, make_state):
    engine = FakeEngine(scripts=[Script(steps=3, pause_at_step=2, pause_at_batch=1)])
    state = make_state(engine)
    state.set_request(REQUEST.with_changes(batch_count=3))
    events = []
    state.result_ready.connect(lambda result, saved: events.append(("result", result.seeds, saved)))
    state.job_cancelled.connect(lambda: events.append(("cancelled",)))
    state.generate()
    assert engine.reached_pause.wait(5)
    state.cancel()
    qtbot.waitUntil(lambda: ("cancelled",) in events, timeout=5000)
    folder = state.settings.outputs()
    assert events == [("result", [1234], [folder / "1.png"]), ("cancelled",)]
    assert (
        INFO,
        "Generation cancelled. The 1 image finished before the cancel was saved.",
        "",
    ) in state.messages


def test_batches_that_could_not_be_saved_are_kept_and_the_error_said_once(qtbot, tmp_path):
    from studio.errors import SaveError

    def saver(result, folder):
        if result.seeds != [1234]:
            raise SaveError(f"Could not save the image to {folder}: disk full.")
        return [folder / "1234.png"]

    worker = GenerationWorker(fake_backend(FakeEngine()), saver=saver)
    state = AppState(
        AppSettings(output_folder=str(tmp_path / "out")),
        worker,
        ModelList(lambda dirs: []),
        session_path=tmp_path / "session.json",
    )
    messages, results = [], []
    state.message.connect(lambda *m: messages.append(m))
    state.result_ready.connect(lambda result, saved: results.append((result, saved)))
    worker.start(warm_up=False)
    try:
        state.set_request(REQUEST.with_changes(batch_count=3))
        state.generate()
        qtbot.waitUntil(lambda: bool(results), timeout=5000)
    finally:
        assert state.shutdown(2.0)
    assert [batch.seeds for batch in state.unsaved_results] == [[1235], [1236]]
    assert [m for m in messages if m[0] == ERROR] == [
        (ERROR, f"Could not save the image to {tmp_path / 'out'}: disk full.", "")
    ]
    result, saved = results[0]
    assert result.seeds == [1234, 1235, 1236] and saved == [tmp_path / "out" / "1234.png"]


def test_engine_errors_become_messages_and_nothing_crashes(qtbot, make_state):
    engine = FakeEngine(scripts=[Script(error=RuntimeError("CUDA exploded"))])
    state = make_state(engine)
    state.set_request(REQUEST)
    state.generate()
    qtbot.waitUntil(lambda: any(m[0] == ERROR for m in state.messages), timeout=5000)
    kind, text, detail = next(m for m in state.messages if m[0] == ERROR)
    assert text.startswith("Something went wrong while generating")
    assert "CUDA exploded" in detail
    assert not state.is_running


def test_generate_without_model_or_prompt_says_what_to_do(make_state):
    state = make_state(FakeEngine())
    assert state.generate() is None
    assert "Choose a model" in state.messages[-1][1]
    state.update(model="m")
    assert state.generate() is None
    assert "Write a prompt" in state.messages[-1][1]
    assert len(state.queue) == 0


def test_previews_are_delivered_at_display_rate_at_most(qtbot, make_state):
    engine = FakeEngine(default=Script(steps=40, step_delay_s=0.002))
    state = make_state(engine)
    state.set_request(REQUEST)
    previews = []
    state.preview.connect(previews.append)
    done = []
    state.result_ready.connect(lambda *a: done.append(1))
    state.generate()
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert 1 <= len(previews) < 40
    assert [p.step for p in previews] == sorted(p.step for p in previews)


def test_snapshot_keeps_the_running_job_and_the_queue(qtbot, make_state):
    engine = FakeEngine(scripts=[Script(steps=2, pause_at_step=1)])
    state = make_state(engine)
    state.set_request(REQUEST)
    state.generate()
    assert engine.reached_pause.wait(5)
    state.update(prompt="next")
    state.generate()
    state.update(prompt="still typing")
    snap = state.snapshot()
    assert snap.request.prompt == "still typing"
    assert [r.prompt for r in snap.queue] == ["a knight in armor", "next"]
    engine.resume.set()


def test_restored_queue_waits_for_resume(qtbot, make_state):
    from studio.state.session import Session

    engine = FakeEngine()
    state = make_state(engine)
    state.restore(Session(request=REQUEST, queue=[REQUEST, REQUEST.with_changes(prompt="two")]))
    assert state.request == REQUEST
    assert len(state.queue) == 2 and state.queue.paused
    assert state.messages[-1][0] == NOTICE and "Resume queue" in state.messages[-1][1]
    state.resume_queue()
    qtbot.waitUntil(lambda: len(engine.calls) == 2 and not state.is_running, timeout=5000)


def test_reusing_image_settings_maps_the_model_and_reports_unmapped(qtbot, make_state):
    state = make_state(FakeEngine(), entries=[entry("dreamy", "/models/dreamy.safetensors")])
    state.refresh_models()
    qtbot.waitUntil(lambda: state.models.loaded, timeout=5000)
    found = GenerationRequest(model="dreamy", prompt="castle", seed=99, steps=30)
    state.apply_image_settings(
        SimpleNamespace(request=found, source="a1111", unmapped=["Clip skip: 2"], raw={})
    )
    assert state.request.model == "/models/dreamy.safetensors"
    assert state.request.prompt == "castle" and state.request.seed == 99
    assert state.messages[-1][0] == NOTICE and "Clip skip: 2" in state.messages[-1][1]

    other = GenerationRequest(model="unknown-model", prompt="x", seed=5)
    state.apply_image_settings(SimpleNamespace(request=other, source="a1111", unmapped=[], raw={}))
    assert state.request.model == "/models/dreamy.safetensors"
    assert any("unknown-model" in m[1] for m in state.messages)

    state.apply_image_settings(
        SimpleNamespace(request=GenerationRequest(seed=777), source="a1111", unmapped=[], raw={}),
        seed_only=True,
    )
    assert state.request.seed == 777 and state.request.prompt == "x"


def test_first_discovered_model_is_chosen_when_none_is(qtbot, make_state):
    state = make_state(FakeEngine(), entries=[entry("xl", "/m/xl", "sdxl"), entry("one", "/m/one", "sd15")])
    state.refresh_models()
    qtbot.waitUntil(lambda: state.request.model != "", timeout=5000)
    assert state.request.model == "/m/one"  # SD 1.5 group comes first


def test_reusing_the_last_seed_fixes_it_in_the_request(qtbot, make_state):
    state = make_state(FakeEngine())
    state.reuse_last_seed()  # nothing made yet: nothing to reuse, nothing said
    assert state.request.seed == RANDOM_SEED and state.messages == []
    state.set_request(REQUEST)
    state.generate()
    qtbot.waitUntil(lambda: not state.is_running, timeout=5000)
    state.reuse_last_seed()
    assert state.request.seed == state.last_seed == 1234
    assert state.messages[-1] == (INFO, "Seed 1234 reused.", "")


def test_the_state_owns_the_session_files_and_writes_them_on_shutdown(qtbot, tmp_path):
    """The drawn layers and the pose live in one session folder beside session.json, both made by the state."""
    import numpy as np

    worker = GenerationWorker(fake_backend(FakeEngine()), saver=lambda result, folder: [])
    state = AppState(AppSettings(), worker, ModelList(lambda dirs: []), session_path=tmp_path / "session.json")
    folder = tmp_path / "session"
    assert state.session_folder() == folder == state.canvas.folder == state.pose.path.parent
    state.canvas.schedule("sketch", lambda: np.zeros((8, 8, 4), np.uint8))
    state.shutdown(2.0)
    assert (folder / "sketch.png").is_file() and (folder / "pose.json").is_file()


def test_seeds_past_a_cpp_int_reach_the_window(qtbot, make_state):
    """Seeds go past 2**31 - 1 (random ones up to 2**32 - 1); a Signal(int) carrying one crashed PySide."""
    state = make_state(FakeEngine())
    state.set_request(REQUEST.with_changes(seed=4_000_000_000))
    seeds = []
    state.last_seed_changed.connect(seeds.append)
    state.generate()
    qtbot.waitUntil(lambda: not state.is_running, timeout=5000)
    assert seeds == [4_000_000_000] and state.last_seed == 4_000_000_000

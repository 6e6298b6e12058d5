"""Live mode in the window: strokes with the Live switch on bring live pictures beside the canvas; nothing is
queued or saved until Keep; Keep saves with full metadata; Refine queues a normal generation."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_engine import FakeEngine, Script, fake_backend
from PySide6.QtCore import QPointF
from window_fixture import MODEL, studio_on_fake_engine


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


def paint(canvas, x: float, moves: int = 6) -> None:
    canvas.begin_stroke(QPointF(x, 10))
    for step in range(1, moves + 1):
        canvas.continue_stroke(QPointF(x, 10 + step * 6))
    canvas.end_stroke()


def start_live(studio, qtbot) -> tuple:
    window, state = studio.window, studio.state
    state.update(prompt="a red fox", width=64, height=64, seed=5)
    window.canvas.tabs.setCurrentWidget(window.canvases.sketch)
    window.live.sketch_switch.trigger()
    assert window.live.controller.enabled and window.live.view.isVisible()
    return window, state, window.live


def test_strokes_with_live_on_bring_live_pictures_and_nothing_else(studio, qtbot):
    window, state, live = start_live(studio, qtbot)
    gallery_before = len(window.gallery.paths())
    canvas = window.canvases.sketch.canvas
    for x in (10, 20, 30):
        paint(canvas, x)
    qtbot.waitUntil(lambda: live.view.shown >= 1 and live.controller.scheduler.idle, timeout=10000)
    result = live.controller.result
    assert result.request.seed == 5 and result.request.steps == 4 and result.request.init_image
    assert Path(result.request.init_image).parent.name == "live"
    assert len(state.queue) == 0 and state.running is None  # never the queue
    assert len(window.gallery.paths()) == gallery_before  # never the gallery
    assert not list(state.settings.outputs().glob("*.png"))  # nothing saved until Keep
    assert live.view.keep.isEnabled() and live.controller.scheduler.counts.offered >= 3
    assert live.controller.latencies and live.controller.latencies[-1] > 0


def test_switch_on_the_pose_tab_mirrors_the_sketch_switch(studio, qtbot):
    window, _state, live = start_live(studio, qtbot)
    assert live.pose_switch.isChecked()
    live.pose_switch.setChecked(False)
    assert not live.controller.enabled and not live.sketch_switch.isChecked() and live.view.isHidden()


def test_keep_saves_the_live_picture_with_full_metadata(studio, qtbot):
    from studio.metadata.reader import read_image_settings

    window, state, live = start_live(studio, qtbot)
    paint(window.canvases.sketch.canvas, 12)
    qtbot.waitUntil(lambda: live.view.shown >= 1 and live.controller.scheduler.idle, timeout=10000)
    with qtbot.waitSignal(state.result_ready, timeout=5000):
        live.view.keep.click()
    saved = sorted(state.settings.outputs().glob("*.png"))
    assert len(saved) == 1 and saved[0] in window.gallery.paths()
    settings = read_image_settings(saved[0])
    assert settings.request.prompt == "a red fox" and settings.request.seed == 5
    assert settings.request.steps == 4 and settings.request.init_image
    # The kept picture names a frozen copy of its sketch, not a live frame that the next stroke removes.
    assert (
        Path(settings.request.init_image).parent.name == "inputs"
        and Path(settings.request.init_image).is_file()
    )


def test_refine_queues_a_normal_generation_from_the_live_picture(studio, qtbot):
    window, state, live = start_live(studio, qtbot)
    state.update(steps=20)
    paint(window.canvases.sketch.canvas, 12)
    qtbot.waitUntil(lambda: live.view.shown >= 1 and live.controller.scheduler.idle, timeout=10000)
    with qtbot.waitSignal(state.result_ready, timeout=10000) as blocker:
        live.view.refine.click()
    result, saved = blocker.args
    assert result.request.steps == 20 and result.request.strength == 0.5 and saved
    assert Path(result.request.init_image).is_file()


def test_a_normal_generate_waits_for_the_live_run_to_yield(qtbot, qapp):
    # Live runs pause on their second step: Generate must cancel the live run and run at once.
    engine = FakeEngine(default=Script(steps=4, step_delay_s=0.02))
    engine.scripts = [Script(steps=4, pause_at_step=2)]
    from studio.app import build_studio

    studio = build_studio(qapp, backend=fake_backend(engine), discover=lambda dirs: [MODEL])
    qtbot.addWidget(studio.window)
    studio.window.show()
    studio.start_background(warm_up=False)
    qtbot.waitUntil(lambda: studio.state.models.loaded, timeout=5000)
    try:
        window, state, live = start_live(studio, qtbot)
        qtbot.waitUntil(engine.reached_pause.is_set, timeout=5000)
        with qtbot.waitSignal(state.result_ready, timeout=10000):
            state.generate()
        assert live.controller.scheduler.counts.cancelled >= 1
        # The yielded live input runs again once the generation is done.
        qtbot.waitUntil(lambda: live.view.shown >= 1, timeout=10000)
    finally:
        studio.window.live.shutdown()
        studio.window.canvases.shutdown()
        studio.state.shutdown(2.0)


def test_pose_tab_without_a_pose_control_says_what_to_do(studio, qtbot):
    window, _state, live = start_live(studio, qtbot)
    window.canvas.tabs.setCurrentWidget(window.pose_editor)
    assert "Use as control" in live.view.status.text()
    qtbot.wait(50)
    window.grab().save("/tmp/live_pose_tab.png")


def test_live_without_a_prompt_says_so_and_runs_nothing(studio, qtbot):
    window, state, live = start_live(studio, qtbot)
    qtbot.waitUntil(lambda: live.controller.scheduler.idle, timeout=10000)
    started = live.controller.scheduler.counts.started
    state.update(prompt="")
    assert "prompt" in live.view.status.text() and live.controller.scheduler.counts.started == started


def test_moving_a_joint_on_the_pose_tab_brings_a_picture_that_follows_a_frozen_pose(studio, qtbot):
    window, state, live = start_live(studio, qtbot)
    window.canvas.tabs.setCurrentWidget(window.pose_editor)
    window.pose_editor.control.use_as_control.setChecked(True)
    qtbot.waitUntil(lambda: live.controller.scheduler.idle, timeout=10000)
    shown = live.view.shown
    pose = state.pose.pose
    person = pose.people[0].move_keypoint(0, 20.0, 20.0)
    state.pose.set_pose(pose.with_person(0, person))  # a joint dragged
    qtbot.waitUntil(lambda: live.view.shown > shown and live.controller.scheduler.idle, timeout=10000)
    request = live.controller.result.request
    assert request.init_image is None  # the Pose tab follows the controls alone
    control = next(c for c in request.controls if c.source == "pose")
    assert Path(control.image).parent.name == "live" and Path(control.image).suffix == ".json"
    assert len(state.queue) == 0

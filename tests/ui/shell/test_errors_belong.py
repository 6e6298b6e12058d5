"""Errors belong to what caused them: a generation's error leaves when the next generation starts or succeeds,
a model's error when the model changes; one banner at most, the others counted and kept in the message log."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fake_engine import FakeEngine, Script, fake_backend
from PySide6.QtCore import Qt

from studio.errors import ModelError, RequestError
from studio.ui.shell import main_window

TINY = SimpleNamespace(name="tiny", reference="/models/tiny", family="sd15")
OTHER = SimpleNamespace(name="other", reference="/models/other", family="sd15")


@pytest.fixture
def studio(qtbot, qapp):
    from studio.app import build_studio

    engine = FakeEngine(
        scripts=[
            Script(error=RequestError("The LoRA 'ink' cannot be used: it is for SDXL.")),
            Script(error=ModelError("Out of memory. Try a smaller size.")),
            Script(pause_at_step=1),
        ]
    )
    made = build_studio(qapp, backend=fake_backend(engine), discover=lambda dirs: [TINY, OTHER])
    made.engine = engine
    qtbot.addWidget(made.window)
    made.window.resize(1280, 800)
    made.window.show()
    made.start_background(warm_up=False)
    qtbot.waitUntil(lambda: made.state.models.loaded, timeout=5000)
    made.state.update(prompt="a fox", width=64, height=64)
    yield made
    made.engine.resume.set()
    made.state.shutdown(2.0)


def _generate_and_wait(qtbot, studio, calls: int) -> None:
    qtbot.mouseClick(studio.window.progress_panel.generate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(studio.engine.calls) == calls and not studio.state.is_running, timeout=5000)


def test_a_generation_error_leaves_when_the_next_generation_starts(qtbot, studio):
    window = studio.window
    _generate_and_wait(qtbot, studio, 1)
    assert [row.message for row in window.messages.rows()] == ["The LoRA 'ink' cannot be used: it is for SDXL."]
    assert window.progress_panel.status.text() == main_window.FAILED_STATUS
    _generate_and_wait(qtbot, studio, 2)
    # The second failure replaces the first: one banner, never a stack pushing the canvas down.
    assert [row.message for row in window.messages.rows()] == ["Out of memory. Try a smaller size."]
    assert window.messages.messages() == [("error", "Out of memory. Try a smaller size.")]
    qtbot.mouseClick(window.progress_panel.generate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(studio.engine.reached_pause.is_set, timeout=5000)
    qtbot.waitUntil(lambda: window.messages.rows() == [], timeout=2000)  # the job that failed is history now
    assert not window.messages.isVisible()
    studio.engine.resume.set()
    qtbot.waitUntil(lambda: not studio.state.is_running, timeout=5000)
    assert window.progress_panel.status.text().startswith("Done")
    # Both failures are still in the log.
    assert [m.text for m in window.messages.log() if m.kind == "error"] == [
        "The LoRA 'ink' cannot be used: it is for SDXL.",
        "Out of memory. Try a smaller size.",
    ]


def test_dismissing_the_error_clears_the_failed_status(qtbot, studio):
    window = studio.window
    _generate_and_wait(qtbot, studio, 1)
    assert window.progress_panel.status.text() == main_window.FAILED_STATUS
    qtbot.mouseClick(window.messages.rows()[0].close_button, Qt.MouseButton.LeftButton)
    assert window.messages.rows() == []
    assert "see the message" not in window.progress_panel.status.text()


def test_a_model_error_leaves_when_the_model_changes_and_others_are_counted(qtbot, studio):
    window, state = studio.window, studio.state
    assert state.request.model == "/models/other"  # the first in the list
    state.error("The model 'other' could not be read.", source="model")
    state.notice("The size was rounded to 512×512.")
    rows = window.messages.rows()
    assert len(rows) == 1 and rows[0].message == "The model 'other' could not be read."
    assert rows[0].more_button.isVisible() and rows[0].more_button.text() == "1 more"
    qtbot.mouseClick(rows[0].more_button, Qt.MouseButton.LeftButton)
    log = window.messages.log_view()
    assert log is not None and log.isVisible() and not log.isModal()
    assert any("could not be read" in text for text in log.texts())
    log.close()
    combo = window.settings_panel.model
    combo.setCurrentIndex(next(i for i in range(combo.count()) if combo.itemData(i) == "/models/tiny"))
    assert state.request.model == "/models/tiny"
    # The model's error went with the model; the notice stays, alone now.
    assert [row.message for row in window.messages.rows()] == ["The size was rounded to 512×512."]
    assert not window.messages.rows()[0].more_button.isVisible()

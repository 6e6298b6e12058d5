"""The first steps are clear: with no model, Generate is not the main action and a click explains where to go;
one primary button at a time; building the demo model shows it is working; the empty gallery says what it holds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fake_engine import FakeEngine, fake_backend
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from studio.state.app_state import NO_MODEL
from studio.ui.gallery.gallery_panel import EMPTY_TEXT
from studio.ui.models.first_run import DEMO_BUILDING

MODEL = SimpleNamespace(name="tiny", reference="/models/tiny", family="sd15")


@pytest.fixture
def make_studio(qtbot, qapp):
    made = []

    def make(models):
        from studio.app import build_studio

        studio = build_studio(qapp, backend=fake_backend(FakeEngine), discover=lambda dirs: list(models))
        qtbot.addWidget(studio.window)
        studio.window.resize(1280, 800)
        studio.window.show()
        studio.start_background(warm_up=False)
        qtbot.waitUntil(lambda: studio.state.models.loaded, timeout=5000)
        made.append(studio)
        return studio

    yield make
    for studio in made:
        studio.state.shutdown(2.0)


def _primary_buttons(window) -> list[QPushButton]:
    return [b for b in window.findChildren(QPushButton) if b.property("primary") and b.isVisible()]


def test_with_no_model_generate_explains_and_points_at_the_welcome_page(qtbot, make_studio):
    studio = make_studio([])
    window = studio.window
    qtbot.waitUntil(lambda: window.first_run is not None and window.first_run.isVisible(), timeout=5000)
    generate = window.progress_panel.generate
    assert generate.isEnabled() and "welcome page" in generate.toolTip()
    # One primary button: the welcome page's first download, not Generate as well.
    primaries = _primary_buttons(window)
    assert len(primaries) == 1 and primaries[0] is not generate
    qtbot.mouseClick(generate, Qt.MouseButton.LeftButton)
    assert [row.message for row in window.messages.rows()] == [NO_MODEL]
    assert "welcome page" in NO_MODEL and window.stack.currentWidget() is window.first_run
    assert not studio.state.is_running


def test_with_a_model_generate_is_the_one_primary_action(qtbot, make_studio):
    window = make_studio([MODEL]).window
    assert _primary_buttons(window) == [window.progress_panel.generate]
    assert "Ctrl+Enter" in window.progress_panel.generate.toolTip()


def test_building_the_demo_model_shows_that_it_works(qtbot, make_studio, monkeypatch):
    studio = make_studio([])
    window, state = studio.window, studio.state
    qtbot.waitUntil(lambda: window.first_run is not None and window.first_run.isVisible(), timeout=5000)
    tasks = []
    monkeypatch.setattr(state.worker, "run_task", lambda task: tasks.append(task) or 41)  # the build, held
    first_run = window.first_run
    qtbot.mouseClick(first_run.demo_button, Qt.MouseButton.LeftButton)
    assert len(tasks) == 1
    assert not first_run.demo_button.isEnabled() and first_run.demo_button.text() == DEMO_BUILDING
    assert first_run.demo_progress.isVisible()
    assert window.statusBar().currentMessage() == DEMO_BUILDING
    state._on_task_failed(41, "The demo model could not be written: the disk is full.", "")
    assert first_run.demo_button.isEnabled() and not first_run.demo_progress.isVisible()
    assert window.messages.rows()[0].message.startswith("The demo model could not be written")


def test_the_empty_gallery_says_what_will_appear_there(qtbot, make_studio):
    window = make_studio([MODEL]).window
    gallery = window.gallery
    assert gallery.isVisible() and gallery.empty.isVisible() and gallery.empty.text() == EMPTY_TEXT
    assert not gallery.view.isVisible()
    image = window.state.settings.outputs() / "00001-1-a-fox.png"
    image.parent.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.new("RGB", (8, 8)).save(image)
    gallery.add_image(image)
    assert gallery.view.isVisible() and not gallery.empty.isVisible()

"""Edit ▸ Preferences…: every page edits the settings, Apply/OK write them at once and tell the engine."""

from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialogButtonBox, QLabel
from window_fixture import studio_on_fake_engine

from studio.settings import settings_file


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


def open_dialog(qtbot, studio):
    action = studio.window.findChild(QAction, "preferences")
    assert action is not None and action.text() == "Preferences…"
    action.trigger()
    dialog = studio.window.menus.preferences_dialog
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def test_preferences_open_from_the_menu_with_their_pages(qtbot, studio):
    dialog = open_dialog(qtbot, studio)
    assert dialog.page_titles() == ["Appearance", "Folders", "Performance", "Safety"]
    dialog.show_page("Safety")
    assert dialog.pages.currentIndex() == 3


def test_apply_writes_the_settings_file_and_reconfigures_the_engine(qtbot, studio, tmp_path):
    state = studio.state
    dialog = open_dialog(qtbot, studio)
    webui, pictures = tmp_path / "webui", tmp_path / "pictures"
    webui.mkdir()
    pictures.mkdir()
    dialog.threads.setValue(3)
    dialog.allow_pickle.setChecked(True)
    dialog.model_dirs.add_folder(str(webui))
    dialog.output_folder.edit.setText(str(pictures))
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Apply).click()
    saved = json.loads(settings_file().read_text(encoding="utf-8"))
    assert (saved["torch_threads"], saved["allow_pickle"], saved["theme"]) == (3, True, "light")
    assert saved["model_dirs"] == [str(webui)] and saved["output_folder"] == str(pictures)
    config = state.worker.backend.config
    assert config.torch_threads == 3 and config.allow_pickle
    assert str(webui) in state.worker.backend.model_dirs
    assert studio.window.menus.themes["light"].isChecked()
    assert dialog.isVisible()  # Apply keeps it open; OK closes
    dialog.threads.setValue(0)  # back to automatic
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible() and state.settings.torch_threads is None


def test_cancel_changes_nothing(qtbot, studio):
    state = studio.state
    dialog = open_dialog(qtbot, studio)
    dialog.threads.setValue(5)
    dialog.allow_pickle.setChecked(True)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert state.settings.torch_threads is None and not state.settings.allow_pickle


def test_add_page_joins_a_page_of_that_title_or_makes_one(qtbot, studio):
    dialog = open_dialog(qtbot, studio)
    box = QLabel("VRAM tier")
    assert dialog.add_page("Performance", box) == 2
    assert dialog.page_titles().count("Performance") == 1
    assert dialog.pages.widget(2).isAncestorOf(box)
    assert dialog.add_page("Servers", QLabel("ComfyUI")) == 4


def test_the_performance_page_holds_the_vram_and_fast_mode_box(qtbot, studio, tmp_path):
    from studio.ui.generation.performance_box import PerformanceBox

    dialog = open_dialog(qtbot, studio)
    dialog.show_page("Performance")
    box = dialog.findChild(PerformanceBox)
    assert box is not None and box.isVisible()
    box.vram.setCurrentIndex(box.vram.findData("low"))
    assert studio.state.settings.vram == "low"
    assert json.loads(settings_file().read_text(encoding="utf-8"))["vram"] == "low"
    assert "Low" in studio.window.tier_status.text()
    dialog.grab().save(str(tmp_path / "preferences-performance.png"))

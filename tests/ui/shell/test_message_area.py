"""Messages: errors stay, infos fade, details one click away; and the rotating log file."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from studio import paths
from studio.logging_setup import setup_logging
from studio.ui.shell import message_area
from studio.ui.shell.message_area import MessageArea


def _area(qtbot) -> MessageArea:
    """The strip inside a window, as the main window holds it."""
    window = QWidget()
    layout = QVBoxLayout(window)
    area = MessageArea(window)
    layout.addWidget(area)
    layout.addStretch(1)
    qtbot.addWidget(window)
    window.resize(600, 300)
    window.show()
    area.test_window = window  # qtbot holds widgets weakly; the window must outlive this function
    return area


def test_hidden_while_empty(qtbot):
    area = _area(qtbot)
    assert not area.isVisible()
    area.show_notice("The size was rounded to 512×512.")
    assert area.isVisible()
    area.clear()
    assert not area.isVisible() and area.messages() == []


def test_error_stays_until_dismissed(qtbot, monkeypatch):
    monkeypatch.setattr(message_area, "INFO_TIMEOUT_MS", 50)
    area = _area(qtbot)
    area.show_error("The model file is truncated. Download it again.")
    area.show_info("Saved.")
    qtbot.waitUntil(lambda: area.messages() == [("error", "The model file is truncated. Download it again.")])
    qtbot.wait(100)
    assert [kind for kind, _ in area.messages()] == ["error"]
    row = area.rows()[0]
    qtbot.mouseClick(row.close_button, Qt.MouseButton.LeftButton)
    assert area.messages() == []
    assert not area.isVisible()


def test_info_fades_by_itself(qtbot, monkeypatch):
    monkeypatch.setattr(message_area, "INFO_TIMEOUT_MS", 30)
    monkeypatch.setattr(message_area, "FADE_MS", 30)
    area = _area(qtbot)
    area.show_info("Saved to outputs/0001.png.")
    assert area.messages() == [("info", "Saved to outputs/0001.png.")]
    qtbot.waitUntil(lambda: area.messages() == [], timeout=2000)


def test_detail_is_one_click_away_and_never_a_dialog(qtbot):
    area = _area(qtbot)
    traceback_text = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom'
    area.show_error("Something went wrong while generating.", traceback_text)
    assert not any(isinstance(w, QDialog) and w.isVisible() for w in area.findChildren(QDialog))
    row = area.rows()[0]
    assert row.detail_view is not None and not row.detail_view.isVisible()
    qtbot.waitExposed(row.details_button)
    qtbot.mouseClick(row.details_button, Qt.MouseButton.LeftButton)
    assert row.detail_view.isVisible()
    assert row.detail_view.toPlainText() == traceback_text
    qtbot.mouseClick(row.details_button, Qt.MouseButton.LeftButton)
    assert not row.detail_view.isVisible()


def test_no_details_button_without_detail(qtbot):
    area = _area(qtbot)
    area.show_error("The prompt is empty. Write what you want to see.")
    assert area.rows()[0].details_button is None


def test_old_messages_make_room_and_repeats_collapse(qtbot):
    area = _area(qtbot)
    for i in range(message_area.MAX_MESSAGES + 2):
        area.show_notice(f"Notice {i}.")
    texts = [text for _, text in area.messages()]
    assert len(texts) == message_area.MAX_MESSAGES
    assert texts[-1] == f"Notice {message_area.MAX_MESSAGES + 1}." and "Notice 0." not in texts
    area.clear()
    area.show_error("Out of memory. Try a smaller size.")
    area.show_error("Out of memory. Try a smaller size.")
    assert len(area.messages()) == 1


def test_every_control_is_named_and_explained(qtbot):
    area = _area(qtbot)
    area.show_error("Could not save the image. Check the folder is writable.", "PermissionError: denied")
    row = area.rows()[0]
    for button in (row.close_button, row.details_button):
        assert button.toolTip() and button.accessibleName()
    assert row.accessibleName() == "Error message"


def test_setup_logging_writes_one_rotating_file(studio_home):
    path = setup_logging()
    setup_logging()  # a second call must not double every line
    assert path == paths.log_file()
    logging.getLogger("studio.test").info("hello from the test")
    for handler in logging.getLogger("studio").handlers:
        handler.flush()
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "hello from the test" in line]
    assert len(lines) == 1 and "INFO" in lines[0] and "studio.test" in lines[0]
    handlers = [
        h for h in logging.getLogger("studio").handlers if isinstance(h, logging.handlers.RotatingFileHandler)
    ]
    assert len(handlers) == 1 and handlers[0].maxBytes > 0 and handlers[0].backupCount > 0


def test_one_banner_shows_the_most_serious_and_newest(qtbot):
    area = _area(qtbot)
    area.show_error("The first failure.", source="generation")
    area.show_notice("The size was rounded.")
    area.show_error("The second failure.", source="generation")
    rows = area.rows()
    assert len(rows) == 1 and rows[0].message == "The second failure."  # a notice never hides an error
    assert rows[0].more_button.text() == "2 more"
    qtbot.mouseClick(rows[0].close_button, Qt.MouseButton.LeftButton)
    assert [row.message for row in area.rows()] == ["The first failure."]
    area.resolve("generation")
    assert [row.message for row in area.rows()] == ["The size was rounded."]
    assert not area.rows()[0].more_button.isVisible()
    assert [m.text for m in area.log()] == ["The first failure.", "The size was rounded.", "The second failure."]

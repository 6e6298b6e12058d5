from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from window_fixture import studio_on_fake_engine

from studio.ui.canvas.canvas_view import CanvasView, array_to_qimage


def test_array_to_qimage_keeps_pixels_and_owns_them():
    array = np.zeros((4, 6, 3), dtype=np.uint8)
    array[1, 2] = (255, 10, 20)
    image = array_to_qimage(array)
    array[:] = 0  # the QImage must not share the caller's buffer
    assert (image.width(), image.height()) == (6, 4)
    assert image.pixelColor(2, 1).getRgb()[:3] == (255, 10, 20)


def test_previews_scale_to_the_output_size_and_the_final_image_replaces_them(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show_preview(np.full((8, 12, 3), 128, dtype=np.uint8), (96, 64))
    assert view.current_pixmap().size().toTuple() == (96, 64)
    assert view.previews_shown == 1
    final = QImage(96, 64, QImage.Format.Format_RGB888)
    final.fill(0x336699)
    view.show_image(final)
    assert view.current_pixmap().toImage().pixelColor(0, 0).name() == "#336699"


def test_zoom_fit_and_100(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.show_image(QImage(1024, 1024, QImage.Format.Format_RGB888))
    view.zoom_100()
    assert view.label.size().toTuple() == (1024, 1024)
    view.zoom_fit()
    assert view.label.fit and view.scroll.widgetResizable()
    assert view.tabs.tabText(0) == "Image"


def test_zoom_in_and_out_from_the_shown_size(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.show_image(QImage(400, 200, QImage.Format.Format_RGB888))
    view.zoom_100()
    view.zoom_by(1.25)
    assert view.label.size().toTuple() == (500, 250)
    view.zoom_by(0.5)
    assert view.label.size().toTuple() == (250, 125)
    view.zoom_by(0.0001)
    assert view.label.scale == 0.1


def _painted_width(view) -> int:
    """How wide the picture is drawn on screen: the run of non-background pixels across the middle row."""
    shot = view.label.grab().toImage()
    y = shot.height() // 2
    return sum(1 for x in range(shot.width()) if shot.pixelColor(x, y).name() == "#c87828")


def test_results_and_previews_fit_the_view_scaled_up_smoothly(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    result = QImage(256, 256, QImage.Format.Format_RGB888)
    result.fill(0xC87828)
    view.show_image(result)
    assert view.label.fit and view.label.shown_scale() > 2.0  # a small result fills the view
    height = view.label.height()
    assert abs(_painted_width(view) - height) <= 2  # drawn as tall as the view, so about that wide
    preview = np.zeros((32, 32, 3), dtype=np.uint8)
    preview[:] = (0xC8, 0x78, 0x28)
    view.show_preview(preview, (256, 256))
    assert view.label.shown_scale() > 2.0 and abs(_painted_width(view) - height) <= 2


def test_ctrl_1_or_a_double_click_shows_100_percent_and_back(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    image = QImage(256, 256, QImage.Format.Format_RGB888)
    image.fill(0xC87828)
    view.show_image(image)
    view.zoom_100()
    assert not view.label.fit and view.label.shown_scale() == 1.0
    assert _painted_width(view) == 256
    view.zoom_100()  # the same key again: back to fitting
    assert view.label.fit
    qtbot.waitUntil(lambda: view.label.shown_scale() > 2.0, timeout=2000)  # once the scroll area re-lays out
    qtbot.mouseDClick(view.label, Qt.MouseButton.LeftButton, pos=view.label.rect().center())
    assert not view.label.fit and view.label.shown_scale() == 1.0
    qtbot.mouseDClick(view.label, Qt.MouseButton.LeftButton, pos=view.label.rect().center())
    assert view.label.fit


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


def test_a_result_fills_the_window_canvas_and_ctrl_1_toggles(qtbot, studio):
    window, state = studio.window, studio.state
    window.resize(1920, 1080)
    state.update(prompt="a fox", width=256, height=256)
    window.generate()
    qtbot.waitUntil(lambda: not window.canvas.current_pixmap().isNull() and not state.is_running, timeout=5000)
    qtbot.waitUntil(lambda: window.canvas.label.shown_scale() > 1.5, timeout=2000)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.label.shown_scale() == 1.0
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.label.fit

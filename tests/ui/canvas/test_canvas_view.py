from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

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

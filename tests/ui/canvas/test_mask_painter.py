"""Inpainting masks: painting sets request.mask (a white-on-black PNG), options, clearing turns it off, restore."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage
from window_fixture import studio_on_fake_engine

from studio.request import GenerationRequest
from studio.state.canvas_store import CanvasStore
from studio.ui.canvas.mask_painter import MaskPainter


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


@pytest.fixture
def picture(tmp_path) -> Path:
    path = tmp_path / "picture.png"
    Image.new("RGB", (96, 64), "steelblue").save(path)
    return path


@pytest.fixture
def painter(qtbot, tmp_path, picture):
    painter = MaskPainter(CanvasStore(tmp_path / "session"))
    qtbot.addWidget(painter)
    painter.resize(500, 400)
    painter.show()
    painter.set_source(str(picture), QImage(str(picture)))
    return painter


def paint(canvas, start=(10, 10), end=(40, 30), size=8):
    canvas.brush_size = size
    canvas.begin_stroke(QPointF(*start))
    canvas.continue_stroke(QPointF(*end))
    canvas.end_stroke()


def test_painting_sets_the_mask_and_init_image(painter, picture):
    request = GenerationRequest(prompt="a cat")
    assert painter.apply_to(request).mask is None  # nothing painted: no inpainting
    paint(painter.canvas)
    painter.blur.setValue(9)
    painter.masked_only.setChecked(True)
    painter.padding.setValue(48)
    result = painter.apply_to(request)
    assert result.init_image == str(picture) and result.mask == str(painter.mask_path())
    assert (result.mask_blur, result.inpaint_area, result.inpaint_padding) == (9, "masked", 48)
    painter.store.flush()
    mask = np.asarray(Image.open(result.mask))
    assert mask.shape == (64, 96)  # the picture's size, one grey channel
    assert mask[20, 25] == 255 and mask[60, 90] == 0


def test_mouse_painting_uses_a_translucent_red_overlay(qtbot, painter):
    canvas = painter.canvas
    origin = canvas.image_rect_in_widget().topLeft()
    point = (origin + QPointF(48, 32) * canvas.view_scale()).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=point)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=point)
    assert painter.has_mask()
    shot = canvas.grab().toImage().pixelColor(point)
    base = QColor("steelblue")
    assert shot.red() > base.red() + 40 and shot.blue() < base.blue()  # tinted red, the picture still shows


def test_clearing_the_mask_turns_inpainting_off(painter, picture):
    paint(painter.canvas)
    request = painter.apply_to(GenerationRequest())
    painter.toolbar.clear.trigger()
    off = painter.apply_to(request)
    assert off.mask is None and off.init_image is None
    assert not painter.mask_path().exists()
    # an img2img source the artist chose elsewhere is left alone
    assert painter.apply_to(GenerationRequest(init_image="/elsewhere.png")).init_image == "/elsewhere.png"


def test_the_mask_is_restored_with_the_session(qtbot, tmp_path, painter, picture):
    paint(painter.canvas)
    request = painter.apply_to(GenerationRequest())
    painter.store.flush()
    again = MaskPainter(CanvasStore(tmp_path / "session"))
    qtbot.addWidget(again)
    again.restore(request)
    assert again.has_mask() and again.source_path == str(picture)
    before = painter.canvas.layer().pixelColor(25, 20)
    after = again.canvas.layer().pixelColor(25, 20)
    assert after.alpha() == before.alpha() == 255 and after.red() > 200


def test_use_current_image_inpaints_the_shown_picture(qtbot, studio, picture):
    window, state = studio.window, studio.state
    window.show_path(picture)
    painter = window.canvases.mask_painter
    painter.use_current.click()
    assert window.canvas.tabs.currentWidget() is painter
    paint(painter.canvas, size=12)
    assert state.request.mask == str(painter.mask_path()) and state.request.init_image == str(picture)
    painter.toolbar.clear.trigger()
    assert state.request.mask is None and state.request.init_image is None


def test_the_gallery_offers_inpainting(qtbot, studio, picture):
    window = studio.window
    window.gallery.inpaint_requested.emit(picture)
    assert window.canvases.mask_painter.source_path == str(picture)
    assert window.canvas.tabs.currentWidget() is window.canvases.mask_painter

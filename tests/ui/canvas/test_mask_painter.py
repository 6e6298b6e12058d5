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
    assert painter.mask_changes(request) == {"mask": None}  # nothing painted: no inpainting
    paint(painter.canvas)
    changes = painter.mask_changes(request)
    assert changes == {"init_image": str(picture), "mask": str(painter.mask_path())}
    painter.store.flush()
    mask = np.asarray(Image.open(changes["mask"]))
    assert mask.shape == (64, 96)  # the picture's size, one grey channel
    assert mask[20, 25] == 255 and mask[60, 90] == 0


def test_each_option_edits_its_own_field_and_shows_changes_from_elsewhere(painter):
    from request_state import RequestState

    state = RequestState(GenerationRequest(mask_blur=4))
    painter.bind(state)
    painter.blur.setValue(9)
    painter.masked_only.setChecked(True)
    painter.padding.setValue(48)
    assert state.updates == [{"mask_blur": 9}, {"inpaint_area": "masked"}, {"inpaint_padding": 48}]
    assert painter.padding.isEnabled()
    state.update(mask_blur=2, inpaint_area="whole")  # e.g. settings reused from an image
    assert painter.blur.value() == 2 and not painter.masked_only.isChecked()
    assert not painter.padding.isEnabled()
    assert state.updates[-1] == {"mask_blur": 2, "inpaint_area": "whole"}  # nothing echoed back


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
    request = GenerationRequest().with_changes(**painter.mask_changes(GenerationRequest()))
    painter.toolbar.clear.trigger()
    assert painter.mask_changes(request) == {"init_image": None, "mask": None}
    assert not painter.mask_path().exists()
    # an img2img source the artist chose elsewhere is left alone
    assert painter.mask_changes(GenerationRequest(init_image="/elsewhere.png")) == {"mask": None}


def test_the_mask_is_restored_with_the_session(qtbot, tmp_path, painter, picture):
    paint(painter.canvas)
    request = GenerationRequest().with_changes(**painter.mask_changes(GenerationRequest()))
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

"""The sketch canvas: strokes with the mouse, straight lines, eraser, opacity, undo/redo, fills, zoom and pan."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage

from studio.ui.canvas.layer_pixels import qimage_to_rgba
from studio.ui.canvas.sketch_canvas import ERASER, SketchCanvas
from studio.ui.canvas.sketch_toolbar import SketchToolbar


@pytest.fixture
def canvas(qtbot):
    canvas = SketchCanvas(64, 64)
    qtbot.addWidget(canvas)
    canvas.resize(300, 300)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.brush_size = 4
    return canvas


def at(canvas: SketchCanvas, x: float, y: float) -> QPoint:
    """The widget position of image pixel (x, y)."""
    origin = canvas.image_rect_in_widget().topLeft()
    return (origin + QPointF(x + 0.5, y + 0.5) * canvas.view_scale()).toPoint()


def alpha(canvas: SketchCanvas):
    return qimage_to_rgba(canvas.layer())[..., 3]


def drag(qtbot, canvas, points, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, modifier, at(canvas, *points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, at(canvas, *point))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, modifier, at(canvas, *points[-1]))


def test_a_mouse_stroke_paints_black_along_its_path_only(qtbot, canvas):
    changes = []
    canvas.changed.connect(lambda: changes.append(1))
    drag(qtbot, canvas, [(10, 32), (30, 32), (50, 32)])
    pixels = qimage_to_rgba(canvas.layer())
    assert pixels[32, 10:51, 3].min() == 255 and pixels[32, 30, :3].tolist() == [0, 0, 0]
    assert pixels[20, 30, 3] == 0 and pixels[32, 60, 3] == 0 and pixels[32, 4, 3] == 0
    assert changes and canvas.undo_stack.count() == 1


def test_shift_click_draws_a_straight_line_from_the_last_point(qtbot, canvas):
    drag(qtbot, canvas, [(6, 10), (10, 10)])
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, at(canvas, 50, 50))
    a = alpha(canvas)
    assert all(a[i, i] == 255 for i in range(11, 50))
    assert a[50, 12] == 0 and a[12, 50] == 0
    assert canvas.undo_stack.count() == 2 and canvas.undo_stack.text(1) == "Line"


def test_the_eraser_removes_paint_and_undo_brings_it_back(qtbot, canvas):
    canvas.fill(QColor("black"))
    canvas.tool = ERASER
    drag(qtbot, canvas, [(5, 40), (60, 40)])
    a = alpha(canvas)
    assert a[40, 10:55].max() == 0 and a[10, 30] == 255
    canvas.undo_stack.undo()
    assert alpha(canvas).min() == 255


def test_half_opacity_is_even_where_segments_overlap(canvas):
    canvas.brush_opacity = 0.5
    canvas.brush_size = 10
    canvas.begin_stroke(QPointF(10, 30))
    for x in range(11, 50):  # many short, overlapping segments
        canvas.continue_stroke(QPointF(x, 30))
    canvas.end_stroke()
    row = alpha(canvas)[30, 12:48]
    assert abs(int(row.min()) - 128) <= 2 and abs(int(row.max()) - 128) <= 2


def tablet(canvas, kind, x, y, pressure):
    from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    pen = QPointingDevice(
        "pen", 1, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Pressure | QInputDevice.Capability.Position, 1, 3,
    )  # fmt: skip
    pos = canvas.image_rect_in_widget().topLeft() + QPointF(x, y) * canvas.view_scale()
    left = Qt.MouseButton.LeftButton
    event = QTabletEvent(
        kind,
        pen,
        pos,
        canvas.mapToGlobal(pos),
        pressure,
        0,
        0,
        0,
        0,
        0,
        Qt.KeyboardModifier.NoModifier,
        left,
        left,
    )
    QApplication.sendEvent(canvas, event)
    assert event.isAccepted()


def test_tablet_pressure_scales_the_brush(canvas):
    from PySide6.QtCore import QEvent

    canvas.brush_size = 20
    for y, pressure in ((16, 1.0), (48, 0.2)):
        tablet(canvas, QEvent.Type.TabletPress, 10, y, pressure)
        tablet(canvas, QEvent.Type.TabletMove, 50, y, pressure)
        tablet(canvas, QEvent.Type.TabletRelease, 50, y, pressure)
    column = alpha(canvas)[:, 30] > 0
    heavy, light = column[:32].sum(), column[32:].sum()
    assert 18 <= heavy <= 22 and 3 <= light <= 5
    assert canvas.undo_stack.count() == 2


def test_sixty_strokes_undo_and_redo_back_and_forth(canvas):
    canvas.brush_size = 1
    for row in range(60):
        canvas.begin_stroke(QPointF(2, row))
        canvas.continue_stroke(QPointF(60, row))
        canvas.end_stroke()
    assert canvas.undo_stack.count() == 60
    for _ in range(55):
        canvas.undo_stack.undo()
    a = alpha(canvas)
    assert a[0:4, 30].min() > 0 and a[6:60, 30].max() == 0
    while canvas.undo_stack.canRedo():
        canvas.undo_stack.redo()
    assert alpha(canvas)[0:60, 30].min() > 0


def test_fill_clear_and_undo(canvas):
    canvas.fill(QColor("white"))
    assert qimage_to_rgba(canvas.layer())[..., :4].min() == 255
    canvas.fill(QColor("black"))
    assert qimage_to_rgba(canvas.layer())[5, 5].tolist() == [0, 0, 0, 255]
    canvas.clear()
    assert canvas.is_empty()
    canvas.undo_stack.undo()
    canvas.undo_stack.undo()
    assert qimage_to_rgba(canvas.layer())[5, 5].tolist() == [255, 255, 255, 255]


def test_the_reference_is_shown_but_never_drawn_into_the_layer(qtbot, canvas):
    photo = QImage(200, 100, QImage.Format.Format_RGB32)
    photo.fill(QColor("red"))
    canvas.set_reference(photo)
    canvas.set_reference_opacity(1.0)
    assert canvas.reference.size() == canvas.layer().size()
    assert canvas.is_empty()
    shot = canvas.grab().toImage()
    assert QColor(shot.pixel(at(canvas, 32, 32))).red() > 200


def test_wheel_zoom_keeps_the_pointed_pixel_and_middle_drag_pans_without_painting(qtbot, canvas):
    anchor = QPointF(at(canvas, 20, 20))
    before = canvas.to_image(anchor)
    canvas.zoom_by(2.0, anchor)
    after = canvas.to_image(anchor)
    assert abs(before.x() - after.x()) < 1e-6 and canvas.view_scale() > 4
    start = canvas.image_rect_in_widget().topLeft()
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(130, 90))
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(130, 90))
    moved = canvas.image_rect_in_widget().topLeft() - start
    assert (round(moved.x()), round(moved.y())) == (30, -10)
    assert canvas.is_empty()


def test_a_new_generation_size_scales_the_drawing(canvas):
    canvas.fill(QColor("black"))
    canvas.set_canvas_size(128, 96)
    assert (canvas.layer().width(), canvas.layer().height()) == (128, 96)
    assert alpha(canvas).min() == 255
    canvas.undo_stack.undo()
    assert canvas.layer().width() == 64


def test_toolbar_switches_tools_and_sizes(qtbot, canvas):
    toolbar = SketchToolbar(canvas)
    qtbot.addWidget(toolbar)
    toolbar.eraser.trigger()
    assert canvas.tool == ERASER
    toolbar.size.setValue(30)
    assert canvas.brush_size == 30
    toolbar.opacity.setValue(40)
    assert canvas.brush_opacity == pytest.approx(0.4)
    canvas.fill(QColor("black"))
    toolbar.undo.trigger()
    assert canvas.is_empty()


def test_the_sketch_and_its_reference_come_back_after_a_restart(qtbot, tmp_path):
    from studio.state.canvas_store import CanvasStore
    from studio.ui.canvas.sketch_page import SketchPage

    photo = tmp_path / "photo.png"
    image = QImage(128, 64, QImage.Format.Format_RGB32)
    image.fill(QColor("green"))
    image.save(str(photo))
    page = SketchPage(CanvasStore(tmp_path / "session"))
    qtbot.addWidget(page)
    page.canvas.set_canvas_size(64, 64)
    assert page.load_reference(str(photo))
    page.canvas.brush_size = 3
    page.canvas.begin_stroke(QPointF(5, 5))
    page.canvas.continue_stroke(QPointF(60, 5))
    page.canvas.end_stroke()
    page.store.flush()
    drawn = qimage_to_rgba(page.canvas.layer())

    restarted = SketchPage(CanvasStore(tmp_path / "session"))
    qtbot.addWidget(restarted)
    restarted.restore(64, 64)
    assert (qimage_to_rgba(restarted.canvas.layer()) == drawn).all()
    assert restarted.canvas.reference is not None
    assert restarted.canvas.reference.pixelColor(32, 32).green() > 100
    assert restarted.canvas.undo_stack.count() == 0


def test_importing_a_sketch_is_one_undo_step_and_a_bad_file_is_explained(qtbot, tmp_path):
    from studio.state.canvas_store import CanvasStore
    from studio.ui.canvas.sketch_page import SketchPage

    page = SketchPage(CanvasStore(tmp_path / "session"))
    qtbot.addWidget(page)
    page.canvas.set_canvas_size(64, 64)
    drawing = QImage(32, 32, QImage.Format.Format_ARGB32)
    drawing.fill(QColor("black"))
    drawing.save(str(tmp_path / "drawing.png"))
    assert page.import_sketch(str(tmp_path / "drawing.png"))
    assert alpha(page.canvas).min() == 255 and page.canvas.layer().width() == 64
    page.canvas.undo_stack.undo()
    assert page.canvas.is_empty()
    (tmp_path / "broken.png").write_bytes(b"nope")
    with qtbot.waitSignal(page.error) as said:
        assert not page.import_sketch(str(tmp_path / "broken.png"))
    assert "broken.png" in said.args[0]

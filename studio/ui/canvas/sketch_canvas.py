"""The sketch canvas: brush and eraser on a layer at the generation size, over paper and a reference photo.

Painting is incremental: each pointer move paints one segment into a stroke buffer (opaque), then recomposes
only that segment's rectangle of the layer from the layer as it was when the stroke began plus the buffer at
the brush opacity. Overlapping segments so never darken each other, and a move costs a few thousand pixels,
not the whole canvas; only the matching widget rectangle is repainted. A finished stroke is one undo step.

The same class paints inpainting masks: no paper, the picture to inpaint as the reference, a red brush and the
layer shown half transparent (see ``MaskPainter``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QTabletEvent,
    QUndoStack,
)
from PySide6.QtWidgets import QWidget

from studio.ui.canvas.layer_pixels import LAYER_FORMAT, new_layer
from studio.ui.canvas.paint_view import PaintView
from studio.ui.canvas.sketch_commands import ReplaceCommand, StrokeCommand

BRUSH, ERASER = "brush", "eraser"
UNDO_LIMIT = 100
PAPER, INK = QColor("white"), QColor("black")
_MIN_PRESSURE = 0.1  # a feather-light touch still leaves a line


class SketchCanvas(PaintView):
    """``changed`` fires after every finished edit (stroke, undo, redo, fill, import, resize)."""

    changed = Signal()
    stroking = Signal()  # the stroke under way moved (live mode throttles these)

    def __init__(
        self,
        width: int = 512,
        height: int = 512,
        *,
        paper: QColor | None = PAPER,
        colour: QColor = INK,
        layer_opacity: float = 1.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.paper = QColor(paper) if paper is not None else None
        self.colour = QColor(colour)
        self.layer_opacity = layer_opacity
        self.tool = BRUSH
        self.brush_size = 8.0
        self.brush_opacity = 1.0
        self.reference: QImage | None = None
        self.reference_opacity = 0.5
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.undo_stack.indexChanged.connect(self._stack_moved)
        self._layer = new_layer(width, height)
        self._buffer = new_layer(width, height)
        self._base: QImage | None = None  # the layer when the current stroke began
        self._stroke_rect = QRect()
        self._last: QPointF | None = None  # the end of the last stroke, for Shift-click lines
        self._pointer: QPointF | None = None  # stroke position in image pixels while drawing
        self._hover: QPointF | None = None  # widget position, for the brush outline
        self._set_image_size(self._layer.size())
        self.setAccessibleName("Sketch canvas")

    def _stack_moved(self, _index: int) -> None:
        self.changed.emit()

    # --- the layer ------------------------------------------------------------------------------------

    def layer(self) -> QImage:
        return self._layer

    def is_empty(self) -> bool:
        return self._layer.isNull() or not np.frombuffer(self._layer.constBits(), np.uint8).any()

    def set_layer(self, image: QImage) -> None:
        """Show ``image`` as the layer (no undo step: used by restore and by undo itself)."""
        self._layer = image.convertToFormat(LAYER_FORMAT)
        self._buffer = new_layer(self._layer.width(), self._layer.height())
        self._set_image_size(self._layer.size())
        self.update()

    def replace_layer(self, image: QImage, text: str) -> None:
        """Change the whole layer as one undo step."""
        after = image.convertToFormat(LAYER_FORMAT)
        self.undo_stack.push(ReplaceCommand(self.set_layer, self._layer.copy(), after, text))

    def set_canvas_size(self, width: int, height: int) -> None:
        """Follow the generation size; a drawing is scaled with it (one undo step)."""
        if (width, height) == (self._layer.width(), self._layer.height()):
            return
        if self.is_empty():
            self.set_layer(new_layer(width, height))
            self.changed.emit()  # nothing to undo, but the saved (blank) sketch must take the new size
            return
        scaled = self._layer.scaled(
            width, height, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.replace_layer(scaled, f"Resize to {width}×{height}")

    def clear(self) -> None:
        self.replace_layer(new_layer(self._layer.width(), self._layer.height()), "Clear")

    def fill(self, colour: QColor) -> None:
        image = new_layer(self._layer.width(), self._layer.height())
        image.fill(colour)
        self.replace_layer(image, f"Fill {colour.name()}")

    def import_drawing(self, image: QImage) -> None:
        """Use a picture as the drawing, scaled to the canvas size."""
        self.replace_layer(self._fitted(image), "Import sketch")

    def set_reference(self, image: QImage | None) -> None:
        """Show ``image`` under the drawing (cropped to the canvas shape); it is never part of the drawing."""
        self.reference = None if image is None or image.isNull() else self._fitted(image)
        self.update()

    def set_reference_opacity(self, opacity: float) -> None:
        self.reference_opacity = max(0.0, min(1.0, opacity))
        self.update()

    def _fitted(self, image: QImage) -> QImage:
        """``image`` covering the canvas (aspect kept, centred crop)."""
        size = self._layer.size()
        scaled = image.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatioByExpanding, Qt.TransformationMode.SmoothTransformation
        )
        x, y = (scaled.width() - size.width()) // 2, (scaled.height() - size.height()) // 2
        return scaled.copy(x, y, size.width(), size.height()).convertToFormat(LAYER_FORMAT)

    # --- strokes (also the benchmark's entry points) ---------------------------------------------------

    def begin_stroke(self, point: QPointF, pressure: float = 1.0) -> None:
        self._base = self._layer.copy()
        self._stroke_rect = QRect()
        self._pointer = QPointF(point)
        self._segment(point, point, pressure)

    def continue_stroke(self, point: QPointF, pressure: float = 1.0) -> None:
        if self._base is None or self._pointer is None:
            return
        self._segment(self._pointer, point, pressure)
        self._pointer = QPointF(point)
        self.stroking.emit()

    def end_stroke(self, text: str = "Stroke") -> None:
        if self._base is None:
            return
        rect = self._stroke_rect
        if not rect.isEmpty():
            command = StrokeCommand(
                lambda: self._layer,
                rect,
                self._base.copy(rect),
                self._layer.copy(rect),
                self._repaint_rect,
                text,
            )
            self.undo_stack.push(command)  # its indexChanged emits ``changed``
        painter = QPainter(self._buffer)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        painter.fillRect(rect, Qt.GlobalColor.transparent)
        painter.end()
        self._last, self._base, self._pointer = self._pointer, None, None

    def line_to(self, point: QPointF, pressure: float = 1.0) -> None:
        """A straight line from the end of the last stroke (Shift-click); a plain dot when there is none."""
        start = self._last if self._last is not None else point
        self.begin_stroke(start, pressure)
        self.continue_stroke(point, pressure)
        self.end_stroke("Line")

    def _segment(self, start: QPointF, end: QPointF, pressure: float) -> None:
        width = max(1.0, self.brush_size * max(_MIN_PRESSURE, min(1.0, pressure)))
        painter = QPainter(self._buffer)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(self.colour)
        colour.setAlpha(255)  # the buffer is opaque; the brush opacity applies once, when composing
        painter.setPen(
            QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        )
        if start == end:
            painter.drawPoint(start)
        else:
            painter.drawLine(start, end)
        painter.end()
        reach = width / 2 + 2
        rect = (
            QRectF(start, end).normalized().adjusted(-reach, -reach, reach, reach).toAlignedRect()
            & self._layer.rect()
        )
        if rect.isEmpty():
            return
        self._compose(rect)
        self._stroke_rect |= rect
        self._repaint_rect(rect)

    def _compose(self, rect: QRect) -> None:
        """The layer inside ``rect`` = the layer before the stroke + the stroke buffer at the brush opacity."""
        painter = QPainter(self._layer)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(rect.topLeft(), self._base, rect)
        painter.setOpacity(self.brush_opacity)
        painter.setCompositionMode(
            QPainter.CompositionMode.CompositionMode_DestinationOut
            if self.tool == ERASER
            else QPainter.CompositionMode.CompositionMode_SourceOver
        )
        painter.drawImage(rect.topLeft(), self._buffer, rect)
        painter.end()

    def _repaint_rect(self, rect: QRect) -> None:
        self.update(self.to_widget(rect))

    # --- drawing on screen ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        exposed = QRectF(event.rect())
        painter.fillRect(event.rect(), self.palette().color(self.backgroundRole()).darker(115))
        target = self.image_rect_in_widget() & exposed
        if not target.isEmpty():
            scale = self.view_scale()
            source = QRectF(
                (target.x() - self.image_rect_in_widget().x()) / scale,
                (target.y() - self.image_rect_in_widget().y()) / scale,
                target.width() / scale,
                target.height() / scale,
            )
            # Zoomed in, show crisp pixels; zoomed out, average them.
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1)
            if self.paper is not None:
                painter.fillRect(target, self.paper)
            if self.reference is not None:
                painter.setOpacity(self.reference_opacity)
                painter.drawImage(target, self.reference, source)
            painter.setOpacity(self.layer_opacity)
            painter.drawImage(target, self._layer, source)
            painter.setOpacity(1.0)
        if self._hover is not None and not self.panning():
            radius = self.brush_size * self.view_scale() / 2
            for colour, width in ((QColor(0, 0, 0, 160), 3), (QColor(255, 255, 255, 220), 1)):
                painter.setPen(QPen(colour, width))
                painter.drawEllipse(self._hover, radius, radius)
        painter.end()

    def _move_hover(self, position: QPointF | None) -> None:
        reach = self.brush_size * self.view_scale() / 2 + 4
        for point in (self._hover, position):
            if point is not None:
                self.update(
                    QRectF(point.x() - reach, point.y() - reach, 2 * reach, 2 * reach).toAlignedRect()
                )
        self._hover = position

    # --- pointer events -------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.start_pan(event):
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.to_image(event.position())
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.line_to(point)
        else:
            self.begin_stroke(point)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.move_pan(event):
            return
        self._move_hover(event.position())
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.continue_stroke(self.to_image(event.position()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.end_pan():
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self.end_stroke()

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._move_hover(None)
        super().leaveEvent(event)

    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: N802 - Qt override
        # Accepted tablet events are not repeated as mouse events, so pressure reaches every segment.
        point, pressure = self.to_image(event.position()), event.pressure()
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.line_to(point, pressure)
            else:
                self.begin_stroke(point, pressure)
        elif kind == QTabletEvent.Type.TabletMove:
            self._move_hover(event.position())
            self.continue_stroke(point, pressure)
        elif kind == QTabletEvent.Type.TabletRelease:
            self.end_stroke()
        event.accept()

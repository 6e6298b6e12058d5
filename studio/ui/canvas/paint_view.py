"""Zoom and pan for the paint canvases: the wheel zooms around the cursor, space-drag or the middle button pans.

``PaintView`` keeps the view transform (scale and the widget position of the image's top-left corner) and
leaves painting to its subclasses; it fits the image to the widget until the artist zooms.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_ZOOM, MAX_ZOOM = 0.1, 16.0
_MARGIN = 12  # room around a fitted image so its edge can be painted up to


class PaintView(QWidget):
    zoom_changed = Signal(float)  # the scale shown now (1.0: one image pixel per screen pixel)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self._image_size = QSize(512, 512)
        self._scale = 1.0
        self._offset = QPointF(0, 0)
        self._fit = True
        self._space = False
        self._pan_from: QPointF | None = None

    # --- the transform --------------------------------------------------------------------------------

    def image_size(self) -> QSize:
        return QSize(self._image_size)

    def view_scale(self) -> float:
        return self._scale

    def to_image(self, point: QPointF) -> QPointF:
        """A widget position in image pixels."""
        return (point - self._offset) / self._scale

    def to_widget(self, rect: QRectF | QRect) -> QRect:
        """An image rectangle in widget pixels (rounded outwards, so an update covers it whole)."""
        rect = QRectF(rect)
        return (
            QRectF(
                rect.x() * self._scale + self._offset.x(),
                rect.y() * self._scale + self._offset.y(),
                rect.width() * self._scale,
                rect.height() * self._scale,
            )
            .toAlignedRect()
            .adjusted(-1, -1, 1, 1)
        )

    def image_rect_in_widget(self) -> QRectF:
        return QRectF(self._offset, QSize(self._image_size.width(), self._image_size.height()) * self._scale)

    def _set_image_size(self, size: QSize) -> None:
        self._image_size = QSize(size)
        if self._fit:
            self.zoom_fit()
        else:
            self.update()

    # --- zoom and pan ---------------------------------------------------------------------------------

    def zoom_fit(self) -> None:
        self._fit = True
        width, height = self._image_size.width(), self._image_size.height()
        room_w, room_h = max(1, self.width() - 2 * _MARGIN), max(1, self.height() - 2 * _MARGIN)
        self._scale = max(MIN_ZOOM, min(MAX_ZOOM, room_w / width, room_h / height))
        self._offset = QPointF(
            (self.width() - width * self._scale) / 2, (self.height() - height * self._scale) / 2
        )
        self.update()
        self.zoom_changed.emit(self._scale)

    def set_zoom(self, scale: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``scale`` keeping the image point under ``anchor`` (default: the centre) in place."""
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        scale = min(MAX_ZOOM, max(MIN_ZOOM, scale))
        fixed = self.to_image(anchor)
        self._fit = False
        self._scale = scale
        self._offset = anchor - fixed * scale
        self.update()
        self.zoom_changed.emit(scale)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self._scale * factor, anchor)

    def pan_by(self, delta: QPointF) -> None:
        self._fit = False
        self._offset += delta
        self.update()

    def panning(self) -> bool:
        return self._pan_from is not None

    # --- events ---------------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        if self._fit:
            self.zoom_fit()
        super().resizeEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.25**steps, event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def start_pan(self, event: QMouseEvent) -> bool:
        """Begin panning for a middle press or a space-held left press; True when the press was taken."""
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return True
        return False

    def move_pan(self, event: QMouseEvent) -> bool:
        if self._pan_from is None:
            return False
        self.pan_by(event.position() - self._pan_from)
        self._pan_from = event.position()
        return True

    def end_pan(self) -> bool:
        if self._pan_from is None:
            return False
        self._pan_from = None
        if self._space:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.unsetCursor()
        return True

"""The picture being made: step previews scaled smoothly to the output size, then the final image.

Both fit the view by default, scaled up as well as down (a 512 px result fills a large canvas, smoothly); Ctrl+1
or a double-click shows one image pixel per screen pixel, and the same again goes back to fitting.
A tab widget: the sketch, inpaint and pose canvases join as tabs.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QLabel, QScrollArea, QSizePolicy, QTabWidget, QVBoxLayout, QWidget


def array_to_qimage(array: np.ndarray) -> QImage:
    """An HxWx3 uint8 array as a QImage that owns its pixels (the array may be reused by the caller)."""
    array = np.ascontiguousarray(array[..., :3], dtype=np.uint8)
    height, width = array.shape[:2]
    return QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ImageLabel(QLabel):
    """Paints its pixmap fitted to its size (zoom to fit) or at a set scale inside a scroll area."""

    double_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap = QPixmap()
        self.fit = True
        self.scale = 1.0  # used when not fitting
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, pixmap: QPixmap) -> None:
        self._pixmap = pixmap
        self.setText("")
        self._update_size()
        self.update()

    def image(self) -> QPixmap:
        return self._pixmap

    def set_fit(self, fit: bool, scale: float = 1.0) -> None:
        self.fit = fit
        self.scale = scale
        self._update_size()
        self.update()

    def shown_scale(self) -> float:
        """How large the picture is drawn now, 1.0 being one image pixel per screen pixel."""
        if self._pixmap.isNull():
            return 1.0
        if not self.fit:
            return self.scale
        fitted = self._pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return fitted.width() / max(1, self._pixmap.width())

    def _update_size(self) -> None:
        if not self.fit and not self._pixmap.isNull():
            self.setFixedSize(self._pixmap.size() * self.scale)
        else:
            self.setMinimumSize(QSize(0, 0))
            self.setMaximumSize(QSize(16777215, 16777215))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        if self._pixmap.isNull():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        size = self._pixmap.size() * (1.0 if self.fit else self.scale)
        if self.fit:  # up as well as down: a small picture in a large view is hard to judge
            size = size.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x, y = (self.width() - size.width()) // 2, (self.height() - size.height()) // 2
        painter.drawPixmap(x, y, size.width(), size.height(), self._pixmap)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and not self._pixmap.isNull():
            self.double_clicked.emit()
        else:
            super().mouseDoubleClickEvent(event)


class CanvasView(QWidget):
    """``show_preview`` for steps, ``show_image`` for the result; ``zoom_fit``/``zoom_100`` for the view."""

    zoom_changed = Signal(bool)  # True: fit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Canvases")
        self.label = ImageLabel()
        self.label.setObjectName("canvasImage")
        self.label.setAccessibleName("Current image")
        self.label.setToolTip(
            "The picture being made, fitted to the view. Ctrl+1 or a double-click shows it at 100 % "
            "(again: back to fit); Ctrl+0 fits it."
        )
        self.label.double_clicked.connect(self.toggle_100)
        self.label.setText("Your picture appears here.\nWrite a prompt and press Generate (Ctrl+Enter).")
        self.scroll = QScrollArea(self)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll.setWidget(self.label)
        self.scroll.setWidgetResizable(True)
        self.tabs.addTab(self.scroll, "Image")
        self.tabs.setTabToolTip(0, "The generated picture")
        layout.addWidget(self.tabs)
        self.previews_shown = 0

    def show_preview(self, array: np.ndarray, output_size: tuple[int, int]) -> None:
        """Show a small preview array, scaled smoothly to the output size so the picture does not jump."""
        image = array_to_qimage(array).scaled(
            output_size[0],
            output_size[1],
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.previews_shown += 1
        self.label.set_image(QPixmap.fromImage(image))

    def show_image(self, image: QImage | QPixmap) -> None:
        pixmap = image if isinstance(image, QPixmap) else QPixmap.fromImage(image)
        self.label.set_image(pixmap)

    def current_pixmap(self) -> QPixmap:
        return self.label.image()

    def zoom_fit(self) -> None:
        self.scroll.setWidgetResizable(True)
        self.label.set_fit(True)
        self.zoom_changed.emit(True)

    def zoom_100(self) -> None:
        """One image pixel per screen pixel; asked again while there, back to fitting the view."""
        self.toggle_100()

    def toggle_100(self) -> None:
        if not self.label.fit and self.label.scale == 1.0:
            self.zoom_fit()
        else:
            self.set_zoom(1.0)

    def zoom_by(self, factor: float) -> None:
        """Zoom in (factor > 1) or out from the size shown now, between 10 % and 800 %."""
        self.set_zoom(min(8.0, max(0.1, self.label.shown_scale() * factor)))

    def set_zoom(self, scale: float) -> None:
        self.scroll.setWidgetResizable(False)
        self.label.set_fit(False, scale)
        self.zoom_changed.emit(False)

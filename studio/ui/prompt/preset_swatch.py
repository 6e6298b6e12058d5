"""A small picture of a preset for its picker: the palette of a style or lighting, the framing of a composition.

Drawn from the preset data (``swatch`` colours, a ``frame`` box; see ``studio.prompt.presets``); a preset with
neither gets no picture and reads as before.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from studio.prompt.presets import Preset

SWATCH_SIZE = QSize(22, 14)  # small: the picker's field is about 200 px wide


def preset_icon(preset: Preset, size: QSize = SWATCH_SIZE) -> QIcon | None:
    """The preset's picture as an icon, or None when its data has none."""
    if preset.swatch:
        return QIcon(_palette(preset.swatch, size))
    if preset.frame is not None:
        return QIcon(_framing(preset.frame, size))
    return None


def _canvas(size: QSize) -> tuple[QPixmap, QPainter]:
    pixmap = QPixmap(size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pixmap, painter


def _palette(colours: tuple[str, ...], size: QSize) -> QPixmap:
    """Vertical stripes of the colours in a rounded box, the first one widest (the dominant colour)."""
    pixmap, painter = _canvas(size)
    box = QRectF(0.5, 0.5, size.width() - 1, size.height() - 1)
    outline = QPainterPath()
    outline.addRoundedRect(box, 3, 3)
    painter.setClipPath(outline)
    weights = [2.0] + [1.0] * (len(colours) - 1)
    x = box.left()
    for colour, weight in zip(colours, weights, strict=True):
        width = box.width() * weight / sum(weights)
        painter.fillRect(QRectF(x, box.top(), width + 0.5, box.height()), QColor(colour))
        x += width
    painter.setClipping(False)
    painter.setPen(QPen(QColor(128, 128, 128, 160), 1))
    painter.drawPath(outline)
    painter.end()
    return pixmap


def _framing(frame: tuple[float, float, float, float], size: QSize) -> QPixmap:
    """The picture's frame with the subject's box filled in: how much of the frame the subject takes."""
    pixmap, painter = _canvas(size)
    box = QRectF(0.5, 0.5, size.width() - 1, size.height() - 1)
    painter.setPen(QPen(QColor(150, 150, 150), 1))
    painter.setBrush(QColor(60, 60, 60, 120))
    painter.drawRoundedRect(box, 2, 2)
    x, y, w, h = frame
    subject = QRectF(
        box.left() + x * box.width(), box.top() + y * box.height(), w * box.width(), h * box.height()
    )
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(110, 170, 240))
    painter.drawRoundedRect(subject.adjusted(0.5, 0.5, -0.5, -0.5), 1.5, 1.5)
    painter.end()
    return pixmap

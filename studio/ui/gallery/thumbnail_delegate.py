"""Paints one gallery cell: the thumbnail centred, a soft frame on hover and an accent frame when selected."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from studio.ui.shell import theme

_RADIUS = 6.0


class ThumbnailDelegate(QStyledItemDelegate):
    def __init__(self, cell: int, parent=None) -> None:
        super().__init__(parent)
        self._cell = cell

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        return QSize(self._cell, self._cell)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        cell = QRectF(option.rect).adjusted(2, 2, -2, -2)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            size = pixmap.deviceIndependentSize()
            inner = cell.adjusted(4, 4, -4, -4)
            scale = min(1.0, inner.width() / size.width(), inner.height() / size.height())
            w, h = size.width() * scale, size.height() * scale
            target = QRectF(inner.center().x() - w / 2, inner.center().y() - h / 2, w, h)
            clip = QPainterPath()
            clip.addRoundedRect(target, 3, 3)
            painter.setClipPath(clip)
            painter.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
            painter.setClipping(False)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hovered:
            colour = theme.colour("accent") if selected else theme.colour("border")
            painter.setPen(QPen(colour, 2.5 if selected else 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(cell, _RADIUS, _RADIUS)
        painter.restore()

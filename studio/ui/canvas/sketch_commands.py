"""Undo steps of a paint layer: a stroke keeps only the patch it changed, a fill or import the whole layer."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QPainter, QUndoCommand


def put_patch(target: QImage, patch: QImage, at: QPoint) -> None:
    """Replace (not blend) the pixels of ``target`` under ``patch``; transparent pixels stay transparent."""
    painter = QPainter(target)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    painter.drawImage(at, patch)
    painter.end()


class StrokeCommand(QUndoCommand):
    """One stroke (or straight line): the pixels of ``rect`` before and after it.

    The stroke is already painted when the command is pushed, so the first ``redo`` (which ``QUndoStack.push``
    calls) does nothing.
    """

    def __init__(
        self,
        layer: Callable[[], QImage],
        rect: QRect,
        before: QImage,
        after: QImage,
        changed: Callable[[QRect], None],
        text: str = "Stroke",
    ) -> None:
        super().__init__(text)
        self._layer = layer
        self._rect = QRect(rect)
        self._before = before
        self._after = after
        self._changed = changed
        self._first = True

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        put_patch(self._layer(), self._after, self._rect.topLeft())
        self._changed(self._rect)

    def undo(self) -> None:
        put_patch(self._layer(), self._before, self._rect.topLeft())
        self._changed(self._rect)


class ReplaceCommand(QUndoCommand):
    """A change of the whole layer (clear, fill, imported sketch, new size): both images are kept."""

    def __init__(
        self,
        set_layer: Callable[[QImage], None],
        before: QImage,
        after: QImage,
        text: str,
    ) -> None:
        super().__init__(text)
        self._set_layer = set_layer
        self._before = before
        self._after = after

    def redo(self) -> None:
        self._set_layer(self._after.copy())

    def undo(self) -> None:
        self._set_layer(self._before.copy())

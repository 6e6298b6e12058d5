"""A text box as tall as its text: a two-line prompt takes two lines (plus one to type on), a long one grows
up to a limit and then scrolls, and the room left goes to what needs it (the final prompt)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QPlainTextEdit


class GrowWithText(QObject):
    """Keeps ``edit`` between ``min_lines`` and ``max_lines`` of text tall, fitted to its wrapped text."""

    def __init__(self, edit: QPlainTextEdit, min_lines: int, max_lines: int) -> None:
        super().__init__(edit)
        self.edit = edit
        self.min_lines, self.max_lines = min_lines, max_lines
        edit.textChanged.connect(self.fit)
        edit.viewport().installEventFilter(self)  # a narrower box wraps into more lines
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def lines(self) -> int:
        """How many lines the text takes at the box's width, wrapped as the box wraps it (one more to type on
        when the last line is full), within the limits."""
        edit = self.edit
        metrics = QFontMetrics(edit.font())
        margin = edit.document().documentMargin()
        width = max(20, int(edit.viewport().width() - 2 * margin))
        count = 0
        for paragraph in edit.toPlainText().split("\n"):
            box = metrics.boundingRect(
                QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap, paragraph or " "
            )
            count += max(1, round(box.height() / metrics.lineSpacing()))
        return max(self.min_lines, min(self.max_lines, count + 1))

    def height_for(self, lines: int) -> int:
        edit = self.edit
        margins = edit.contentsMargins()
        text = lines * QFontMetrics(edit.font()).lineSpacing() + 2 * edit.document().documentMargin()
        return int(text + margins.top() + margins.bottom() + 2)

    def fit(self) -> None:
        height = self.height_for(self.lines())
        if self.edit.height() != height or self.edit.minimumHeight() != height:
            self.edit.setFixedHeight(height)

"""Trigger-word chips: small buttons that wrap onto new lines; clicking one puts the word into the prompt."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QToolButton, QWidget

from studio.prompt.literal_text import escape_brackets, unescape_brackets


class FlowLayout(QLayout):
    """Lays items out left to right, wrapping to a new line when the width runs out (Qt has no such layout)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _arrange(self, rect: QRect, move: bool) -> int:
        x, y, line_height = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and line_height:
                x, y = rect.x(), y + line_height + self._spacing
                line_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y()


class TriggerChips(QWidget):
    """One chip per trigger word, shown as read (``smart falcon (umamusume)``); ``word_clicked`` gives the word
    as prompt text, its brackets escaped (``smart falcon \\(umamusume\\)``) so they are not read as weights."""

    word_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._words: tuple[str, ...] = ()

    def words(self) -> tuple[str, ...]:
        return self._words

    def chip(self, word: str) -> QToolButton:
        """The chip showing ``word`` (for tests and keyboard focus)."""
        return next(b for b in self.findChildren(QToolButton) if b.property("word") == word)

    def set_words(self, words: Sequence[str]) -> None:
        words = tuple(words)
        if words == self._words:
            return
        self._words = words
        while (item := self._layout.takeAt(0)) is not None:
            if item.widget() is not None:
                item.widget().deleteLater()
        for word in words:
            shown, inserted = unescape_brackets(word), escape_brackets(word)
            button = QToolButton(self)
            button.setText(shown if len(shown) <= 28 else shown[:27] + "…")
            button.setProperty("word", word)
            button.setToolTip(f"Insert “{shown}” into the prompt at the cursor.")
            button.setAccessibleName(f"Insert trigger word {shown}")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _checked=False, w=inserted: self.word_clicked.emit(w))
            self._layout.addWidget(button)
        self.setVisible(bool(words))
        self.updateGeometry()

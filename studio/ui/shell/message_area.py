"""A non-modal strip of plain-sentence messages above the canvas.

Errors stay until the artist dismisses them; notices too (they ask for attention); infos fade after a few
seconds. A traceback or other detail is one click away behind "Details", never a modal dialog.
"""

from __future__ import annotations

from PySide6.QtCore import QPropertyAnimation, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsOpacityEffect,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

INFO_TIMEOUT_MS = 5000
FADE_MS = 400
MAX_MESSAGES = 5  # older ones go first: a strip that grows without end hides the canvas


class MessageRow(QFrame):
    """One message: a sentence, an optional "Details" toggle with the detail text, and a close button."""

    dismissed = Signal()

    def __init__(
        self, kind: str, message: str, detail: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setProperty("messageKind", kind)
        self.setAccessibleName(f"{kind.capitalize()} message")
        self.setAccessibleDescription(message)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 4, 4, 4)
        outer.setSpacing(4)
        row = QHBoxLayout()
        row.setSpacing(6)
        outer.addLayout(row)

        self.label = QLabel(message, self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.label.setAccessibleName("Message text")
        row.addWidget(self.label, 1)

        self.details_button: QToolButton | None = None
        self.detail_view: QPlainTextEdit | None = None
        if detail:
            self.details_button = QToolButton(self)
            self.details_button.setText("Details")
            self.details_button.setCheckable(True)
            self.details_button.setToolTip("Show or hide the technical details (useful for a bug report)")
            self.details_button.setAccessibleName("Show details")
            row.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignVCenter)  # level with the text
            self.detail_view = QPlainTextEdit(detail, self)
            self.detail_view.setReadOnly(True)
            self.detail_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            self.detail_view.setMaximumHeight(160)
            self.detail_view.setAccessibleName("Message details")
            self.detail_view.setToolTip("Technical details; select and copy them for a bug report")
            self.detail_view.setVisible(False)
            outer.addWidget(self.detail_view)
            self.details_button.toggled.connect(self.detail_view.setVisible)

        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.setAccessibleName("Dismiss message")
        self.close_button.clicked.connect(self.dismissed)
        row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignVCenter)

    @property
    def message(self) -> str:
        return self.label.text()


class MessageArea(QWidget):
    """The strip itself. It takes no room while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Messages")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._rows: list[MessageRow] = []
        self.setVisible(False)

    def show_error(self, message: str, detail: str | None = None) -> None:
        """An error the artist must see; stays until dismissed. ``detail`` (a traceback) hides behind Details."""
        self._add(MessageRow("error", message, detail, self))

    def show_notice(self, message: str) -> None:
        """Something the artist should know (a size was rounded); stays until dismissed."""
        self._add(MessageRow("notice", message, None, self))

    def show_info(self, message: str) -> None:
        """A passing note ("Saved to ..."); fades by itself."""
        row = MessageRow("info", message, None, self)
        self._add(row)
        timer = QTimer(row)
        timer.setSingleShot(True)
        timer.timeout.connect(lambda: self._fade_out(row))
        timer.start(INFO_TIMEOUT_MS)

    def clear(self) -> None:
        for row in list(self._rows):
            self._remove(row)

    def messages(self) -> list[tuple[str, str]]:
        """The shown messages as (kind, text), oldest first."""
        return [(row.kind, row.message) for row in self._rows]

    def rows(self) -> list[MessageRow]:
        return list(self._rows)

    def _add(self, row: MessageRow) -> None:
        # The same sentence twice in a row (a retried failure) would only push the canvas down.
        if self._rows and (self._rows[-1].kind, self._rows[-1].message) == (row.kind, row.message):
            self._remove(self._rows[-1])
        row.dismissed.connect(lambda: self._remove(row))
        self._rows.append(row)
        self._layout.addWidget(row)
        while len(self._rows) > MAX_MESSAGES:
            self._remove(self._rows[0])
        self.setVisible(True)

    def _fade_out(self, row: MessageRow) -> None:
        effect = QGraphicsOpacityEffect(row)
        row.setGraphicsEffect(effect)
        animation = QPropertyAnimation(effect, b"opacity", row)
        animation.setDuration(FADE_MS)
        animation.setStartValue(1.0)
        animation.setEndValue(0.0)
        animation.finished.connect(lambda: self._remove(row))
        animation.start()

    def _remove(self, row: MessageRow) -> None:
        if row not in self._rows:
            return
        self._rows.remove(row)
        self._layout.removeWidget(row)
        row.hide()
        row.deleteLater()
        self.setVisible(bool(self._rows))

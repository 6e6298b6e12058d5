"""A non-modal strip of plain-sentence messages above the canvas: one banner at a time, the rest in the log.

Errors stay until the artist dismisses them or what caused them is dealt with: a message posted with a
``source`` ("generation", "model") is withdrawn by ``resolve(source)`` (the next generation started or
succeeded, another model was chosen). Notices stay too (they ask for attention); infos fade after a few
seconds. Only one banner shows, the most serious and newest of the pending messages, so messages never stack
up and push the canvas down; "N more" on it opens the message log, which keeps every message of the session.
A traceback or other detail is one click away behind "Details", never a modal dialog.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import count

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

from studio.ui.shell.message_log import MessageLog

INFO_TIMEOUT_MS = 5000
FADE_MS = 400
MAX_MESSAGES = 5  # pending messages kept at most: older ones go first (they stay in the log)
LOG_LIMIT = 200  # messages the log keeps for the session
_SEVERITY = {"error": 2, "notice": 1, "info": 0}
_ids = count(1)


@dataclass
class Message:
    """One message as posted: what it says, and what caused it (``source``, "" when nothing will withdraw it)."""

    kind: str
    text: str
    detail: str | None = None
    source: str = ""
    at: float = field(default_factory=time.time)
    id: int = field(default_factory=lambda: next(_ids))


class MessageRow(QFrame):
    """The banner: a sentence, "N more" (the log), an optional "Details" toggle and a close button."""

    dismissed = Signal()
    log_requested = Signal()

    def __init__(self, message: Message, others: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = message.kind
        self.source = message.source
        self.setProperty("messageKind", message.kind)
        self.setAccessibleName(f"{message.kind.capitalize()} message")
        self.setAccessibleDescription(message.text)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 4, 4, 4)
        outer.setSpacing(4)
        row = QHBoxLayout()
        row.setSpacing(6)
        outer.addLayout(row)

        self.label = QLabel(message.text, self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.label.setAccessibleName("Message text")
        row.addWidget(self.label, 1)

        self.more_button = QToolButton(self)
        self.more_button.setToolTip("Show the other messages of this session in the message log")
        self.more_button.setAccessibleName("Show the other messages")
        self.more_button.clicked.connect(self.log_requested)
        row.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.set_others(others)

        self.details_button: QToolButton | None = None
        self.detail_view: QPlainTextEdit | None = None
        if message.detail:
            self.details_button = QToolButton(self)
            self.details_button.setText("Details")
            self.details_button.setCheckable(True)
            self.details_button.setToolTip("Show or hide the technical details (useful for a bug report)")
            self.details_button.setAccessibleName("Show details")
            row.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignVCenter)  # level with the text
            self.detail_view = QPlainTextEdit(message.detail, self)
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

    def set_others(self, others: int) -> None:
        """How many other messages wait behind this one (shown as "N more", which opens the log)."""
        self.more_button.setText(f"{others} more")
        self.more_button.setVisible(others > 0)


class MessageArea(QWidget):
    """The strip itself. It takes no room while nothing is pending.

    ``changed`` fires whenever the pending messages change (posted, dismissed, resolved, faded).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Messages")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._pending: list[Message] = []
        self._log: list[Message] = []
        self._row: MessageRow | None = None
        self._shown: Message | None = None
        self._log_view: MessageLog | None = None
        self.setVisible(False)

    # --- posting ----------------------------------------------------------------------------------------

    def show_error(self, message: str, detail: str | None = None, source: str = "") -> None:
        """An error the artist must see; stays until dismissed or ``resolve(source)``. ``detail`` (a traceback)
        hides behind Details."""
        self._add(Message("error", message, detail or None, source))

    def show_notice(self, message: str, source: str = "") -> None:
        """Something the artist should know (a size was rounded); stays until dismissed."""
        self._add(Message("notice", message, None, source))

    def show_info(self, message: str, source: str = "") -> None:
        """A passing note ("Saved to ..."); fades by itself."""
        posted = Message("info", message, None, source)
        self._add(posted)
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(lambda: (self._expire(posted), timer.deleteLater()))
        timer.start(INFO_TIMEOUT_MS)

    def resolve(self, source: str) -> None:
        """What caused ``source``'s messages was dealt with: they leave the strip (the log keeps them)."""
        if source and any(m.source == source for m in self._pending):
            self._pending = [m for m in self._pending if m.source != source]
            self._update()

    def clear(self) -> None:
        self._pending.clear()
        self._update()

    # --- reading ----------------------------------------------------------------------------------------

    def messages(self) -> list[tuple[str, str]]:
        """The pending messages as (kind, text), oldest first (one shows; the others are counted on it)."""
        return [(m.kind, m.text) for m in self._pending]

    def pending(self, source: str | None = None, kind: str | None = None) -> list[Message]:
        return [
            m for m in self._pending if (source is None or m.source == source) and (kind is None or m.kind == kind)
        ]

    def log(self) -> list[Message]:
        """Every message of the session (up to ``LOG_LIMIT``), oldest first, dismissed ones included."""
        return list(self._log)

    def rows(self) -> list[MessageRow]:
        """The banner shown, as a list (empty or one row)."""
        return [self._row] if self._row is not None else []

    def log_view(self) -> MessageLog | None:
        return self._log_view

    def show_log(self) -> None:
        """Open (or raise) the message log: every message of the session, newest first."""
        if self._log_view is None:
            self._log_view = MessageLog(self.window())
        self._log_view.set_messages(self._log)
        self._log_view.show()
        self._log_view.raise_()

    # --- inside -----------------------------------------------------------------------------------------

    def _add(self, message: Message) -> None:
        # The same sentence twice in a row (a retried failure) would only count twice.
        self._pending = [m for m in self._pending if (m.kind, m.text) != (message.kind, message.text)]
        self._pending.append(message)
        del self._pending[:-MAX_MESSAGES]
        self._log.append(message)
        del self._log[:-LOG_LIMIT]
        self._update()

    def _dismiss(self, message: Message) -> None:
        if message in self._pending:
            self._pending.remove(message)
            self._update()

    def _expire(self, message: Message) -> None:
        if message is self._shown and self._row is not None:
            self._fade_out(self._row, message)
        else:
            self._dismiss(message)

    def _choose(self) -> Message | None:
        # The most serious first, then the newest: an info never hides an error.
        if not self._pending:
            return None
        return max(self._pending, key=lambda m: (_SEVERITY.get(m.kind, 0), m.id))

    def _update(self) -> None:
        chosen = self._choose()
        others = len(self._pending) - 1
        if chosen is not self._shown:
            if self._row is not None:
                self._layout.removeWidget(self._row)
                self._row.hide()
                self._row.deleteLater()
                self._row = None
            self._shown = chosen
            if chosen is not None:
                row = MessageRow(chosen, others, self)
                row.dismissed.connect(lambda: self._dismiss(chosen))
                row.log_requested.connect(self.show_log)
                self._row = row
                self._layout.addWidget(row)
        elif self._row is not None:
            self._row.set_others(others)
        self.setVisible(self._row is not None)
        if self._log_view is not None and self._log_view.isVisible():
            self._log_view.set_messages(self._log)
        self.changed.emit()

    def _fade_out(self, row: MessageRow, message: Message) -> None:
        effect = QGraphicsOpacityEffect(row)
        row.setGraphicsEffect(effect)
        animation = QPropertyAnimation(effect, b"opacity", row)
        animation.setDuration(FADE_MS)
        animation.setStartValue(1.0)
        animation.setEndValue(0.0)
        animation.finished.connect(lambda: self._dismiss(message))
        animation.start()

"""The message log: every message of the session, newest first, for the ones the single banner does not show."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

_KIND_WORDS = {"error": "Error", "notice": "Note", "info": "Info"}


class MessageLog(QDialog):
    """A non-modal window listing messages (``message_area.Message``); a detail shows as the item's tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Messages")
        self.setModal(False)
        self.resize(640, 360)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.setAccessibleName("Message log")
        self.list.setToolTip("The messages of this session, newest first")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)

    def set_messages(self, messages: Sequence[Any]) -> None:
        self.list.clear()
        for message in reversed(messages):
            stamp = time.strftime("%H:%M:%S", time.localtime(message.at))
            item = QListWidgetItem(f"{stamp}  {_KIND_WORDS.get(message.kind, message.kind)}: {message.text}")
            if message.detail:
                item.setToolTip(message.detail)
            self.list.addItem(item)

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

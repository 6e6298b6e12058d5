"""The LoRA tab's embeddings section: textual-inversion embeddings with their family, put in the prompt by name.

A prompt uses an embedding by its file name (A1111's way; ``embedding:name`` is ComfyUI's and works too), so
using one is inserting that word. One made for another family than the current model's is marked, and picking
it says why instead of inserting a word the model cannot read.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from studio.state.embedding_list import EmbeddingList
from studio.state.lora_list import family_badge, unusable_reason

NAME_ROLE = Qt.ItemDataRole.UserRole
REASON_ROLE = Qt.ItemDataRole.UserRole + 1


class EmbeddingSection(QWidget):
    """Lists ``embeddings``; ``insert_requested`` carries the name of the one the artist chose."""

    insert_requested = Signal(str)

    def __init__(self, embeddings: EmbeddingList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.embeddings = embeddings
        self._family: str | None = None
        self._filter = ""
        self.caption = QLabel("Embeddings", self)
        self.caption.setObjectName("caption")
        self.list = QListWidget(self)
        self.list.setAccessibleName("Embeddings")
        self.list.setToolTip(
            "Textual-inversion embeddings: double-click one (or press Enter) to put its name in the prompt. "
            "Negative ones (EasyNegative…) belong in the negative prompt."
        )
        self.list.setMaximumHeight(110)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setProperty("role", "warning")
        self.note.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.list)
        layout.addWidget(self.note)
        self.list.itemActivated.connect(self._activated)
        self.list.currentItemChanged.connect(lambda item, _old: self._show_reason(item))
        embeddings.changed.connect(lambda _entries: self._fill())
        self._fill()

    def set_model_family(self, family: str | None) -> None:
        self._family = family
        self._fill()

    def set_filter(self, text: str) -> None:
        """Show only the embeddings whose name contains ``text`` (the LoRA tab's search)."""
        self._filter = text.strip().lower()
        self._fill()

    def _fill(self, *_args: Any) -> None:
        self.list.clear()
        entries = self.embeddings.entries()
        shown = [e for e in entries if self._filter in e.name.lower()]
        for entry in shown:
            reason = unusable_reason(entry, self._family)
            details = [family_badge(entry.family)]
            if entry.vectors:
                details.append(f"{entry.vectors} token{'s' if entry.vectors != 1 else ''}")
            text = f"{entry.name} · {' · '.join(details)}"
            if reason:
                text += "  ⚠ " + ("cannot be used" if entry.problem else "another family")
            item = QListWidgetItem(text)
            item.setData(NAME_ROLE, entry.name)
            item.setData(REASON_ROLE, reason)
            item.setToolTip(f"{entry.path}\n{reason}" if reason else str(entry.path))
            if reason:
                item.setForeground(
                    self.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
                )
            self.list.addItem(item)
        count = f" ({len(shown)} of {len(entries)})" if self._filter and entries else f" ({len(entries)})"
        self.caption.setText("Embeddings" + (count if entries else ""))
        self.setVisible(bool(entries))  # no embeddings anywhere: the tab stays about LoRAs
        self._show_reason(None)

    def _show_reason(self, item: QListWidgetItem | None) -> None:
        reason = item.data(REASON_ROLE) if item is not None else None
        self.note.setText(f"⚠ {reason}" if reason else "")
        self.note.setVisible(bool(reason))

    def _activated(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        if item.data(REASON_ROLE):
            self._show_reason(item)
            return
        self.insert_requested.emit(item.data(NAME_ROLE))

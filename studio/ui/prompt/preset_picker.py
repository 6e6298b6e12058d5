"""A preset picker: a drop-down of style / lighting / composition presets with search as you type.

Typing searches names, ids and descriptions (``search_presets``); Enter or a click on a result picks it; an
empty field means "none". Every entry's description is its tooltip; where the preset data has one, a small
picture (its palette, or its framing) stands beside the name.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from studio.errors import StudioError
from studio.prompt.presets import load_presets, search_presets
from studio.ui.prompt.preset_swatch import SWATCH_SIZE, preset_icon

log = logging.getLogger("studio.ui")

NONE_LABEL = "None"
ID_ROLE = Qt.ItemDataRole.UserRole


class PresetPicker(QComboBox):
    """``preset_id()`` is the chosen preset's id or None; ``preset_changed`` fires when the artist picks."""

    preset_changed = Signal(object)  # str | None

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.lineEdit().setPlaceholderText(
            "None — type to search"
        )  # the row label names the kind; room is short
        self.lineEdit().setClearButtonEnabled(True)
        self.setAccessibleName(f"{kind.capitalize()} preset")
        self.setMinimumContentsLength(14)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._presets = {}
        try:
            presets = load_presets(kind)
        except StudioError as exc:  # a broken preset file leaves the picker empty, the window still opens
            log.warning("presets %s: %s", kind, exc)
            presets = []
        self.addItem(NONE_LABEL, None)
        self.setItemData(0, f"No {kind} preset: your prompt is sent as written.", Qt.ItemDataRole.ToolTipRole)
        self.setIconSize(SWATCH_SIZE)
        for preset in presets:
            self._presets[preset.id] = preset
            self.addItem(preset.name, preset.id)
            self.setItemData(self.count() - 1, self._describe(preset), Qt.ItemDataRole.ToolTipRole)
            picture = preset_icon(preset)
            if picture is not None:
                self.setItemIcon(self.count() - 1, picture)
        self._results = QStandardItemModel(self)
        self._completer = QCompleter(self._results, self)
        # The model already holds exactly the search results, so the popup must not filter again.
        self._completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.setCompleter(self._completer)
        self._completer.activated[str].connect(self._pick_name)
        self.lineEdit().textEdited.connect(self._search)
        self.lineEdit().returnPressed.connect(self._commit_text)
        self.lineEdit().editingFinished.connect(self._commit_text)
        self.currentIndexChanged.connect(self._on_index)
        self._last_id: str | None = None
        self._show_current()

    # --- public -----------------------------------------------------------------------------------------

    def preset_id(self) -> str | None:
        return self.currentData()

    def set_preset_id(self, preset_id: str | None) -> None:
        """Select ``preset_id`` without emitting ``preset_changed`` (used when a request is loaded)."""
        index = self.findData(preset_id) if preset_id else 0
        if index < 0:
            # A saved id that no preset has any more: show it, so it is not silently dropped.
            self.addItem(f"{preset_id} (unknown)", preset_id)
            index = self.count() - 1
        self.blockSignals(True)
        self.setCurrentIndex(index)
        self.blockSignals(False)
        self._last_id = self.currentData()
        self._show_current()

    def search(self, query: str) -> list[str]:
        """The names the search box would offer for ``query`` (all presets for an empty query)."""
        if not query.strip():
            return [p.name for p in self._presets.values()]
        return [p.name for p in search_presets(self.kind, query)]

    # --- internals --------------------------------------------------------------------------------------

    @staticmethod
    def _describe(preset) -> str:
        return f"<b>{preset.name}</b><br>{preset.description}<br><i>adds:</i> {preset.prompt}"

    def _search(self, text: str) -> None:
        self._results.clear()
        for name in self.search(text):
            item = QStandardItem(name)
            index = self.findText(name, Qt.MatchFlag.MatchExactly)
            item.setToolTip(self.itemData(index, Qt.ItemDataRole.ToolTipRole))
            item.setIcon(self.itemIcon(index))
            self._results.appendRow(item)
        if text.strip() and self._results.rowCount():
            self._completer.complete()

    def _pick_name(self, name: str) -> None:
        index = self.findText(name, Qt.MatchFlag.MatchFixedString)
        if index >= 0:
            self.setCurrentIndex(index)
            self._on_index(index)

    def _commit_text(self) -> None:
        text = self.lineEdit().text().strip()
        if not text:
            self.setCurrentIndex(0)
        else:
            index = self.findText(text, Qt.MatchFlag.MatchFixedString)
            if index < 0:
                names = self.search(text)
                index = self.findText(names[0], Qt.MatchFlag.MatchExactly) if names else -1
            if index >= 0:
                self.setCurrentIndex(index)
        self._on_index(self.currentIndex())

    def _on_index(self, _index: int) -> None:
        self._show_current()
        if self.currentData() != self._last_id:
            self._last_id = self.currentData()
            self.preset_changed.emit(self._last_id)

    def _show_current(self) -> None:
        # "None" shows as an empty field with the placeholder, which reads better than the word.
        text = "" if self.currentIndex() <= 0 else self.currentText()
        if self.lineEdit().text() != text:
            self.lineEdit().setText(text)
        if not self.lineEdit().hasFocus():
            self.lineEdit().setCursorPosition(0)  # a long name shows its start, not its end
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        tip = self.itemData(self.currentIndex(), Qt.ItemDataRole.ToolTipRole) or ""
        self.setToolTip(f"{self.kind.capitalize()} preset. Type to search, or open the list.<br>{tip}")

"""The first-run offer of other tools' model folders: found in their usual places, added only once confirmed.

The search (``studio.models.install_finder``) looks at a few known places under the home folder, never the
whole disk; it runs on a thread so a slow drive cannot freeze the welcome page. What it finds is a list of
checkboxes: nothing is added until the artist presses "Use these", and "Not now" puts the offer away.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.models.install_finder import FoundFolder, find_model_folders
from studio.state.scan_threads import ScanThreads

SEARCHING = "Looking in the usual places of AUTOMATIC1111/Forge, ComfyUI, InvokeAI and Stability Matrix…"
NONE_FOUND = (
    "No AUTOMATIC1111/Forge, ComfyUI, InvokeAI or Stability Matrix model folders in their usual places. "
    "Choose a folder below if yours is elsewhere."
)


class FoundFoldersOffer(QGroupBox):
    """Offers the model folders of other tools installed under the home folder, each with a checkbox."""

    accepted = Signal(list)  # list[FoundFolder] the artist ticked
    declined = Signal()
    _found = Signal(list)  # from the search thread

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        home: Path | None = None,
        finder: Callable[[Path | None], list[FoundFolder]] = find_model_folders,
    ) -> None:
        super().__init__("Models other programs already have", parent)
        self.setAccessibleName("Models other programs already have")
        self._home = home
        self._finder = finder
        self._threads = ScanThreads("found-folders")
        self._automatic = False
        self.found: list[FoundFolder] = []
        self.checkboxes: list[QCheckBox] = []
        self._found.connect(self._show_found)

        layout = QVBoxLayout(self)
        self.message = QLabel(
            "The studio can look in the usual places of AUTOMATIC1111/Forge, ComfyUI, InvokeAI and Stability "
            "Matrix in your home folder and use their models where they are, without copying.",
            self,
        )
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self._list = QVBoxLayout()
        layout.addLayout(self._list)
        buttons = QHBoxLayout()
        self.search_button = QPushButton("Look for them", self)
        self.search_button.setToolTip("Look only in those programs' usual folders (a few seconds at most)")
        self.search_button.setAccessibleName("Look for other programs' models")
        self.search_button.clicked.connect(self.search)
        self.use_button = QPushButton("Use these", self)
        self.use_button.setToolTip("Add the ticked folders to the studio's model (and LoRA) folders")
        self.use_button.setAccessibleName("Use the ticked folders")
        self.use_button.setProperty("primary", True)
        self.use_button.clicked.connect(self._accept)
        self.not_now_button = QPushButton("Not now", self)
        self.not_now_button.setToolTip("Add nothing; File ▸ Add models folder… adds one later")
        self.not_now_button.setAccessibleName("Not now")
        self.not_now_button.clicked.connect(self._decline)
        for button in (self.search_button, self.use_button, self.not_now_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.use_button.setVisible(False)
        self.destroyed.connect(lambda *_: self._threads.close(0))

    def search(self, automatic: bool = False) -> None:
        """Look in the usual places on a thread; the list appears when it is done. A search the studio made
        on its own (the first run) that finds nothing hides the offer rather than fill the page with it."""
        self._automatic = automatic
        self.search_button.setEnabled(False)
        self.use_button.setVisible(False)
        self.message.setText(SEARCHING)
        self._threads.start(self._run_search)

    def _run_search(self) -> None:
        try:
            found = self._finder(self._home)
        except OSError:  # an unreadable home folder: nothing to offer, said as such
            found = []
        self._threads.emit(self._found, found)

    def _show_found(self, found: list[FoundFolder]) -> None:
        self.found = list(found)
        for box in self.checkboxes:
            self._list.removeWidget(box)
            box.deleteLater()
        self.checkboxes = []
        self.search_button.setEnabled(True)
        self.search_button.setText("Look again")
        if not found:
            self.message.setText(NONE_FOUND)
            self.setVisible(not self._automatic)
            return
        self.message.setText("Found these. Tick the ones to use (the models stay where they are):")
        for folder in found:
            count = "1 model" if folder.models == 1 else f"{folder.models} models"
            box = QCheckBox(f"{folder.tool} — {count} — {folder.path}", self)
            box.setToolTip(html.escape(str(folder.path)))
            box.setChecked(folder.models > 0)  # an empty folder is offered, not chosen for the artist
            self._list.addWidget(box)
            self.checkboxes.append(box)
        self.use_button.setVisible(True)

    def checked(self) -> list[FoundFolder]:
        return [folder for folder, box in zip(self.found, self.checkboxes, strict=True) if box.isChecked()]

    def _accept(self) -> None:
        chosen = self.checked()
        self.accepted.emit(chosen)
        plural = "s" if len(chosen) != 1 else ""
        self.message.setText(
            f"Added {len(chosen)} folder{plural}." if chosen else "Nothing ticked, nothing added."
        )
        self.use_button.setVisible(False)
        for box in self.checkboxes:
            box.setEnabled(False)

    def _decline(self) -> None:
        self.declined.emit()
        self.setVisible(False)

    def close_threads(self) -> None:
        self._threads.close()

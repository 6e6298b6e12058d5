"""The LoRA tab: the library (search, family badges, previews) and the LoRAs in use, each with its weight.

One source of truth (see ``studio.state.lora_sync``): a LoRA is on exactly when the prompt holds its
``<lora:name:w>`` tag, and the tag's weight is its weight. The panel never keeps a second copy: every action
(add, slider, on/off, remove) is a rewrite of the request, sent with ``edited``; the window puts it in the state,
and the rows are read back from the prompt by ``set_request`` — so typing a tag and moving a slider are the same
thing. Switched-off LoRAs are the only ones in ``request.loras`` (``enabled=False``), and they never apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPalette, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.prompt.literal_text import unescape_brackets
from studio.request import GenerationRequest
from studio.state import lora_sync
from studio.state.embedding_list import EmbeddingList
from studio.state.lora_list import LoraList, family_badge, unusable_reason
from studio.ui.gallery.thumbnail_loader import read_thumbnail
from studio.ui.lora.embedding_section import EmbeddingSection
from studio.ui.lora.lora_row import LoraRow
from studio.ui.shell.icons import icon

THUMB = 48
NAME_ROLE = Qt.ItemDataRole.UserRole
REASON_ROLE = Qt.ItemDataRole.UserRole + 1  # why the LoRA cannot be used here (None: it can)
# Formats worth naming beside the family: an artist knows a LyCORIS file by that name.
FORMAT_LABELS = {"lycoris": "LyCORIS", "cloneofsimo": "lora_diffusion"}


def human_size(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{max(size, 0) / 1e3:.0f} KB"


class LoraPanel(QWidget):
    """Lists ``loras`` and edits the request's LoRAs. ``edited`` carries the whole new GenerationRequest."""

    edited = Signal(object)
    trigger_clicked = Signal(str)
    add_folder_requested = Signal()
    rescan_requested = Signal()

    def __init__(
        self, loras: LoraList, parent: QWidget | None = None, *, embeddings: EmbeddingList | None = None
    ) -> None:
        super().__init__(parent)
        self.loras = loras
        self._request = GenerationRequest()
        self._family: str | None = None
        self._thumbs: dict[Path, QIcon] = {}
        self.rows: dict[str, LoraRow] = {}  # lower-case name -> row

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search LoRAs by name or trigger word")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search LoRAs")
        self.library = QListWidget(self)
        self.library.setIconSize(QSize(THUMB, THUMB))
        self.library.setAccessibleName("LoRA library")
        self.library.setToolTip(
            "Double-click a LoRA (or press Enter) to use it: its tag goes into the prompt."
        )
        self.library.setWordWrap(True)
        self.library.setUniformItemSizes(False)
        self.library.setResizeMode(QListWidget.ResizeMode.Adjust)  # re-wrap the text when the tab narrows
        self.library.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.library.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.use_button = QPushButton("Use", self)
        self.use_button.setToolTip("Add the selected LoRA's tag to the prompt.")
        self.use_button.setEnabled(False)
        self.add_folder = QPushButton(icon("folder"), "Add LoRA folder…", self)
        self.add_folder.setToolTip(
            "Use the LoRAs of AUTOMATIC1111 (models/Lora) or ComfyUI (models/loras): choose that program's "
            "folder or the LoRA folder itself. The studio remembers it."
        )
        self.count = QLabel(self)
        self.count.setProperty("role", "muted")
        self.empty = QLabel(self)
        self.empty.setWordWrap(True)
        self.empty.setProperty("role", "muted")
        # Why the LoRA picked in the list cannot be used: said where the artist is looking, not at Generate.
        self.refusal = QLabel(self)
        self.refusal.setWordWrap(True)
        self.refusal.setProperty("role", "warning")
        self.refusal.setAccessibleName("Why this LoRA cannot be used")
        self.refusal.setVisible(False)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.search)
        top_layout.addWidget(self.library, 1)
        top_layout.addWidget(self.empty)
        top_layout.addWidget(self.refusal)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.add_folder)
        buttons.addStretch(1)
        buttons.addWidget(self.count)
        top_layout.addLayout(buttons)
        # Textual-inversion embeddings, with their family: used by name, so choosing one inserts the word.
        self.embeddings = EmbeddingSection(embeddings or EmbeddingList(parent=self), self)
        self.embeddings.insert_requested.connect(self.trigger_clicked)
        self.search.textChanged.connect(self.embeddings.set_filter)
        top_layout.addWidget(self.embeddings)

        self.active_caption = QLabel("In use", self)
        self.active_caption.setObjectName("caption")
        self.none_active = QLabel(
            "No LoRA in use. Double-click one above, or type <lora:name:0.8> in the prompt.", self
        )
        self.none_active.setTextFormat(Qt.TextFormat.PlainText)
        self.none_active.setWordWrap(True)
        self.none_active.setProperty("role", "muted")
        rows_widget = QWidget(self)
        self._rows_layout = QVBoxLayout(rows_widget)
        self._rows_layout.setContentsMargins(0, 0, 4, 0)
        self._rows_layout.addWidget(self.none_active)
        self._rows_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(rows_widget)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        bottom = QWidget(self)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 6, 0, 0)
        bottom_layout.addWidget(self.active_caption)
        bottom_layout.addWidget(scroll, 1)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setSizes([300, 380])  # the LoRAs in use are what the artist works with most
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)

        self.search.textChanged.connect(self._fill_library)
        self.library.itemActivated.connect(self._item_activated)
        self.library.currentItemChanged.connect(lambda item, _old: self._selection_changed(item))
        self.use_button.clicked.connect(lambda: self._item_activated(self.library.currentItem()))
        self.add_folder.clicked.connect(self.add_folder_requested)
        loras.changed.connect(lambda _entries: self._refresh())
        loras.refreshing.connect(self._show_refreshing)
        self._refresh()

    # --- from the window ----------------------------------------------------------------------------------

    def set_request(self, request: GenerationRequest) -> None:
        """Show the LoRAs ``request`` uses; emits nothing (rows are updated in place, so a drag continues)."""
        self._request = request
        self._update_rows()
        self._mark_used()

    def set_model_family(self, family: str | None) -> bool:
        """The current model's family ("sd15", "sdxl", "sd15-inpaint"; None when unknown): LoRAs for another
        family are greyed with the reason. True when the family changed."""
        if family == self._family:
            return False
        self._family = family
        self._refresh()
        self.embeddings.set_model_family(family)
        return True

    def request(self) -> GenerationRequest:
        return self._request

    # --- actions (each one a rewrite of the request) -------------------------------------------------------

    def use(self, name: str) -> None:
        self._emit(lora_sync.add_lora(self._request, name))

    def _emit(self, request: GenerationRequest) -> None:
        if request != self._request:
            self.edited.emit(request)

    def _item_activated(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        reason = item.data(REASON_ROLE)
        if reason:  # refused on the spot, with the reason, rather than failing at Generate
            self._show_refusal(item)
            return
        self.use(item.data(NAME_ROLE))

    def _selection_changed(self, item: QListWidgetItem | None) -> None:
        self.use_button.setEnabled(item is not None and not item.data(REASON_ROLE))
        self._show_refusal(item)

    def _show_refusal(self, item: QListWidgetItem | None) -> None:
        reason = item.data(REASON_ROLE) if item is not None else None
        self.refusal.setText(f"⚠ {reason}" if item and reason else "")
        self.refusal.setVisible(bool(reason))

    # --- the library list ----------------------------------------------------------------------------------

    def _refresh(self) -> None:
        self._fill_library()
        self._update_rows()

    def _show_refreshing(self, busy: bool) -> None:
        if busy:
            self.count.setText("Looking for LoRAs…")
        else:
            self._fill_library()

    def _thumbnail(self, entry: Any) -> QIcon:
        if entry.preview is None:
            return icon("image")
        if entry.preview not in self._thumbs:
            image = read_thumbnail(entry.preview, THUMB)
            self._thumbs[entry.preview] = (
                QIcon(QPixmap.fromImage(image)) if not image.isNull() else icon("image")
            )
        return self._thumbs[entry.preview]

    def _fill_library(self, *_args: Any) -> None:
        current = self.library.currentItem().data(NAME_ROLE) if self.library.currentItem() else None
        self.library.clear()
        all_entries = self.loras.entries()
        shown = self.loras.search(self.search.text())
        for entry in shown:
            reason = unusable_reason(entry, self._family)
            details = [family_badge(entry.family), human_size(entry.size_bytes)]
            if entry.format in FORMAT_LABELS:
                details.insert(1, FORMAT_LABELS[entry.format])
            if entry.triggers:
                details.append("triggers: " + ", ".join(unescape_brackets(t) for t in entry.triggers[:3]))
            text = f"{entry.name}\n{' · '.join(details)}"
            if reason:
                # A file-level problem is a paragraph: the list says it in short, the line under it in full.
                text += "\n⚠ " + ("Cannot be used: select it to read why." if entry.problem else reason)
            item = QListWidgetItem(self._thumbnail(entry), text)
            item.setData(NAME_ROLE, entry.name)
            item.setData(REASON_ROLE, reason)
            item.setToolTip(f"{entry.path}\n{reason}" if reason else str(entry.path))
            if reason:
                # Greyed but still selectable: picking it says why it cannot be used.
                item.setForeground(self.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            self.library.addItem(item)
            if entry.name == current:
                self.library.setCurrentItem(item)
        self._mark_used()
        if self.loras.loaded and all_entries:
            self.count.setText(
                f"{len(shown)} of {len(all_entries)}"
                if self.search.text()
                else f"{len(all_entries)} LoRA{'s' if len(all_entries) != 1 else ''}"
            )
        if not all_entries:
            self.count.clear()
            from studio.models.lora_library import own_lora_dir

            self.empty.setText(
                f"No LoRAs found yet. Put LoRA .safetensors files in '{own_lora_dir()}', or add the folder of "
                "AUTOMATIC1111 or ComfyUI."
            )
        elif not shown:
            self.empty.setText(f"No LoRA name or trigger word contains “{self.search.text().strip()}”.")
        self.empty.setVisible(self.loras.loaded and not shown)

    def _mark_used(self) -> None:
        used = set(lora_sync.prompt_tags(self._request.prompt))
        for index in range(self.library.count()):
            item = self.library.item(index)
            font = item.font()
            font.setBold(str(item.data(NAME_ROLE)).lower() in used)
            item.setFont(font)

    # --- the rows ------------------------------------------------------------------------------------------

    def _update_rows(self) -> None:
        active = lora_sync.active_loras(self._request)
        wanted = {lora.name.lower() for lora in active}
        for key in [k for k in self.rows if k not in wanted]:
            row = self.rows.pop(key)
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        for index, lora in enumerate(active):
            key = lora.name.lower()
            row = self.rows.get(key)
            if row is None:
                row = LoraRow(lora.name, self)
                row.weight_changed.connect(lambda n, w: self._emit(lora_sync.set_weight(self._request, n, w)))
                row.enabled_changed.connect(
                    lambda n, on: self._emit(lora_sync.set_enabled(self._request, n, on))
                )
                row.remove_requested.connect(lambda n: self._emit(lora_sync.remove(self._request, n)))
                row.trigger_clicked.connect(self.trigger_clicked)
                self.rows[key] = row
            if self._rows_layout.indexOf(row) != index:
                self._rows_layout.removeWidget(row)
                self._rows_layout.insertWidget(index, row)
            entry = self.loras.get(lora.name) if self.loras.loaded else None
            reason = unusable_reason(entry, self._family) if entry is not None else None
            if entry is None and not self.loras.loaded:
                reason = None
            row.show_lora(lora, entry, reason)
            if entry is None and not self.loras.loaded:
                row.note.hide()  # the library is still being scanned; "not found" would be premature
        self.none_active.setVisible(not active)
        self.active_caption.setText(f"In use ({len(active)})" if active else "In use")

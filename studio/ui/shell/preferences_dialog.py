"""File ▸ Preferences…: the settings that lived only in ``settings.json``, on pages.

Appearance (theme), Folders (models, pictures, annotators, other model and LoRA folders), Performance (engine
threads; ``add_page("Performance", widget)`` puts more there, e.g. the VRAM and fast-mode box) and Safety
(pickle files). Nothing changes until OK or Apply; then the fields go into the state's settings, are written
at once (atomically, by ``AppState.save_settings``) and the engine and the lists are told.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio import paths
from studio.settings import THEMES
from studio.state.app_state import AppState
from studio.ui.shell.icons import icon

MAX_THREADS = 256
PICKLE_WARNING = (
    "Older model files (.ckpt, .pt, .bin) are Python “pickles”: opening one can run any code it holds. Allow "
    "them only for files from people you trust; .safetensors files are always safe and need nothing here."
)


class FolderField(QWidget):
    """A folder path with Choose… and Clear; empty means ``empty_text`` (shown greyed)."""

    def __init__(self, name: str, value: str | None, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.edit = QLineEdit(value or "", self)
        self.edit.setPlaceholderText(empty_text)
        self.edit.setAccessibleName(name)
        self.choose = QPushButton(icon("folder"), "Choose…", self)
        self.choose.setAccessibleName(f"Choose {name.lower()}")
        self.clear = QPushButton("Clear", self)
        self.clear.setAccessibleName(f"Clear {name.lower()}")
        self.clear.setToolTip(f"Back to: {empty_text}")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.choose)
        row.addWidget(self.clear)
        self.choose.clicked.connect(self._choose)
        self.clear.clicked.connect(self.edit.clear)

    def value(self) -> str | None:
        return self.edit.text().strip() or None

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.name, self.edit.text() or str(Path.home()))
        if folder:
            self.edit.setText(folder)


class FolderList(QWidget):
    """A list of folders with Add… and Remove."""

    def __init__(self, name: str, folders: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.list = QListWidget(self)
        self.list.setAccessibleName(name)
        self.list.addItems(folders)
        self.list.setMaximumHeight(90)
        self.add = QPushButton(icon("folder"), "Add…", self)
        self.add.setAccessibleName(f"Add to {name.lower()}")
        self.remove = QPushButton("Remove", self)
        self.remove.setAccessibleName(f"Remove from {name.lower()}")
        buttons = QVBoxLayout()
        buttons.addWidget(self.add)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        self.add.clicked.connect(self._add)
        self.remove.clicked.connect(
            lambda: [self.list.takeItem(self.list.row(i)) for i in self.list.selectedItems()]
        )

    def folders(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def add_folder(self, folder: str) -> None:
        if folder and folder not in self.folders():
            self.list.addItem(folder)

    def _add(self) -> None:
        self.add_folder(QFileDialog.getExistingDirectory(self, self.name, str(Path.home())))


class PreferencesDialog(QDialog):
    """The studio's preferences; ``apply()`` (OK, Apply) writes them through ``state``."""

    theme_chosen = Signal(str)  # the window applies a theme (its palette and style sheet)
    output_folder_changed = Signal(object)  # Path: the gallery shows that folder

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        settings = state.settings
        self.setWindowTitle("Preferences")
        self.setMinimumSize(720, 420)
        self.index = QListWidget(self)
        self.index.setAccessibleName("Preference pages")
        self.index.setFixedWidth(150)
        self.pages = QStackedWidget(self)
        self._forms: dict[str, QVBoxLayout] = {}

        self.theme = QComboBox()
        for name in THEMES:
            self.theme.addItem(name.capitalize(), name)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.theme.setAccessibleName("Theme")
        self.add_page("Appearance", self._form(("Theme", self.theme)))

        self.models_folder = FolderField("Models folder", settings.models_folder, "the studio's own folder")
        self.models_folder.setToolTip(
            "Where downloads go and models are looked for first. An AUTOMATIC1111 or ComfyUI folder is used in "
            "its own layout."
        )
        self.output_folder = FolderField("Pictures folder", settings.output_folder, "the studio's own folder")
        self.models_folder.edit.setToolTip(f"Empty: {paths.models_dir()}")
        self.output_folder.edit.setToolTip(f"Empty: {paths.outputs_dir()}")
        self.annotators_folder = FolderField("Annotators folder", settings.annotators_folder, "none chosen")
        self.annotators_folder.setToolTip(
            "Detector weights (lllyasviel/Annotators) for depth, edges and poses."
        )
        self.model_dirs = FolderList("Other model folders", list(settings.model_dirs))
        self.model_dirs.setToolTip("AUTOMATIC1111 / ComfyUI installs or folders of models, looked in too.")
        self.lora_dirs = FolderList("LoRA folders", list(settings.lora_dirs))
        self.add_page(
            "Folders",
            self._form(
                ("Models", self.models_folder),
                ("Pictures", self.output_folder),
                ("Annotators", self.annotators_folder),
                ("Also models in", self.model_dirs),
                ("LoRAs in", self.lora_dirs),
            ),
        )

        cores = os.cpu_count() or 2
        self.threads = QSpinBox()
        self.threads.setRange(0, MAX_THREADS)
        self.threads.setSpecialValueText(f"Automatic ({max(1, cores - 1)}: all cores but one)")
        self.threads.setValue(settings.torch_threads or 0)
        self.threads.setAccessibleName("Engine threads")
        self.threads.setToolTip(
            "How many processor threads the engine uses on the CPU. Automatic leaves one core so the window "
            "stays responsive."
        )
        self.add_page("Performance", self._form(("Engine threads", self.threads)))

        self.allow_pickle = QCheckBox("Allow older model files that can run code (.ckpt, .pt, .bin)")
        self.allow_pickle.setChecked(settings.allow_pickle)
        self.allow_pickle.setAccessibleName("Allow pickle model files")
        warning = QLabel(PICKLE_WARNING)
        warning.setWordWrap(True)
        self.add_page("Safety", self._form((None, self.allow_pickle), (None, warning)))

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.clicked.connect(self._clicked)
        body = QHBoxLayout()
        body.addWidget(self.index)
        body.addWidget(self.pages, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)
        self.index.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.index.setCurrentRow(0)

    # --- pages ------------------------------------------------------------------------------------------

    def add_page(self, title: str, widget: QWidget) -> int:
        """Show ``widget`` under ``title``: on that page when it exists (below what it holds), else on a new
        page. The index of the page is returned. E.g. ``add_page("Performance", PerformanceBox(...))``."""
        if title in self._forms:
            self._forms[title].insertWidget(self._forms[title].count() - 1, widget)  # above the stretch
            return self.page_titles().index(title)
        page = QWidget()
        column = QVBoxLayout(page)
        column.addWidget(widget)
        column.addStretch(1)
        self._forms[title] = column
        self.pages.addWidget(page)
        self.index.addItem(title)
        return self.pages.count() - 1

    def page_titles(self) -> list[str]:
        return [self.index.item(row).text() for row in range(self.index.count())]

    def show_page(self, index_or_title: int | str) -> None:
        index = (
            self.page_titles().index(index_or_title) if isinstance(index_or_title, str) else index_or_title
        )
        self.index.setCurrentRow(index)

    def _form(self, *rows: tuple[str | None, QWidget]) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for label, widget in rows:
            if label is None:
                form.addRow(widget)
            else:
                form.addRow(label, widget)
        return box

    # --- applying ---------------------------------------------------------------------------------------

    def accept(self) -> None:
        self.apply()
        super().accept()

    def _clicked(self, button: QAbstractButton) -> None:
        if self.buttons.buttonRole(button) == QDialogButtonBox.ButtonRole.ApplyRole:
            self.apply()

    def apply(self) -> None:
        """Write what changed into the settings (saved at once) and tell the engine, the lists and the window."""
        state, settings = self.state, self.state.settings
        engine_changed = lists_changed = False
        threads = self.threads.value() or None
        if threads != settings.torch_threads or self.allow_pickle.isChecked() != settings.allow_pickle:
            settings.torch_threads, settings.allow_pickle = threads, self.allow_pickle.isChecked()
            engine_changed = True
        for field_name, folders in (("model_dirs", self.model_dirs), ("lora_dirs", self.lora_dirs)):
            if folders.folders() != getattr(settings, field_name):
                setattr(settings, field_name, folders.folders())
                lists_changed = True
        output = self.output_folder.value()
        output_changed = output != settings.output_folder
        settings.output_folder = output
        state.save_settings()
        if self.models_folder.value() != settings.models_folder:
            state.set_models_folder(self.models_folder.value())  # saves, and lists the folder's models
        elif lists_changed:
            state.refresh_models()  # the LoRAs and the engine's folders with them
        elif engine_changed:
            state.configure_backend()
        if self.annotators_folder.value() != settings.annotators_folder:
            state.set_annotators_folder(self.annotators_folder.value())
        if output_changed:
            self.output_folder_changed.emit(settings.outputs())
        theme = self.theme.currentData()
        if theme != settings.theme:
            self.theme_chosen.emit(theme)

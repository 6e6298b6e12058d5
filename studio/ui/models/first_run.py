"""The friendly empty state shown while the studio knows no model: three ways to get one."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio import paths
from studio.models.model_folders import model_folders
from studio.ui.models.found_folders_offer import FoundFoldersOffer
from studio.ui.models.recommended_models import (
    RecommendedModel,
    format_bytes,
    free_space,
    load_recommended_models,
)
from studio.ui.shell.icons import icon

DEMO_LABEL = "Tiny demo model (random weights — shows the workflow, not a picture)"
DEMO_BUILDING = "Building the demo model…"
_TOOL_NAMES = {"a1111": "AUTOMATIC1111 / Forge", "comfyui": "ComfyUI"}


class FirstRunWidget(QWidget):
    download_requested = Signal(str)
    folder_chosen = Signal(Path)  # a folder of models to use where they are
    models_folder_chosen = Signal(Path)  # where models are kept from now on (downloads go there)
    demo_requested = Signal()
    found_folders_chosen = Signal(list)  # other tools' folders the artist ticked (install_finder.FoundFolder)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        models_folder: Path | None = None,
        space_probe: Callable[[Path], int] = free_space,
        offer_found: bool = False,
        home: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Get started")
        self._models_folder = models_folder or paths.models_dir()
        self._space_probe = space_probe
        self.models = load_recommended_models()
        self.download_buttons: dict[str, QPushButton] = {}
        self._space_warnings: dict[str, QLabel] = {}
        self.found_offer = FoundFoldersOffer(home=home)
        self.found_offer.accepted.connect(self.found_folders_chosen)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setSpacing(14)

        title = QLabel("Welcome to Diffusion Studio", content)
        title.setProperty("role", "heading")
        layout.addWidget(title)
        intro = QLabel(
            "To make images the studio needs a model: the trained network that does the painting. "
            "Choose one of these to start.",
            content,
        )
        intro.setWordWrap(True)
        intro.setProperty("role", "muted")
        layout.addWidget(intro)

        layout.addWidget(self.found_offer)
        layout.addWidget(self._download_box())
        layout.addWidget(self._folder_box())
        layout.addWidget(self._demo_box())
        layout.addStretch(1)

        scroll = QScrollArea(self)
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        content.setMaximumWidth(760)
        self.refresh_disk_space()
        if offer_found:  # the first run: look in the usual places (a few known folders, never the whole disk)
            self.found_offer.search(automatic=True)

    # --- the three choices ----------------------------------------------------------------------------

    def _download_box(self) -> QGroupBox:
        box = QGroupBox("Download a recommended model", self)
        box.setAccessibleName("Download a recommended model")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(4)
        row = 0
        for model in self.models:
            name = QLabel(f"<b>{model.name}</b>", box)
            facts = QLabel(
                f'{model.size_text} · licence: <a href="{model.license_url}">{model.license}</a>', box
            )
            facts.setOpenExternalLinks(True)
            facts.setToolTip("Read the licence before you publish images made with this model")
            facts.setProperty("role", "muted")
            about = QLabel(model.description, box)
            about.setWordWrap(True)
            warning = QLabel(box)
            warning.setProperty("role", "warning")
            warning.setWordWrap(True)
            warning.setVisible(False)
            self._space_warnings[model.repo_id] = warning
            button = QPushButton(icon("download"), "Download", box)
            button.setToolTip(f"Download {model.name} ({model.size_text}) from Hugging Face: {model.repo_id}")
            button.setAccessibleName(f"Download {model.name}")
            button.clicked.connect(lambda _=False, repo=model.repo_id: self.download_requested.emit(repo))
            if not self.download_buttons:
                button.setProperty("primary", True)  # the first is the safe choice for most computers
            self.download_buttons[model.repo_id] = button
            grid.addWidget(name, row, 0)
            grid.addWidget(button, row, 1, 3, 1, Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(facts, row + 1, 0)
            grid.addWidget(about, row + 2, 0)
            grid.addWidget(warning, row + 3, 0, 1, 2)
            grid.setRowMinimumHeight(row + 4, 10)
            row += 5
        self.space_label = QLabel(box)
        self.space_label.setWordWrap(True)
        self.space_label.setAccessibleName("Models folder")
        self.space_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.change_folder_button = QPushButton(icon("folder"), "Change…", box)
        self.change_folder_button.setToolTip(
            "Keep models in another folder: any folder, or the folder of AUTOMATIC1111, Forge or ComfyUI "
            "(downloads then go into its own models folders, and both programs share them)"
        )
        self.change_folder_button.setAccessibleName("Change the models folder")
        self.change_folder_button.clicked.connect(self._choose_models_folder)
        grid.addWidget(self.space_label, row, 0)
        grid.addWidget(self.change_folder_button, row, 1, Qt.AlignmentFlag.AlignVCenter)
        grid.setColumnStretch(0, 1)
        return box

    def _folder_box(self) -> QGroupBox:
        box = QGroupBox("Use models you already have", self)
        box.setAccessibleName("Use models you already have")
        layout = QVBoxLayout(box)
        text = QLabel(
            "If AUTOMATIC1111, Forge or ComfyUI is installed, the studio can use its models where they are, "
            "without copying: choose its <i>models/Stable-diffusion</i> or <i>models/checkpoints</i> folder. "
            "To keep new downloads there too, use <i>Change…</i> above.",
            box,
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.folder_button = QPushButton(icon("folder"), "Choose a models folder…", box)
        self.folder_button.setToolTip("Pick a folder of .safetensors checkpoints or diffusers models")
        self.folder_button.setAccessibleName("Choose a models folder")
        self.folder_button.clicked.connect(self._choose_folder)
        layout.addWidget(self.folder_button, 0, Qt.AlignmentFlag.AlignLeft)
        return box

    def _demo_box(self) -> QGroupBox:
        box = QGroupBox("Try it offline first", self)
        box.setAccessibleName("Try it offline")
        layout = QVBoxLayout(box)
        text = QLabel(
            f"<b>{DEMO_LABEL}</b><br>A tiny model made on this computer in a second, with no download. Its "
            "images are coloured noise: use it to learn the buttons, then get a real model.",
            box,
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.demo_button = QPushButton(icon("generate"), "Start with the demo model", box)
        self.demo_button.setToolTip("Random weights: shows the workflow, not a picture")
        self.demo_button.setAccessibleName("Start with the demo model")
        self.demo_button.clicked.connect(self.demo_requested)
        layout.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignLeft)
        # Building takes seconds (the engine starts, then writes the model): say so while it works.
        self.demo_progress = QProgressBar(box)
        self.demo_progress.setRange(0, 0)
        self.demo_progress.setTextVisible(False)
        self.demo_progress.setMaximumHeight(8)
        self.demo_progress.setAccessibleName("Building the demo model")
        self.demo_progress.setVisible(False)
        layout.addWidget(self.demo_progress)
        return box

    def set_demo_building(self, building: bool) -> None:
        """Show that the demo model is being built (the button greyed, a busy bar) or is done."""
        self.demo_button.setEnabled(not building)
        self.demo_button.setText(DEMO_BUILDING if building else "Start with the demo model")
        self.demo_progress.setVisible(building)

    # --- behaviour ------------------------------------------------------------------------------------

    @property
    def models_folder(self) -> Path:
        return self._models_folder

    def set_models_folder(self, folder: Path) -> None:
        """Show ``folder`` as where models are kept, with its free space."""
        self._models_folder = Path(folder)
        self.refresh_disk_space()

    def refresh_disk_space(self) -> int:
        """Show the free space of the models folder's drive and warn beside the models that do not fit."""
        folders = model_folders(self._models_folder)
        where = f"Models are kept in: <b>{html.escape(str(folders.root))}</b>"
        if folders.layout in _TOOL_NAMES:
            leaf = folders.checkpoints.relative_to(folders.root).as_posix()
            where += f" ({_TOOL_NAMES[folders.layout]}: downloads go into {leaf})"
        try:
            free = self._space_probe(folders.checkpoints)
        except OSError:
            self.space_label.setText(where + ".")
            return -1
        self.space_label.setText(f"{where} — {format_bytes(free)} free there.")
        for model in self.models:
            self._warn_space(model, free)
        return free

    def _warn_space(self, model: RecommendedModel, free: int) -> None:
        warning = self._space_warnings[model.repo_id]
        fits = model.fits_in(free)
        warning.setVisible(not fits)
        if not fits:
            warning.setText(
                f"⚠ Not enough free space: {model.name} needs {model.size_text} and the drive has "
                f"{format_bytes(free)} free. Free some space or choose a models folder on another drive."
            )

    def _choose_models_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Where to keep models", str(self._models_folder))
        if chosen:
            self.models_folder_chosen.emit(Path(chosen))

    def _choose_folder(self) -> None:
        start = str(Path.home())
        chosen = QFileDialog.getExistingDirectory(self, "Choose a models folder", start)
        if chosen:
            self.folder_chosen.emit(Path(chosen))

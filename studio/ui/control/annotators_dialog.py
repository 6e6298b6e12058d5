"""File ▸ Annotators folder…: where the detector weights for depth, soft edge and pose detection are kept.

Shows what goes there, which of the files the folder already holds, and says so when the environment variable
overrides the choice. ``accepted`` hands the folder to ``AppState.set_annotators_folder``.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.models.annotators import ANNOTATORS, ANNOTATORS_ENV, ANNOTATORS_REPO, missing_annotator_files
from studio.ui.shell.icons import icon

# What each annotator is for, in the artist's words, in the order they are listed.
USES = {
    "depth": "Depth of a photo",
    "softedge": "Soft edges of a photo",
    "softedge_pidinet": "Soft edges (PiDiNet)",
    "lineart_model": "Line art of a photo",
    "normal": "Normal map of a photo",
    "openpose_detect": "Detect pose from a photo",
}
EXPLANATION = (
    "Some ControlNet pre-processors run small detector models: the depth, soft edge, normal map and line art "
    "of a photo, and detecting a pose in a photo. Their weight files come from the Hugging Face repo "
    f"<b>{ANNOTATORS_REPO}</b>: download the ones you need into one folder and choose it here. Sketches, "
    "canny edges and poses made in the pose editor need none of them."
)


class AnnotatorsDialog(QDialog):
    def __init__(self, folder: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Annotators folder")
        layout = QVBoxLayout(self)
        self.intro = QLabel(EXPLANATION)
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.path = QLineEdit(folder or "")
        self.path.setPlaceholderText("No folder chosen")
        self.path.setAccessibleName("Annotators folder")
        self.path.setToolTip("The folder holding the lllyasviel/Annotators files")
        self.choose = QPushButton(icon("folder"), "Choose…")
        self.choose.setToolTip("Choose the folder of annotator files")
        self.clear = QPushButton("Clear")
        self.clear.setToolTip("Use no annotators folder")
        line = QHBoxLayout()
        line.addWidget(self.path, 1)
        line.addWidget(self.choose)
        line.addWidget(self.clear)
        layout.addLayout(line)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("muted")
        layout.addWidget(self.status)
        self.override = QLabel()
        self.override.setWordWrap(True)
        layout.addWidget(self.override)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.choose.clicked.connect(self._choose)
        self.clear.clicked.connect(self.path.clear)
        self.path.textChanged.connect(self._show_status)
        self._show_status()
        self.resize(560, self.sizeHint().height())

    def folder(self) -> str | None:
        """The folder as chosen (None for none)."""
        return self.path.text().strip() or None

    def _choose(self) -> None:
        start = self.folder() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Annotators folder", start)
        if path:
            self.path.setText(path)

    def _show_status(self) -> None:
        text = self.folder()
        folder = Path(text).expanduser() if text else None
        if folder is None:
            self.status.setText("Without a folder, those pre-processors say which files to download.")
        elif not folder.is_dir():
            self.status.setText(f"There is no folder at '{folder}'.")
        else:
            lines = []
            for method in ANNOTATORS:
                missing = missing_annotator_files(method, folder)
                state = "ready" if not missing else "needs " + ", ".join(missing)
                lines.append(f"{USES.get(method, method)}: {state}")
            self.status.setText("<br>".join(lines))
        env = os.environ.get(ANNOTATORS_ENV, "").strip()
        self.override.setVisible(bool(env))
        self.override.setText(
            f"The environment variable {ANNOTATORS_ENV} is set to '{env}', which overrides this setting while it "
            "is set."
            if env
            else ""
        )

"""File ▸ Models folder…: where the studio keeps models, the same choice as the first-run page offers.

Shows the folder, how it is laid out (the studio's own, or an AUTOMATIC1111/ComfyUI install whose folders are
followed) and its free space. ``accepted`` hands ``folder()`` to ``AppState.set_models_folder``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
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

from studio import paths
from studio.models.model_folders import model_folders
from studio.ui.models.recommended_models import format_bytes, free_space
from studio.ui.shell.icons import icon

EXPLANATION = (
    "Downloaded models and ControlNets are saved here, and the models in it are listed. Choose any folder, or "
    "the folder of AUTOMATIC1111, Forge or ComfyUI: the studio then uses its own <i>models</i> folders, so "
    "both programs share the same files."
)
_LAYOUTS = {
    "studio": "The studio's layout",
    "a1111": "An AUTOMATIC1111 / Forge folder",
    "comfyui": "A ComfyUI folder",
}


class ModelsFolderDialog(QDialog):
    def __init__(
        self,
        folder: Path,
        parent: QWidget | None = None,
        *,
        space_probe: Callable[[Path], int] = free_space,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models folder")
        self._space_probe = space_probe
        layout = QVBoxLayout(self)
        intro = QLabel(EXPLANATION)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.path = QLineEdit(str(folder))
        self.path.setReadOnly(True)
        self.path.setAccessibleName("Models folder")
        self.path.setToolTip("Where models are kept")
        self.choose = QPushButton(icon("folder"), "Change…")
        self.choose.setToolTip("Choose another folder for models")
        self.choose.setAccessibleName("Change the models folder")
        self.choose.clicked.connect(self._choose)
        self.default = QPushButton("Use the studio's folder")
        self.default.setToolTip(f"Keep models in the studio's own folder: {paths.models_dir()}")
        self.default.setAccessibleName("Use the studio's folder")
        self.default.clicked.connect(lambda: self.set_folder(paths.models_dir()))
        line = QHBoxLayout()
        line.addWidget(self.path, 1)
        line.addWidget(self.choose)
        line.addWidget(self.default)
        layout.addLayout(line)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setProperty("role", "muted")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.set_folder(folder)
        self.resize(620, self.sizeHint().height())

    def folder(self) -> Path:
        return Path(self.path.text())

    def set_folder(self, folder: Path) -> None:
        """Show ``folder`` and where each kind of model goes in it."""
        self.path.setText(str(folder))
        folders = model_folders(folder)
        lines = [
            f"{_LAYOUTS[folders.layout]}:",
            f"Checkpoints: {folders.checkpoints}",
            f"ControlNets: {folders.controlnets}",
            f"LoRAs: {folders.loras}",
        ]
        try:
            lines.append(f"{format_bytes(self._space_probe(folders.checkpoints))} free there.")
        except OSError:
            pass  # an unplugged drive: the folder is still shown, the space is unknown
        self.status.setText("\n".join(lines))

    def _choose(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Where to keep models", self.path.text())
        if chosen:
            self.set_folder(Path(chosen))

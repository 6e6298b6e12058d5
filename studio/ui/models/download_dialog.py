"""Downloading a model or a ControlNet from Hugging Face, with progress in bytes, a cancel button and errors as
sentences. Downloads go into the artist's models folder (its checkpoints or ControlNet folder)."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.models.controlnets import RECOMMENDED_CONTROLNETS
from studio.models.model_folders import model_folders
from studio.state.download_task import DownloadTask
from studio.ui.models.recommended_models import format_bytes, load_recommended_models, taesd_models
from studio.ui.shell.icons import icon

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_REPO_ROLE = Qt.ItemDataRole.UserRole + 1
FAMILY_NAMES = {"sd15": "SD 1.5", "sdxl": "SDXL"}
TYPE_NAMES = {"lineart": "Line art", "openpose": "OpenPose", "softedge": "Soft edge", "normal": "Normal map"}
# Per kind: window title, what the repo id names, an example, the recommended list's title.
_WORDS = {
    "model": (
        "Download a model",
        "Hugging Face repo id:",
        "stabilityai/stable-diffusion-xl-base-1.0",
        "model",
    ),
    "controlnet": (
        "Download a ControlNet",
        "Hugging Face repo id of a ControlNet:",
        "lllyasviel/control_v11p_sd15_canny",
        "ControlNet",
    ),
}


class DownloadDialog(QDialog):
    model_downloaded = Signal(Path)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        repo_id: str = "",
        task: DownloadTask | None = None,
        kind: str = "model",
        models_folder: Path | None = None,
    ) -> None:
        """``kind`` "model" downloads a pipeline, "controlnet" a ControlNet, into ``models_folder`` (None: the
        studio's own; a given ``task`` keeps its own folder)."""
        super().__init__(parent)
        self.kind = kind
        title, repo_label, example, noun = _WORDS[kind]
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.task = task or DownloadTask(self, kind=kind, folder=models_folder)
        if self.task.parent() is None:
            self.task.setParent(self)
        self.task.progress.connect(self._on_progress)
        self.task.finished.connect(self._on_finished)
        self.task.failed.connect(self._on_failed)
        self.task.cancelled.connect(self._on_cancelled)

        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(QLabel(repo_label, self))
        self.repo_edit = QLineEdit(repo_id, self)
        self.repo_edit.setPlaceholderText(f"organisation/name, e.g. {example}")
        self.repo_edit.setToolTip(f"The {noun}'s name on huggingface.co, as organisation/name")
        self.repo_edit.setAccessibleName("Repo id")
        self.repo_edit.setClearButtonEnabled(True)
        self.repo_edit.returnPressed.connect(self.start_download)
        layout.addWidget(self.repo_edit)

        layout.addWidget(QLabel(f"Or pick a recommended {noun}:", self))
        self.recommended = QListWidget(self)
        self.recommended.setAccessibleName(f"Recommended {noun}s")
        self.recommended.setToolTip(f"Click a {noun} to put its repo id above")
        for text, repo, tip in self._recommended_items():
            item = QListWidgetItem(text)
            item.setData(_REPO_ROLE, repo)
            item.setToolTip(tip)
            self.recommended.addItem(item)
        rows = 3 if kind == "model" else 7
        shown = min(rows, self.recommended.count())
        self.recommended.setMaximumHeight(self.recommended.sizeHintForRow(0) * rows + 8)
        self.recommended.setMinimumHeight(self.recommended.sizeHintForRow(0) * shown + 8)
        self.recommended.itemClicked.connect(lambda item: self.repo_edit.setText(item.data(_REPO_ROLE)))
        layout.addWidget(self.recommended)

        folders = model_folders(self.task.folder)
        self.target_folder = folders.controlnets if kind == "controlnet" else folders.checkpoints
        self.folder_label = QLabel(f"Saved in {self.target_folder}", self)
        self.folder_label.setWordWrap(True)
        self.folder_label.setProperty("role", "muted")
        self.folder_label.setToolTip("Change where models are kept with File ▸ Models folder…")
        self.folder_label.setAccessibleName("Download folder")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.folder_label)

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setAccessibleName("Download progress")
        self.progress_bar.setToolTip("Bytes downloaded so far")
        self.progress_bar.setTextVisible(False)  # the status line below says it in words
        self.progress_bar.setVisible(False)
        layout.addWidget(self.progress_bar)

        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setProperty("role", "muted")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setAccessibleName("Download status")
        layout.addWidget(self.status_label)

        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setProperty("role", "error")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setAccessibleName("Download error")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.download_button = QPushButton(icon("download"), "Download", self)
        self.download_button.setProperty("primary", True)
        self.download_button.setDefault(True)
        self.download_button.setToolTip(f"Download the {noun} into {self.target_folder}")
        self.download_button.setAccessibleName("Download")
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button = QPushButton(icon("cancel"), "Cancel download", self)
        self.cancel_button.setToolTip("Stop the download; nothing half-downloaded is kept")
        self.cancel_button.setAccessibleName("Cancel download")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.close_button = QPushButton("Close", self)
        self.close_button.setToolTip("Close this window (a running download is cancelled)")
        self.close_button.setAccessibleName("Close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        for button in (self.download_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.resize(560, self.sizeHint().height())

    # --- actions --------------------------------------------------------------------------------------

    def start_download(self) -> bool:
        """Check the repo id and start; False (with the reason shown) when it is not usable."""
        if self.task.is_running():
            return False
        repo_id = self.repo_edit.text().strip()
        if not REPO_ID.match(repo_id):
            shown = repo_id or "(empty)"
            self._show_error(
                f"'{shown}' is not a Hugging Face repo id. Write it as organisation/model, for example "
                "stable-diffusion-v1-5/stable-diffusion-v1-5."
            )
            return False
        wrong_kind = self._wrong_kind(repo_id)
        if wrong_kind:
            self._show_error(wrong_kind)
            return False
        self.error_label.setVisible(False)
        self.progress_bar.setRange(0, 0)  # busy until the first byte count arrives
        self.progress_bar.setVisible(True)
        self.status_label.setText(f"Looking up {repo_id}…")
        self._set_running(True)
        self.task.start(repo_id)
        return True

    def _recommended_items(self) -> list[tuple[str, str, str]]:
        """(text, repo id, tooltip) of each recommended download of this dialog's kind."""
        if self.kind == "controlnet":
            return [
                (
                    f"{TYPE_NAMES.get(r.type, r.type.capitalize())} · {FAMILY_NAMES[r.family]} — {r.repo_id}",
                    r.repo_id,
                    f"A {r.type} ControlNet for {FAMILY_NAMES[r.family]} models",
                )
                for r in RECOMMENDED_CONTROLNETS
            ]
        return [
            (
                f"{m.name} — {m.size_text} · {m.license}" + (" · for live painting" if m.few_step else ""),
                m.repo_id,
                f"{m.repo_id}\n{m.description}",
            )
            for m in load_recommended_models() + taesd_models()
        ]

    def _wrong_kind(self, repo_id: str) -> str:
        """A sentence when ``repo_id`` is known to be of the other kind (checked before any network use)."""
        if self.kind == "model" and any(r.repo_id == repo_id for r in RECOMMENDED_CONTROLNETS):
            return (
                f"'{repo_id}' is a ControlNet, not an image model. Download it with File ▸ Download ControlNet… "
                "(or the Download button of a control input), then pick it in the Control tab."
            )
        if self.kind == "controlnet" and any(m.repo_id == repo_id for m in load_recommended_models()):
            return (
                f"'{repo_id}' is a full image model, not a ControlNet. Download it with File ▸ Download model…, "
                "and pick a ControlNet from the list here."
            )
        return ""

    def cancel_download(self) -> None:
        if self.task.is_running():
            self.status_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)
            self.task.cancel()

    def reject(self) -> None:
        self.cancel_download()
        super().reject()

    # --- task signals ---------------------------------------------------------------------------------

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            # QProgressBar holds an int: count in kilobytes so a 7 GB model fits.
            self.progress_bar.setRange(0, max(1, total // 1000))
            self.progress_bar.setValue(min(done, total) // 1000)
            percent = 100 * done // total
            text = f"{format_bytes(done)} of {format_bytes(total)} ({percent}%)"
        else:
            text = f"{format_bytes(done)} downloaded"
        self.progress_bar.setFormat(text)
        self.status_label.setText(f"Downloading {self.task.repo_id}: {text}")
        self.progress_bar.setAccessibleDescription(text)

    def _on_finished(self, folder: Path) -> None:
        self._set_running(False)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        self.progress_bar.setFormat("Done")
        self.status_label.setText(f"Saved in {folder}.")
        self.model_downloaded.emit(folder)
        self.accept()

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.progress_bar.setVisible(False)
        self.status_label.clear()
        self._show_error(message)

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.progress_bar.setVisible(False)
        self.status_label.setText("Download cancelled; nothing was kept.")

    def _set_running(self, running: bool) -> None:
        self.download_button.setEnabled(not running)
        self.repo_edit.setEnabled(not running)
        self.recommended.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(True)
        # Grow to fit the sentence rather than squeeze the list above it.
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

"""The control inputs panel: a list of ControlNet inputs (sketch, image files, poses) and their previews.

The panel owns the rows; ``controls()`` is what goes into ``GenerationRequest.controls`` (every row, a switched-off
one with ``enabled=False`` so it survives restarts; a "canvas" row pointing at the saved sketch PNG). Previews are the pre-processed control images, computed as
backend tasks (where the engine runs) ``PREVIEW_DELAY_MS`` after the last change, so typing a threshold or drawing
never waits for them; a result that a newer change made stale is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QMenu, QPushButton, QScrollArea, QVBoxLayout, QWidget

from studio.backend.tasks import ControlPreview
from studio.models.controlnets import CONTROL_TYPES
from studio.request import ControlInput, GenerationRequest
from studio.state.worker import GenerationWorker
from studio.ui.control.control_row import ControlRow

PREVIEW_DELAY_MS = 300


class ControlPanel(QWidget):
    changed = Signal()  # the artist edited the controls: read ``controls()``
    message = Signal(str, str)  # kind ("error" / "notice"), sentence
    download_requested = Signal(str)  # a recommended ControlNet's repo id

    def __init__(self, worker: GenerationWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.rows: list[ControlRow] = []
        self.canvas_path = ""
        self._size = (512, 512)
        self._shown: tuple | None = None  # (controls, size) last shown by ``set_request``
        # Called on the GUI thread before previews are computed: puts files still held in memory (the pose) on disk.
        self.before_previews: Callable[[], None] | None = None
        self.annotators_folder: Path | None = None  # annotator weights for depth, soft edge... previews
        self.controlnet_folders: list[Path] | None = None  # where ControlNets are listed from (None: our own)
        self.model_family: str | None = None  # the image model's family: its ControlNets are offered first
        self.served: list[str] | None = None  # the servers' ControlNets while servers are in use (None: none)
        self._generation = 0
        self._said: dict[int, str] = {}  # row id -> the last message sent, so a refresh does not repeat it
        self._previews: dict[
            int, tuple[int, ControlRow]
        ] = {}  # task id -> (generation, row) it was asked for
        worker.task_finished.connect(self._preview_done)
        worker.task_failed.connect(self._preview_failed)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self._compute_previews)

        self.intro = QLabel(
            "ControlNet makes the picture follow a structure: your sketch, the edges or depth of a photo, a pose."
        )
        self.intro.setWordWrap(True)
        self.intro.setObjectName("muted")
        self.add = QPushButton("Add control input")
        self.add.setToolTip("Follow the sketch, an image or a pose")
        menu = QMenu(self.add)
        menu.addAction("Scribble from this sketch", lambda: self.add_control("scribble", "canvas"))
        menu.addAction("Line art from this sketch", lambda: self.add_control("lineart", "canvas"))
        menu.addAction("Edges (canny) of an image", lambda: self.add_control("canny", "image"))
        menu.addAction("Depth of an image", lambda: self.add_control("depth", "image"))
        menu.addAction("Pose", lambda: self.add_control("openpose", "pose"))
        menu.addSeparator()
        for kind in CONTROL_TYPES:
            menu.addAction(
                f"{kind.capitalize()} from an image file", lambda k=kind: self.add_control(k, "image")
            )
        self.add.setMenu(menu)
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.add)
        layout.addWidget(scroll, 1)

    # --- the list -------------------------------------------------------------------------------------

    def add_control(self, control_type: str = "scribble", source: str = "canvas") -> ControlRow:
        from studio.models.controlnets import preferred_controlnet

        # An installed ControlNet of the model's family and this type beats a download.
        model = preferred_controlnet(control_type, self.model_family, self.controlnet_folders, self.served)
        control = ControlInput(
            type=control_type, image=self.canvas_path if source == "canvas" else "", source=source, model=model
        )
        row = self._add_row(control)
        row.auto_model = True
        self._edited()
        return row

    def remove_row(self, row: ControlRow) -> None:
        self.rows.remove(row)
        self._said.pop(id(row), None)
        row.deleteLater()
        self._edited()

    def _add_row(self, control: ControlInput) -> ControlRow:
        folders, family = self.controlnet_folders, self.model_family
        row = ControlRow(control, controlnet_folders=folders, model_family=family, served=self.served)
        row.canvas_path = self.canvas_path if control.source == "canvas" else row.canvas_path
        row.changed.connect(self._edited)
        row.remove_requested.connect(self.remove_row)
        row.download_requested.connect(self.download_requested)
        self.rows.append(row)
        self._list_layout.insertWidget(self._list_layout.count() - 1, row)
        return row

    def set_controlnet_folders(self, folders: list[Path]) -> None:
        """List ControlNets from ``folders`` in every row (the models folder changed)."""
        self.controlnet_folders = list(folders)
        for row in self.rows:
            row.set_controlnet_folders(folders)

    def set_served(self, served: list[str] | None) -> None:
        """List the servers' ControlNets in every row (None: servers are no longer in use)."""
        if served == self.served:
            return
        self.served = served
        repicked = [row.auto_model for row in self.rows]
        for row in self.rows:
            row.set_served(served)
        if any(repicked):
            self._edited()  # a ControlNet a row had picked itself now comes from the servers

    def set_model_family(self, family: str | None) -> None:
        """The image model's family ("sd15", "sdxl"; None: unknown): its ControlNets are offered first."""
        if family == self.model_family:
            return
        self.model_family = family
        repicked = [row.set_model_family(family) for row in self.rows]
        if any(repicked):
            self._edited()  # a ControlNet the row had picked itself now follows the new family

    def refresh_models(self) -> None:
        """List the ControlNets on disk again in every row (one was just downloaded)."""
        for row in self.rows:
            row.refresh_models()

    def controls(self) -> tuple[ControlInput, ...]:
        return tuple(row.control() for row in self.rows)

    def uses_canvas(self) -> bool:
        return any(row.is_enabled() and row.control().source == "canvas" for row in self.rows)

    def set_request(self, request: GenerationRequest) -> None:
        """Show the request's controls (kept as they are when they already match: edits are not reset)."""
        shown = (request.controls, (request.width, request.height))
        if shown == self._shown:
            return  # another field changed (the prompt, say): the previews still hold
        self._shown = shown
        self._size = (request.width, request.height)
        if request.controls != self.controls():
            for row in self.rows:
                row.deleteLater()
            self.rows = []
            self._said.clear()
            for control in request.controls:
                self._add_row(control)
        self.refresh_previews()

    def set_canvas_path(self, path: str) -> None:
        self.canvas_path = path
        for row in self.rows:
            row.canvas_path = path

    # --- previews -------------------------------------------------------------------------------------

    def refresh_previews(self) -> None:
        """Recompute the previews soon (the timer restarts on every call: a debounce)."""
        self._timer.start()

    def _edited(self) -> None:
        self.changed.emit()
        self.refresh_previews()

    def _compute_previews(self) -> None:
        if self.before_previews is not None:
            self.before_previews()
        self._generation += 1
        annotators = str(self.annotators_folder) if self.annotators_folder else None
        for row in self.rows:
            control = row.control()
            if not row.is_enabled():
                row.set_preview(None, "Off")
            elif not control.image:
                self._show_preview(self._generation, row, None, "", "")
            else:
                task = self.worker.run_task(ControlPreview(control, *self._size, annotators))
                self._previews[task] = (self._generation, row)

    def _preview_done(self, task_id: int, value: Any) -> None:
        asked = self._previews.pop(task_id, None)
        if asked is None:
            return  # another panel's task
        image, notices = value
        rgb = image.convert("RGB")
        # copy() detaches the QImage from the bytes object, which Python frees.
        qimage = QImage(
            rgb.tobytes(), rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888
        ).copy()
        self._show_preview(*asked, qimage, " ".join(notices), "")

    def _preview_failed(self, task_id: int, message: str, _detail: str) -> None:
        asked = self._previews.pop(task_id, None)
        if asked is not None:
            self._show_preview(*asked, None, "", message)

    def _show_preview(self, generation: int, row: ControlRow, image, notices: str, error: str) -> None:
        if generation != self._generation or row not in self.rows:
            return
        if error:
            row.set_preview(None, "Cannot preview")
            row.preview.setToolTip(error)
            self._say(row, "error", error)
        elif image is None:
            row.set_preview(None, "Choose a pose" if row.control().source == "pose" else "Choose an image")
        else:
            row.set_preview(QPixmap.fromImage(image))
            self._say(row, "notice", notices)

    def _say(self, row: ControlRow, kind: str, text: str) -> None:
        if text and self._said.get(id(row)) != text:
            self.message.emit(kind, text)
        self._said[id(row)] = text

    def shutdown(self) -> None:
        self._timer.stop()
        self._previews.clear()

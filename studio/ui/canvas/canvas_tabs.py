"""Puts the sketch canvas, the inpainting mask painter and the control panel into the main window and wires
them to the state: the Sketch and Inpaint tabs beside the picture, the Control tab beside the settings.

Kept out of ``main_window.py`` so the window only says where things go (``CanvasTabs(window)``) and when the
layers must be on disk (``flush`` before a generation, ``shutdown`` when closing).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from studio.request import GenerationRequest
from studio.state.canvas_store import CanvasStore
from studio.ui.canvas.mask_painter import MaskPainter
from studio.ui.canvas.sketch_page import SketchPage
from studio.ui.control.control_panel import ControlPanel

if TYPE_CHECKING:
    from studio.ui.shell.main_window import MainWindow

_IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp);;All files (*)"


class CanvasTabs(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        state = window.state
        self.store = CanvasStore(state.autosave.path.parent / "session", parent=self)
        self.sketch = SketchPage(self.store)
        self.mask_painter = MaskPainter(self.store)
        self.control_panel = ControlPanel(state.worker)
        tabs = window.canvas.tabs
        tabs.addTab(self.sketch, "Sketch")
        tabs.setTabToolTip(tabs.indexOf(self.sketch), "Draw a sketch for the picture to follow (ControlNet)")
        tabs.addTab(self.mask_painter, "Inpaint")
        tabs.setTabToolTip(tabs.indexOf(self.mask_painter), "Paint over the part of a picture to repaint")
        window.side_tabs.addTab(self.control_panel, "Control")
        window.side_tabs.setTabToolTip(
            window.side_tabs.indexOf(self.control_panel),
            "ControlNet inputs: follow a sketch, an image or a pose",
        )

        request = state.request
        self.sketch.restore(request.width, request.height)
        self.mask_painter.restore(request)
        self.control_panel.set_canvas_path(self.sketch.sketch_path())
        self.control_panel.set_request(request)
        self._show_control_count(request)

        panel = self.control_panel
        panel.changed.connect(self._controls_edited)
        panel.message.connect(self._panel_message)
        panel.download_requested.connect(self.download_controlnet)
        # Bound methods: the store signals from its save thread, and Qt queues them onto this (GUI) thread.
        self.store.saved.connect(self._layer_saved)
        self.store.failed.connect(state.notice)
        self.sketch.error.connect(state.error)
        self.mask_painter.changed.connect(self._mask_edited)
        self.mask_painter.use_current_requested.connect(self.inpaint_current)
        self.mask_painter.open_requested.connect(self._choose_inpaint_file)
        state.request_changed.connect(self._show_request)
        # The pose control's preview renders the pose file: redraw it when the pose moves, file saved first.
        state.pose.changed.connect(self._pose_changed)
        panel.before_previews = self._save_pose
        panel.annotators_folder = state.annotators_folder()
        state.annotators_changed.connect(self._annotators_changed)
        panel.set_controlnet_folders(state.controlnet_folders())
        state.models_folder_changed.connect(
            lambda _folder: panel.set_controlnet_folders(state.controlnet_folders())
        )
        # A new model folder (the demo set, an A1111 install) can bring ControlNets: list them after each scan.
        state.models.changed.connect(lambda _entries: panel.set_controlnet_folders(state.controlnet_folders()))
        if hasattr(window.gallery, "inpaint_requested"):
            window.gallery.inpaint_requested.connect(self.inpaint_path)

    # --- the window's hooks ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Put every layer on disk now: the engine reads the sketch and mask files."""
        self.store.flush()

    def shutdown(self) -> None:
        self.control_panel.shutdown()
        self.store.close()

    # --- inpainting -----------------------------------------------------------------------------------

    def inpaint_current(self) -> None:
        pixmap = self.window.canvas.current_pixmap()
        if pixmap.isNull():
            self.window.state.error(
                "There is no picture to inpaint yet: generate one or pick one in the gallery."
            )
            return
        shown = self.window.shown_path
        self._start_inpainting(str(shown) if shown else None, pixmap.toImage())

    def inpaint_path(self, path: Path) -> None:
        image = QImage(str(path))
        if image.isNull():
            self.window.state.error(
                f"'{Path(path).name}' could not be opened as an image. It may be damaged or not an image."
            )
            return
        self._start_inpainting(str(path), image)

    def _start_inpainting(self, path: str | None, image: QImage) -> None:
        try:
            self.mask_painter.set_source(path, image)
        except OSError as exc:
            self.window.state.error(
                f"The picture could not be kept for inpainting ({exc}). Free some disk space and try again."
            )
            return
        self.window.canvas.tabs.setCurrentWidget(self.mask_painter)
        self.mask_painter.canvas.setFocus()

    def _choose_inpaint_file(self) -> None:
        start = str(self.window.state.settings.outputs())
        path, _ = QFileDialog.getOpenFileName(self.window, "Picture to inpaint", start, _IMAGE_FILES)
        if path:
            self.inpaint_path(Path(path))

    def _mask_edited(self) -> None:
        state = self.window.state
        state.set_request(self.mask_painter.apply_to(state.request))

    # --- controls -------------------------------------------------------------------------------------

    def _controls_edited(self) -> None:
        if self.control_panel.uses_canvas():
            self.sketch.ensure_saved()
        self.window.state.update(controls=self.control_panel.controls())

    def _show_request(self, request: GenerationRequest) -> None:
        self.sketch.canvas.set_canvas_size(request.width, request.height)
        self.control_panel.set_request(request)
        self.mask_painter.set_options(request)
        self._show_control_count(request)

    def _show_control_count(self, request: GenerationRequest) -> None:
        count = len(request.active_controls)
        index = self.window.side_tabs.indexOf(self.control_panel)
        self.window.side_tabs.setTabText(index, f"Control ({count})" if count else "Control")

    def _pose_changed(self, _pose) -> None:
        if any(c.source == "pose" for c in self.window.state.request.active_controls):
            self.control_panel.refresh_previews()

    def _annotators_changed(self, folder: Path | None) -> None:
        self.control_panel.annotators_folder = folder
        self.control_panel.refresh_previews()

    def _save_pose(self) -> None:
        if self.window.state.pose.pending():
            self.window.state.pose.flush()

    def _layer_saved(self, layer: str, _path: str) -> None:
        if layer == "sketch" and self.control_panel.uses_canvas():
            self.control_panel.refresh_previews()

    def _panel_message(self, kind: str, text: str) -> None:
        if kind == "error":
            self.window.state.error(text)
        else:
            self.window.state.notice(text)

    def download_controlnet(self, repo_id: str = "") -> None:
        """Open the download dialog for ControlNets (``repo_id`` filled in), saving into the models folder."""
        from studio.ui.models.download_dialog import DownloadDialog

        models = self.window.state.settings.models()
        dialog = DownloadDialog(self.window, repo_id=repo_id, kind="controlnet", models_folder=models)
        dialog.model_downloaded.connect(self._controlnet_downloaded)
        dialog.open()

    def _controlnet_downloaded(self, path: Path) -> None:
        self.control_panel.refresh_models()
        self.window.state.info(f"ControlNet downloaded to {path}; it is in the control inputs' model list.")

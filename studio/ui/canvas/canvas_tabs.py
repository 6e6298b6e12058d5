"""Puts the sketch canvas, the inpainting mask painter and the control panel into the main window and wires
them to the state: the Sketch and Inpaint tabs beside the picture, the Control tab beside the settings.

Kept out of ``main_window.py`` so the window only says where things go (``CanvasTabs(state, canvas, …)``). The
layers the pages draw are the state's (``state.canvas``), which puts them on disk before a generation and when
closing. It is handed the few widgets it fills rather than the window, so that it need not import
``main_window``, which imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QTabWidget, QWidget

from studio.request import GenerationRequest
from studio.ui.canvas.mask_painter import MaskPainter
from studio.ui.canvas.sketch_page import SketchPage
from studio.ui.control.control_panel import ControlPanel

if TYPE_CHECKING:
    from studio.state.app_state import AppState
    from studio.ui.canvas.canvas_view import CanvasView
    from studio.ui.gallery.gallery_panel import GalleryPanel

_IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp);;All files (*)"


class CanvasTabs(QObject):
    """Adds the Sketch and Inpaint tabs to ``canvas.tabs`` and the Control tab to ``side_tabs``.

    ``shown_path`` answers which file the picture on ``canvas`` came from (None for a fresh one); it is asked
    each time inpainting starts, since the picture changes. ``parent`` (the window) owns this object and
    parents its dialogs.
    """

    def __init__(
        self,
        state: AppState,
        canvas: CanvasView,
        side_tabs: QTabWidget,
        gallery: GalleryPanel,
        shown_path: Callable[[], Path | None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.canvas = canvas
        self.side_tabs = side_tabs
        self._shown_path = shown_path
        self._dialog_parent = parent
        self.sketch = SketchPage(state.canvas)
        self.mask_painter = MaskPainter(state.canvas)
        self.control_panel = ControlPanel(state.worker)
        tabs = canvas.tabs
        tabs.addTab(self.sketch, "Sketch")
        tabs.setTabToolTip(tabs.indexOf(self.sketch), "Draw a sketch for the picture to follow (ControlNet)")
        tabs.addTab(self.mask_painter, "Inpaint")
        tabs.setTabToolTip(tabs.indexOf(self.mask_painter), "Paint over the part of a picture to repaint")
        side_tabs.addTab(self.control_panel, "Control")
        side_tabs.setTabToolTip(
            side_tabs.indexOf(self.control_panel),
            "ControlNet inputs: follow a sketch, an image or a pose",
        )

        request = state.request
        self.sketch.restore(request.width, request.height)
        self.mask_painter.restore(request)
        self.mask_painter.bind(state)
        self.control_panel.set_canvas_path(self.sketch.sketch_path())
        self.control_panel.set_request(request)
        self._show_control_count(request)

        panel = self.control_panel
        panel.changed.connect(self._controls_edited)
        panel.message.connect(self._panel_message)
        panel.download_requested.connect(self.download_controlnet)
        # A bound method: the store signals from its save thread, and Qt queues it onto this (GUI) thread.
        state.canvas.saved.connect(self._layer_saved)
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
        state.models.changed.connect(lambda _entries: self._follow_model_family())
        gallery.inpaint_requested.connect(self.inpaint_path)

    # --- the window's hooks ---------------------------------------------------------------------------

    def shutdown(self) -> None:
        self.control_panel.shutdown()

    # --- inpainting -----------------------------------------------------------------------------------

    def inpaint_current(self) -> None:
        pixmap = self.canvas.current_pixmap()
        if pixmap.isNull():
            self.state.error("There is no picture to inpaint yet: generate one or pick one in the gallery.")
            return
        shown = self._shown_path()
        self._start_inpainting(str(shown) if shown else None, pixmap.toImage())

    def inpaint_path(self, path: Path) -> None:
        image = QImage(str(path))
        if image.isNull():
            self.state.error(
                f"'{Path(path).name}' could not be opened as an image. It may be damaged or not an image."
            )
            return
        self._start_inpainting(str(path), image)

    def _start_inpainting(self, path: str | None, image: QImage) -> None:
        try:
            self.mask_painter.set_source(path, image)
        except OSError as exc:
            self.state.error(
                f"The picture could not be kept for inpainting ({exc}). Free some disk space and try again."
            )
            return
        self.canvas.tabs.setCurrentWidget(self.mask_painter)
        self.mask_painter.canvas.setFocus()

    def _choose_inpaint_file(self) -> None:
        start = str(self.state.settings.outputs())
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent, "Picture to inpaint", start, _IMAGE_FILES)
        if path:
            self.inpaint_path(Path(path))

    def _mask_edited(self) -> None:
        self.state.update(**self.mask_painter.mask_changes(self.state.request))

    # --- controls -------------------------------------------------------------------------------------

    def _controls_edited(self) -> None:
        if self.control_panel.uses_canvas():
            self.sketch.ensure_saved()
        self.state.update(controls=self.control_panel.controls())

    def _show_request(self, request: GenerationRequest) -> None:
        self.sketch.canvas.set_canvas_size(request.width, request.height)
        self._follow_model_family()
        self.control_panel.set_request(request)
        self._show_control_count(request)

    def _follow_model_family(self) -> None:
        # The ControlNets of the model's family are offered first (the list of models may come after the request).
        model = self.state.request.model
        entry = self.state.models.find(model) if model else None
        self.control_panel.set_model_family(getattr(entry, "family", None))

    def _show_control_count(self, request: GenerationRequest) -> None:
        count = len(request.active_controls)
        index = self.side_tabs.indexOf(self.control_panel)
        self.side_tabs.setTabText(index, f"Control ({count})" if count else "Control")

    def _pose_changed(self, _pose) -> None:
        if any(c.source == "pose" for c in self.state.request.active_controls):
            self.control_panel.refresh_previews()

    def _annotators_changed(self, folder: Path | None) -> None:
        self.control_panel.annotators_folder = folder
        self.control_panel.refresh_previews()

    def _save_pose(self) -> None:
        if self.state.pose.pending():
            self.state.pose.flush()

    def _layer_saved(self, layer: str, _path: str) -> None:
        if layer == "sketch" and self.control_panel.uses_canvas():
            self.control_panel.refresh_previews()

    def _panel_message(self, kind: str, text: str) -> None:
        if kind == "error":
            self.state.error(text)
        else:
            self.state.notice(text)

    def download_controlnet(self, repo_id: str = "") -> None:
        """Open the download dialog for ControlNets (``repo_id`` filled in), saving into the models folder."""
        from studio.ui.models.download_dialog import DownloadDialog

        models = self.state.settings.models()
        dialog = DownloadDialog(self._dialog_parent, repo_id=repo_id, kind="controlnet", models_folder=models)
        dialog.model_downloaded.connect(self._controlnet_downloaded)
        dialog.open()

    def _controlnet_downloaded(self, path: Path) -> None:
        self.control_panel.refresh_models()
        self.state.info(f"ControlNet downloaded to {path}; it is in the control inputs' model list.")

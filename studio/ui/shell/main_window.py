"""The studio window: prompt on the left, the picture in the middle, settings on the right, gallery below.

The window only arranges widgets and forwards the artist's actions to ``AppState``; everything else (queue,
worker, session) lives in the state layer so it can be tested without widgets.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QImage,
)
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.errors import StudioError
from studio.state.app_state import ERROR, GENERATION, NOTICE, AppState
from studio.state.lora_list import lora_tag_diagnostics
from studio.state.lora_sync import prompt_owns_loras
from studio.ui.canvas.canvas_tabs import CanvasTabs
from studio.ui.canvas.canvas_view import CanvasView, array_to_qimage
from studio.ui.canvas.live_mode import LiveMode
from studio.ui.gallery.gallery_panel import GalleryPanel
from studio.ui.gallery.queue_panel import QueuePanel
from studio.ui.generation.performance_box import TierStatus
from studio.ui.generation.progress_panel import ProgressPanel
from studio.ui.generation.settings_panel import SettingsPanel
from studio.ui.lora.lora_panel import LoraPanel
from studio.ui.models.first_run import DEMO_BUILDING, FirstRunWidget
from studio.ui.pose.pose_editor import PoseEditor
from studio.ui.prompt.prompt_panel import PromptPanel
from studio.ui.shell.icons import icon
from studio.ui.shell.image_drop import image_paths_from_mime, settings_from_mime
from studio.ui.shell.message_area import MessageArea
from studio.ui.shell.window_menus import WindowMenus

log = logging.getLogger("studio.ui")

FAILED_STATUS = "Failed: see the message above the picture"


class MainWindow(QMainWindow):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setWindowTitle("Diffusion Studio")
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)
        self.first_run: FirstRunWidget | None = None  # made only when no model is found
        self.shown_path: Path | None = None  # the file of the picture on the canvas, if it has one

        self.prompt_panel = PromptPanel()
        self.progress_panel = ProgressPanel()
        self.settings_panel = SettingsPanel()
        self.canvas = CanvasView()
        self.messages = MessageArea()
        self.gallery = GalleryPanel()
        self.gallery.setToolTip("Your pictures, newest first. Right-click one to reuse its settings.")
        self.queue_panel = QueuePanel(state.queue)
        self.lora_panel = LoraPanel(state.loras, embeddings=state.embeddings)
        self.pose_editor = PoseEditor(state)
        self.canvas.tabs.addTab(self.pose_editor, "Pose")
        self.canvas.tabs.setTabToolTip(self.canvas.tabs.indexOf(self.pose_editor), "Pose people for ControlNet")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.prompt_panel, 1)
        left_layout.addWidget(self.progress_panel)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.canvas)
        centre = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.messages)
        self.canvas_row = QSplitter(Qt.Orientation.Horizontal)  # the picture and, beside it, live mode's view
        self.canvas_row.addWidget(self.stack)
        self.canvas_row.setStretchFactor(0, 1)
        top_layout.addWidget(self.canvas_row, 1)
        centre.addWidget(top)
        centre.addWidget(self.gallery)
        centre.setStretchFactor(0, 1)
        centre.setStretchFactor(1, 0)
        centre.setSizes([590, 170])  # one row of thumbnails; the picture gets the rest
        settings_scroll = QScrollArea()
        settings_scroll.setWidget(self.settings_panel)
        settings_scroll.setWidgetResizable(True)
        settings_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right = QSplitter(Qt.Orientation.Vertical)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(settings_scroll, "Settings")
        self.side_tabs.addTab(self.lora_panel, "LoRA")
        self.side_tabs.setTabToolTip(1, "LoRAs: small add-on models for a style, character or concept")
        right.addWidget(self.side_tabs)
        right.addWidget(self.queue_panel)
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 1)  # a taller window gives the queue room too
        right.setSizes([560, 200])  # the queue shows about three jobs with their thumbnails
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget, minimum in ((left, 280), (centre, 320), (right, 280)):
            self.splitter.addWidget(widget)
            widget.setMinimumWidth(minimum)
        self.splitter.setSizes([290, 640, 350])  # at 1280 px the canvas tool rows need ~630, the settings 350
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)
        self.statusBar().showMessage("Ready")

        self.menus = WindowMenus(self, commands=self)
        self._connect()
        self.canvases = CanvasTabs(  # Sketch and Inpaint tabs, the Control tab
            state, self.canvas, self.side_tabs, self.gallery, shown_path=lambda: self.shown_path, parent=self
        )
        self.live = LiveMode(  # the live view beside the picture, the few-step offer under the messages
            state, self.canvases.sketch, self.pose_editor, self.canvas.tabs, self.canvas_row, top_layout, self
        )
        self.gallery.set_folder(state.settings.outputs())
        self.resize(1280, 800)
        if state.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(state.settings.window_geometry.encode("ascii")))
        if state.settings.window_state:
            self.splitter.restoreState(QByteArray.fromBase64(state.settings.window_state.encode("ascii")))

    # --- wiring -----------------------------------------------------------------------------------------

    def _bind_performance(self) -> None:
        """The status line's VRAM tier (``ui.generation.performance_box``; Generate ▸ Performance… sets it)."""
        self.tier_status = TierStatus(self)
        self.statusBar().addPermanentWidget(self.tier_status)
        self.tier_status.show_settings(self.state.settings.vram, self.state.settings.fast_mode)
        self.state.stage.connect(self.tier_status.on_stage)

    def _connect(self) -> None:
        s, p = self.state, self.progress_panel
        # Each field is bound once, before ``_show_request``: an edit sends only its field to the state.
        self.prompt_panel.bind(s)
        self.settings_panel.bind(s)
        self._bind_performance()
        self.prompt_panel.generate_requested.connect(self.generate)
        p.generate_clicked.connect(self.generate)
        p.cancel_clicked.connect(s.cancel)
        s.request_changed.connect(self._show_request)
        s.running_changed.connect(p.set_running)
        s.running_changed.connect(
            lambda running: self.statusBar().showMessage("Generating…" if running else "Ready")
        )
        s.stage.connect(p.set_stage)
        s.progress.connect(p.set_progress)
        s.preview.connect(self._show_preview)
        s.result_ready.connect(self._show_result)
        s.job_cancelled.connect(lambda: p.set_finished("Cancelled"))
        s.job_failed.connect(lambda _text: p.set_finished(FAILED_STATUS))
        s.sourced_message.connect(self._show_message)
        s.messages_resolved.connect(self.messages.resolve)
        self.messages.changed.connect(self._failure_status_follows_message)
        s.last_seed_changed.connect(self.settings_panel.set_last_seed)
        s.demo_building.connect(self._demo_building)
        p.set_needs_model(not s.request.model)
        self.settings_panel.reuse_seed_requested.connect(s.reuse_last_seed)
        s.models.changed.connect(self._models_changed)
        s.models.refreshing.connect(lambda busy: busy and self.statusBar().showMessage("Looking for models…"))
        self.queue_panel.remove_requested.connect(s.remove_job)
        self.queue_panel.resume_requested.connect(s.resume_queue)
        self.settings_panel.add_model_requested.connect(self.menus.add_model_file)
        self.settings_panel.download_requested.connect(self.menus.download_model)
        self.settings_panel.browse_init_requested.connect(self.menus.choose_init_image)
        self.gallery.image_activated.connect(self.show_path)
        self.gallery.reuse_settings_requested.connect(lambda path: self.reuse_image(path))
        self.gallery.reuse_seed_requested.connect(lambda path: self.reuse_image(path, seed_only=True))
        self.gallery.img2img_requested.connect(lambda path: self.settings_panel.set_init_image(str(path)))
        self._connect_loras()

    def _connect_loras(self) -> None:
        s, panel = self.state, self.lora_panel
        panel.edited.connect(s.set_request)
        panel.trigger_clicked.connect(self.prompt_panel.insert_at_cursor)
        panel.add_folder_requested.connect(self._choose_lora_folder)
        for check in (self.prompt_panel.prompt_check, self.prompt_panel.negative_check):
            # The engine applies LoRA tags from either prompt, so both are checked against the library.
            check.set_extra_check(lambda parsed: lora_tag_diagnostics(parsed.loras, s.loras, self._model_family()))
        s.loras.changed.connect(lambda _entries: self._recheck_prompts())
        panel.set_request(s.request)

    def _recheck_prompts(self) -> None:
        self.prompt_panel.prompt_check.check_now()
        self.prompt_panel.negative_check.check_now()

    def _model_family(self) -> str | None:
        entry = self.state.models.find(self.state.request.model) if self.state.request.model else None
        return getattr(entry, "family", None)

    def _choose_lora_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(
            self, "Choose a LoRA folder, or the folder of AUTOMATIC1111 or ComfyUI"
        )
        if folder:
            self.state.add_lora_folder(Path(folder))

    def _show_request(self, request) -> None:
        owned = prompt_owns_loras(request)
        if owned is not request:  # LoRAs listed by an image or the CLI become tags: the prompt is the truth
            self.state.set_request(owned)
            return
        if self.lora_panel.set_model_family(self._model_family()):
            self._recheck_prompts()  # a LoRA tag may now be for the wrong family
        self.lora_panel.set_request(request)
        self.progress_panel.set_needs_model(not request.model)

    def _show_preview(self, preview) -> None:
        request = self.state.running.request if self.state.running else self.state.request
        size = (request.width, request.height)
        if preview.pass_name == "refine" and request.hires is not None:
            size = request.hires.output_size(*size)
        self.canvas.show_preview(preview.image, size)
        self.shown_path = None

    def _show_result(self, result, saved: list) -> None:
        if result.images:
            self.canvas.show_image(array_to_qimage(np.asarray(result.images[-1].convert("RGB"))))
            self.shown_path = Path(saved[-1]) if saved else None
        for path in saved:
            self.gallery.add_image(Path(path))
        count = len(result.images)
        self.progress_panel.set_finished(
            f"Done: {count} image{'s' if count != 1 else ''} in {result.elapsed_s:.1f} s, seed {result.seeds[0]}"
            if result.seeds
            else "Done"
        )
        if saved:
            self.statusBar().showMessage(f"Saved {Path(saved[-1]).name}", 8000)

    def _show_message(self, kind: str, text: str, detail: str, source: str = "") -> None:
        if kind == ERROR:
            self.messages.show_error(text, detail or None, source)
        elif kind == NOTICE:
            self.messages.show_notice(text, source)
        else:
            self.messages.show_info(text, source)

    def _failure_status_follows_message(self) -> None:
        # "see the message above" must not outlive the message (dismissed, or the next job started).
        if self.progress_panel.status.text() == FAILED_STATUS and not self.messages.pending(GENERATION, ERROR):
            self.progress_panel.set_finished("Ready")

    def _models_changed(self, _entries: list) -> None:
        if self.lora_panel.set_model_family(self._model_family()):
            self._recheck_prompts()
        self.settings_panel.set_models(self.state.models.grouped())  # shows the request's model again
        self.statusBar().showMessage("Ready")
        has_models = self.settings_panel.has_models()
        self.gallery.setVisible(has_models or bool(self.gallery.paths()))  # the welcome page needs the room
        if has_models:
            self.stack.setCurrentWidget(self.canvas)
        else:
            self._show_first_run()

    def _demo_building(self, building: bool) -> None:
        if building:
            self.statusBar().showMessage(DEMO_BUILDING)
        if self.first_run is not None:
            self.first_run.set_demo_building(building)

    def _show_first_run(self) -> None:
        if self.first_run is None:
            offer = not self.state.settings.found_folders_offered
            self.first_run = FirstRunWidget(models_folder=self.state.settings.models(), offer_found=offer)
            self.first_run.found_folders_chosen.connect(self.state.add_found_folders)
            self.first_run.found_offer.declined.connect(self.state.answer_found_folders)
            self.first_run.models_folder_chosen.connect(self.state.set_models_folder)
            self.state.models_folder_changed.connect(self.first_run.set_models_folder)
            self.first_run.demo_requested.connect(self.state.create_demo_models)
            self.first_run.folder_chosen.connect(lambda path: self.state.add_model_path(Path(path), True))
            self.first_run.download_requested.connect(self.menus.download_model)
            self.stack.addWidget(self.first_run)
        self.stack.setCurrentWidget(self.first_run)

    # --- actions ----------------------------------------------------------------------------------------

    def generate(self) -> None:
        self.state.generate()  # puts the drawn layers and the pose on disk first

    def show_path(self, path: Path) -> None:
        image = QImage(str(path))
        if image.isNull():
            self.state.error(
                f"'{Path(path).name}' could not be opened as an image. It may be damaged or not an image."
            )
            return
        self.canvas.show_image(image)
        self.shown_path = Path(path)

    def show_adjacent(self, step: int) -> None:
        """Show the gallery's previous (-1) or next (+1) image after the one on the canvas."""
        images = self.gallery.paths()
        if not images:
            return
        index = images.index(self.shown_path) + step if self.shown_path in images else 0
        self.show_path(images[min(max(index, 0), len(images) - 1)])

    def copy_image(self) -> None:
        if not self.canvas.current_pixmap().isNull():
            QApplication.clipboard().setPixmap(self.canvas.current_pixmap())

    def save_shown_image(self, target: Path) -> None:
        """Save the canvas picture; a picture from a file is copied whole, so its settings travel with it."""
        try:
            if self.shown_path is not None and target.suffix.lower() == self.shown_path.suffix.lower():
                shutil.copyfile(self.shown_path, target)
            elif not self.canvas.current_pixmap().save(str(target)):
                raise OSError("the image format is not supported or the folder is not writable")
        except OSError as exc:
            self.state.error(f"Could not save the image to '{target}': {exc}. Choose another folder or name.")
            return
        self.state.info(f"Saved {target.name}.")

    def reuse_shown_seed(self) -> None:
        if self.shown_path is not None:
            self.reuse_image(self.shown_path, seed_only=True)
        else:
            self.state.reuse_last_seed()

    def reuse_image(self, path: Path, seed_only: bool = False) -> None:
        from studio.metadata.reader import read_image_settings

        try:
            self.state.apply_image_settings(read_image_settings(Path(path)), seed_only=seed_only)
        except StudioError as exc:
            self.state.error(str(exc))

    def apply_mime(self, mime) -> bool:
        """Restore settings from dropped or pasted data; False (and a message) when it holds none."""
        poses = [url.toLocalFile() for url in mime.urls() if url.toLocalFile().lower().endswith(".json")]
        if mime.hasUrls() and len(poses) == 1 and len(mime.urls()) == 1:  # a pose file: into the pose editor
            self.canvas.tabs.setCurrentWidget(self.pose_editor)
            return self.pose_editor.open_pose_file(Path(poses[0]))
        if mime.hasUrls() and not image_paths_from_mime(mime) and not mime.hasImage():
            # A dropped file that is not an image: its path is not a prompt.
            self.state.error("Only images (PNG, JPEG, WebP) carry generation settings; nothing was changed.")
            return False
        try:
            found = settings_from_mime(mime)
        except StudioError as exc:
            self.state.error(str(exc))
            return False
        if found is None:
            self.state.error("That is not an image or text with generation settings; nothing was changed.")
            return False
        self.state.apply_image_settings(found)
        return True

    def paste_settings(self) -> None:
        self.apply_mime(QApplication.clipboard().mimeData())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage() or mime.hasText():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        if self.apply_mime(event.mimeData()):
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.canvases.shutdown()  # the control previews; the state writes the layers and the pose below
        self.live.shutdown()
        self.state.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        self.state.settings.window_state = bytes(self.splitter.saveState().toBase64()).decode("ascii")
        if not self.state.shutdown(timeout=1.5):
            log.warning("the worker did not stop within 1.5 s; exiting anyway")
        event.accept()

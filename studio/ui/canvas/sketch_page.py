"""The Sketch tab: the toolbar over the sketch canvas, its autosave, and importing a reference or a sketch."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QLabel, QVBoxLayout, QWidget

from studio.state.canvas_store import CanvasStore
from studio.ui.canvas.layer_pixels import qimage_to_rgba, rgba_to_qimage
from studio.ui.canvas.sketch_canvas import SketchCanvas
from studio.ui.canvas.sketch_toolbar import SketchToolbar

SKETCH_LAYER, REFERENCE_LAYER = "sketch", "reference"
_IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp *.bmp);;All files (*)"


class SketchPage(QWidget):
    error = Signal(str)  # a whole sentence for the message area

    def __init__(self, store: CanvasStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.canvas = SketchCanvas()
        self.toolbar = SketchToolbar(self.canvas)
        hint = QLabel(
            "Draw in black on white. Add a control input (Control tab) so the picture follows the sketch. "
            "Wheel: zoom · Space-drag or middle button: pan · Shift-click: straight line"
        )
        hint.setObjectName("muted")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)  # off the tab frame, like the Pose tab
        layout.addWidget(self.toolbar)
        layout.addWidget(self.toolbar.extras)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(hint)
        self.canvas.changed.connect(self._drawn)
        self.toolbar.import_reference_requested.connect(self._choose_reference)
        self.toolbar.import_sketch_requested.connect(self._choose_sketch)
        self.toolbar.remove_reference_requested.connect(self.remove_reference)
        self._show_reference_tools()

    def sketch_path(self) -> str:
        """Where the sketch is saved: the control input of source "canvas" points here."""
        return str(self.store.path(SKETCH_LAYER))

    def ensure_saved(self) -> None:
        """Write the sketch now when it has no file yet (a control input may point at it)."""
        if not Path(self.sketch_path()).is_file():
            self._save_now()

    def restore(self, width: int, height: int) -> None:
        """The sketch and reference of the last session, at the generation size."""
        drawing = self.store.load(SKETCH_LAYER)
        if drawing is not None:
            self.canvas.set_layer(rgba_to_qimage(drawing))
        self.canvas.set_canvas_size(width, height)
        self.canvas.undo_stack.clear()  # a restored drawing is the start, not an undoable step
        reference = self.store.load(REFERENCE_LAYER)
        if reference is not None:
            self.canvas.set_reference(rgba_to_qimage(reference))
        self._show_reference_tools()

    def load_reference(self, path: str) -> bool:
        image = self._read(path, "reference photo")
        if image is None:
            return False
        self.canvas.set_reference(image)
        self._write(REFERENCE_LAYER, self.canvas.reference)
        self._show_reference_tools()
        return True

    def remove_reference(self) -> None:
        self.canvas.set_reference(None)
        self.store.remove(REFERENCE_LAYER)
        self._show_reference_tools()

    def _show_reference_tools(self) -> None:
        has_reference = self.canvas.reference is not None
        self.toolbar.remove_reference.setEnabled(has_reference)
        self.toolbar.reference_opacity.setEnabled(has_reference)

    def import_sketch(self, path: str) -> bool:
        image = self._read(path, "sketch")
        if image is None:
            return False
        self.canvas.import_drawing(image)
        return True

    def _drawn(self) -> None:
        self.store.schedule(SKETCH_LAYER, lambda: qimage_to_rgba(self.canvas.layer()))

    def _save_now(self) -> None:
        self._write(SKETCH_LAYER, self.canvas.layer())

    def _write(self, layer: str, image: QImage | None) -> None:
        if image is None:
            return
        try:
            self.store.save_now(layer, qimage_to_rgba(image))
        except OSError as exc:
            self.error.emit(
                f"The {layer} could not be saved to '{self.store.path(layer)}' ({exc}). Free some disk space or "
                "check the folder's permissions."
            )

    def _read(self, path: str, what: str) -> QImage | None:
        image = QImage(path)
        if image.isNull():
            self.error.emit(
                f"'{Path(path).name}' could not be opened as a {what}. Choose a PNG, JPEG or WebP file."
            )
            return None
        return image

    def _choose_reference(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Reference photo to trace over", str(Path.home()), _IMAGE_FILES
        )
        if path:
            self.load_reference(path)

    def _choose_sketch(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Sketch to continue", str(Path.home()), _IMAGE_FILES)
        if path:
            self.import_sketch(path)

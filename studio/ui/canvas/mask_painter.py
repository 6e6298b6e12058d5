"""Inpainting: paint a mask (red, half transparent) over a picture; the painted area is what gets repainted.

The mask is saved as a white-on-black PNG through the canvas store and, with the picture as the init image,
goes into the request (``mask``, ``mask_blur``, ``inpaint_area``, ``inpaint_padding``). Clearing the mask turns
inpainting off again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.request import GenerationRequest
from studio.state.canvas_store import CanvasStore
from studio.ui.binding import FieldBinding, RequestState
from studio.ui.canvas.layer_pixels import alpha_mask, new_layer, qimage_to_rgba, rgba_to_qimage
from studio.ui.canvas.sketch_canvas import SketchCanvas
from studio.ui.canvas.sketch_toolbar import SketchToolbar

MASK_COLOUR = QColor(235, 40, 40)
MASK_LAYER, SOURCE_LAYER = "mask", "inpaint_source"


class MaskPainter(QWidget):
    """``changed`` fires when the mask or an option changes: call ``apply_to`` on the request."""

    changed = Signal()
    use_current_requested = Signal()
    open_requested = Signal()

    def __init__(self, store: CanvasStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.source_path: str | None = None  # the picture being inpainted
        self.canvas = SketchCanvas(paper=None, colour=MASK_COLOUR, layer_opacity=0.5)
        self.canvas.setAccessibleName("Inpainting mask")
        self.canvas.brush_size = 32
        self.toolbar = SketchToolbar(self.canvas, sketch_tools=False)
        self.toolbar.clear.setToolTip("Remove the whole mask: inpainting turns off")
        self.use_current = QPushButton("Use current image")
        self.use_current.setToolTip("Paint the mask over the picture shown in the Image tab")
        self.open = QPushButton("Open image…")
        self.open.setToolTip("Paint the mask over a picture from a file")
        self.blur = QSpinBox()
        self.blur.setRange(0, 64)
        self.blur.setSuffix(" px")
        self.blur.setAccessibleName("Mask blur")
        self.blur.setToolTip("Feathers the edge of the mask so the repainted area blends in")
        self.masked_only = QCheckBox("Masked area only")
        self.masked_only.setToolTip(
            "Repaint just the masked area (plus padding) at full resolution: best for small details like faces"
        )
        self.padding = QSpinBox()
        self.padding.setRange(0, 256)
        self.padding.setSuffix(" px")
        self.padding.setAccessibleName("Inpaint padding")
        self.padding.setToolTip("Context around the masked area when repainting the masked area only")
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        picture = QHBoxLayout()
        picture.addWidget(self.use_current)
        picture.addWidget(self.open)
        picture.addWidget(self.status, 1)
        options = QHBoxLayout()
        options.addWidget(QLabel("Feather"))
        options.addWidget(self.blur)
        options.addSpacing(12)
        options.addWidget(self.masked_only)
        options.addWidget(QLabel("Padding"))
        options.addWidget(self.padding)
        options.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)  # off the tab frame, like the Pose tab
        layout.addWidget(self.toolbar)
        layout.addLayout(picture)
        layout.addLayout(options)
        layout.addWidget(self.canvas, 1)
        self.canvas.changed.connect(self._mask_edited)
        self.use_current.clicked.connect(self.use_current_requested)
        self.open.clicked.connect(self.open_requested)
        self.masked_only.toggled.connect(self._show_padding)
        self._bindings: list[FieldBinding] = []
        self._show_padding()
        self._show_status()

    def bind(self, state: RequestState) -> None:
        """The blur, area and padding options edit their request fields directly (``studio.ui.binding``)."""
        self._bindings = [
            FieldBinding(
                state, ["mask_blur"], lambda: {"mask_blur": self.blur.value()},
                lambda request: self.blur.setValue(request.mask_blur), [self.blur.valueChanged], [self.blur],
            ),
            FieldBinding(
                state, ["inpaint_area"], lambda: {"inpaint_area": "masked" if self.masked_only.isChecked() else "whole"},
                self._show_area, [self.masked_only.toggled], [self.masked_only],
            ),
            FieldBinding(
                state, ["inpaint_padding"], lambda: {"inpaint_padding": self.padding.value()},
                lambda request: self.padding.setValue(request.inpaint_padding), [self.padding.valueChanged],
                [self.padding],
            ),
        ]  # fmt: skip

    def _show_area(self, request: GenerationRequest) -> None:
        self.masked_only.setChecked(request.inpaint_area == "masked")
        self._show_padding()  # its signal is blocked while a binding writes it

    def _show_padding(self) -> None:
        self.padding.setEnabled(self.masked_only.isChecked())

    # --- the picture and the mask ---------------------------------------------------------------------

    def set_source(self, path: str | None, image: QImage) -> None:
        """Paint over ``image``; without a ``path`` it is saved to the session folder first (the engine reads
        files). The mask starts empty."""
        if path is None:
            path = str(self.store.save_now(SOURCE_LAYER, qimage_to_rgba(image)))
        self.source_path = path
        self.canvas.set_layer(new_layer(image.width(), image.height()))
        self.canvas.set_reference(image)
        self.canvas.set_reference_opacity(1.0)
        self.canvas.undo_stack.clear()
        self.canvas.zoom_fit()
        self.store.remove(MASK_LAYER)
        self._show_status()
        self.changed.emit()

    def has_mask(self) -> bool:
        return self.source_path is not None and not self.canvas.is_empty()

    def mask_path(self) -> Path:
        return self.store.path(MASK_LAYER)

    def restore(self, request: GenerationRequest) -> None:
        """Bring back the mask of the last session when the request still inpaints."""
        if not (request.mask and request.init_image):
            return
        image = QImage(request.init_image)
        saved = self.store.load(MASK_LAYER)
        if image.isNull() or saved is None:
            return
        self.source_path = request.init_image
        self.canvas.set_reference(image)
        self.canvas.set_reference_opacity(1.0)
        layer = np.zeros(saved.shape[:2] + (4,), np.uint8)
        layer[..., :3] = MASK_COLOUR.red(), MASK_COLOUR.green(), MASK_COLOUR.blue()
        layer[..., 3] = saved[..., 0]  # the saved mask is grey: white where painted
        self.canvas.set_layer(rgba_to_qimage(layer))
        self._show_status()

    def mask_changes(self, request: GenerationRequest) -> dict[str, str | None]:
        """The ``init_image`` and ``mask`` fields that inpaint with this mask, or that turn inpainting off."""
        if self.has_mask():
            return {"init_image": self.source_path, "mask": str(self.mask_path())}
        if request.mask is not None and request.init_image == self.source_path:
            # Inpainting turned off: the picture was the mask's, not an img2img source the artist chose.
            return {"init_image": None, "mask": None}
        return {"mask": None}

    # --- edits ----------------------------------------------------------------------------------------

    def _mask_edited(self) -> None:
        if self.canvas.is_empty():
            self.store.remove(MASK_LAYER)
        else:
            self.store.schedule(MASK_LAYER, lambda: alpha_mask(self.canvas.layer()))
        self._show_status()
        self.changed.emit()

    def _show_status(self) -> None:
        if self.source_path is None:
            text = "Choose the picture to change: Use current image, or Open image…"
        elif self.canvas.is_empty():
            text = "Paint over the part to repaint. Nothing is painted, so inpainting is off."
        else:
            text = f"Inpainting {Path(self.source_path).name}: the red area is repainted when you generate."
        self.status.setText(text)
        self.canvas.setEnabled(self.source_path is not None)

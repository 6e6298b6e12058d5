"""The live picture beside the canvas: the newest picture live mode made, its own small progress line and the
pictures per second achieved, live mode's strength and steps, and Keep / Refine."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.ui.canvas.canvas_view import ImageLabel, array_to_qimage

LIVE_WIDTH = 210  # its first width beside a 640 px centre at 1280x800: the canvas keeps most of the room


class LiveView(QWidget):
    keep_requested = Signal()
    refine_requested = Signal()
    strength_changed = Signal(float)
    steps_changed = Signal(int)

    def __init__(self, strength: float = 0.6, steps: int = 4, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(160)
        self.setAccessibleName("Live picture")
        title = QLabel("<b>Live</b>")
        self.picture = ImageLabel()
        self.picture.setText("The live picture shows here as you draw.")
        self.picture.setWordWrap(True)
        self.picture.setMinimumHeight(160)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(4)
        self.bar.setRange(0, 1)
        self.bar.setAccessibleName("Live progress")
        self.status = QLabel("Ready")
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        # Room for a two-line message: the picture above takes whatever height is left.
        self.status.setMinimumHeight(self.status.fontMetrics().lineSpacing() * 4)
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(10, 100)
        self.strength.setValue(round(strength * 100))
        self.strength.setAccessibleName("Live strength")
        self.strength.setToolTip(
            "How far the picture may move away from the sketch: low keeps your lines, high lets the model invent"
        )
        self.strength.valueChanged.connect(lambda value: self.strength_changed.emit(value / 100))
        self.steps = QSpinBox()
        self.steps.setRange(1, 12)
        self.steps.setValue(steps)
        self.steps.setAccessibleName("Live steps")
        self.steps.setToolTip("Steps per live picture: 1-8 with a few-step model (LCM, Turbo, Lightning)")
        self.steps.valueChanged.connect(self.steps_changed)
        self.keep = QPushButton("Keep")
        self.keep.setToolTip("Save this live picture into the gallery, with its settings")
        self.keep.clicked.connect(self.keep_requested)
        self.refine = QPushButton("Refine")
        self.refine.setToolTip("Generate this picture again with your full step count (it joins the queue)")
        self.refine.clicked.connect(self.refine_requested)
        for button in (self.keep, self.refine):
            button.setEnabled(False)

        settings = QGridLayout()  # two rows: the view may be as narrow as 160 px
        settings.addWidget(QLabel("Strength"), 0, 0)
        settings.addWidget(self.strength, 0, 1)
        settings.addWidget(QLabel("Steps"), 1, 0)
        settings.addWidget(self.steps, 1, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.keep)
        buttons.addWidget(self.refine)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(title)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addLayout(settings)
        layout.addLayout(buttons)
        self.shown = 0  # pictures shown, for tests and the benchmark

    def show_result(self, result: Any) -> None:
        image = result.images[0].convert("RGB")
        self.picture.set_image(QPixmap.fromImage(array_to_qimage(np.asarray(image))))
        self.shown += 1
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        for button in (self.keep, self.refine):
            button.setEnabled(True)

    def set_progress(self, step: int, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(step)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

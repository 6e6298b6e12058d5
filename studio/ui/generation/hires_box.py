"""Upscale & refine ("hires fix"): a checkable group with the second pass's scale, strength and steps."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox, QWidget

from studio.request import HiresSettings

UPSCALERS = ("Lanczos",)


class HiresBox(QGroupBox):
    """``settings()`` is None while unchecked; ``changed`` fires on the artist's edits only."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Upscale && refine", parent)
        self.setCheckable(True)
        self.setAccessibleName("Upscale and refine")
        self.setToolTip("After the first picture, enlarge it and repaint the details (hires fix).")
        self.scale = QDoubleSpinBox(self)
        self.scale.setRange(1.25, 2.0)
        self.scale.setSingleStep(0.25)
        self.scale.setPrefix("×")
        self.strength = QDoubleSpinBox(self)
        self.strength.setRange(0.05, 1.0)
        self.strength.setSingleStep(0.05)
        self.steps = QSpinBox(self)
        self.steps.setRange(1, 150)
        self.upscaler = QComboBox(self)
        self.upscaler.addItems(list(UPSCALERS))
        form = QFormLayout(self)
        for label, widget, name, tip in (
            ("Scale", self.scale, "Upscale factor", "How much larger the final picture is."),
            (
                "Denoising",
                self.strength,
                "Refine strength",
                "How much the refine pass may change: 0.3–0.5 adds detail, more invents.",
            ),
            ("Steps", self.steps, "Refine steps", "Steps of the refine pass."),
            ("Upscaler", self.upscaler, "Upscaler", "How the picture is enlarged before refining."),
        ):
            widget.setAccessibleName(name)
            widget.setToolTip(tip)
            form.addRow(label, widget)
        for spin in (self.scale, self.strength, self.steps):
            spin.valueChanged.connect(self._edited)
        self.upscaler.currentIndexChanged.connect(self._edited)
        self.toggled.connect(self._edited)

    def set_settings(self, hires: HiresSettings | None) -> None:
        """Show ``hires`` without emitting ``changed``."""
        with QSignalBlocker(self):
            shown = hires or HiresSettings()
            self.setChecked(hires is not None)
            self.scale.setValue(shown.scale)
            self.strength.setValue(shown.strength)
            self.steps.setValue(shown.steps)
            if self.upscaler.findText(shown.upscaler) < 0:
                self.upscaler.addItem(shown.upscaler)  # kept as read; the engine says if it cannot use it
            self.upscaler.setCurrentText(shown.upscaler)

    def settings(self) -> HiresSettings | None:
        if not self.isChecked():
            return None
        return HiresSettings(
            scale=round(self.scale.value(), 2),
            strength=round(self.strength.value(), 2),
            steps=self.steps.value(),
            upscaler=self.upscaler.currentText(),
        )

    def _edited(self, *_args) -> None:
        self.changed.emit()

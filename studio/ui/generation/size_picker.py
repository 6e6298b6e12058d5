"""Picture size: aspect-ratio presets at the model family's native size, or any custom width and height."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

ROLE_RATIO = Qt.ItemDataRole.UserRole + 2
CUSTOM = "Custom"
# Aspect ratios at each family's native pixel count (SD1.5 trained at 512², SDXL at 1024²), multiples of 8.
SIZE_PRESETS = {
    "sd15": [
        ("1:1 Square", 512, 512),
        ("2:3 Portrait", 512, 768),
        ("3:2 Landscape", 768, 512),
        ("3:4 Portrait", 576, 768),
        ("4:3 Landscape", 768, 576),
        ("9:16 Tall", 432, 768),
        ("16:9 Wide", 768, 432),
    ],
    "sdxl": [
        ("1:1 Square", 1024, 1024),
        ("2:3 Portrait", 832, 1216),
        ("3:2 Landscape", 1216, 832),
        ("3:4 Portrait", 896, 1152),
        ("4:3 Landscape", 1152, 896),
        ("9:16 Tall", 768, 1344),
        ("16:9 Wide", 1344, 768),
    ],
}


class SizePicker(QWidget):
    """A preset drop-down above width and height spin boxes; ``changed`` fires on the artist's edits only."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.family = "sd15"
        self.preset = QComboBox(self)
        self.preset.setAccessibleName("Size preset")
        self.preset.setToolTip("Aspect ratios at the size the model was trained for.")
        self.width = QSpinBox(self)
        self.height = QSpinBox(self)
        for spin, name in ((self.width, "Width"), (self.height, "Height")):
            spin.setRange(64, 2048)
            spin.setSingleStep(64)
            spin.setAccessibleName(name)
            spin.setToolTip(f"{name} in pixels (a multiple of 8).")
            spin.valueChanged.connect(self._spin_edited)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preset)
        row = QHBoxLayout()
        # Short labels (W, H, as in Krita and Photoshop): the settings column is about 330 px wide.
        for spin, text in ((self.width, "Width"), (self.height, "Height")):
            label = QLabel(text[0], self)
            label.setToolTip(f"{text} in pixels")
            label.setBuddy(spin)
            row.addWidget(label)
            row.addWidget(spin, 1)
        layout.addLayout(row)
        self.preset.activated.connect(self._apply_preset)
        self._fill()

    def picture_size(self) -> tuple[int, int]:
        return self.width.value(), self.height.value()

    def set_size(self, width: int, height: int) -> None:
        """Show a size without emitting ``changed``."""
        with QSignalBlocker(self.width), QSignalBlocker(self.height):
            self.width.setValue(width)
            self.height.setValue(height)
        self._match()

    def set_family(self, family: str | None, keep_ratio: bool = False) -> None:
        """Offer ``family``'s presets; with ``keep_ratio`` a preset ratio moves to the new family's size."""
        ratio = self.preset.currentData(ROLE_RATIO)
        self.family = family if family in SIZE_PRESETS else "sd15"
        self._fill()
        if keep_ratio:
            sizes = {label: (w, h) for label, w, h in SIZE_PRESETS[self.family]}
            if ratio in sizes and sizes[ratio] != self.picture_size():
                self.set_size(*sizes[ratio])
                self.changed.emit()

    def _fill(self) -> None:
        self.preset.blockSignals(True)
        self.preset.clear()
        for label, w, h in SIZE_PRESETS[self.family]:
            self.preset.addItem(f"{label}  {w}×{h}", f"{w}x{h}")
            self.preset.setItemData(self.preset.count() - 1, label, ROLE_RATIO)
        self.preset.addItem(CUSTOM, None)
        self.preset.blockSignals(False)
        self._match()

    def _match(self) -> None:
        index = self.preset.findData(f"{self.width.value()}x{self.height.value()}")
        self.preset.setCurrentIndex(index if index >= 0 else self.preset.count() - 1)

    def _apply_preset(self, index: int) -> None:
        size = self.preset.itemData(index)
        if size:
            self.set_size(*(int(n) for n in size.split("x")))
            self.changed.emit()

    def _spin_edited(self) -> None:
        self._match()
        self.changed.emit()

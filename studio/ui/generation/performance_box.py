"""Performance: the VRAM tier, fast mode, fp8 weights and the TAESD preview folder, bound to the preferences.

The engine reads these through ``EngineConfig`` (``backend.factory.engine_config``): a change is saved and the
backend reconfigured at once, so the next generation uses it (the model reloads, which the window says).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.engine.memory_tiers import TIER_DESCRIPTIONS, TIER_NAMES, TIER_STAGE_PREFIX
from studio.models.taesd import is_taesd_folder, taesd_problem
from studio.settings import VRAM_CHOICES

if TYPE_CHECKING:
    from studio.state.app_state import AppState

FAST_NOTE = "Each new image size compiles once (about a minute, shown as it runs); later runs start at once."
FP8_NOTE = (
    "Keeps the UNet's weights in 8-bit floats and computes in 16-bit: about half the memory, and the picture "
    "changes slightly (the same seed gives a slightly different image)."
)
TAESD_NOTE = (
    "A TAESD folder (or the folder holding taesd and taesdxl) shows each step as a real picture. Empty: the "
    "downloaded TAESD decoders if any, else quick colour previews."
)


def vram_tooltip() -> str:
    return "How much of the model stays on the graphics card:\n" + "\n".join(
        f"{TIER_NAMES[name]}: {TIER_DESCRIPTIONS[name]}" for name in VRAM_CHOICES
    )


class PerformanceBox(QGroupBox):
    """``changed`` fires on the artist's edits only, after the preferences were saved."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Performance", parent)
        self.setAccessibleName("Performance")
        self._state: AppState | None = None
        self.vram = QComboBox(self)
        self.vram.setAccessibleName("VRAM tier")
        self.vram.setToolTip(vram_tooltip())
        for index, name in enumerate(VRAM_CHOICES):
            self.vram.addItem(TIER_NAMES[name], name)
            self.vram.setItemData(index, TIER_DESCRIPTIONS[name].capitalize(), Qt.ItemDataRole.ToolTipRole)
        self.fast = QCheckBox("Fast mode", self)
        self.fast.setAccessibleName("Fast mode")
        self.fast.setToolTip(f"Compile the model for speed on the graphics card. {FAST_NOTE}")
        self.fast_note = QLabel(FAST_NOTE, self)
        self.fast_note.setWordWrap(True)
        self.fast_note.setEnabled(False)  # greyed: a note, not a control
        self.fp8 = QCheckBox("Smaller weights (fp8)", self)
        self.fp8.setAccessibleName("fp8 weights")
        self.fp8.setToolTip(FP8_NOTE)
        self.taesd = QLineEdit(self)
        self.taesd.setReadOnly(True)
        self.taesd.setPlaceholderText("Quick colour previews")
        self.taesd.setAccessibleName("TAESD preview folder")
        self.taesd.setToolTip(TAESD_NOTE)
        self.choose_taesd = QPushButton("Choose…", self)
        self.choose_taesd.setToolTip("Pick a TAESD folder for real step previews")
        self.choose_taesd.setAccessibleName("Choose TAESD folder")
        self.clear_taesd = QPushButton("Clear", self)
        self.clear_taesd.setToolTip("Back to the downloaded TAESD decoders, or quick colour previews")
        self.clear_taesd.setAccessibleName("Clear TAESD folder")
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setObjectName("error")
        self.error.setVisible(False)
        buttons = QWidget(self)
        buttons_layout = QHBoxLayout(buttons)
        buttons_layout.setContentsMargins(0, 0, 0, 0)
        buttons_layout.addStretch(1)
        for widget in (self.choose_taesd, self.clear_taesd):
            buttons_layout.addWidget(widget)
        form = QFormLayout(self)
        form.addRow("VRAM", self.vram)
        form.addRow(self.fast)
        form.addRow(self.fast_note)
        form.addRow(self.fp8)
        form.addRow("Previews", self.taesd)
        form.addRow(buttons)
        form.addRow(self.error)
        self.vram.currentIndexChanged.connect(self._edited)
        self.fast.toggled.connect(self._edited)
        self.fp8.toggled.connect(self._edited)
        self.choose_taesd.clicked.connect(self._choose_taesd)
        self.clear_taesd.clicked.connect(lambda: self.set_taesd_folder(None))

    def bind(self, state: AppState) -> None:
        """Show ``state.settings`` and write the artist's edits back (saved, engine reconfigured)."""
        self._state = state
        settings = state.settings
        with QSignalBlocker(self.vram), QSignalBlocker(self.fast), QSignalBlocker(self.fp8):
            self.vram.setCurrentIndex(max(0, self.vram.findData(settings.vram)))
            self.fast.setChecked(settings.fast_mode)
            self.fp8.setChecked(settings.fp8_weights)
        self.taesd.setText(settings.taesd_folder or "")

    def set_taesd_folder(self, folder: str | None) -> bool:
        """Use ``folder`` for previews (None: the default). False, with the reason shown, when it holds none."""
        problem = taesd_problem(folder) if folder else None
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        if problem:
            return False
        self.taesd.setText(folder or "")
        self._edited()
        return True

    def _choose_taesd(self) -> None:
        start = self.taesd.text() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "TAESD preview folder", start)
        if folder:
            self.set_taesd_folder(folder)

    def _edited(self) -> None:
        if self._state is None:
            return
        settings = self._state.settings
        settings.vram = self.vram.currentData()
        settings.fast_mode = self.fast.isChecked()
        settings.fp8_weights = self.fp8.isChecked()
        settings.taesd_folder = self.taesd.text() or None
        self._state.save_settings()
        self._state.configure_backend()
        self.changed.emit()


class PerformanceDialog(QDialog):
    """Generate ▸ Performance…: the box bound to the preferences, applied as it is edited (Close only closes).

    The settings column has no room left at 1280×800 (a scroll bar would cut its right edge), hence a dialog.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Performance")
        self.setAccessibleName("Performance")
        self.box = PerformanceBox(self)
        self.box.bind(state)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.box)
        layout.addWidget(close)
        self.resize(420, self.sizeHint().height())


class TierStatus(QLabel):
    """The status line's VRAM part: the setting until a run says which tier the engine chose."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("VRAM tier")
        self.setting = "auto"
        self.fast = False
        self.chosen: str | None = None  # the engine's description of the tier in use

    def show_settings(self, vram: str, fast: bool) -> None:
        """The preferences changed: the engine reloads, so what it chose before no longer holds."""
        self.setting, self.fast, self.chosen = vram, fast, None
        self._refresh()

    def on_stage(self, text: str) -> None:
        if text.startswith(TIER_STAGE_PREFIX):
            self.chosen = text[len(TIER_STAGE_PREFIX) :]
            self._refresh()

    def _refresh(self) -> None:
        fast = " · Fast" if self.fast else ""
        if self.chosen is None:
            self.setText(f"VRAM: {TIER_NAMES[self.setting]}{fast}")
            self.setToolTip(vram_tooltip())
            return
        name = self.chosen.split(" (", 1)[0]
        how = " (auto)" if self.setting == "auto" else ""
        self.setText(f"VRAM: {name}{how}{fast}")
        self.setToolTip(f"The model runs in the {self.chosen} VRAM tier.")


def taesd_downloaded(state: AppState, folder: Path) -> bool:
    """After a download: a TAESD decoder needs no model entry, only the engine set up again to use it."""
    if not is_taesd_folder(folder):
        return False
    state.configure_backend()
    state.message.emit(
        "info",
        f"Step previews now use the TAESD decoder in {folder}. They show from the next generation.",
        "",
    )
    return True

"""One active LoRA in the panel: on/off, weight slider with a number field, remove, trigger-word chips."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.state.lora_list import family_badge
from studio.state.lora_sync import ActiveLora
from studio.ui.lora.lora_chips import TriggerChips
from studio.ui.shell.icons import icon

WEIGHT_MIN, WEIGHT_MAX, WEIGHT_STEP = -2.0, 2.0, 0.05
_TICKS = round(1 / WEIGHT_STEP)  # slider positions per unit of weight
NAME_WIDTH = 170  # px for the LoRA's name beside its family badge and the remove button


class LoraRow(QFrame):
    """Shows one ``ActiveLora``. Signals carry the LoRA's name; ``show`` never emits them."""

    weight_changed = Signal(str, float)
    enabled_changed = Signal(str, bool)
    remove_requested = Signal(str)
    trigger_clicked = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setObjectName("loraRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 6, 6)
        layout.setSpacing(4)

        top = QHBoxLayout()
        self.switch = QCheckBox(self)
        self._set_switch_text(name)
        self.switch.setToolTip(f"{name}\nOn: the LoRA's tag is in the prompt. Off: it is kept here but not used.")
        self.switch.setAccessibleName(f"Use LoRA {name}")
        self.badge = QLabel(self)
        self.badge.setProperty("role", "muted")
        self.remove_button = QToolButton(self)
        self.remove_button.setIcon(icon("trash"))
        self.remove_button.setToolTip(f"Remove {name} (and its tag in the prompt)")
        self.remove_button.setAccessibleName(f"Remove LoRA {name}")
        self.remove_button.setAutoRaise(True)
        top.addWidget(self.switch, 1)
        top.addWidget(self.badge)
        top.addWidget(self.remove_button)
        layout.addLayout(top)

        weights = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(round(WEIGHT_MIN * _TICKS), round(WEIGHT_MAX * _TICKS))
        self.slider.setPageStep(_TICKS // 4)
        self.slider.setAccessibleName(f"Weight of {name}")
        self.slider.setToolTip(
            "How strongly the LoRA acts: 1 is full strength, 0 none, below 0 the opposite."
        )
        self.spin = QDoubleSpinBox(self)
        self.spin.setRange(WEIGHT_MIN, WEIGHT_MAX)
        self.spin.setSingleStep(WEIGHT_STEP)
        self.spin.setDecimals(2)
        self.spin.setKeyboardTracking(False)  # typing "0.75" must not write 0, 0.7 and 0.75 into the prompt
        self.spin.setAccessibleName(f"Weight of {name} (number)")
        weights.addWidget(self.slider, 1)
        weights.addWidget(self.spin)
        layout.addLayout(weights)

        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setProperty("role", "error")
        self.note.hide()
        layout.addWidget(self.note)
        self.chips = TriggerChips(self)
        layout.addWidget(self.chips)

        self.switch.toggled.connect(lambda on: self.enabled_changed.emit(self.name, on))
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self.name))
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self._spin_changed)
        self.chips.word_clicked.connect(self.trigger_clicked)

    def weight(self) -> float:
        return self.spin.value()

    def _set_switch_text(self, text: str) -> None:
        # A checkbox does not elide: a long file name would widen the row past the column and cut its buttons.
        shown = self.switch.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, NAME_WIDTH)
        self.switch.setText(shown)

    def show_lora(self, active: ActiveLora, entry: Any | None, reason: str | None) -> None:
        """Show the state read from the request; ``reason`` says why it cannot run (None: it can)."""
        for widget in (self.switch, self.slider, self.spin):
            widget.blockSignals(True)
        try:
            self.switch.setChecked(active.enabled)
            self._set_switch_text(self.name if active.enabled else f"{self.name} (off)")
            if active.weight is not None and WEIGHT_MIN <= active.weight <= WEIGHT_MAX:
                self.spin.setValue(active.weight)
                self.slider.setValue(round(active.weight * _TICKS))
        finally:
            for widget in (self.switch, self.slider, self.spin):
                widget.blockSignals(False)
        self.badge.setText(family_badge(entry.family) if entry is not None else "")
        self.chips.set_words(entry.triggers if entry is not None else ())
        self.chips.setEnabled(reason is None)
        problem = reason
        if entry is None:
            problem = (
                f"No LoRA named '{active.name}' is in the library. Check the spelling or add its folder."
            )
        elif active.weight is None:
            problem = "The weight in the prompt tag is not a number; fix it in the prompt."
        elif not WEIGHT_MIN <= active.weight <= WEIGHT_MAX:
            problem = (
                f"The weight {active.weight:g} in the prompt is outside −2…2; the engine will refuse it."
            )
        self.note.setText(problem or "")
        self.note.setVisible(bool(problem))
        self.slider.setEnabled(active.weight is not None)
        self.spin.setEnabled(active.weight is not None)
        tip = str(entry.path) if entry is not None else ""
        self.switch.setToolTip(
            (tip + "\n" if tip else "")
            + "On: the LoRA's tag is in the prompt. Off: it is kept here but not used."
        )

    def _slider_moved(self, position: int) -> None:
        weight = round(position / _TICKS, 2)
        self.spin.blockSignals(True)
        self.spin.setValue(weight)
        self.spin.blockSignals(False)
        self.weight_changed.emit(self.name, weight)

    def _spin_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * _TICKS))
        self.slider.blockSignals(False)
        self.weight_changed.emit(self.name, round(value, 2))

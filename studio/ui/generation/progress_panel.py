"""Generate / Cancel and how far the running job is: step i / N, pass, elapsed and time left."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from studio.ui.shell.icons import icon

PASS_NAMES = {"base": "first pass", "refine": "refine pass"}


GENERATE_TIP = (
    "Make a picture from the prompt (Ctrl+Enter). While one is being made, this adds the request to the queue."
)
NEEDS_MODEL_TIP = "Choose a model first: the welcome page offers a demo model and downloads."

def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}"


class ProgressPanel(QWidget):
    generate_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        self.generate = QPushButton("Generate", self)
        self.generate.setObjectName("generateButton")
        self.generate.setAccessibleName("Generate")
        self.generate.setToolTip(GENERATE_TIP)
        self.generate.setMinimumHeight(36)
        self.generate.setProperty("primary", True)  # the theme's accent colour: the one main action
        self.generate.setIcon(icon("generate"))
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setAccessibleName("Cancel generation")
        self.cancel.setToolTip("Stop the picture being made (Esc).")
        self.cancel.setEnabled(False)
        self.cancel.setMinimumHeight(36)
        self.cancel.setIcon(icon("cancel"))
        buttons.addWidget(self.generate, 3)
        buttons.addWidget(self.cancel, 1)
        layout.addLayout(buttons)
        self.bar = QProgressBar(self)
        self.bar.setAccessibleName("Progress")
        self.bar.setToolTip("Denoising steps done")
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        layout.addWidget(self.bar)
        self.status = QLabel("Ready", self)
        self.status.setAccessibleName("Status")
        self.timing = QLabel("", self)
        self.timing.setAccessibleName("Elapsed and time left")
        self.timing.setProperty("role", "muted")
        # Two lines, not one row: side by side they overlap in a 300 px wide panel.
        layout.addWidget(self.status)
        layout.addWidget(self.timing)
        self.generate.clicked.connect(self.generate_clicked)
        self.cancel.clicked.connect(self.cancel_clicked)
        self._started: float | None = None
        self._step = 0
        self._total = 0
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._update_timing)

    def set_needs_model(self, needed: bool) -> None:
        """With no model, Generate is not the main action (the welcome page's is) and says why it cannot run yet;
        it stays clickable, so a click explains instead of doing nothing."""
        self.generate.setProperty("primary", not needed)
        self.generate.setToolTip(NEEDS_MODEL_TIP if needed else GENERATE_TIP)
        self.generate.style().unpolish(self.generate)  # the theme reads "primary" when polishing
        self.generate.style().polish(self.generate)

    def set_running(self, running: bool) -> None:
        self.cancel.setEnabled(running)
        self.generate.setText("Add to queue" if running else "Generate")
        if running:
            self._started = time.monotonic()
            self._step = self._total = 0
            self.bar.setRange(0, 0)  # busy until the first step says how many there are
            self.status.setText("Starting…")
            self._clock.start()
        else:
            self._clock.stop()
            self._started = None
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
        self._update_timing()

    def set_stage(self, text: str) -> None:
        self.status.setText(text)

    def set_progress(self, step: int, total: int, pass_name: str = "base", image_index: int = 0) -> None:
        self._step, self._total = step, total
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(step)
        image = f"image {image_index + 1} · " if image_index else ""
        self.status.setText(f"{image}Step {step} / {total} · {PASS_NAMES.get(pass_name, pass_name)}")
        self._update_timing()

    def set_finished(self, text: str) -> None:
        self.set_running(False)
        self.status.setText(text)

    def _update_timing(self) -> None:
        if self._started is None:
            self.timing.setText("")
            return
        elapsed = time.monotonic() - self._started
        text = f"{format_duration(elapsed)} elapsed"
        if self._step and self._total:
            left = elapsed / self._step * (self._total - self._step)
            text += f" · about {format_duration(left)} left"
        self.timing.setText(text)

"""The one-line offer shown when a few-step model or LoRA is chosen: its settings, Apply, Not now."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class FewStepBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fewStepBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.apply = QPushButton("Apply")
        self.apply.setToolTip("Use these steps, CFG and sampler (you can change them back in the settings)")
        self.dismiss = QPushButton("Not now")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.apply)
        layout.addWidget(self.dismiss)
        self.hide()

    def show_suggestion(self, hint: Any, sentence: str) -> None:
        if hint is None:
            self.hide()
            return
        self.text.setText(f"{sentence} Use these settings?")
        self.show()

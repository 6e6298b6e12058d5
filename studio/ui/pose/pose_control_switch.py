""" "Use as control": the pose editor's switch that puts its pose into the request as an openpose control input.

The switch and the request stay in step both ways: ticking it adds ``ControlInput(type="openpose",
source="pose", image=<session pose.json>, model=<chosen ControlNet>)``; a pose control added or removed
elsewhere (the control inputs panel, reused settings) ticks or clears it, and one that does not read the session
pose file yet (added in the control panel with no file) is pointed at it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QWidget

from studio.models.controlnets import RECOMMENDED_CONTROLNETS
from studio.request import GenerationRequest
from studio.state.pose_store import (
    POSE_CONTROL_TYPE,
    pose_control,
    with_pose_control,
    without_pose_control,
)

if TYPE_CHECKING:
    from studio.state.app_state import AppState

OPENPOSE_CONTROLNETS = {r.family: r.repo_id for r in RECOMMENDED_CONTROLNETS if r.type == POSE_CONTROL_TYPE}


class PoseControlSwitch(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.store = state, state.pose
        self.use_as_control = QCheckBox("Use as control")
        self.use_as_control.setToolTip("Steer the generation with this pose through an OpenPose ControlNet")
        self.use_as_control.toggled.connect(self._toggled)
        self.controlnet = QComboBox()
        self.controlnet.setEditable(True)
        self.controlnet.setAccessibleName("OpenPose ControlNet")
        self.controlnet.setToolTip("The OpenPose ControlNet: a Hugging Face id, or a folder or file on disk")
        for family, repo in OPENPOSE_CONTROLNETS.items():
            self.controlnet.addItem(repo, family)
        self.controlnet.currentTextChanged.connect(lambda _text: self._model_changed())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.use_as_control)
        layout.addWidget(QLabel("ControlNet"))
        layout.addWidget(self.controlnet, 1)
        state.request_changed.connect(self.show_request)
        self.show_request(state.request)

    def model(self) -> str:
        return self.controlnet.currentText().strip()

    def _toggled(self, on: bool) -> None:
        request = self.state.request
        if on:
            self.store.flush()  # the engine reads the file: it must exist before the first generation
            request = with_pose_control(request, self.store.path, self.model(), enabled=True)
        else:
            request = without_pose_control(request)
        self.state.set_request(request)

    def _model_changed(self) -> None:
        if self.use_as_control.isChecked():
            self._toggled(True)

    def show_request(self, request: GenerationRequest) -> None:
        control = pose_control(request)
        self.use_as_control.blockSignals(True)
        self.use_as_control.setChecked(control is not None and control.enabled)
        self.use_as_control.blockSignals(False)
        if control is None:
            self._suggest_model(request)
            return
        if control.model and control.model != self.model():
            self.controlnet.blockSignals(True)
            self.controlnet.setCurrentText(control.model)
            self.controlnet.blockSignals(False)
        if control.image != str(self.store.path) or not control.model:
            # After this change has reached every listener: a nested change would reach some of them first.
            QTimer.singleShot(0, self._adopt_control)

    def _adopt_control(self) -> None:
        """Point the request's pose control at the session pose file (and give it a model if it has none)."""
        control = pose_control(self.state.request)
        if control is not None and (control.image != str(self.store.path) or not control.model):
            self.store.flush()
            model = control.model or self.model()
            self.state.set_request(with_pose_control(self.state.request, self.store.path, model))

    def _suggest_model(self, request: GenerationRequest) -> None:
        """Offer the recommended OpenPose ControlNet of the chosen model's family, unless the artist typed one."""
        entry = self.state.models.find(request.model) if request.model else None
        index = self.controlnet.findData(getattr(entry, "family", None))
        if index >= 0 and self.model() in OPENPOSE_CONTROLNETS.values():
            self.controlnet.blockSignals(True)
            self.controlnet.setCurrentIndex(index)
            self.controlnet.blockSignals(False)

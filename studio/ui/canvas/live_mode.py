"""Live mode in the window: the Live switches on the Sketch and Pose tabs, the live view beside the canvas, and
the wires between them and the ``LiveController``. Kept out of the pages so they only gain a switch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QBoxLayout, QCheckBox, QSplitter, QTabWidget, QWidget

from studio.state.few_step_advisor import FewStepAdvisor
from studio.state.live_controller import LiveController
from studio.state.live_inputs import POSE, SKETCH
from studio.ui.canvas.layer_pixels import qimage_to_rgba
from studio.ui.canvas.live_view import LIVE_WIDTH, LiveView
from studio.ui.generation.few_step_banner import FewStepBanner

if TYPE_CHECKING:
    from studio.state.app_state import AppState
    from studio.ui.canvas.sketch_page import SketchPage

_SWITCH_TIP = (
    "Live: the picture follows your drawing as you go, from few quick steps with a fixed seed. Best with a "
    "few-step model or LoRA (LCM, Turbo, Lightning, Hyper-SD). Live pictures are not saved until you Keep one."
)


class LiveMode(QObject):
    def __init__(
        self,
        state: AppState,
        sketch: SketchPage,
        pose_page: QWidget,
        tabs: QTabWidget,
        host: QSplitter,
        banner_host: QBoxLayout | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller = LiveController(state, self)
        # Few-step files are what live mode is best with: their settings are offered when one is chosen.
        self.advisor = FewStepAdvisor(state, self)
        self.banner = FewStepBanner()
        if banner_host is not None:
            banner_host.insertWidget(min(1, banner_host.count()), self.banner)
        self.advisor.suggestion.connect(self.banner.show_suggestion)
        self.banner.apply.clicked.connect(self._apply_hint)
        self.banner.dismiss.clicked.connect(self.advisor.dismiss)
        self.sketch, self.pose_page, self.tabs = sketch, pose_page, tabs
        settings = controller.settings
        self.view = LiveView(settings.strength, settings.steps)
        self.view.hide()
        host.addWidget(self.view)
        host.setCollapsible(host.indexOf(self.view), False)

        self.sketch_switch = QAction("Live", self)
        self.sketch_switch.setCheckable(True)
        self.sketch_switch.setToolTip(_SWITCH_TIP)
        # First on the second row: the row's end is cut off when the live view narrows the canvas.
        bar = sketch.toolbar.extras or sketch.toolbar
        if bar.actions():
            first = bar.actions()[0]
            bar.insertAction(first, self.sketch_switch)
            bar.insertSeparator(first)
        else:
            bar.addAction(self.sketch_switch)
        self.pose_switch = QCheckBox("Live: the picture follows the pose")
        self.pose_switch.setToolTip(_SWITCH_TIP)
        layout = pose_page.layout()
        if layout is not None:
            layout.addWidget(self.pose_switch)

        self.sketch_switch.toggled.connect(controller.set_enabled)
        self.pose_switch.toggled.connect(controller.set_enabled)
        controller.enabled_changed.connect(self._show_enabled)
        tabs.currentChanged.connect(self._tab_changed)
        controller.sketch_pixels = lambda: qimage_to_rgba(sketch.canvas.layer())
        sketch.canvas.changed.connect(controller.input_changed)
        sketch.canvas.stroking.connect(controller.input_moving)
        controller.picture.connect(self.view.show_result)
        controller.progress.connect(self.view.set_progress)
        controller.status.connect(self.view.set_status)
        self.view.keep_requested.connect(controller.keep)
        self.view.refine_requested.connect(controller.refine)
        self.view.strength_changed.connect(controller.set_strength)
        self.view.steps_changed.connect(controller.set_steps)
        self._tab_changed(tabs.currentIndex())

    def _apply_hint(self) -> None:
        hint = self.advisor.current[1] if self.advisor.current else None
        self.advisor.apply()
        if hint is not None:
            self.view.steps.setValue(hint.steps)  # live mode runs the file's own step count too

    def set_enabled(self, enabled: bool) -> None:
        self.controller.set_enabled(enabled)

    def _show_enabled(self, enabled: bool) -> None:
        for switch in (self.sketch_switch, self.pose_switch):
            switch.blockSignals(True)
            switch.setChecked(enabled)
            switch.blockSignals(False)
        self.view.setVisible(enabled)
        if enabled:
            # Once the splitter has taken the shown view in (after this event): its first width, the canvas
            # keeps the rest, and the artist can drag the handle.
            QTimer.singleShot(0, self._size_view)

    def _size_view(self) -> None:
        splitter = self.view.parentWidget()
        if isinstance(splitter, QSplitter) and self.view.isVisible():
            total = sum(splitter.sizes())
            splitter.setSizes([max(0, total - LIVE_WIDTH), LIVE_WIDTH])

    def _tab_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        if page is self.pose_page:
            self.controller.set_source(POSE)
        elif page is self.sketch:
            self.controller.set_source(SKETCH)

    def shutdown(self) -> None:
        self.controller.shutdown()

"""The tools above a paint canvas: brush or eraser, size, opacity, undo/redo, clear, and for the sketch, fills,
imports and the reference photo's opacity."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor
from PySide6.QtWidgets import QLabel, QSlider, QSpinBox, QToolBar, QWidget

from studio.ui.canvas.sketch_canvas import BRUSH, ERASER, SketchCanvas
from studio.ui.shell.shortcuts import shortcut


def _slider(low: int, high: int, value: int, name: str, tip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setValue(value)
    slider.setMinimumWidth(70)
    slider.setMaximumWidth(110)
    slider.setAccessibleName(name)
    slider.setToolTip(tip)
    return slider


class SketchToolbar(QToolBar):
    """Tools bound to ``canvas``. With ``sketch_tools`` it adds fills, imports and the reference opacity; the
    import actions only emit ``import_reference_requested``/``import_sketch_requested`` (the owner asks for
    the file)."""

    import_reference_requested = Signal()
    import_sketch_requested = Signal()
    remove_reference_requested = Signal()

    def __init__(
        self, canvas: SketchCanvas, sketch_tools: bool = True, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.extras: QToolBar | None = None  # the sketch's second row, made with ``sketch_tools``
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        group = QActionGroup(self)
        self.brush = self._add(
            "Brush", "brush", "Paint (B). Shift-click draws a straight line from the last point."
        )
        self.eraser = self._add("Eraser", "eraser", "Erase (E)")
        for action, tool in ((self.brush, BRUSH), (self.eraser, ERASER)):
            action.setCheckable(True)
            group.addAction(action)
            action.triggered.connect(lambda _=False, t=tool: setattr(self.canvas, "tool", t))
        self.brush.setChecked(True)
        self.size = QSpinBox()
        self.size.setRange(1, 300)
        self.size.setSuffix(" px")
        self.size.setValue(int(canvas.brush_size))
        self.size.setAccessibleName("Brush size")
        self.size.setToolTip("Brush size in image pixels ([ and ] change it). A tablet's pressure scales it.")
        self.size.setMaximumWidth(80)
        self.size.valueChanged.connect(self._size_changed)
        self.addWidget(QLabel("Size"))
        self.addWidget(self.size)
        self.opacity = _slider(5, 100, round(canvas.brush_opacity * 100), "Brush opacity", "Brush opacity")
        self.opacity.valueChanged.connect(lambda value: setattr(self.canvas, "brush_opacity", value / 100))
        self.addWidget(QLabel("Opacity"))
        self.addWidget(self.opacity)
        self.addSeparator()
        # Our own actions, not createUndoAction: its text grows with each command's name and crowds the bar.
        stack = canvas.undo_stack
        self.undo = self._add("Undo", "undo", "Undo the last stroke (Ctrl+Z)")
        self.undo.triggered.connect(stack.undo)
        stack.canUndoChanged.connect(self.undo.setEnabled)
        self.redo = self._add("Redo", "redo", "Redo (Ctrl+Shift+Z)")
        self.redo.triggered.connect(stack.redo)
        stack.canRedoChanged.connect(self.redo.setEnabled)
        self.undo.setEnabled(False)
        self.redo.setEnabled(False)
        self.clear = self._add("Clear", None, "Erase everything (can be undone)")
        self.clear.triggered.connect(canvas.clear)
        self.fit = self._add("Fit", None, "Fit the canvas to the view. The wheel zooms; space-drag pans.")
        self.fit.triggered.connect(canvas.zoom_fit)
        self.reference_opacity: QSlider | None = None
        if sketch_tools:
            self._add_sketch_tools()
        for name, factor in (("brush_bigger", 1.25), ("brush_smaller", 0.8)):
            action = QAction(self)
            action.setObjectName(name)
            action.setShortcut(shortcut(name))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, f=factor: self._scale_size(f))
            canvas.addAction(action)

    def _add_sketch_tools(self) -> None:
        # A second row (the owner lays out ``extras`` under this bar): one row would not fit beside the panels.
        self.extras = QToolBar()
        self.extras.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        white = self._add("Fill white", None, "Cover the canvas with white (can be undone)")
        white.triggered.connect(lambda: self.canvas.fill(QColor("white")))
        black = self._add("Fill black", None, "Cover the canvas with black (can be undone)")
        black.triggered.connect(lambda: self.canvas.fill(QColor("black")))
        self.extras.addSeparator()
        self._add("Import sketch…", None, "Use a drawing from a file as the sketch").triggered.connect(
            self.import_sketch_requested
        )
        self._add(
            "Reference photo…",
            None,
            "Show a photo under the sketch to trace over; it is never sent to the model",
        ).triggered.connect(self.import_reference_requested)
        self.reference_opacity = _slider(
            0,
            100,
            round(self.canvas.reference_opacity * 100),
            "Reference opacity",
            "How visible the reference is",
        )
        self.reference_opacity.valueChanged.connect(lambda v: self.canvas.set_reference_opacity(v / 100))
        self.extras.addWidget(self.reference_opacity)
        self.remove_reference = self._add("Hide", None, "Remove the reference photo")
        self.remove_reference.triggered.connect(self.remove_reference_requested)

    def _scale_size(self, factor: float) -> None:
        value = self.size.value()
        self.size.setValue(
            max(value + 1, round(value * factor)) if factor > 1 else min(value - 1, round(value * factor))
        )

    def _add(self, text: str, action_id: str | None, tip: str) -> QAction:
        bar = self.extras if self.extras is not None else self
        action = bar.addAction(text)
        action.setToolTip(tip)
        if action_id:
            action.setObjectName(action_id)
            action.setShortcut(shortcut(action_id))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.canvas.addAction(action)
        return action

    def _size_changed(self, value: int) -> None:
        self.canvas.brush_size = float(value)
        self.canvas.update()

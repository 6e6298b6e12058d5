"""The Pose tab: a toolbar, the pose canvas, the list of people, a reference photo and the "use as control" switch.

Every edit goes through one undo stack (``PoseEditCommand``) and lands in the session's ``PoseStore``, which saves
it; with "Use as control" on, the request carries an openpose ``ControlInput`` reading that file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QImage, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.errors import StudioError
from studio.pose.placement import place_newcomers
from studio.pose.pose import Pose, default_person
from studio.pose.pose_json import load_pose, save_pose
from studio.pose.presets import list_pose_presets, load_pose_preset
from studio.state.pose_store import fit_pose
from studio.ui.pose.pose_canvas import PoseCanvas
from studio.ui.pose.pose_commands import PoseEditCommand
from studio.ui.pose.pose_control_switch import PoseControlSwitch
from studio.ui.pose.pose_menu import selection_after_delete
from studio.ui.shell.shortcuts import shortcut

if TYPE_CHECKING:
    from studio.state.app_state import AppState

IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp *.bmp);;All files (*)"
POSE_FILES = "OpenPose JSON (*.json);;All files (*)"


def preset_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


class PoseEditor(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.store = state, state.pose
        self.reference_path: Path | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(200)
        self.canvas = PoseCanvas()
        self.people = QListWidget()
        self.people.setAccessibleName("People")
        self.people.setToolTip("The people of the pose; select one to edit it as a whole.")
        self.people.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        hint = QLabel(
            "Drag a joint to move it, a limb to move the person.\n\nShift+drag: scale.\nCtrl+drag: turn.\n\n"
            "Right-click a person to hide joints, add hands, mirror or delete."
        )
        hint.setWordWrap(True)
        hint.setObjectName("muted")
        side = QWidget()
        side.setFixedWidth(150)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.people, 1)
        side_layout.addWidget(hint)

        tools = QHBoxLayout()
        self.add_button = QToolButton()
        self.add_button.setText("Add person")
        self.add_button.setToolTip("Add a person: the default figure, or one of the ready-made poses")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_button.setMenu(self._add_menu())
        tools.addWidget(self.add_button)
        self.file_button = QToolButton()
        self.file_button.setText("File")
        self.file_button.setToolTip(
            "Open or save the pose as OpenPose JSON (as the A1111 openpose editor writes it)"
        )
        self.file_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        file_menu = QMenu(self)
        file_menu.addAction("Open pose file…", lambda: self.open_pose_file())
        file_menu.addAction("Save pose as…", lambda: self.save_pose_file())
        self.file_button.setMenu(file_menu)
        tools.addWidget(self.file_button)
        self.delete_action = self._tool(
            tools, "Delete", self.delete_person, "Delete the selected person (Del)"
        )
        self.delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.mirror_action = self._tool(
            tools, "Mirror", self.mirror, "Flip left/right: the selected person, or all"
        )
        self.hands_action = self._tool(
            tools, "Hands", self.toggle_hands, "Add or remove the selected person's hands"
        )
        self.undo_action = self._undo_action("undo", "Undo", self.undo_stack.undo, tools)
        self.redo_action = self._undo_action("redo", "Redo", self.undo_stack.redo, tools)
        self.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.undo_stack.undoTextChanged.connect(
            lambda text: self.undo_action.setToolTip(f"Undo {text.lower()}")
        )
        self.undo_stack.redoTextChanged.connect(
            lambda text: self.redo_action.setToolTip(f"Redo {text.lower()}")
        )
        self.snap_action = self._tool(
            tools, "Grid", self.canvas.set_snap, "Snap joints to a grid while dragging"
        )
        self.snap_action.setCheckable(True)
        tools.addStretch(1)

        reference = QHBoxLayout()
        self.photo_button = QPushButton("Reference photo…")
        self.photo_button.setToolTip("Show a photo under the pose to trace it by hand, or to detect its pose")
        self.photo_button.clicked.connect(self.choose_reference)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setAccessibleName("Reference opacity")
        self.opacity.setToolTip("How strongly the reference photo shows under the pose")
        self.opacity.valueChanged.connect(lambda value: self.canvas.set_reference_opacity(value / 100))
        self.detect_button = QPushButton("Detect pose from photo")
        self.detect_button.setToolTip(
            "Find the people in the reference photo (needs the OpenPose annotator files)"
        )
        self.detect_button.clicked.connect(self.detect)
        for widget in (self.photo_button, QLabel("Opacity"), self.opacity, self.detect_button):
            reference.addWidget(widget)
        self.opacity.setEnabled(False)
        self.detect_button.setEnabled(False)

        self.control = PoseControlSwitch(state)

        middle = QHBoxLayout()
        middle.addWidget(self.canvas, 1)
        middle.addWidget(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        for row in (tools, middle, reference):
            if row is middle:
                layout.addLayout(row, 1)
            else:
                layout.addLayout(row)
        layout.addWidget(self.control)

        self.canvas.edited.connect(self._push)
        self.canvas.selection_changed.connect(self._selection_changed)
        self.people.currentRowChanged.connect(lambda row: self.canvas.set_selected(row if row >= 0 else None))
        self.store.changed.connect(self._store_changed)
        self._detect_task: int | None = None
        state.worker.task_finished.connect(self._task_finished)
        state.worker.task_failed.connect(self._task_failed)
        self.canvas.set_pose(self.store.pose)
        self._refresh_people()
        if self.store.load_problem:  # said once the window listens to messages
            QTimer.singleShot(0, lambda: state.notice(self.store.load_problem))

    # --- building -------------------------------------------------------------------------------------------

    def _tool(self, row: QHBoxLayout, text: str, slot, tip: str) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        button = QToolButton()
        button.setDefaultAction(action)
        row.addWidget(button)
        return action

    def _undo_action(self, name: str, text: str, slot, row: QHBoxLayout) -> QAction:
        # Our own actions, not QUndoStack.createUndoAction: its text grows with each command's name.
        action = QAction(text, self)
        action.triggered.connect(slot)
        action.setEnabled(False)
        action.setObjectName(name)
        action.setShortcut(shortcut(name))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(action)
        button = QToolButton()
        button.setDefaultAction(action)
        row.addWidget(button)
        return action

    def _add_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.addAction("Default figure", lambda: self.add_person())
        menu.addAction("Default figure with hands", lambda: self.add_person(hands=True))
        menu.addSeparator()
        for name in list_pose_presets():
            menu.addAction(preset_label(name), lambda n=name: self.add_preset(n))
        return menu

    # --- edits ----------------------------------------------------------------------------------------------

    def apply(self, pose: Pose, selected: int | None = None) -> None:
        """Show and store ``pose`` (undo and redo come through here), fitted to the generation size."""
        request = self.state.request
        pose = fit_pose(pose, request.width, request.height)
        self.store.set_pose(pose)
        self.canvas.set_pose(pose, selected)
        self._refresh_people()

    def _push(self, before: Pose, after: Pose, text: str, selected_before: Any, selected_after: Any) -> None:
        self.undo_stack.push(
            PoseEditCommand(self.apply, before, after, text, selected_before, selected_after)
        )

    def edit(self, after: Pose, text: str, selected: int | None = None) -> None:
        self._push(self.store.pose, after, text, self.canvas.selected(), selected)

    def add_person(self, hands: bool = False) -> None:
        pose = self.store.pose
        (person,) = place_newcomers(pose, [default_person(*pose.size, hands=hands)])  # beside, not on top
        self.edit(pose.add_person(person), "Add person", len(pose.people))

    def add_preset(self, name: str) -> None:
        pose = self.store.pose
        try:
            preset = load_pose_preset(name).resize(*pose.size, keep_aspect=True)
        except StudioError as exc:
            self.state.error(str(exc))
            return
        after = Pose(
            pose.canvas_width, pose.canvas_height, (*pose.people, *place_newcomers(pose, preset.people))
        )
        self.edit(after, f"Add {preset_label(name).lower()}", len(after.people) - 1)

    def delete_person(self) -> None:
        index = self.canvas.selected()
        if index is not None:
            after = selection_after_delete(len(self.store.pose.people), index)
            self.edit(self.store.pose.remove_person(index), "Delete person", after)

    def mirror(self) -> None:
        pose, index = self.store.pose, self.canvas.selected()
        if index is None:
            self.edit(pose.mirror(), "Mirror pose")
        else:
            self.edit(pose.with_person(index, pose.people[index].mirror()), "Mirror person", index)

    def toggle_hands(self) -> None:
        pose, index = self.store.pose, self.canvas.selected()
        if index is None:
            return
        person = pose.people[index]
        has_hands = person.left_hand is not None or person.right_hand is not None
        changed = person.without_hands() if has_hands else person.with_default_hands()
        self.edit(pose.with_person(index, changed), "Remove hands" if has_hands else "Add hands", index)

    # --- pose files -----------------------------------------------------------------------------------------

    def open_pose_file(self, path: Path | None = None) -> bool:
        """Replace the people with those of an OpenPose JSON file (undoable), proportions kept on this canvas."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "Open a pose", str(Path.home()), POSE_FILES)
            if not chosen:
                return False
            path = Path(chosen)
        notes: list[str] = []
        try:  # a file without a canvas size (OpenPose's own output) is placed on this canvas
            opened = load_pose(path, size=self.store.pose.size, notes=notes)
            opened = opened.resize(*self.store.pose.size, keep_aspect=True)
        except StudioError as exc:
            self.state.error(str(exc))
            return False
        for note in notes:
            self.state.notice(note)
        self.edit(opened, "Open pose file", 0 if opened.people else None)
        return True

    def save_pose_file(self, path: Path | None = None) -> bool:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Save the pose", str(Path.home() / "pose.json"), POSE_FILES
            )
            if not chosen:
                return False
            path = Path(chosen)
        try:
            save_pose(self.store.pose, path)
        except StudioError as exc:
            self.state.error(str(exc))
            return False
        self.state.info(f"Pose saved as {path.name}.")
        return True

    # --- reference photo and detection -----------------------------------------------------------------------

    def choose_reference(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Reference photo", str(Path.home()), IMAGE_FILES)
        if path:
            self.set_reference(Path(path))

    def set_reference(self, path: Path | None) -> bool:
        """Show the photo at ``path`` under the pose (None removes it); False (and a message) if unreadable."""
        image = QImage(str(path)) if path is not None else None
        if image is not None and image.isNull():
            self.state.error(
                f"'{path.name}' could not be opened as a picture. Choose a PNG, JPEG or WebP photo."
            )
            return False
        self.reference_path = path
        self.canvas.set_reference(image)
        self.opacity.setEnabled(image is not None)
        self.detect_button.setEnabled(image is not None)
        return True

    def detect(self) -> None:
        """Find the people in the reference photo where the engine runs; the result replaces the pose (undoable)."""
        from studio.backend.tasks import DetectPose

        if self.reference_path is None:
            self.state.error("Choose a reference photo first: the pose is detected in it.")
            return
        folder = self.state.annotators_folder()
        task = DetectPose(str(self.reference_path), *self.store.pose.size, str(folder) if folder else None)
        self.detect_button.setEnabled(False)
        self.state.info("Detecting the pose in the photo…")
        self._detect_task = self.state.worker.run_task(task)

    def _task_finished(self, task_id: int, value: Any) -> None:
        if task_id != self._detect_task:
            return
        self._detect_task = None
        self.detect_button.setEnabled(self.reference_path is not None)
        if not value.people:
            self.state.notice("No person was found in the photo; the pose is unchanged.")
            return
        self.edit(value, "Detect pose", 0)
        count = len(value.people)
        self.state.info(f"Detected {count} {'person' if count == 1 else 'people'} in the photo.")

    def _task_failed(self, task_id: int, message: str, detail: str) -> None:
        if task_id != self._detect_task:
            return
        self._detect_task = None
        self.detect_button.setEnabled(self.reference_path is not None)
        self.state.error(message, detail)

    # --- keeping the views in step ---------------------------------------------------------------------------

    def _store_changed(self, pose: Pose) -> None:
        if pose != self.canvas.pose():  # a resize to the generation size, or a pose restored from an image
            self.canvas.set_pose(pose)
            self._refresh_people()

    def _selection_changed(self, index: int | None) -> None:
        self.people.blockSignals(True)
        self.people.setCurrentRow(-1 if index is None else index)
        self.people.blockSignals(False)
        for action in (self.delete_action, self.hands_action):
            action.setEnabled(index is not None)

    def _refresh_people(self) -> None:
        self.people.blockSignals(True)
        self.people.clear()
        for number, person in enumerate(self.store.pose.people, start=1):
            notes = []
            if person.left_hand is not None or person.right_hand is not None:
                notes.append("hands")
            hidden = sum(p is None for p in person.body)
            if hidden:
                notes.append(f"{hidden} joint{'s' if hidden > 1 else ''} hidden")
            self.people.addItem(f"Person {number}" + (f"\n{', '.join(notes)}" if notes else ""))
        self.people.blockSignals(False)
        self._selection_changed(self.canvas.selected())

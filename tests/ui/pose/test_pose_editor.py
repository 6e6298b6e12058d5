"""The Pose tab: presets, undo/redo, mirror, hands, deleting, the pose as a control input of the request,
autosave and restore, following the generation size, and "Detect pose from photo" through the worker."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_engine import FakeEngine, fake_backend
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from studio.pose.placement import place_newcomers
from studio.pose.pose import Pose, default_person, default_pose
from studio.pose.pose_json import load_pose
from studio.pose.presets import list_pose_presets, load_pose_preset
from studio.pose.skeleton import NOSE, R_WRIST, Point
from studio.request import ControlInput
from studio.settings import AppSettings
from studio.state.app_state import ERROR, AppState
from studio.state.pose_store import fit_pose, pose_control
from studio.state.worker import GenerationWorker
from studio.ui.pose.pose_control_switch import OPENPOSE_CONTROLNETS
from studio.ui.pose.pose_editor import PoseEditor, preset_label


@pytest.fixture
def make_editor(qtbot, tmp_path):
    made = []

    def make(start_worker: bool = False):
        worker = GenerationWorker(fake_backend(FakeEngine()))
        state = AppState(AppSettings(), worker, session_path=tmp_path / "home" / "session.json")
        state.messages = []
        state.message.connect(lambda *m: state.messages.append(m))
        if start_worker:
            worker.start(warm_up=False)
        editor = PoseEditor(state)
        qtbot.addWidget(editor)
        editor.resize(800, 640)
        editor.show()
        made.append(state)
        return editor

    yield make
    for state in made:
        state.shutdown(2.0)


def drag_joint(editor, point: Point, target: Point) -> None:
    canvas = editor.canvas
    start, end = canvas.to_screen(point), canvas.to_screen(target)
    for kind, pos, buttons in (
        (QMouseEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton),
        (QMouseEvent.Type.MouseMove, (start + end) / 2, Qt.MouseButton.LeftButton),
        (QMouseEvent.Type.MouseMove, end, Qt.MouseButton.LeftButton),
        (QMouseEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton),
    ):
        button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else Qt.MouseButton.LeftButton
        event = QMouseEvent(
            kind,
            QPointF(pos),
            canvas.mapToGlobal(QPointF(pos)),
            button,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(canvas, event)


def test_the_add_menu_lists_every_preset_and_a_preset_joins_the_pose_scaled_to_the_canvas(make_editor):
    editor = make_editor()
    editor.state.update(width=768, height=512)
    labels = [a.text() for a in editor.add_button.menu().actions() if a.text()]
    assert labels[:2] == ["Default figure", "Default figure with hands"]
    assert labels[2:] == [preset_label(name) for name in list_pose_presets()]
    next(a for a in editor.add_button.menu().actions() if a.text() == "Two people facing").trigger()
    pose = editor.store.pose
    assert pose.size == (768, 512) and len(pose.people) == 3
    preset = load_pose_preset("two_people_facing").resize(768, 512, keep_aspect=True).people
    # Beside the default figure, not on it, and scaled uniformly: a preset is never stretched.
    assert pose.people[1:] == place_newcomers(Pose(768, 512, pose.people[:1]), preset)
    figure, group = pose.people[0].bounds(), group_bounds(pose.people[1:])
    assert group[0] >= figure[2] or group[2] <= figure[0]
    before = group_bounds(preset)
    ratio = (before[2] - before[0]) / (before[3] - before[1])
    assert (group[2] - group[0]) / (group[3] - group[1]) == pytest.approx(ratio)
    assert editor.canvas.pose() == pose and editor.canvas.selected() == 2
    assert editor.people.count() == 3 and editor.people.currentRow() == 2


def test_a_dragged_joint_is_undone_and_redone_through_the_stack(make_editor):
    editor = make_editor()
    original = editor.store.pose
    nose = original.people[0].body[NOSE]
    drag_joint(editor, nose, Point(nose.x + 30, nose.y + 10))
    moved = editor.store.pose.people[0].body[NOSE]
    assert moved == pytest.approx((nose.x + 30, nose.y + 10), abs=0.01)
    assert editor.undo_action.isEnabled() and editor.undo_stack.undoText() == "Move joint"
    editor.undo_action.trigger()
    assert editor.store.pose == original and editor.canvas.pose() == original
    editor.redo_action.trigger()
    assert editor.store.pose.people[0].body[NOSE] == moved and editor.canvas.pose() == editor.store.pose


def test_mirror_flips_the_selected_person_or_the_whole_pose(make_editor):
    editor = make_editor()
    editor.add_preset("pointing")
    pose = editor.store.pose
    editor.canvas.set_selected(1)
    editor.mirror_action.trigger()
    assert editor.store.pose.people == (pose.people[0], pose.people[1].mirror())
    editor.canvas.set_selected(None)
    editor.mirror_action.trigger()
    assert editor.store.pose == pose.with_person(1, pose.people[1].mirror()).mirror()
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert editor.store.pose == pose


def test_hands_are_added_and_removed_for_the_selected_person(make_editor):
    editor = make_editor()
    assert not editor.hands_action.isEnabled()  # nobody selected
    editor.canvas.set_selected(0)
    editor.hands_action.trigger()
    person = editor.store.pose.people[0]
    assert person.left_hand is not None and person.right_hand is not None
    assert person.right_hand[0] == person.body[R_WRIST]
    assert "hands" in editor.people.item(0).text()
    editor.hands_action.trigger()
    assert editor.store.pose.people[0].left_hand is None and editor.store.pose.people[0].right_hand is None
    editor.undo_stack.undo()
    assert editor.store.pose.people[0] == person


def test_deleting_a_person_and_undoing_selects_them_again(make_editor):
    editor = make_editor()
    editor.add_person(hands=True)
    pose = editor.store.pose
    editor.people.setCurrentRow(1)
    assert editor.canvas.selected() == 1
    editor.delete_action.trigger()
    assert editor.store.pose.people == pose.people[:1] and editor.canvas.selected() == 0
    editor.undo_stack.undo()
    assert editor.store.pose == pose and editor.canvas.selected() == 1


def test_use_as_control_puts_the_session_pose_file_into_the_request(make_editor):
    editor = make_editor()
    state = editor.state
    assert pose_control(state.request) is None and not editor.control.use_as_control.isChecked()
    editor.control.use_as_control.setChecked(True)
    control = pose_control(state.request)
    assert (control.type, control.source, control.image) == ("openpose", "pose", str(editor.store.path))
    assert control.model == OPENPOSE_CONTROLNETS["sd15"]
    assert load_pose(control.image) == editor.store.pose  # the file exists before the first generation
    editor.control.controlnet.setCurrentText("/models/my-openpose")
    assert pose_control(state.request).model == "/models/my-openpose"
    state.update(controls=())  # removed elsewhere (the control panel): the switch follows
    assert not editor.control.use_as_control.isChecked()
    editor.control.use_as_control.setChecked(True)
    editor.control.use_as_control.setChecked(False)
    assert state.request.controls == ()


def test_a_pose_control_added_elsewhere_reads_the_session_pose(qtbot, make_editor):
    editor = make_editor()
    state = editor.state
    # What the control inputs panel adds for "Pose": no file, no model yet.
    state.update(controls=(ControlInput(type="openpose", image="", source="pose"),))
    qtbot.waitUntil(lambda: pose_control(state.request).image != "", timeout=2000)
    control = pose_control(state.request)
    assert editor.control.use_as_control.isChecked()
    assert control.image == str(editor.store.path) and editor.store.path.exists()
    assert control.model == editor.control.model() == OPENPOSE_CONTROLNETS["sd15"]
    assert len(state.request.controls) == 1


def test_the_suggested_controlnet_follows_the_model_family(make_editor):
    editor = make_editor()
    editor.state.models.find = lambda reference: SimpleNamespace(family="sdxl")
    editor.state.update(model="/models/xl.safetensors")
    assert editor.control.model() == OPENPOSE_CONTROLNETS["sdxl"]
    editor.control.controlnet.setCurrentText("/models/my-openpose")
    editor.state.update(model="/models/other.safetensors")
    assert editor.control.model() == "/models/my-openpose"  # what the artist typed is kept


def test_edits_are_autosaved_and_a_new_session_restores_them(qtbot, make_editor):
    editor = make_editor()
    editor.add_preset("crouching")
    qtbot.waitUntil(lambda: editor.store.path.exists() and not editor.store.pending(), timeout=2000)
    saved = editor.store.pose
    again = make_editor()
    assert again.store.pose == saved and again.canvas.pose() == saved
    assert again.people.count() == len(saved.people)


def test_the_pose_follows_the_generation_size(make_editor):
    editor = make_editor()
    editor.state.update(width=1024, height=768)
    assert editor.store.pose.size == (1024, 768) and editor.canvas.pose().size == (1024, 768)
    assert not editor.undo_action.isEnabled()  # a size change is not an edit to undo


def test_an_undo_after_a_size_change_keeps_the_generation_size(make_editor):
    editor = make_editor()
    editor.add_person()
    editor.state.update(width=640, height=640)
    editor.undo_stack.undo()
    assert editor.store.pose.size == (640, 640) and len(editor.store.pose.people) == 1


def test_detect_pose_runs_on_the_worker_and_replaces_the_people_undoably(
    qtbot, make_editor, monkeypatch, tmp_path
):
    import studio.engine.pose_detect as pose_detect

    photo = tmp_path / "photo.png"
    Image.new("RGB", (96, 64), (120, 90, 60)).save(photo)
    found = Pose(512, 512, (default_person(512, 512), default_person(256, 256)))
    calls = []

    def fake_detect(path, width, height, *, folder=None):
        calls.append((Path(path), width, height))
        return found

    monkeypatch.setattr(pose_detect, "detect_pose", fake_detect)
    editor = make_editor(start_worker=True)
    assert not editor.detect_button.isEnabled()
    assert editor.set_reference(photo) and editor.detect_button.isEnabled()
    before = editor.store.pose
    editor.detect_button.click()
    qtbot.waitUntil(lambda: editor.store.pose == found, timeout=5000)
    assert calls == [(photo, 512, 512)]
    assert editor.undo_stack.undoText() == "Detect pose"
    editor.undo_stack.undo()
    assert editor.store.pose == before


def test_detect_pose_without_the_annotator_files_says_what_to_download(
    qtbot, make_editor, monkeypatch, tmp_path
):
    monkeypatch.delenv("DIFFUSION_STUDIO_ANNOTATORS", raising=False)
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 64)).save(photo)
    editor = make_editor(start_worker=True)
    editor.set_reference(photo)
    editor.detect()
    qtbot.waitUntil(lambda: any(kind == ERROR for kind, _, _ in editor.state.messages), timeout=10000)
    text = next(text for kind, text, _ in editor.state.messages if kind == ERROR)
    assert "body_pose_model.pth" in text and "DIFFUSION_STUDIO_ANNOTATORS" in text
    assert editor.store.pose == default_pose()


def test_an_unreadable_reference_photo_is_refused_with_a_message(make_editor, tmp_path):
    editor = make_editor()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    assert editor.set_reference(broken) is False
    assert editor.canvas.reference is None and not editor.detect_button.isEnabled()
    assert editor.state.messages[-1][0] == ERROR


def test_the_main_window_has_a_pose_tab_and_binds_undo(qtbot, qapp):
    from studio.app import build_studio

    studio = build_studio(qapp, backend=fake_backend(lambda: FakeEngine()), discover=lambda dirs: [])
    qtbot.addWidget(studio.window)
    tabs = studio.window.canvas.tabs
    assert tabs.tabText(tabs.indexOf(studio.window.pose_editor)) == "Pose"
    assert studio.window.pose_editor.undo_action.objectName() == "undo"
    # "Pose" added in the control inputs panel reads the Pose tab's file, and the switch shows it.
    studio.window.canvases.control_panel.add_control("openpose", "pose")
    qtbot.waitUntil(lambda: studio.window.pose_editor.control.use_as_control.isChecked(), timeout=2000)
    qtbot.waitUntil(
        lambda: pose_control(studio.state.request).image == str(studio.state.pose.path), timeout=2000
    )
    studio.window.pose_editor.control.use_as_control.setChecked(False)
    assert studio.state.request.controls == ()
    studio.state.shutdown(1.0)


def test_ctrl_z_and_ctrl_shift_z_undo_and_redo_when_the_canvas_has_the_focus(qtbot, make_editor):
    editor = make_editor()
    editor.activateWindow()
    editor.canvas.setFocus()
    qtbot.waitUntil(editor.canvas.hasFocus, timeout=2000)
    original = editor.store.pose
    editor.add_person()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert editor.store.pose == original
    qtbot.keyClick(
        editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert len(editor.store.pose.people) == 2


def test_a_broken_session_pose_is_explained_once_the_window_listens(qtbot, make_editor, tmp_path):
    pose_path = tmp_path / "home" / "session" / "pose.json"
    pose_path.parent.mkdir(parents=True)
    pose_path.write_text('{"people": 1}', encoding="utf-8")
    editor = make_editor()
    assert editor.store.pose == default_pose()
    qtbot.waitUntil(lambda: bool(editor.state.messages), timeout=2000)
    assert "could not be restored" in editor.state.messages[0][1]


def test_a_pose_file_is_saved_and_opened_back_as_one_undoable_edit(make_editor, tmp_path):
    editor = make_editor()
    editor.add_preset("lying")
    saved = editor.store.pose
    assert editor.save_pose_file(tmp_path / "mine.json")
    assert load_pose(tmp_path / "mine.json") == saved
    editor.state.update(width=768, height=512)
    editor.undo_stack.clear()
    assert editor.open_pose_file(tmp_path / "mine.json")
    assert editor.store.pose == saved.resize(768, 512, keep_aspect=True)
    editor.undo_stack.undo()
    assert editor.store.pose == fit_pose(saved, 768, 512)  # what the size change made of it
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]", encoding="utf-8")
    assert not editor.open_pose_file(broken)
    assert editor.state.messages[-1][0] == ERROR and "broken.json" in editor.state.messages[-1][1]


def group_bounds(people):
    boxes = [person.bounds() for person in people]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def test_a_new_person_stands_beside_the_default_figure_not_on_it(make_editor):
    editor = make_editor()
    assert len(editor.store.pose.people) == 1  # a fresh start holds the default figure
    editor.add_person()
    editor.add_person(hands=True)
    boxes = [person.bounds() for person in editor.store.pose.people]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0], "two people overlap"
    width = editor.store.pose.canvas_width
    assert all(0 <= box[0] and box[2] <= width for box in boxes)

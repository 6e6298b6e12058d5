"""The pose canvas: dragging joints, hands and whole people with the mouse, snapping, the context menu, and
drawing in ControlNet's colours over the reference photo."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication

from studio.pose.pose import Pose, default_person
from studio.pose.skeleton import BODY_COLOURS, L_ELBOW, NOSE, R_WRIST, Point
from studio.ui.pose.pose_canvas import PoseCanvas


@pytest.fixture
def canvas(qtbot):
    widget = PoseCanvas()
    qtbot.addWidget(widget)
    widget.resize(536, 536)  # 512 canvas pixels + margins: one canvas pixel per screen pixel
    widget.set_pose(Pose(512, 512, (default_person(512, 512, hands=True),)))
    widget.show()
    qtbot.waitExposed(widget)
    widget.edits = []
    widget.edited.connect(lambda *args: widget.edits.append(args))
    return widget


def send(widget, kind, pos: QPointF, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    buttons = (
        Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
    )
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag(
    widget, start: QPointF, end: QPointF, modifiers=Qt.KeyboardModifier.NoModifier, steps: int = 4
) -> None:
    send(widget, QMouseEvent.Type.MouseButtonPress, start, modifiers)
    for i in range(1, steps + 1):
        t = i / steps
        send(widget, QMouseEvent.Type.MouseMove, start + (end - start) * t, modifiers)
    send(widget, QMouseEvent.Type.MouseButtonRelease, end, modifiers)


def click(widget, pos: QPointF) -> None:
    send(widget, QMouseEvent.Type.MouseButtonPress, pos)
    send(widget, QMouseEvent.Type.MouseButtonRelease, pos)


def person(canvas, index=0):
    return canvas.pose().people[index]


def test_dragging_a_joint_moves_it_and_its_hand_and_reports_one_edit(canvas):
    before = canvas.pose()
    wrist = person(canvas).body[R_WRIST]
    hand_tip = person(canvas).right_hand[8]
    drag(canvas, canvas.to_screen(wrist), canvas.to_screen(Point(wrist.x - 40, wrist.y + 25)))
    moved = person(canvas).body[R_WRIST]
    assert moved.x == pytest.approx(wrist.x - 40, abs=0.01) and moved.y == pytest.approx(
        wrist.y + 25, abs=0.01
    )
    assert person(canvas).right_hand[8].x == pytest.approx(hand_tip.x - 40, abs=0.01)
    assert person(canvas).body[NOSE] == before.people[0].body[NOSE]
    assert len(canvas.edits) == 1
    edit_before, edit_after, text, selected_before, selected_after = canvas.edits[0]
    assert (edit_before, edit_after, text) == (before, canvas.pose(), "Move joint")
    assert selected_before == selected_after == 0 == canvas.selected()


def test_dragging_a_finger_joint_moves_only_that_point(canvas):
    tip = person(canvas).left_hand[12]
    target = Point(tip.x + 10, tip.y - 12)
    click(canvas, canvas.to_screen(tip))  # the first click picks the hand
    drag(canvas, canvas.to_screen(tip), canvas.to_screen(target))
    assert person(canvas).left_hand[12] == pytest.approx(target, abs=0.01)
    assert person(canvas).left_hand[11] != person(canvas).left_hand[12]
    assert canvas.edits[0][2] == "Move finger joint"


def limb_middle(canvas, first=L_ELBOW - 1, second=L_ELBOW) -> Point:
    a, b = person(canvas).body[first], person(canvas).body[second]
    return Point((a.x + b.x) / 2, (a.y + b.y) / 2)


def test_dragging_a_limb_moves_the_whole_person(canvas):
    before = person(canvas)
    start = limb_middle(canvas)
    drag(canvas, canvas.to_screen(start), canvas.to_screen(Point(start.x + 30, start.y - 20)))
    after = person(canvas)
    for old, new in zip(before.points(), after.points(), strict=True):
        assert new.x == pytest.approx(old.x + 30, abs=0.01) and new.y == pytest.approx(old.y - 20, abs=0.01)
    assert canvas.edits[0][2] == "Move person"


def test_shift_drag_scales_and_ctrl_drag_turns_about_the_centre(canvas):
    before = person(canvas)
    centre = before.centre()
    start = limb_middle(canvas)
    farther = Point(centre.x + (start.x - centre.x) * 1.5, centre.y + (start.y - centre.y) * 1.5)
    drag(canvas, canvas.to_screen(start), canvas.to_screen(farther), Qt.KeyboardModifier.ShiftModifier)
    scaled = person(canvas)
    assert scaled.centre() == pytest.approx(centre, abs=0.01)
    old_height = before.bounds()[3] - before.bounds()[1]
    assert scaled.bounds()[3] - scaled.bounds()[1] == pytest.approx(old_height * 1.5, rel=0.02)
    assert canvas.edits[-1][2] == "Scale person"

    canvas.set_pose(Pose(512, 512, (before,)))
    start = limb_middle(canvas)
    angle = math.atan2(start.y - centre.y, start.x - centre.x) + math.radians(30)
    radius = math.hypot(start.x - centre.x, start.y - centre.y)
    turned_to = Point(centre.x + radius * math.cos(angle), centre.y + radius * math.sin(angle))
    drag(canvas, canvas.to_screen(start), canvas.to_screen(turned_to), Qt.KeyboardModifier.ControlModifier)
    expected = before.rotate(30, centre)
    for got, want in zip(person(canvas).points(), expected.points(), strict=True):
        assert got.x == pytest.approx(want.x, abs=0.5) and got.y == pytest.approx(want.y, abs=0.5)
    assert canvas.edits[-1][2] == "Turn person"


def test_grid_snap_puts_a_dragged_joint_on_the_grid_and_is_off_by_default(canvas):
    assert canvas.snap is False
    canvas.set_snap(True)
    nose = person(canvas).body[NOSE]
    drag(canvas, canvas.to_screen(nose), canvas.to_screen(Point(nose.x + 21.3, nose.y + 7.7)))
    step = canvas.grid_step()
    moved = person(canvas).body[NOSE]
    assert moved.x % step == pytest.approx(0) and moved.y % step == pytest.approx(0)
    assert abs(moved.x - (nose.x + 21.3)) <= step / 2 + 0.01


def test_a_click_on_empty_canvas_deselects_and_changes_nothing(canvas):
    canvas.set_selected(0)
    corner = canvas.to_screen(Point(5, 5))
    drag(canvas, corner, corner + QPointF(30, 30))
    assert canvas.selected() is None and canvas.edits == []


def test_the_context_menu_hides_and_shows_joints_and_proposes_undoable_edits(canvas):
    nose = person(canvas).body[NOSE]
    menu = canvas.context_menu(canvas.to_screen(nose))
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == ["Hide nose", "Remove hands", "Mirror left/right", "Delete person"]
    next(a for a in menu.actions() if a.text() == "Hide nose").trigger()
    before, after, text, _, _ = canvas.edits[-1]
    assert text == "Hide nose" and after.people[0].body[NOSE] is None and before == canvas.pose()
    canvas.set_pose(after)  # what the undo stack does with the edit
    menu = canvas.context_menu(canvas.to_screen(limb_middle(canvas)))
    show = next(a for a in menu.actions() if a.text() == "Show joint").menu()
    assert [a.text() for a in show.actions()] == ["nose"]
    show.actions()[0].trigger()
    assert canvas.edits[-1][1].people[0].body[NOSE] is not None
    assert canvas.context_menu(canvas.to_screen(Point(3, 3))) is None


def colour_at(image: QImage, point: QPointF) -> tuple[int, int, int]:
    colour = QColor(image.pixel(int(point.x()), int(point.y())))
    return colour.red(), colour.green(), colour.blue()


def test_joints_are_drawn_in_openpose_colours_over_the_reference_photo(canvas):
    canvas.set_pose(Pose(512, 512, (default_person(512, 512),)))
    image = canvas.grab().toImage()
    for index in (NOSE, R_WRIST, L_ELBOW):
        assert colour_at(image, canvas.to_screen(person(canvas).body[index])) == BODY_COLOURS[index]
    empty = canvas.to_screen(Point(20, 20))
    assert colour_at(image, empty) == (0, 0, 0)  # the control image's black
    white = QImage(64, 64, QImage.Format.Format_RGB32)
    white.fill(QColor(255, 255, 255))
    canvas.set_reference(white)
    canvas.set_reference_opacity(1.0)
    assert colour_at(canvas.grab().toImage(), empty) == (255, 255, 255)
    canvas.set_reference_opacity(0.5)
    assert 100 < colour_at(canvas.grab().toImage(), empty)[0] < 160


def test_a_reference_photo_of_another_shape_is_cropped_to_the_canvas_not_stretched(canvas):
    photo = QImage(300, 100, QImage.Format.Format_RGB32)
    photo.fill(QColor(0, 255, 0))  # the outer thirds: cut off on a square canvas
    for x in range(100, 200):
        for y in range(100):
            photo.setPixelColor(x, y, QColor(255, 0, 0) if x < 150 else QColor(0, 0, 255))
    canvas.set_pose(Pose(512, 512))
    canvas.set_reference(photo)
    canvas.set_reference_opacity(1.0)
    image = canvas.grab().toImage()
    assert colour_at(image, canvas.to_screen(Point(60, 256))) == (255, 0, 0)
    assert colour_at(image, canvas.to_screen(Point(450, 256))) == (0, 0, 255)


def test_finger_joints_are_dots_until_their_hand_is_picked(canvas):
    tip = person(canvas).left_hand[12]
    assert canvas.hit(canvas.to_screen(tip))[0] == "hand_pick"  # a dot: picking, not dragging
    drag(canvas, canvas.to_screen(tip), canvas.to_screen(Point(tip.x + 30, tip.y)))
    assert person(canvas).left_hand[12] == tip and not canvas.edits and canvas.active_hand() == (0, "left")
    assert canvas.hit(canvas.to_screen(tip)) == ("hand", 0, ("left", 12))
    assert canvas.hit(canvas.to_screen(person(canvas).right_hand[12]))[0] == "hand_pick"
    click(canvas, canvas.to_screen(person(canvas).body[R_WRIST]))  # a wrist picks its own hand
    assert canvas.active_hand() == (0, "right")
    click(canvas, QPointF(3, 3))  # outside everyone: nothing picked any more
    assert canvas.active_hand() is None and canvas.selected() is None


def test_joint_handles_grow_with_the_zoom_and_other_hands_are_small_dots():
    from studio.ui.pose.pose_painting import handle_radii

    small, large = handle_radii(0.5), handle_radii(2.0)
    assert all(b > a for a, b in zip(small, large, strict=True))
    body, picked_hand, dot = handle_radii(1.0)
    assert dot < picked_hand < body and dot <= 1.5

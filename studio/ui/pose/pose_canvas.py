"""The pose canvas: the people of a ``Pose`` drawn in ControlNet's colours, edited with the mouse.

Drag a joint to move it (a wrist carries its hand). Drag a limb, or inside the selected person's box, to move
the person; with Shift held the drag scales and with Ctrl it turns the person, as do the two handles of the
selection box. Right-click for hide/show joint, hands, mirror and delete. Edits are not applied here: the
canvas emits ``edited(before, after, text, selected_before, selected_after)`` and its owner puts the edit on an
undo stack, which calls ``set_pose``. A drag changes the pose live (the owner hears of it on release).
A hand's finger joints are small dots until that hand is picked (a click on its wrist or on the hand): only
then are they handles, so a hand never becomes a blob of handles over its wrist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QContextMenuEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from studio.pose.framing import cover_box
from studio.pose.person import Person
from studio.pose.pose import Pose
from studio.pose.skeleton import L_WRIST, LIMBS, R_WRIST, Point
from studio.ui.pose.pose_menu import person_menu
from studio.ui.pose.pose_painting import paint_people, person_box

MARGIN = 12  # screen pixels around the canvas
HIT_RADIUS = 9.0  # how near (screen pixels) a click must be to grab a joint
LIMB_HIT = 6.0
HANDLE_SIZE = 10.0
ROTATE_ARM = 24.0  # the rotate handle sits this far above the selection box
ROTATE_SNAP_DEG = 15.0


@dataclass
class _Drag:
    kind: str  # "joint", "hand", "move", "scale", "rotate"
    person: int
    start_pose: Pose
    start: Point  # canvas coordinates of the press
    key: object = None  # body index, or (side, hand index)
    centre: Point | None = None


class PoseCanvas(QWidget):
    edited = Signal(object, object, str, object, object)  # before, after, text, selected before/after
    selection_changed = Signal(object)  # person index or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pose = Pose(512, 512)
        self._selected: int | None = None
        self._active_hand: tuple[int, str] | None = (
            None  # (person, "left"/"right"): its finger joints are handles
        )
        self._hover: tuple[int, object] | None = None
        self._drag: _Drag | None = None
        self.reference: QImage | None = None
        self._reference_cache: QPixmap | None = None
        self.reference_opacity = 0.5
        self.snap = False
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self.setAccessibleName("Pose canvas")
        self.setToolTip(
            "Drag a joint to move it. Drag a limb to move the person; Shift+drag scales, Ctrl+drag turns. "
            "Right-click for more."
        )

    # --- state ----------------------------------------------------------------------------------------------

    def pose(self) -> Pose:
        return self._pose

    def set_pose(self, pose: Pose, selected: int | None = None) -> None:
        """Show ``pose`` (no signal); ``selected`` picks a person, else the selection is kept when it still exists."""
        self._pose = pose
        self._drag = None
        wanted = selected if selected is not None else self._selected
        self.set_selected(wanted if wanted is not None and wanted < len(pose.people) else None)
        self.update()

    def selected(self) -> int | None:
        return self._selected

    def active_hand(self) -> tuple[int, str] | None:
        """The hand whose finger joints can be dragged: (person, side), or None."""
        return self._active_hand

    def set_active_hand(self, hand: tuple[int, str] | None) -> None:
        if hand != self._active_hand:
            self._active_hand = hand
            self.update()

    def set_selected(self, index: int | None) -> None:
        if index != self._selected:
            if self._active_hand is not None and self._active_hand[0] != index:
                self._active_hand = None
            self._selected = index
            self.selection_changed.emit(index)
            self.update()

    def set_reference(self, image: QImage | None) -> None:
        self.reference = None if image is None or image.isNull() else image
        self._reference_cache = None
        self.update()

    def set_reference_opacity(self, opacity: float) -> None:
        self.reference_opacity = min(1.0, max(0.0, opacity))
        self.update()

    def set_snap(self, on: bool) -> None:
        self.snap = on
        self.update()

    def grid_step(self) -> float:
        """The snapping grid in canvas pixels: 1/32 of the shorter side, at least 8."""
        return max(8.0, round(min(self._pose.size) / 32))

    def propose(self, after: Pose, text: str, selected_after: int | None = None) -> None:
        """Ask the owner to apply an edit (it comes back through the undo stack)."""
        if after != self._pose:
            self.edited.emit(self._pose, after, text, self._selected, selected_after)

    # --- geometry -------------------------------------------------------------------------------------------

    def canvas_rect(self) -> QRectF:
        """Where the pose's canvas is drawn: fitted into the widget, aspect kept."""
        width, height = self._pose.size
        scale = max(1e-6, min((self.width() - 2 * MARGIN) / width, (self.height() - 2 * MARGIN) / height))
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def scale(self) -> float:
        return self.canvas_rect().width() / self._pose.canvas_width

    def to_screen(self, point: Point) -> QPointF:
        rect, s = self.canvas_rect(), self.scale()
        return QPointF(rect.left() + point.x * s, rect.top() + point.y * s)

    def to_canvas(self, pos: QPointF) -> Point:
        rect, s = self.canvas_rect(), self.scale()
        return Point((pos.x() - rect.left()) / s, (pos.y() - rect.top()) / s)

    def _snapped(self, point: Point) -> Point:
        width, height = self._pose.size
        x, y = min(max(point.x, 0.0), float(width)), min(max(point.y, 0.0), float(height))
        if self.snap:
            step = self.grid_step()
            x, y = round(x / step) * step, round(y / step) * step
        return Point(x, y)

    def _handles(self) -> tuple[QRectF, QPointF] | None:
        """The selected person's screen box and rotate handle centre (scale handle: the box's bottom right)."""
        if self._selected is None:
            return None
        box = person_box(self._pose.people[self._selected], self.to_screen)
        return None if box is None else (box, QPointF(box.center().x(), box.top() - ROTATE_ARM))

    # --- hit testing ----------------------------------------------------------------------------------------

    def hit(self, pos: QPointF) -> tuple[str, int, object] | None:
        """What is under ``pos``: ("rotate"|"scale"|"box", person, None), ("joint", person, index),
        ("hand", person, (side, index)) on the picked hand, ("hand_pick", person, side) on another hand,
        ("limb", person, None), or None."""
        handles = self._handles()
        if handles is not None:
            box, rotate = handles
            if _distance(pos, rotate) <= HIT_RADIUS:
                return "rotate", self._selected, None
            if _distance(pos, box.bottomRight()) <= HIT_RADIUS:
                return "scale", self._selected, None
        best: tuple[float, tuple[str, int, object]] | None = None
        for number, person in enumerate(self._pose.people):
            active = self._active_hand[1] if self._active_hand and self._active_hand[0] == number else None
            for kind, key, point in _grabbable(person, active):
                d = _distance(pos, self.to_screen(point))
                # Ties (a hand's wrist on the body's wrist) go to the later, drawn-on-top point.
                if d <= HIT_RADIUS and (best is None or d <= best[0]):
                    best = (d, (kind, number, key))
        if best is not None:
            return best[1]
        picked = self._hand_under(pos)
        if picked is not None:
            return "hand_pick", picked[0], picked[1]
        for number in reversed(range(len(self._pose.people))):
            body = self._pose.people[number].body
            for first, second in LIMBS:
                a, b = body[first], body[second]
                if a is not None and b is not None:
                    if _segment_distance(pos, self.to_screen(a), self.to_screen(b)) <= LIMB_HIT:
                        return "limb", number, None
        if handles is not None and handles[0].contains(pos):
            return "box", self._selected, None
        return None

    def _hand_under(self, pos: QPointF) -> tuple[int, str] | None:
        """The hand (person, side), not the picked one, with a finger joint within reach of ``pos``."""
        for number in reversed(range(len(self._pose.people))):
            person = self._pose.people[number]
            for side in ("left", "right"):
                if (number, side) == self._active_hand:
                    continue
                points = person.hand(side) or ()
                if any(p is not None and _distance(pos, self.to_screen(p)) <= HIT_RADIUS for p in points):
                    return number, side
        return None

    # --- mouse ----------------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.MouseButton.LeftButton:
            return
        found = self.hit(event.position())
        if found is None:
            self.set_selected(None)
            return
        kind, number, key = found
        self.set_selected(number)
        if kind == "hand_pick":  # the first click on a hand picks it: its finger joints become handles
            self.set_active_hand((number, key))
            return
        if kind == "joint" and key in _WRIST_SIDES and self._pose.people[number].hand(_WRIST_SIDES[key]):
            self.set_active_hand((number, _WRIST_SIDES[key]))
        modifiers = event.modifiers()
        if kind in ("limb", "box"):
            if modifiers & Qt.KeyboardModifier.ShiftModifier:
                kind = "scale"
            elif modifiers & Qt.KeyboardModifier.ControlModifier:
                kind = "rotate"
            else:
                kind = "move"
        person = self._pose.people[number]
        self._drag = _Drag(kind, number, self._pose, self.to_canvas(event.position()), key, person.centre())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag is None:
            found = self.hit(event.position())
            hover = None if found is None or found[0] not in ("joint", "hand") else (found[1], found[2])
            if hover != self._hover:
                self._hover = hover
                self.update()
            self.setCursor(_CURSORS.get(found[0] if found else "", Qt.CursorShape.ArrowCursor))
            return
        self.drag_to(self.to_canvas(event.position()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        drag, self._drag = self._drag, None
        if drag is None or event.button() != Qt.MouseButton.LeftButton:
            return
        if self._pose != drag.start_pose:
            text = _DRAG_TEXT[drag.kind]
            self.edited.emit(drag.start_pose, self._pose, text, drag.person, drag.person)

    def drag_to(self, point: Point) -> None:
        """Move what the current drag holds to ``point`` (canvas pixels) and repaint; also used by benchmarks."""
        drag = self._drag
        if drag is None:
            return
        person = drag.start_pose.people[drag.person]
        if drag.kind == "joint":
            target = self._snapped(point)
            person = person.move_keypoint(drag.key, target.x, target.y)
        elif drag.kind == "hand":
            target = self._snapped(point)
            person = person.move_hand_keypoint(drag.key[0], drag.key[1], target.x, target.y)
        elif drag.kind == "move":
            dx, dy = point.x - drag.start.x, point.y - drag.start.y
            if self.snap:
                step = self.grid_step()
                dx, dy = round(dx / step) * step, round(dy / step) * step
            person = person.translate(dx, dy)
        elif drag.centre is not None:
            c, s = drag.centre, drag.start
            if drag.kind == "scale":
                before = math.hypot(s.x - c.x, s.y - c.y)
                factor = math.hypot(point.x - c.x, point.y - c.y) / before if before > 1e-6 else 1.0
                person = person.scale(min(20.0, max(0.05, factor)), c)
            else:
                turn = math.degrees(
                    math.atan2(point.y - c.y, point.x - c.x) - math.atan2(s.y - c.y, s.x - c.x)
                )
                if self.snap:
                    turn = round(turn / ROTATE_SNAP_DEG) * ROTATE_SNAP_DEG
                person = person.rotate(turn, c)
        self._pose = drag.start_pose.with_person(drag.person, person)
        self.update()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt override
        menu = self.context_menu(QPointF(event.pos()))
        if menu is not None:
            menu.exec(event.globalPos())

    def context_menu(self, pos: QPointF) -> QMenu | None:
        """The right-click menu for what is under ``pos`` (None over empty canvas)."""
        found = self.hit(pos)
        if found is None:
            return None
        kind, number, key = found
        self.set_selected(number)
        joint = key if kind == "joint" else None
        return person_menu(self._pose, number, self.propose, parent=self, joint=joint)

    # --- painting -------------------------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        rect = self.canvas_rect()
        painter.fillRect(rect, QColor(0, 0, 0))  # the control image is black: what you see is what it gets
        if self.reference is not None:
            painter.setOpacity(self.reference_opacity)
            painter.drawPixmap(rect.topLeft(), self._scaled_reference(rect))
            painter.setOpacity(1.0)
        if self.snap:
            self._paint_grid(painter, rect)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        paint_people(painter, self._pose.people, rect.topLeft(), self.scale(), self._hover, self._active_hand)
        handles = self._handles()
        if handles is not None:
            box, rotate = handles
            pen = QPen(QColor(255, 255, 255, 200), 1, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(box)
            painter.drawLine(QPointF(box.center().x(), box.top()), rotate)
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(QBrush(QColor(255, 255, 255)))
            painter.drawEllipse(rotate, HANDLE_SIZE / 2, HANDLE_SIZE / 2)
            corner = box.bottomRight()
            painter.drawRect(QRectF(corner.x() - 5, corner.y() - 5, HANDLE_SIZE, HANDLE_SIZE))

    def _scaled_reference(self, rect: QRectF) -> QPixmap:
        """The photo cropped to the canvas's shape and scaled to it, once per size (not on every drag frame)."""
        size = rect.size().toSize()
        if self._reference_cache is None or self._reference_cache.size() != size:
            left, top, right, bottom = cover_box(
                self.reference.width(), self.reference.height(), *self._pose.size
            )
            scaled = self.reference.copy(QRect(left, top, right - left, bottom - top)).scaled(
                size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            self._reference_cache = QPixmap.fromImage(scaled)
        return self._reference_cache

    def _paint_grid(self, painter: QPainter, rect: QRectF) -> None:
        painter.setPen(QPen(QColor(255, 255, 255, 28), 1))
        step = self.grid_step() * self.scale()
        x = rect.left()
        while x <= rect.right() + 0.5:
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            x += step
        y = rect.top()
        while y <= rect.bottom() + 0.5:
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            y += step


_CURSORS = {
    "joint": Qt.CursorShape.CrossCursor,
    "hand": Qt.CursorShape.CrossCursor,
    "hand_pick": Qt.CursorShape.PointingHandCursor,
    "limb": Qt.CursorShape.SizeAllCursor,
    "box": Qt.CursorShape.SizeAllCursor,
    "scale": Qt.CursorShape.SizeFDiagCursor,
    "rotate": Qt.CursorShape.PointingHandCursor,
}
_DRAG_TEXT = {
    "joint": "Move joint",
    "hand": "Move finger joint",
    "move": "Move person",
    "scale": "Scale person",
    "rotate": "Turn person",
}


_WRIST_SIDES = {R_WRIST: "right", L_WRIST: "left"}


def _grabbable(person: Person, active_side: str | None = None):
    """(kind, key, point) of every point that can be dragged: body joints, then the picked hand's joints (drawn
    on top; the other hands' joints are only dots)."""
    for index, point in enumerate(person.body):
        if point is not None:
            yield "joint", index, point
    for side in (active_side,) if active_side else ():
        for index, point in enumerate(person.hand(side) or ()):
            if point is not None and index > 0:  # a hand's wrist is the body's wrist: drag that instead
                yield "hand", (side, index), point


def _distance(a: QPointF, b: QPointF) -> float:
    return math.hypot(a.x() - b.x(), a.y() - b.y())


def _segment_distance(p: QPointF, a: QPointF, b: QPointF) -> float:
    dx, dy = b.x() - a.x(), b.y() - a.y()
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((p.x() - a.x()) * dx + (p.y() - a.y()) * dy) / length))
    return math.hypot(p.x() - a.x() - t * dx, p.y() - a.y() - t * dy)

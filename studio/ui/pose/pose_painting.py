"""Drawing people on the pose canvas with QPainter, in the control image's colours (``studio.pose.render``).

Limbs are the control image's dimmed colours (×0.6) and joints its full colours, so the editor looks like the
picture ControlNet gets; sizes follow the screen zoom but never drop below what a mouse can grab. A hand's
finger joints are handles only on the picked hand; on the others they are dots, so a hand stays readable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from studio.pose.person import Person
from studio.pose.render import FACE_COLOUR, HAND_EDGE_COLOURS, HAND_JOINT_COLOUR, JOINT_RADIUS, STICK_WIDTH
from studio.pose.skeleton import BODY_COLOURS, HAND_EDGES, LIMBS, Point

_LIMB_COLOURS = [QColor(*(int(c * 0.6) for c in colour)) for colour in BODY_COLOURS]
_JOINT_BRUSHES = [QBrush(QColor(*colour)) for colour in BODY_COLOURS]
_HAND_COLOURS = [QColor(*(int(c) for c in colour)) for colour in HAND_EDGE_COLOURS]
_HAND_JOINT_BRUSH = QBrush(QColor(*HAND_JOINT_COLOUR))
_FACE_BRUSH = QBrush(QColor(*FACE_COLOUR))
_OUTLINE = QPen(QColor(0, 0, 0, 160), 1)
_HOVER = QPen(QColor(255, 255, 255), 2)
BOX_PADDING = 10.0


def paint_people(
    painter: QPainter,
    people: Sequence[Person],
    origin: QPointF,
    scale: float,
    hover: tuple[int, object] | None = None,
    active_hand: tuple[int, str] | None = None,
) -> None:
    """Draw ``people`` (canvas pixels) at ``origin`` + point × ``scale``; ``hover`` = (person, joint key);
    ``active_hand`` = (person, side) whose finger joints are drawn as handles."""
    ox, oy = origin.x(), origin.y()

    def at(p: Point) -> QPointF:
        return QPointF(ox + p.x * scale, oy + p.y * scale)

    limb_pens = [_pen(colour, max(3.0, 2 * STICK_WIDTH * scale)) for colour in _LIMB_COLOURS]
    hand_pens = [_pen(colour, max(1.0, 1.5 * scale)) for colour in _HAND_COLOURS]
    joint_r, hand_r, dot_r = handle_radii(scale)
    for number, person in enumerate(people):
        body = [None if p is None else at(p) for p in person.body]
        for (first, second), pen in zip(LIMBS, limb_pens, strict=False):
            if body[first] is not None and body[second] is not None:
                painter.setPen(pen)
                painter.drawLine(body[first], body[second])
        hands = [
            (side, [None if p is None else at(p) for p in hand])
            for side in ("left", "right")
            if (hand := person.hand(side)) is not None
        ]
        for _side, points in hands:
            for (first, second), pen in zip(HAND_EDGES, hand_pens, strict=True):
                if points[first] is not None and points[second] is not None:
                    painter.setPen(pen)
                    painter.drawLine(points[first], points[second])
        painter.setPen(_OUTLINE)
        for point, brush in zip(body, _JOINT_BRUSHES, strict=True):
            if point is not None:
                painter.setBrush(brush)
                painter.drawEllipse(point, joint_r, joint_r)
        painter.setBrush(_HAND_JOINT_BRUSH)
        for side, points in hands:
            radius = hand_r if active_hand == (number, side) else dot_r
            if radius < hand_r:
                painter.setPen(Qt.PenStyle.NoPen)  # an outline would double a dot's size
            for point in points[1:]:
                if point is not None:
                    painter.drawEllipse(point, radius, radius)
            painter.setPen(_OUTLINE)
        if person.face:
            painter.setBrush(_FACE_BRUSH)
            painter.setPen(Qt.PenStyle.NoPen)
            for p in person.face:
                if p is not None:
                    painter.drawEllipse(at(p), 1.5, 1.5)
        if hover is not None and hover[0] == number:
            _paint_hover(painter, person, hover[1], at, joint_r, hand_r)
    painter.setBrush(Qt.BrushStyle.NoBrush)


def handle_radii(scale: float) -> tuple[float, float, float]:
    """Screen radii of a body joint, a picked hand's finger joint and another hand's finger dot at ``scale``
    (screen pixels per canvas pixel): they grow with the zoom, never below what can be seen and grabbed."""
    return (
        max(3.5, JOINT_RADIUS * scale),
        max(2.5, 0.6 * JOINT_RADIUS * scale),
        max(1.0, 0.3 * JOINT_RADIUS * scale),
    )


def person_box(person: Person, to_screen: Callable[[Point], QPointF]) -> QRectF | None:
    """The screen rectangle around every point of ``person``, padded so the joints sit inside it."""
    bounds = person.bounds()
    if bounds is None:
        return None
    top_left, bottom_right = to_screen(Point(bounds[0], bounds[1])), to_screen(Point(bounds[2], bounds[3]))
    box = QRectF(top_left, bottom_right).normalized()
    return box.adjusted(-BOX_PADDING, -BOX_PADDING, BOX_PADDING, BOX_PADDING)


def _paint_hover(painter, person: Person, key: object, at, joint_r: float, hand_r: float) -> None:
    if isinstance(key, tuple):
        point, radius = (person.hand(key[0]) or [None] * 21)[key[1]], hand_r
    else:
        point, radius = person.body[key], joint_r
    if point is not None:
        painter.setPen(_HOVER)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(at(point), radius + 3, radius + 3)


def _pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen

"""One OpenPose person: 18 body keypoints, optional 21-point hands and face points; immutable.

Every edit returns a new ``Person``. Coordinates are pixels of the pose's canvas; a missing keypoint is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from studio.pose import template
from studio.pose.skeleton import (
    BODY_COUNT,
    HAND_COUNT,
    L_ELBOW,
    L_WRIST,
    MIRROR_ORDER,
    R_ELBOW,
    R_WRIST,
    Point,
    keypoint_index,
)

Keypoints = tuple[Point | None, ...]
HandSide = Literal["left", "right"]
_WRIST_HAND = {R_WRIST: "right_hand", L_WRIST: "left_hand"}


def _as_keypoints(values: Iterable[Any], count: int | None, what: str) -> Keypoints:
    points = tuple(None if value is None else Point(float(value[0]), float(value[1])) for value in values)
    if count is not None and len(points) != count:
        raise ValueError(f"{what} needs {count} keypoints, got {len(points)}")
    return points


@dataclass(frozen=True)
class Person:
    """An 18-keypoint COCO body (order in ``skeleton.BODY_KEYPOINTS``) with optional hands and face.

    Hands are the person's own left and right (``right_hand`` hangs from ``r_wrist``). Face points are kept as
    given: any number of them, moved with the person but never interpreted.
    """

    body: Keypoints
    left_hand: Keypoints | None = None
    right_hand: Keypoints | None = None
    face: Keypoints | None = None

    def __post_init__(self) -> None:
        # Accept lists and (x, y) pairs for convenience; store tuples of Points so the person stays immutable.
        object.__setattr__(self, "body", _as_keypoints(self.body, BODY_COUNT, "a body"))
        for name in ("left_hand", "right_hand"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(
                    self, name, _as_keypoints(value, HAND_COUNT, f"the {name.replace('_', ' ')}")
                )
        if self.face is not None:
            object.__setattr__(self, "face", _as_keypoints(self.face, None, "the face"))

    # --- queries -------------------------------------------------------------------------------------------

    def keypoint(self, keypoint: int | str) -> Point | None:
        """The body keypoint by index or name (``"r_wrist"``); ``None`` when it is missing."""
        return self.body[keypoint_index(keypoint)]

    def hand(self, side: HandSide) -> Keypoints | None:
        return self.right_hand if side == "right" else self.left_hand

    def points(self) -> Iterator[Point]:
        """Every present point: body, hands, face."""
        for group in (self.body, self.left_hand, self.right_hand, self.face):
            yield from (p for p in group or () if p is not None)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """``(left, top, right, bottom)`` around every present point, or ``None`` for an empty person."""
        points = list(self.points())
        if not points:
            return None
        xs, ys = [p.x for p in points], [p.y for p in points]
        return min(xs), min(ys), max(xs), max(ys)

    def centre(self) -> Point | None:
        """The mean of the present body keypoints (of all points when the body is empty).

        The mean, not the middle of the bounding box, because rotating, scaling or mirroring about it leaves it in
        place: turning by 30° and then by -30° gives back the same person.
        """
        present = [p for p in self.body if p is not None] or list(self.points())
        if not present:
            return None
        return Point(sum(p.x for p in present) / len(present), sum(p.y for p in present) / len(present))

    # --- whole-person edits -------------------------------------------------------------------------------

    def map_points(self, move: Callable[[Point], Point]) -> Person:
        """A copy with ``move`` applied to every present point (body, hands and face alike)."""

        def apply(group: Keypoints | None) -> Keypoints | None:
            return None if group is None else tuple(None if p is None else move(p) for p in group)

        body = tuple(None if p is None else move(p) for p in self.body)  # a person always has a body
        return Person(body, apply(self.left_hand), apply(self.right_hand), apply(self.face))

    def translate(self, dx: float, dy: float) -> Person:
        return self.map_points(lambda p: Point(p.x + dx, p.y + dy))

    def scale(self, factor: float, about: Point | None = None) -> Person:
        """Scaled by ``factor`` (> 0) about ``about``, by default the person's centre."""
        if not (factor > 0 and math.isfinite(factor)):
            raise ValueError(f"a scale factor must be a positive number, got {factor}")
        origin = about if about is not None else self.centre()
        if origin is None:
            return self
        return self.map_points(
            lambda p: Point(origin.x + (p.x - origin.x) * factor, origin.y + (p.y - origin.y) * factor)
        )

    def rotate(self, degrees: float, about: Point | None = None) -> Person:
        """Turned ``degrees`` clockwise on screen (y points down) about ``about``, by default the centre."""
        origin = about if about is not None else self.centre()
        if origin is None:
            return self
        cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))

        def turn(p: Point) -> Point:
            dx, dy = p.x - origin.x, p.y - origin.y
            return Point(origin.x + dx * cos - dy * sin, origin.y + dx * sin + dy * cos)

        return self.map_points(turn)

    def mirror(self, axis_x: float | None = None) -> Person:
        """Flipped left-right about the vertical line ``x = axis_x`` (default: through the centre).

        A mirror image of a right arm is a left arm, so the sides swap: ``r_*`` and ``l_*`` keypoints trade
        places and the hands trade sides, which keeps ControlNet's colours meaning the same limbs. Face points are
        only reflected (their numbering is not interpreted).
        """
        if axis_x is None:
            centre = self.centre()
            if centre is None:
                return self
            axis_x = centre.x
        flipped = self.map_points(lambda p: Point(2 * axis_x - p.x, p.y))
        body = tuple(flipped.body[MIRROR_ORDER[i]] for i in range(BODY_COUNT))
        return Person(body, flipped.right_hand, flipped.left_hand, flipped.face)

    # --- keypoint edits ------------------------------------------------------------------------------------

    def move_keypoint(self, keypoint: int | str, x: float, y: float, *, carry_hand: bool = True) -> Person:
        """The body keypoint placed at ``(x, y)`` (a missing one becomes present there).

        Moving a wrist carries its hand along by the same offset unless ``carry_hand`` is false.
        """
        index = keypoint_index(keypoint)
        body = list(self.body)
        old, body[index] = body[index], Point(float(x), float(y))
        moved = replace(self, body=tuple(body))
        hand_name = _WRIST_HAND.get(index)
        hand = getattr(self, hand_name) if hand_name else None
        if carry_hand and hand_name and hand is not None and old is not None:
            dx, dy = x - old.x, y - old.y
            shifted = tuple(None if p is None else Point(p.x + dx, p.y + dy) for p in hand)
            return replace(moved, **{hand_name: shifted})
        return moved

    def move_hand_keypoint(self, side: HandSide, index: int, x: float, y: float) -> Person:
        """One hand keypoint (0 = wrist, 1-4 thumb, ... 17-20 little finger) placed at ``(x, y)``."""
        hand = self.hand(side)
        if hand is None:
            raise ValueError(f"this person has no {side} hand; add hands first")
        if not 0 <= index < HAND_COUNT:
            raise ValueError(f"hand keypoint index {index} is outside 0..{HAND_COUNT - 1}")
        points = list(hand)
        points[index] = Point(float(x), float(y))
        return replace(self, **{f"{side}_hand": tuple(points)})

    def hide_keypoint(self, keypoint: int | str) -> Person:
        """The body keypoint marked missing (ControlNet then draws neither it nor its limbs)."""
        body = list(self.body)
        body[keypoint_index(keypoint)] = None
        return replace(self, body=tuple(body))

    def show_keypoint(self, keypoint: int | str, at: Point | None = None) -> Person:
        """The body keypoint made present at ``at``; by default where the default figure, fitted to the present
        keypoints (position, size and turn), would have it. A present keypoint is left where it is.
        """
        index = keypoint_index(keypoint)
        if self.body[index] is not None and at is None:
            return self
        if at is None:
            at = self._estimate(index)
        return self.move_keypoint(index, at.x, at.y)

    def _estimate(self, index: int) -> Point:
        pairs = [(template.TEMPLATE_BODY[i], p) for i, p in enumerate(self.body) if p is not None]
        if not pairs:
            raise ValueError("the person has no keypoints to place a new one by; give a position")
        # Least-squares similarity (scale, turn, shift) from the template to the present keypoints.
        n = len(pairs)
        tx, ty = sum(t.x for t, _ in pairs) / n, sum(t.y for t, _ in pairs) / n
        qx, qy = sum(q.x for _, q in pairs) / n, sum(q.y for _, q in pairs) / n
        a = sum((t.x - tx) * (q.x - qx) + (t.y - ty) * (q.y - qy) for t, q in pairs)
        b = sum((t.x - tx) * (q.y - qy) - (t.y - ty) * (q.x - qx) for t, q in pairs)
        spread = sum((t.x - tx) ** 2 + (t.y - ty) ** 2 for t, _ in pairs)
        scale = math.hypot(a, b) / spread if spread > 0 else 1.0
        angle = math.atan2(b, a) if spread > 0 else 0.0
        cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
        target = template.TEMPLATE_BODY[index]
        dx, dy = target.x - tx, target.y - ty
        return Point(qx + dx * cos - dy * sin, qy + dx * sin + dy * cos)

    def with_default_hands(self) -> Person:
        """Open hands added at each present wrist that has none, pointing along the forearm."""
        person = self
        sides: tuple[tuple[HandSide, int, int], ...] = (("right", R_WRIST, R_ELBOW), ("left", L_WRIST, L_ELBOW))
        for side, wrist_index, elbow_index in sides:
            wrist, elbow = self.body[wrist_index], self.body[elbow_index]
            if wrist is None or self.hand(side) is not None:
                continue
            if elbow is not None and (elbow.x, elbow.y) != (wrist.x, wrist.y):
                direction = (wrist.x - elbow.x, wrist.y - elbow.y)
                forearm = math.hypot(*direction)
            else:
                bounds = self.bounds()
                direction, forearm = (0.0, 1.0), max(0.15 * (bounds[3] - bounds[1]) if bounds else 0.0, 40.0)
            hand = template.hand_points(wrist, direction, forearm * template.HAND_TO_FOREARM, side)
            person = replace(person, **{f"{side}_hand": hand})
        return person

    def without_hands(self) -> Person:
        return replace(self, left_hand=None, right_hand=None)

"""Where a new person goes: into the widest free stretch of the canvas, never on top of the people there.

A fresh pose already holds the default figure; a second figure or a preset used to land exactly on it. The
newcomers (one person, or a preset's group, kept together) are moved into the widest horizontal gap between
the people already on the canvas, and made smaller, standing on the same ground, when the gap is narrower
than they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from studio.pose.person import Person
from studio.pose.pose import Pose
from studio.pose.skeleton import Point

MIN_SCALE = 0.4  # smaller than this a figure is too small to edit; it then overlaps a little instead
MARGIN = 0.04  # of the canvas width, kept free on each side of a placed group


def _bounds(people: Sequence[Person]) -> tuple[float, float, float, float] | None:
    boxes = [box for box in (person.bounds() for person in people) if box is not None]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def free_gaps(pose: Pose) -> list[tuple[float, float]]:
    """The horizontal stretches (left, right) of the canvas that no person covers, widest first."""
    spans = sorted((box[0], box[2]) for box in (p.bounds() for p in pose.people) if box is not None)
    gaps: list[tuple[float, float]] = []
    edge = 0.0
    for left, right in spans:
        if left > edge:
            gaps.append((edge, left))
        edge = max(edge, right)
    if edge < pose.canvas_width:
        gaps.append((edge, float(pose.canvas_width)))
    return sorted(gaps, key=lambda gap: gap[1] - gap[0], reverse=True)


def place_newcomers(pose: Pose, newcomers: Sequence[Person]) -> tuple[Person, ...]:
    """``newcomers`` moved (and shrunk when needed) into the widest free stretch of ``pose``'s canvas.

    On an empty canvas, or when the newcomers have no points, they are returned as they are.
    """
    group = _bounds(newcomers)
    if group is None or _bounds(pose.people) is None:
        return tuple(newcomers)
    gaps = free_gaps(pose)
    if not gaps:
        return tuple(newcomers)
    left, right = gaps[0]
    margin = MARGIN * pose.canvas_width
    room = max(1.0, right - left - 2 * margin)
    width = max(1.0, group[2] - group[0])
    factor = max(MIN_SCALE, min(1.0, room / width))
    feet = Point((group[0] + group[2]) / 2, group[3])  # shrunk about the feet: they stay on the same ground
    centre = (left + right) / 2
    placed = []
    for person in newcomers:
        moved = person.scale(factor, feet) if factor < 1.0 else person
        placed.append(moved.translate(centre - feet.x, 0.0))
    return tuple(placed)

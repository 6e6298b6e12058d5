"""A whole OpenPose picture: the canvas size and the people on it; immutable."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from studio.pose import template
from studio.pose.person import Person
from studio.pose.skeleton import Point


@dataclass(frozen=True)
class Pose:
    """``people`` drawn on a ``canvas_width``×``canvas_height`` canvas; keypoints are pixels of that canvas."""

    canvas_width: int
    canvas_height: int
    people: tuple[Person, ...] = ()

    def __post_init__(self) -> None:
        for name in ("canvas_width", "canvas_height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number of pixels, got {value!r}")
        object.__setattr__(self, "people", tuple(self.people))

    def with_person(self, index: int, person: Person) -> Pose:
        """A copy with person ``index`` replaced."""
        people = list(self.people)
        people[index] = person
        return Pose(self.canvas_width, self.canvas_height, tuple(people))

    def add_person(self, person: Person | None = None) -> Pose:
        """A copy with ``person`` (by default the default figure, sized to this canvas) added last."""
        return Pose(
            self.canvas_width, self.canvas_height, (*self.people, person or default_person(*self.size))
        )

    def remove_person(self, index: int) -> Pose:
        people = list(self.people)
        del people[index]
        return Pose(self.canvas_width, self.canvas_height, tuple(people))

    @property
    def size(self) -> tuple[int, int]:
        return self.canvas_width, self.canvas_height

    def mirror(self) -> Pose:
        """Every person flipped about the canvas's vertical centre line (sides swapped, see ``Person.mirror``)."""
        axis = self.canvas_width / 2
        return Pose(self.canvas_width, self.canvas_height, tuple(p.mirror(axis) for p in self.people))

    def resize(self, width: int, height: int, *, keep_aspect: bool = False) -> Pose:
        """The pose on a ``width``×``height`` canvas.

        By default the coordinates stretch with the canvas, exactly as normalised (0..1) coordinates would, which
        is what ControlNet does when a pose meets an image of another shape. With ``keep_aspect`` the people keep
        their proportions: scaled uniformly to fit and centred, leaving margins on the longer side.
        """
        sx, sy = width / self.canvas_width, height / self.canvas_height
        if keep_aspect:
            factor = min(sx, sy)
            ox, oy = (width - self.canvas_width * factor) / 2, (height - self.canvas_height * factor) / 2
            sx = sy = factor
        else:
            ox = oy = 0.0
        people = tuple(p.map_points(lambda q: Point(ox + q.x * sx, oy + q.y * sy)) for p in self.people)
        return Pose(width, height, people)


def default_person(width: int, height: int, *, hands: bool = False) -> Person:
    """The default front-facing figure, as large as fits a ``width``×``height`` canvas, centred."""
    person = Person(template.default_body(width, height))
    return person.with_default_hands() if hands else person


def default_pose(width: int = 512, height: int = 512, people: Iterable[Person] | None = None) -> Pose:
    """A pose on a new canvas: ``people`` when given, else one default figure."""
    return Pose(width, height, tuple(people) if people is not None else (default_person(width, height),))

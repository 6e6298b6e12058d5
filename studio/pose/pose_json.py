"""OpenPose JSON as written by sd-webui-openpose-editor and read by ControlNet.

::

    {"people": [{"pose_keypoints_2d": [x, y, c, ...54 values],
                 "hand_left_keypoints_2d": [...63 values] | null, "hand_right_keypoints_2d": ... | null,
                 "face_keypoints_2d": [...3n values] | null}],
     "canvas_width": 512, "canvas_height": 512}

A confidence ``c`` of 0 means the keypoint is missing (its x and y are then ignored); any positive confidence
means present. Coordinates are pixels of the canvas, or normalised to 0..1. The rule: when every present point
of every person (body, hands and face) has |x| ≤ 1 and |y| ≤ 1, the file is normalised and the values are
multiplied by the canvas size; otherwise they are pixels. That is ControlNet's own test (``is_normalized``),
and the tolerance for values a little below 0 matters: the editor writes hand points a pixel off the canvas
(y = -1/512) in normalised files. A pixel pose squeezed into one pixel at the corner would be misread; no real
pose is. Unknown keys are ignored. We always write pixels unless asked for normalised values.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from studio.atomic import atomic_write_text
from studio.errors import SaveError, StudioError
from studio.pose.person import Keypoints, Person
from studio.pose.pose import Pose
from studio.pose.skeleton import BODY_COUNT, HAND_COUNT, Point

# Far beyond any image a diffusion model makes; a bigger canvas is a broken file, not a pose to render.
MAX_CANVAS = 16384
_FIX_HINT = "Export the pose again from the pose editor, or correct the file."
_GROUPS = (
    ("pose_keypoints_2d", BODY_COUNT, "18 keypoints"),
    ("hand_left_keypoints_2d", HAND_COUNT, "21 hand keypoints"),
    ("hand_right_keypoints_2d", HAND_COUNT, "21 hand keypoints"),
    ("face_keypoints_2d", None, None),
)


class PoseFormatError(StudioError):
    """A pose file or text is not OpenPose JSON that the studio can use."""


class _Invalid(ValueError):
    """What is wrong, as a phrase; turned into a ``PoseFormatError`` naming the source."""


def load_pose(source: str | os.PathLike[str]) -> Pose:
    """The pose in a file or in JSON text.

    A ``str`` whose first non-blank character is ``{`` or ``[`` is JSON text; any other ``str`` or path-like is
    a file path. Raises ``PoseFormatError`` for anything unreadable or malformed.
    """
    if isinstance(source, str) and source.lstrip()[:1] in ("{", "["):
        return _parse_text(source, "The pose text")
    path = Path(source)
    label = f"The pose file '{path.name}'"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PoseFormatError(f"{label} does not exist. Check the path, or choose the file again.") from None
    except UnicodeDecodeError:
        raise PoseFormatError(
            f"{label} is not a text file, so it cannot be OpenPose JSON. {_FIX_HINT}"
        ) from None
    except (OSError, ValueError) as error:
        raise PoseFormatError(
            f"{label} cannot be read ({error}). Check the path and its permissions."
        ) from None
    return _parse_text(text, label)


def pose_from_dict(data: object) -> Pose:
    """The pose in already-parsed OpenPose JSON; ``PoseFormatError`` when it is malformed."""
    return _checked(data, "The pose")


def pose_to_dict(pose: Pose, *, normalised: bool = False) -> dict[str, object]:
    """The OpenPose JSON object for ``pose``: pixel coordinates, or 0..1 with ``normalised``."""
    sx, sy = (1.0 / pose.canvas_width, 1.0 / pose.canvas_height) if normalised else (1.0, 1.0)

    def flatten(points: Keypoints | None) -> list[float] | None:
        if points is None:
            return None
        values: list[float] = []
        for p in points:
            values += [0.0, 0.0, 0.0] if p is None else [p.x * sx, p.y * sy, 1.0]
        return values

    people = [
        {
            "pose_keypoints_2d": flatten(person.body),
            "hand_left_keypoints_2d": flatten(person.left_hand),
            "hand_right_keypoints_2d": flatten(person.right_hand),
            "face_keypoints_2d": flatten(person.face),
        }
        for person in pose.people
    ]
    return {"people": people, "canvas_width": pose.canvas_width, "canvas_height": pose.canvas_height}


def pose_to_json(pose: Pose, *, normalised: bool = False) -> str:
    return json.dumps(pose_to_dict(pose, normalised=normalised), indent=2) + "\n"


def save_pose(pose: Pose, path: str | os.PathLike[str], *, normalised: bool = False) -> None:
    """Write ``pose`` as OpenPose JSON, atomically (an old file survives a failed write)."""
    try:
        atomic_write_text(path, pose_to_json(pose, normalised=normalised))
    except OSError as error:
        name = Path(path).name
        raise SaveError(
            f"The pose could not be saved as '{name}' ({error.strerror or error}). Choose another folder or free some space."
        ) from None


def _parse_text(text: str, label: str) -> Pose:
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise PoseFormatError(
            f"{label} is not JSON (line {error.lineno}, column {error.colno}: {error.msg}). "
            "Choose an OpenPose JSON file such as the pose editor exports."
        ) from None
    except (_Invalid, RecursionError) as problem:
        detail = str(problem) if isinstance(problem, _Invalid) else "it is nested too deeply"
        raise PoseFormatError(f"{label} cannot be used: {detail}. {_FIX_HINT}") from None
    return _checked(data, label)


def _checked(data: object, label: str) -> Pose:
    try:
        return _parse(data)
    except _Invalid as problem:
        raise PoseFormatError(f"{label} cannot be used: {problem}. {_FIX_HINT}") from None


def _reject_constant(name: str) -> float:
    raise _Invalid(f"it contains {name}, which is not a coordinate")


def _parse(data: object) -> Pose:
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single {type(data).__name__} value"
        raise _Invalid(f"it holds {kind}, not an object with 'people', 'canvas_width' and 'canvas_height'")
    if "people" not in data and {"left_hand", "right_hand"} & data.keys():
        raise _Invalid(
            "it is the pose editor's hand template (left_hand/right_hand), not a pose with 'people'"
        )
    width, height = _canvas_side(data, "canvas_width"), _canvas_side(data, "canvas_height")
    people_data = data.get("people")
    if not isinstance(people_data, list):
        raise _Invalid("'people' is missing or is not a list")
    groups = [_person_groups(entry, number) for number, entry in enumerate(people_data, start=1)]
    values = [v for person in groups for group in person if group for p in group if p for v in p]
    normalised = bool(values) and all(abs(v) <= 1.0 for v in values)
    sx, sy = (float(width), float(height)) if normalised else (1.0, 1.0)

    def points(group: list[tuple[float, float] | None] | None) -> Keypoints | None:
        if group is None:
            return None
        return tuple(None if p is None else Point(p[0] * sx, p[1] * sy) for p in group)

    people = tuple(Person(points(b), points(lh), points(rh), points(f)) for b, lh, rh, f in groups)
    return Pose(width, height, people)


def _canvas_side(data: dict, key: str) -> int:
    value = data.get(key)
    if value is None:
        raise _Invalid(f"'{key}' is missing; ControlNet needs the canvas size in pixels")
    number = _number(value)
    if number is None or number != int(number) or not 1 <= number <= MAX_CANVAS:
        raise _Invalid(f"'{key}' is {value!r}; expected a whole number of pixels from 1 to {MAX_CANVAS}")
    return int(number)


def _person_groups(entry: object, number: int) -> list[list[tuple[float, float] | None] | None]:
    if not isinstance(entry, dict):
        raise _Invalid(f"person {number} is not an object with 'pose_keypoints_2d'")
    groups = []
    for key, count, what in _GROUPS:
        values = entry.get(key)
        if key == "pose_keypoints_2d" and values is None:
            raise _Invalid(f"person {number} has no 'pose_keypoints_2d'")
        if values is None or (values == [] and count != BODY_COUNT):
            groups.append(None)
            continue
        if not isinstance(values, list):
            raise _Invalid(f"person {number}: {key} is not a list of numbers")
        expected = 3 * count if count else None
        if expected is not None and len(values) != expected:
            raise _Invalid(
                f"person {number}: {key} has {len(values)} values; expected {expected} ({what} × 3)"
            )
        if expected is None and len(values) % 3:
            raise _Invalid(
                f"person {number}: {key} has {len(values)} values; expected a multiple of 3 (x, y, confidence)"
            )
        groups.append(_triplets(values, number, key))
    return groups


def _triplets(values: list, number: int, key: str) -> list[tuple[float, float] | None]:
    points: list[tuple[float, float] | None] = []
    for start in range(0, len(values), 3):
        x, y, confidence = (_number(v) for v in values[start : start + 3])
        if x is None or y is None or confidence is None:
            bad = values[start : start + 3]
            raise _Invalid(
                f"person {number}: {key} keypoint {start // 3 + 1} is {bad}; expected three finite numbers"
            )
        if confidence < 0:
            raise _Invalid(
                f"person {number}: {key} keypoint {start // 3 + 1} has a negative confidence ({confidence})"
            )
        points.append((x, y) if confidence > 0 else None)
    return points


def _number(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` when it is not a number (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None

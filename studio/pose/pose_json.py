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
import reprlib
import stat
from pathlib import Path

from studio.atomic import atomic_write_text
from studio.errors import SaveError, StudioError
from studio.pose.person import Keypoints, Person
from studio.pose.pose import Pose
from studio.pose.pose_dialects import PoseLayoutError, to_openpose
from studio.pose.skeleton import BODY_COUNT, HAND_COUNT, Point

# Far beyond any image a diffusion model makes; a bigger canvas is a broken file, not a pose to render.
MAX_CANVAS = 16384
# 100 people with hands and 70-point faces, written with indentation, take under 1 MB. Parsing 4 MB of the
# costliest JSON (a million empty objects) takes about a tenth of a second, well under a second on a slow machine.
MAX_POSE_BYTES = 4 * 1024 * 1024
# ControlNet draws everyone on one canvas; past a hundred people the figures are too small to mean anything,
# and a file holding a million empty people must not cost a million Person objects.
MAX_PEOPLE = 100
# OpenPose's face has 70 points (68 + pupils); the margin admits denser face meshes without letting one person
# carry millions of values.
MAX_FACE_POINTS = 500
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


class _Brief(reprlib.Repr):
    """Values quoted in messages, cut short: a message must not become as big as a hostile file."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = self.maxother = 40
        self.maxlevel = 2

    def repr_int(self, x: int, level: int) -> str:
        # repr() refuses ints over 4,300 digits (a ValueError), and only JSON built in Python can hold one.
        return f"a {x.bit_length()}-bit whole number" if x.bit_length() > 1000 else super().repr_int(x, level)


_shown = _Brief().repr


def load_pose(
    source: str | os.PathLike[str], *, size: tuple[int, int] | None = None, notes: list[str] | None = None
) -> Pose:
    """The pose in a file or in JSON text.

    Other tools' pose files are read too (``pose_dialects``: ComfyUI POSE_KEYPOINT, OpenPose's own output with
    BODY_25); ``size`` is the canvas for a file that gives none, and what was changed to read the file is
    appended to ``notes``.

    A ``str`` whose first non-blank character is ``{`` or ``[`` is JSON text; any other ``str`` or path-like is
    a file path. Raises ``PoseFormatError`` for anything unreadable or malformed, and for a file or text over
    ``MAX_POSE_BYTES`` or with more than ``MAX_PEOPLE`` people.
    """
    if isinstance(source, str) and source.lstrip()[:1] in ("{", "["):
        if len(source) > MAX_POSE_BYTES:
            raise PoseFormatError(_too_big("The pose text", len(source), "characters"))
        return _parse_text(source, "The pose text", size, notes)
    path = Path(source)
    label = f"The pose file '{_shown_name(path.name)}'"
    try:
        data = _read_capped(path, label)
        text = data.decode("utf-8-sig")
    except FileNotFoundError:
        raise PoseFormatError(f"{label} does not exist. Check the path, or choose the file again.") from None
    except UnicodeDecodeError:
        raise PoseFormatError(
            f"{label} is not a text file, so it cannot be OpenPose JSON. {_FIX_HINT}"
        ) from None
    except (OSError, ValueError) as error:
        # strerror, not str(error): the latter repeats the path, which may be megabytes of pasted text.
        reason = (error.strerror if isinstance(error, OSError) else None) or str(error)[:200]
        raise PoseFormatError(
            f"{label} cannot be read ({reason}). Check the path and its permissions."
        ) from None
    return _parse_text(text, label, size, notes)


def _read_capped(path: Path, label: str) -> bytes:
    """The file's bytes, refusing what is not a regular file or is over ``MAX_POSE_BYTES``."""
    mode = path.stat().st_mode
    # A FIFO would block the open forever and a device such as /dev/zero never ends; st_size means nothing there.
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise PoseFormatError(f"{label} cannot be read: it is {kind}. Choose an OpenPose JSON file.")
    with path.open("rb") as handle:
        # One byte over the cap tells "too big" without trusting st_size, which may have changed since stat().
        data = handle.read(MAX_POSE_BYTES + 1)
    if len(data) > MAX_POSE_BYTES:
        raise PoseFormatError(_too_big(label, max(path.stat().st_size, len(data)), "bytes"))
    return data


def _too_big(label: str, size: int, unit: str) -> str:
    return (
        f"{label} is {size:,} {unit} long; the studio reads poses up to {MAX_POSE_BYTES:,} {unit}. "
        "Choose an OpenPose JSON file such as the pose editor exports."
    )


def _shown_name(name: str) -> str:
    return name if len(name) <= 80 else f"{name[:77]}..."


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


def _parse_text(
    text: str, label: str, size: tuple[int, int] | None = None, notes: list[str] | None = None
) -> Pose:
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise PoseFormatError(
            f"{label} is not JSON (line {error.lineno}, column {error.colno}: {error.msg}). "
            "Choose an OpenPose JSON file such as the pose editor exports."
        ) from None
    except (_Invalid, RecursionError) as problem:
        # json's own recursion guard is the nesting cap: a pose is 4 levels deep, the guard stops near 1,000.
        detail = str(problem) if isinstance(problem, _Invalid) else "it is nested too deeply"
        raise PoseFormatError(f"{label} cannot be used: {detail}. {_FIX_HINT}") from None
    except ValueError:
        # Python refuses to convert an integer of more than 4,300 digits (int_max_str_digits).
        raise PoseFormatError(
            f"{label} cannot be used: it contains a whole number thousands of digits long. {_FIX_HINT}"
        ) from None
    return _checked(data, label, size, notes)


def _checked(
    data: object, label: str, size: tuple[int, int] | None = None, notes: list[str] | None = None
) -> Pose:
    try:
        return _parse(to_openpose(data, size, notes if notes is not None else [], MAX_PEOPLE))
    except (_Invalid, PoseLayoutError) as problem:
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
    if len(people_data) > MAX_PEOPLE:
        raise _Invalid(f"it holds {len(people_data):,} people; the studio reads at most {MAX_PEOPLE}")
    groups = [_person_groups(entry, number) for number, entry in enumerate(people_data, start=1)]
    values = [v for person in groups for group in person if group for p in group if p for v in p]
    normalised = bool(values) and all(abs(v) <= 1.0 for v in values)
    sx, sy = (float(width), float(height)) if normalised else (1.0, 1.0)

    def points(group: list[tuple[float, float] | None] | None) -> Keypoints | None:
        if group is None:
            return None
        return tuple(None if p is None else Point(p[0] * sx, p[1] * sy) for p in group)

    def body(group: list[tuple[float, float] | None] | None) -> Keypoints:
        found = points(group)
        assert found is not None  # _person_groups refuses a person without pose_keypoints_2d
        return found

    people = tuple(Person(body(b), points(lh), points(rh), points(f)) for b, lh, rh, f in groups)
    return Pose(width, height, people)


def _canvas_side(data: dict, key: str) -> int:
    value = data.get(key)
    if value is None:
        raise _Invalid(
            f"'{key}' is missing; ControlNet needs the canvas size in pixels (give one: 'pose render --size WxH')"
        )
    number = _number(value)
    if number is None or number != int(number) or not 1 <= number <= MAX_CANVAS:
        raise _Invalid(
            f"'{key}' is {_shown(value)}; expected a whole number of pixels from 1 to {MAX_CANVAS}"
        )
    return int(number)


def _person_groups(entry: object, number: int) -> list[list[tuple[float, float] | None] | None]:
    if not isinstance(entry, dict):
        raise _Invalid(f"person {number} is not an object with 'pose_keypoints_2d'")
    groups: list[list[tuple[float, float] | None] | None] = []
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
        if expected is None and len(values) > 3 * MAX_FACE_POINTS:
            raise _Invalid(
                f"person {number}: {key} has {len(values) // 3:,} points; the studio reads at most {MAX_FACE_POINTS}"
            )
        groups.append(_triplets(values, number, key))
    return groups


def _triplets(values: list, number: int, key: str) -> list[tuple[float, float] | None]:
    points: list[tuple[float, float] | None] = []
    for start in range(0, len(values), 3):
        x, y, confidence = (_number(v) for v in values[start : start + 3])
        if x is None or y is None or confidence is None:
            bad = _shown(values[start : start + 3])
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

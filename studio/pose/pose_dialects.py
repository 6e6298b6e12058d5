"""Pose files from other tools, brought to the OpenPose JSON the studio reads (``pose_json``).

- ComfyUI's ``POSE_KEYPOINT`` (comfyui_controlnet_aux): a JSON *list* of frames, each ``{"people": [...],
  "canvas_width", "canvas_height"}``; the first frame is read and a note says how many there were. Its animal
  variant (``"animals"``, AP-10K's 17 points) is refused: ControlNet's openpose models draw people.
- Keypoints written as nested ``[x, y, c]`` triplets (or ``[x, y]`` pairs, taken as present) instead of one
  flat list.
- OpenPose's own output: v1.0 keys ``pose_keypoints``/``face_keypoints``/``hand_left_keypoints``/
  ``hand_right_keypoints``, v1.2+ the same with ``_2d``; ``BODY_25`` bodies (25 points: COCO's 18 plus mid-hip
  and six foot points, in another order) are mapped to the 18-point COCO layout, faces and hands kept.
- No canvas size (OpenPose writes none): the size given by the caller (``pose render --size``, the editor's
  canvas) is used, with a note saying so.
"""

from __future__ import annotations

from typing import Any

BODY_25_COUNT = 25
# COCO-18 keypoint i is BODY_25 keypoint BODY_25_TO_COCO[i] (OpenPose doc/02_output.md): BODY_25 inserts
# MidHip at 8 and appends the feet (19-24); the rest keep their order.
BODY_25_TO_COCO = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
_KEYS = (  # the studio's key, then the older OpenPose name
    ("pose_keypoints_2d", "pose_keypoints"),
    ("hand_left_keypoints_2d", "hand_left_keypoints"),
    ("hand_right_keypoints_2d", "hand_right_keypoints"),
    ("face_keypoints_2d", "face_keypoints"),
)


class PoseLayoutError(ValueError):
    """A layout the studio cannot draw, as a phrase (``pose_json`` names the file)."""


def to_openpose(data: object, size: tuple[int, int] | None, notes: list[str], max_people: int) -> object:
    """``data`` in the studio's OpenPose form when it is one of the dialects above; anything else unchanged.

    A file with more than ``max_people`` people is left as it is, for ``pose_json`` to refuse before any work.
    """
    if isinstance(data, list):
        if not data or not isinstance(data[0], dict):
            return data  # pose_json says it holds a list
        if len(data) > 1:
            notes.append(
                f"The file holds {len(data)} frames (ComfyUI POSE_KEYPOINT); the first one was read."
            )
        data = data[0]
    if not isinstance(data, dict):
        return data
    if "people" not in data and "animals" in data:
        raise PoseLayoutError(
            "it holds animal poses ('animals'), and ControlNet's openpose models draw human skeletons only. "
            "Use a human pose"
        )
    people = data.get("people")
    if isinstance(people, list) and len(people) <= max_people:
        body_25 = [False]
        data = {**data, "people": [_person(entry, body_25) for entry in people]}
        if body_25[0]:
            notes.append(
                "The pose uses OpenPose's BODY_25 layout; it was mapped to the 18 keypoints ControlNet draws "
                "(mid-hip and the feet are left out)."
            )
    if size is not None and (data.get("canvas_width") is None or data.get("canvas_height") is None):
        width, height = size
        data = {**data, "canvas_width": width, "canvas_height": height}
        notes.append(f"The pose file gives no canvas size; it was placed on a {width}x{height} canvas.")
    return data


def _person(entry: object, body_25: list[bool]) -> object:
    if not isinstance(entry, dict):
        return entry
    person = dict(entry)
    for key, old_key in _KEYS:
        values = entry.get(key, entry.get(old_key))
        if values is None:
            continue
        values = _flat(values)
        if key == "pose_keypoints_2d" and isinstance(values, list) and len(values) == 3 * BODY_25_COUNT:
            values = [v for i in BODY_25_TO_COCO for v in values[3 * i : 3 * i + 3]]
            body_25[0] = True
        person[key] = values
    return person


def _flat(values: Any) -> Any:
    """``[[x, y, c], ...]`` (or ``[[x, y], ...]``) as ``[x, y, c, ...]``; a flat or odd list unchanged."""
    if not isinstance(values, list) or not values or not all(isinstance(v, list) for v in values):
        return values
    if not all(len(v) in (2, 3) for v in values):
        return values
    return [number for point in values for number in (point if len(point) == 3 else [*point, 1.0])]

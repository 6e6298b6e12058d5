"""The OpenPose skeletons: keypoint order, limbs, hand edges and the left/right pairing. Data only.

The body is the 18-keypoint COCO layout that ControlNet's openpose models were trained on; hands are OpenPose's
21 points (wrist, then four per finger from thumb to little finger). Indices here are 0-based.
"""

from __future__ import annotations

from typing import NamedTuple


class Point(NamedTuple):
    """A present keypoint, in pixels of the pose's canvas (x to the right, y down)."""

    x: float
    y: float


BODY_KEYPOINTS: tuple[str, ...] = (
    "nose",
    "neck",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_hip",
    "r_knee",
    "r_ankle",
    "l_hip",
    "l_knee",
    "l_ankle",
    "r_eye",
    "l_eye",
    "r_ear",
    "l_ear",
)
BODY_COUNT = len(BODY_KEYPOINTS)
HAND_COUNT = 21

NOSE, NECK = 0, 1
R_SHOULDER, R_ELBOW, R_WRIST = 2, 3, 4
L_SHOULDER, L_ELBOW, L_WRIST = 5, 6, 7
R_HIP, R_KNEE, R_ANKLE = 8, 9, 10
L_HIP, L_KNEE, L_ANKLE = 11, 12, 13
R_EYE, L_EYE, R_EAR, L_EAR = 14, 15, 16, 17

# The limbs in the order ControlNet draws (and colours) them; controlnet-aux's ``limbSeq`` minus one.
LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (1, 8),
    (8, 9),
    (9, 10),
    (1, 11),
    (11, 12),
    (12, 13),
    (1, 0),
    (0, 14),
    (14, 16),
    (0, 15),
    (15, 17),
)

# One RGB colour per limb (in LIMBS order) and per keypoint (in BODY_KEYPOINTS order): the same list serves both.
BODY_COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
)

# Wrist to each finger's base, then along the finger; thumb first. Colours follow this order (see render.py).
HAND_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (0, 9), (9, 10), (10, 11), (11, 12),
    (0, 13), (13, 14), (14, 15), (15, 16),
    (0, 17), (17, 18), (18, 19), (19, 20),
)  # fmt: skip

# Mirroring a person swaps each right keypoint with its left twin; MIRROR_ORDER[i] is the index that lands on i.
_PAIRS: tuple[tuple[int, int], ...] = (
    (R_SHOULDER, L_SHOULDER), (R_ELBOW, L_ELBOW), (R_WRIST, L_WRIST), (R_HIP, L_HIP), (R_KNEE, L_KNEE),
    (R_ANKLE, L_ANKLE), (R_EYE, L_EYE), (R_EAR, L_EAR),
)  # fmt: skip
_mirror = list(range(BODY_COUNT))
for _right, _left in _PAIRS:
    _mirror[_right], _mirror[_left] = _left, _right
MIRROR_ORDER: tuple[int, ...] = tuple(_mirror)
del _mirror, _right, _left


def keypoint_index(keypoint: int | str) -> int:
    """The body index of ``keypoint``, given as an index or a name such as ``"l_wrist"``."""
    if isinstance(keypoint, str):
        try:
            return BODY_KEYPOINTS.index(keypoint)
        except ValueError:
            raise ValueError(
                f"unknown keypoint name {keypoint!r}; expected one of {', '.join(BODY_KEYPOINTS)}"
            ) from None
    if not 0 <= keypoint < BODY_COUNT:
        raise ValueError(f"keypoint index {keypoint} is outside 0..{BODY_COUNT - 1}")
    return keypoint

"""The ControlNet openpose control image: coloured limbs and joints on black.

Bodies, hands and faces are drawn exactly as controlnet-aux 0.0.10 draws them (``open_pose.util.draw_bodypose``,
``draw_handpose``, ``draw_facepose`` through ``draw_poses``) so a pose from the editor conditions the model like a
detected one: the same arithmetic on coordinates normalised by the pose's canvas, the same cv2 calls, pixel for
pixel. Unlike controlnet-aux, missing hand points are skipped instead of crashing, and no matplotlib is needed
for the hand colours.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from studio.pose.person import Keypoints
from studio.pose.pose import Pose
from studio.pose.skeleton import BODY_COLOURS, HAND_EDGES, LIMBS, Point

STICK_WIDTH = 4
JOINT_RADIUS = 4
HAND_LINE_WIDTH = 2
FACE_RADIUS = 3
# controlnet-aux skips hand and face points whose integer pixel lies on the top or left edge (x or y is 0).
_EDGE_EPS = 0.01


def _hsv_to_rgb255(hue: float) -> tuple[float, float, float]:
    """matplotlib's ``hsv_to_rgb([hue, 1, 1]) * 255``, step for step, so cv2 rounds the same floats."""
    s = v = 1.0
    i = int(hue * 6.0)
    f = hue * 6.0 - i
    p, q, t = v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f))
    rgb = ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))[i % 6]
    return rgb[0] * 255, rgb[1] * 255, rgb[2] * 255


HAND_EDGE_COLOURS: tuple[tuple[float, float, float], ...] = tuple(
    _hsv_to_rgb255(index / float(len(HAND_EDGES))) for index in range(len(HAND_EDGES))
)
HAND_JOINT_COLOUR = (0, 0, 255)
FACE_COLOUR = (255, 255, 255)


def render_pose(
    pose: Pose,
    width: int | None = None,
    height: int | None = None,
    *,
    body: bool = True,
    hands: bool = True,
    face: bool = True,
) -> Image.Image:
    """The control image of ``pose`` at ``width``×``height`` (default: the pose's canvas), as an RGB image.

    The pose is stretched to the image exactly as ControlNet stretches normalised coordinates.
    """
    return Image.fromarray(render_pose_array(pose, width, height, body=body, hands=hands, face=face))


def render_pose_array(
    pose: Pose,
    width: int | None = None,
    height: int | None = None,
    *,
    body: bool = True,
    hands: bool = True,
    face: bool = True,
) -> np.ndarray:
    """Like ``render_pose`` but the ``height×width×3`` uint8 RGB array, for callers that stay in numpy."""
    width = pose.canvas_width if width is None else width
    height = pose.canvas_height if height is None else height
    if width <= 0 or height <= 0:
        raise ValueError(f"a control image needs a positive size, got {width}x{height}")
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    # controlnet-aux works in normalised coordinates: divide by the pose's canvas, multiply by the image's.
    cw, ch = float(pose.canvas_width), float(pose.canvas_height)
    for person in pose.people:
        normalised = person.map_points(lambda p: Point(p.x / cw, p.y / ch))
        if body:
            _draw_body(canvas, normalised.body)
        if hands:
            _draw_hand(canvas, normalised.left_hand)
            _draw_hand(canvas, normalised.right_hand)
        if face:
            _draw_face(canvas, normalised.face)
    return canvas


def _draw_body(canvas: np.ndarray, keypoints: Keypoints) -> None:
    height, width = canvas.shape[:2]
    W, H = float(width), float(height)
    for (first, second), colour in zip(LIMBS, BODY_COLOURS, strict=False):
        k1, k2 = keypoints[first], keypoints[second]
        if k1 is None or k2 is None:
            continue
        # Same names and order of operations as draw_bodypose: its X is the row axis and Y the column axis.
        Y = np.array([k1.x, k2.x]) * W
        X = np.array([k1.y, k2.y]) * H
        mX, mY = np.mean(X), np.mean(Y)
        length = ((X[0] - X[1]) ** 2 + (Y[0] - Y[1]) ** 2) ** 0.5
        angle = math.degrees(math.atan2(X[0] - X[1], Y[0] - Y[1]))
        polygon = cv2.ellipse2Poly((int(mY), int(mX)), (int(length / 2), STICK_WIDTH), int(angle), 0, 360, 1)
        # cv2's stubs want an ndarray of points; ellipse2Poly's own result is what it takes at run time.
        cv2.fillConvexPoly(canvas, polygon, [int(float(c) * 0.6) for c in colour])  # type: ignore[call-overload]
    for keypoint, colour in zip(keypoints, BODY_COLOURS, strict=True):
        if keypoint is not None:
            cv2.circle(canvas, (int(keypoint.x * W), int(keypoint.y * H)), JOINT_RADIUS, colour, thickness=-1)


def _draw_hand(canvas: np.ndarray, keypoints: Keypoints | None) -> None:
    if not keypoints:
        return
    height, width = canvas.shape[:2]
    pixels = [None if k is None else (int(k.x * width), int(k.y * height)) for k in keypoints]
    for (first, second), colour in zip(HAND_EDGES, HAND_EDGE_COLOURS, strict=True):
        p1, p2 = pixels[first], pixels[second]
        if p1 is None or p2 is None:
            continue
        if p1[0] > _EDGE_EPS and p1[1] > _EDGE_EPS and p2[0] > _EDGE_EPS and p2[1] > _EDGE_EPS:
            cv2.line(canvas, p1, p2, colour, thickness=HAND_LINE_WIDTH)
    for pixel in pixels:
        if pixel is not None and pixel[0] > _EDGE_EPS and pixel[1] > _EDGE_EPS:
            cv2.circle(canvas, pixel, JOINT_RADIUS, HAND_JOINT_COLOUR, thickness=-1)


def _draw_face(canvas: np.ndarray, keypoints: Keypoints | None) -> None:
    if not keypoints:
        return
    height, width = canvas.shape[:2]
    for keypoint in keypoints:
        if keypoint is None:
            continue
        pixel = (int(keypoint.x * width), int(keypoint.y * height))
        if pixel[0] > _EDGE_EPS and pixel[1] > _EDGE_EPS:
            cv2.circle(canvas, pixel, FACE_RADIUS, FACE_COLOUR, thickness=-1)

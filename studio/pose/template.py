"""The default figure and the default hand: where a new person's keypoints go before the artist moves them.

The body is a front-facing adult standing with the arms slightly away from the sides (adult proportions: about
7.5 heads tall, shoulders a quarter of the height wide), laid out in a 512×512 frame with the feet near the
bottom. The hand is an open relaxed hand in its own frame: ``u`` runs from the wrist along the hand (the forearm's
direction), ``s`` points to the thumb's side, both in units of the hand's length (wrist to middle fingertip).
"""

from __future__ import annotations

import math

from studio.pose.skeleton import Point

TEMPLATE_SIZE = 512
# The figure needs this much width (arms and hands included) in the template frame; the rest is margin.
TEMPLATE_WIDTH_NEEDED = 300

TEMPLATE_BODY: tuple[Point, ...] = (
    Point(256, 88),  # nose
    Point(256, 122),  # neck
    Point(208, 126),  # r_shoulder
    Point(196, 202),  # r_elbow
    Point(188, 262),  # r_wrist
    Point(304, 126),  # l_shoulder
    Point(316, 202),  # l_elbow
    Point(324, 262),  # l_wrist
    Point(230, 250),  # r_hip
    Point(234, 356),  # r_knee
    Point(236, 458),  # r_ankle
    Point(282, 250),  # l_hip
    Point(278, 356),  # l_knee
    Point(276, 458),  # l_ankle
    Point(242, 76),  # r_eye
    Point(270, 76),  # l_eye
    Point(226, 82),  # r_ear
    Point(286, 82),  # l_ear
)

# (u, s) per hand keypoint: wrist; thumb CMC, MCP, IP, tip; then MCP, PIP, DIP, tip of each finger.
TEMPLATE_HAND: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (0.13, 0.11), (0.26, 0.21), (0.37, 0.28), (0.47, 0.33),
    (0.45, 0.12), (0.64, 0.14), (0.76, 0.15), (0.87, 0.16),
    (0.47, 0.03), (0.69, 0.03), (0.84, 0.03), (0.97, 0.03),
    (0.45, -0.06), (0.65, -0.07), (0.78, -0.08), (0.89, -0.09),
    (0.41, -0.14), (0.56, -0.16), (0.66, -0.18), (0.75, -0.20),
)  # fmt: skip

# Hand length (wrist to middle fingertip) over forearm length (elbow to wrist) for an adult.
HAND_TO_FOREARM = 0.75


def default_body(width: int, height: int) -> tuple[Point, ...]:
    """The template figure scaled uniformly to fit a ``width``×``height`` canvas and centred on it."""
    scale = min(height / TEMPLATE_SIZE, width / TEMPLATE_WIDTH_NEEDED)
    centre = TEMPLATE_SIZE / 2
    return tuple(
        Point(width / 2 + (p.x - centre) * scale, height / 2 + (p.y - centre) * scale) for p in TEMPLATE_BODY
    )


def hand_points(wrist: Point, direction: tuple[float, float], length: float, side: str) -> tuple[Point, ...]:
    """The template hand with its wrist at ``wrist``, pointing along ``direction``, ``length`` pixels long.

    ``side`` is ``"right"`` or ``"left"``: the person's own side. With the arm hanging at a front-facing
    person's side the thumbs point away from the body (palms forward), so the right hand's thumb lies on the
    screen-left of its pointing direction and the left hand's on the screen-right.
    """
    norm = math.hypot(*direction) or 1.0
    ux, uy = direction[0] / norm, direction[1] / norm
    # (-uy, ux) is a quarter turn from u; with y pointing down that is towards screen-left of a downward hand.
    sign = 1.0 if side == "right" else -1.0
    sx, sy = -uy * sign, ux * sign
    return tuple(
        Point(wrist.x + (u * ux + s * sx) * length, wrist.y + (u * uy + s * sy) * length)
        for u, s in TEMPLATE_HAND
    )

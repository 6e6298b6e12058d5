"""The control image matches controlnet-aux's own drawing pixel for pixel."""

from __future__ import annotations

import random

import numpy as np
import pytest

from studio.pose.person import Person
from studio.pose.pose import Pose, default_person
from studio.pose.render import HAND_EDGE_COLOURS, render_pose, render_pose_array
from studio.pose.skeleton import BODY_COLOURS, Point


@pytest.fixture(scope="module")
def aux():
    """controlnet-aux's drawing code and result types (importing it pulls in torch: seconds, once)."""
    open_pose = pytest.importorskip("controlnet_aux.open_pose")
    from controlnet_aux.open_pose.body import BodyResult, Keypoint

    def to_aux(pose: Pose) -> list:
        cw, ch = pose.canvas_width, pose.canvas_height

        def keypoints(group):
            return (
                None
                if group is None
                else [None if p is None else Keypoint(p.x / cw, p.y / ch) for p in group]
            )

        return [
            open_pose.PoseResult(
                BodyResult(keypoints(p.body), 0.0, 0),
                keypoints(p.left_hand),
                keypoints(p.right_hand),
                keypoints(p.face),
            )
            for p in pose.people
        ]

    return open_pose.draw_poses, to_aux


def random_pose(rng: random.Random, *, hands: bool, hide: bool) -> Pose:
    width, height = rng.choice([(512, 512), (768, 512), (512, 768), (300, 200)])
    people = []
    for _ in range(rng.randint(1, 3)):
        person = default_person(width, height, hands=hands)
        person = (
            person.rotate(rng.uniform(-180, 180))
            .scale(rng.uniform(0.3, 1.4))
            .translate(rng.uniform(-80, 80), rng.uniform(-80, 80))
        )
        if hide:
            for _ in range(rng.randint(1, 5)):
                person = person.hide_keypoint(rng.randrange(18))
        face = tuple(Point(rng.uniform(-5, width), rng.uniform(-5, height)) for _ in range(rng.randint(0, 8)))
        people.append(Person(person.body, person.left_hand, person.right_hand, face or None))
    return Pose(width, height, tuple(people))


SIZES = [None, (1024, 1024), (333, 517), (64, 64)]


@pytest.mark.parametrize("seed", range(12))
def test_bodies_and_faces_match_controlnet_aux_exactly(aux, seed):
    draw_poses, to_aux = aux
    rng = random.Random(seed)
    pose = random_pose(rng, hands=False, hide=seed % 2 == 0)
    size = SIZES[seed % len(SIZES)] or pose.size
    ours = render_pose_array(pose, *size)
    theirs = draw_poses(to_aux(pose), size[1], size[0], draw_hand=False)
    assert ours.shape == theirs.shape == (size[1], size[0], 3)
    assert ours.any()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("seed", range(6))
def test_hands_match_controlnet_aux_exactly(aux, seed):
    pytest.importorskip("matplotlib", reason="controlnet-aux colours hands with matplotlib")
    draw_poses, to_aux = aux
    rng = random.Random(100 + seed)
    pose = random_pose(rng, hands=True, hide=False)  # controlnet-aux crashes on a missing hand point
    size = SIZES[seed % len(SIZES)] or pose.size
    np.testing.assert_array_equal(render_pose_array(pose, *size), draw_poses(to_aux(pose), size[1], size[0]))


def test_hand_colours_are_matplotlibs_hsv_rainbow():
    colors = pytest.importorskip("matplotlib.colors")
    for index, colour in enumerate(HAND_EDGE_COLOURS):
        assert tuple(colors.hsv_to_rgb([index / 20.0, 1.0, 1.0]) * 255) == colour


def test_default_size_is_the_canvas_and_limbs_use_the_standard_colours():
    pose = Pose(768, 512, (default_person(768, 512),))
    image = render_pose(pose)
    assert image.size == (768, 512) and image.mode == "RGB"
    pixels = np.asarray(image)
    neck = pose.people[0].keypoint("neck")
    assert tuple(pixels[int(neck.y), int(neck.x)]) == BODY_COLOURS[1]  # the joint dot is drawn over the limbs
    assert tuple(pixels[0, 0]) == (0, 0, 0)
    colours = {tuple(c) for c in pixels.reshape(-1, 3)}
    assert {tuple(int(v * 0.6) for v in c) for c in BODY_COLOURS[:17]} <= colours


def test_missing_hand_points_are_skipped_not_fatal():
    person = default_person(512, 512, hands=True).move_hand_keypoint("left", 8, 0, 0)
    hand = list(person.left_hand)
    hand[4] = None
    person = Person(person.body, tuple(hand), person.right_hand)
    full = render_pose_array(Pose(512, 512, (default_person(512, 512, hands=True),)))
    partial = render_pose_array(Pose(512, 512, (person,)))
    assert partial.any() and not np.array_equal(full, partial)


def test_parts_can_be_left_out_and_sizes_are_checked():
    pose = Pose(512, 512, (default_person(512, 512, hands=True),))
    body_only = render_pose_array(pose, hands=False)
    hands_only = render_pose_array(pose, body=False)
    assert body_only.any() and hands_only.any()
    assert not render_pose_array(pose, body=False, hands=False).any()
    assert not render_pose_array(Pose(64, 64)).any()
    with pytest.raises(ValueError):
        render_pose(pose, 0, 10)

"""The pose model: a person's keypoint edits and whole-person transforms, and the canvas-level operations."""

from __future__ import annotations

import math

import pytest

from studio.pose.person import Person
from studio.pose.pose import Pose, default_person, default_pose
from studio.pose.skeleton import (
    BODY_KEYPOINTS,
    L_ELBOW,
    L_WRIST,
    MIRROR_ORDER,
    R_ELBOW,
    R_WRIST,
    Point,
    keypoint_index,
)


def close(a: Point | None, b: Point | None, tol: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a.x - b.x) <= tol and abs(a.y - b.y) <= tol


def all_close(a: Person, b: Person, tol: float = 1e-6) -> bool:
    groups = zip(
        (a.body, a.left_hand, a.right_hand, a.face), (b.body, b.left_hand, b.right_hand, b.face), strict=True
    )
    for ga, gb in groups:
        if (ga is None) != (gb is None):
            return False
        if ga is not None and not all(close(p, q, tol) for p, q in zip(ga, gb, strict=True)):
            return False
    return True


@pytest.fixture
def person() -> Person:
    """A default figure with hands and three face points, with the left knee missing."""
    base = default_person(512, 512, hands=True).hide_keypoint("l_knee")
    return Person(base.body, base.left_hand, base.right_hand, ((250, 80), None, (262, 80)))


def test_keypoint_names_follow_coco_order():
    assert len(BODY_KEYPOINTS) == 18
    assert [keypoint_index(n) for n in ("nose", "neck", "r_wrist", "l_wrist", "l_ear")] == [0, 1, 4, 7, 17]
    with pytest.raises(ValueError, match="unknown keypoint"):
        keypoint_index("left_wrist")
    with pytest.raises(ValueError):
        keypoint_index(18)


def test_person_checks_its_keypoint_counts():
    with pytest.raises(ValueError, match="18"):
        Person(((1, 2),) * 17)
    with pytest.raises(ValueError, match="21"):
        Person(((1, 2),) * 18, left_hand=((1, 2),) * 20)
    person = Person([(1, 2)] * 18)
    assert person.body[0] == Point(1.0, 2.0) and isinstance(person.body, tuple)


def test_move_keypoint_moves_only_that_keypoint(person):
    moved = person.move_keypoint("nose", 300, 40)
    assert moved.keypoint("nose") == Point(300, 40)
    assert [p for i, p in enumerate(moved.body) if i != 0] == [p for i, p in enumerate(person.body) if i != 0]
    assert moved.left_hand == person.left_hand and moved.face == person.face
    assert person.keypoint("nose") != Point(300, 40)  # the original is untouched


def test_moving_a_wrist_carries_its_hand_unless_asked_not_to(person):
    wrist = person.body[R_WRIST]
    moved = person.move_keypoint(R_WRIST, wrist.x + 10, wrist.y - 5)
    assert all(
        close(q, Point(p.x + 10, p.y - 5)) for p, q in zip(person.right_hand, moved.right_hand, strict=True)
    )
    assert moved.left_hand == person.left_hand
    pinned = person.move_keypoint(R_WRIST, wrist.x + 10, wrist.y - 5, carry_hand=False)
    assert pinned.right_hand == person.right_hand


def test_translate_moves_every_present_point_and_keeps_missing_ones_missing(person):
    moved = person.translate(12.5, -3)
    for p, q in zip(person.points(), moved.points(), strict=True):
        assert close(q, Point(p.x + 12.5, p.y - 3))
    assert moved.keypoint("l_knee") is None and moved.face[1] is None


def test_scale_keeps_the_centre_and_multiplies_distances_from_it(person):
    centre = person.centre()
    bigger = person.scale(1.5)
    assert close(bigger.centre(), centre)
    for p, q in zip(person.points(), bigger.points(), strict=True):
        assert math.dist(q, centre) == pytest.approx(1.5 * math.dist(p, centre))
    with pytest.raises(ValueError):
        person.scale(0)


def test_rotate_turns_clockwise_on_screen_about_the_centre(person):
    centre = person.centre()
    turned = person.rotate(90)
    # Like a clock's hand going from 12 to 3: the head, above the centre, ends up to the right of it.
    before, nose = person.keypoint("nose"), turned.keypoint("nose")
    assert nose.x > centre.x + 100
    assert close(nose, Point(centre.x - (before.y - centre.y), centre.y + (before.x - centre.x)))
    assert close(turned.centre(), centre)
    assert all_close(person.rotate(30).rotate(-30), person)
    points, rotated = list(person.points()), list(person.rotate(37).points())
    for i in (0, 5, 20, 40):
        assert math.dist(rotated[i], rotated[i + 1]) == pytest.approx(math.dist(points[i], points[i + 1]))


def test_mirror_reflects_and_swaps_sides_hands_included(person):
    axis = person.centre().x
    mirrored = person.mirror()
    for index in range(18):
        source = person.body[MIRROR_ORDER[index]]
        expected = None if source is None else Point(2 * axis - source.x, source.y)
        assert close(mirrored.body[index], expected)
    # The missing left knee is now the missing right knee; the right hand is the reflected left hand.
    assert mirrored.keypoint("r_knee") is None and mirrored.keypoint("l_knee") is not None
    assert all(
        close(q, Point(2 * axis - p.x, p.y))
        for p, q in zip(person.left_hand, mirrored.right_hand, strict=True)
    )
    assert close(mirrored.right_hand[0], mirrored.body[R_WRIST])
    assert all_close(mirrored.mirror(), person)


def test_hide_then_show_puts_the_keypoint_back_where_the_figure_has_it():
    person = default_person(512, 768).rotate(35).scale(0.6).translate(40, -20)
    for name in ("r_knee", "nose", "l_wrist"):
        restored = person.hide_keypoint(name).show_keypoint(name)
        assert person.hide_keypoint(name).keypoint(name) is None
        assert close(restored.keypoint(name), person.keypoint(name), tol=1e-6)
    assert person.hide_keypoint("neck").show_keypoint("neck", Point(5, 6)).keypoint("neck") == Point(5, 6)


def test_show_needs_a_position_when_nothing_is_left_to_fit():
    empty = Person((None,) * 18)
    with pytest.raises(ValueError, match="give a position"):
        empty.show_keypoint("nose")


def test_default_hands_hang_from_the_wrists_along_the_forearms():
    person = default_person(512, 512)
    hands = person.with_default_hands()
    for hand, wrist_i, elbow_i in ((hands.right_hand, R_WRIST, R_ELBOW), (hands.left_hand, L_WRIST, L_ELBOW)):
        wrist, elbow = person.body[wrist_i], person.body[elbow_i]
        assert close(hand[0], wrist)
        forearm = math.dist(wrist, elbow)
        assert math.dist(hand[12], wrist) == pytest.approx(0.75 * forearm * math.hypot(0.97, 0.03))
        assert math.dist(hand[12], elbow) > forearm  # the fingers point away from the elbow
    # Arms hang at the sides, palms forward: each thumb points away from the body.
    assert hands.right_hand[4].x < person.body[R_WRIST].x and hands.left_hand[4].x > person.body[L_WRIST].x
    assert hands.mirror().right_hand[4].x < hands.mirror().body[R_WRIST].x


def test_default_hands_skip_missing_wrists_and_keep_existing_hands(person):
    no_wrist = default_person(512, 512).hide_keypoint(L_WRIST).with_default_hands()
    assert no_wrist.left_hand is None and no_wrist.right_hand is not None
    custom = person.move_hand_keypoint("left", 20, 1, 2)
    assert custom.with_default_hands().left_hand[20] == Point(1, 2)
    assert custom.without_hands().left_hand is None


@pytest.mark.parametrize("size", [(512, 512), (512, 768), (768, 512), (64, 1024)])
def test_default_person_fits_and_is_centred_on_any_canvas(size):
    width, height = size
    left, top, right, bottom = default_person(width, height, hands=True).bounds()
    assert 0 <= left and right <= width and 0 <= top and bottom <= height
    assert (left + right) / 2 == pytest.approx(width / 2, abs=width * 0.02)
    assert (bottom - top) > 0.3 * min(height, 2 * width)


def test_pose_checks_its_canvas_and_edits_people_immutably():
    with pytest.raises(ValueError):
        Pose(0, 512)
    with pytest.raises(ValueError):
        Pose(512.0, 512)  # type: ignore[arg-type]
    pose = default_pose(512, 512)
    two = pose.add_person(pose.people[0].translate(100, 0))
    assert len(pose.people) == 1 and len(two.people) == 2
    assert two.remove_person(0).people == (two.people[1],)
    assert two.with_person(1, pose.people[0]).people == (pose.people[0], pose.people[0])


def test_resize_stretches_like_normalised_coordinates_or_keeps_the_aspect():
    pose = default_pose(512, 512).add_person(default_person(512, 512, hands=True).translate(-100, 0))
    wide = pose.resize(1024, 256)
    assert wide.size == (1024, 256)
    for p, q in zip(pose.people[1].points(), wide.people[1].points(), strict=True):
        assert close(q, Point(p.x * 2, p.y / 2))
    kept = pose.resize(1024, 256, keep_aspect=True)
    for p, q in zip(pose.people[0].points(), kept.people[0].points(), strict=True):
        assert close(q, Point(384 + p.x / 2, p.y / 2))


def test_pose_mirror_flips_about_the_canvas_centre():
    person = default_person(512, 512).translate(-120, 0)
    mirrored = Pose(512, 512, (person,)).mirror()
    assert mirrored.people[0].centre().x == pytest.approx(512 - person.centre().x)
    assert close(
        mirrored.people[0].keypoint("l_wrist"),
        Point(512 - person.keypoint("r_wrist").x, person.keypoint("r_wrist").y),
    )

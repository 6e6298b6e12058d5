"""The shipped pose presets load, look like people and render."""

from __future__ import annotations

import math

import numpy as np
import pytest

from studio.errors import StudioError
from studio.pose.presets import UnknownPosePreset, list_pose_presets, load_pose_preset
from studio.pose.render import render_pose_array

REQUIRED = {
    "standing",
    "walking",
    "running",
    "sitting",
    "arms_raised",
    "waving",
    "pointing",
    "crouching",
    "lying",
}
# Upper arm, forearm, thigh, shin: (first keypoint, second keypoint) pairs on both sides.
LONG_BONES = ((2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (11, 12), (12, 13))


def test_the_required_presets_are_installed():
    names = list_pose_presets()
    assert REQUIRED <= set(names) and names == sorted(names)
    assert any(len(load_pose_preset(name).people) == 2 for name in names)


@pytest.mark.parametrize("name", list_pose_presets())
def test_each_preset_is_a_plausible_pixel_pose_that_renders(name):
    pose = load_pose_preset(name)
    assert pose.size in {(512, 512), (512, 768)}
    # Shipped in pixel form: some coordinate is beyond 1.
    assert max(abs(v) for person in pose.people for point in person.points() for v in point) > 1
    for person in pose.people:
        assert all(p is not None for p in person.body[:14])  # every limb of the body is there
        left, top, right, bottom = person.bounds()
        assert 0 <= left and right <= pose.canvas_width and 0 <= top and bottom <= pose.canvas_height
        torso = math.dist(person.keypoint("neck"), person.keypoint("r_hip"))
        for a, b in LONG_BONES:
            # A bone drawn shorter only by foreshortening, never longer than the torso.
            assert 0.25 * torso <= math.dist(person.body[a], person.body[b]) <= 1.05 * torso, (name, a, b)
    image = render_pose_array(pose)
    lit = image.any(axis=2)
    assert 0.005 < lit.mean() < 0.2


def test_unknown_presets_are_refused_with_the_choices():
    with pytest.raises(UnknownPosePreset, match="no pose preset called 'moonwalk'.*standing") as caught:
        load_pose_preset("moonwalk")
    assert isinstance(caught.value, StudioError)
    with pytest.raises(UnknownPosePreset):
        load_pose_preset("../poses/standing")


def test_presets_render_at_other_sizes():
    pose = load_pose_preset("two_people_facing")
    small = render_pose_array(pose, 256, 256)
    assert small.shape == (256, 256, 3) and np.count_nonzero(small.any(axis=2)) > 500

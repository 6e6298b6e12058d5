"""OpenPose JSON: the editor's real files, round trips, and errors that say what is wrong."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.errors import SaveError, StudioError
from studio.pose.pose import Pose, default_person, default_pose
from studio.pose.pose_json import (
    PoseFormatError,
    load_pose,
    pose_from_dict,
    pose_to_dict,
    pose_to_json,
    save_pose,
)
from studio.pose.skeleton import Point

PIXEL = "openpose/openposeeditor__pose_hand_fixed.json"
NORMALISED = "openpose/openposeeditor__pose_normalized.json"


def pose_json(people: list[dict], width: int = 512, height: int = 512, **extra) -> str:
    return json.dumps({"people": people, "canvas_width": width, "canvas_height": height, **extra})


def body(missing: tuple[int, ...] = ()) -> list[float]:
    values = []
    for i in range(18):
        values += [0, 0, 0] if i in missing else [100 + i, 200 + 2 * i, 1]
    return values


def test_reads_the_editors_pixel_file(interop_dir):
    pose = load_pose(interop_dir / PIXEL)
    assert pose.size == (768, 512) and len(pose.people) == 1
    person = pose.people[0]
    assert person.keypoint("nose") == Point(367, 172)
    assert [person.body[i] for i in range(8, 14)] == [None] * 6  # the file gives confidence 0 for the legs
    assert len(person.left_hand) == len(person.right_hand) == 21 and person.face is None
    raw = json.loads((interop_dir / PIXEL).read_text())["people"][0]["hand_right_keypoints_2d"]
    assert person.right_hand[0] == Point(raw[0], raw[1])


def test_reads_the_editors_normalised_file_in_pixels(interop_dir):
    pixel, normalised = load_pose(interop_dir / PIXEL), load_pose(interop_dir / NORMALISED)
    assert normalised.size == (768, 512)
    # The two files share the head and shoulders (the arms were edited between them).
    for index in (0, 1, 2, 5, 14, 15, 16, 17):
        assert normalised.people[0].body[index] == pytest.approx(pixel.people[0].body[index], abs=1e-9)
    # Hand points a pixel above the canvas (y = -1/512) still count as normalised, as ControlNet reads them.
    assert normalised.people[0].left_hand[12] == pytest.approx((-1.0, -1.0), abs=1e-6)


@pytest.mark.parametrize("name, normalised", [(PIXEL, False), (NORMALISED, True)])
def test_round_trip_keeps_every_value(interop_dir, name, normalised):
    original = json.loads((interop_dir / name).read_text())
    pose = load_pose(interop_dir / name)
    written = pose_to_dict(pose, normalised=normalised)
    assert (written["canvas_width"], written["canvas_height"]) == (
        original["canvas_width"],
        original["canvas_height"],
    )
    for key in ("pose_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d"):
        assert written["people"][0][key] == pytest.approx(original["people"][0][key], abs=1e-12)
    again = pose_to_dict(load_pose(pose_to_json(pose, normalised=normalised)), normalised=normalised)
    assert again["people"][0]["pose_keypoints_2d"] == pytest.approx(
        written["people"][0]["pose_keypoints_2d"], abs=1e-12
    )


def test_our_own_poses_round_trip_exactly(tmp_path):
    pose = default_pose(512, 768).add_person(
        default_person(512, 768, hands=True).hide_keypoint("r_ear").translate(-3.25, 7)
    )
    path = tmp_path / "pose.json"
    save_pose(pose, path)
    assert load_pose(path) == pose
    assert load_pose(str(path)) == pose
    assert load_pose(pose_to_json(pose, normalised=True)).people[1].keypoint("r_ear") is None


def test_the_editors_non_json_file_is_refused_with_a_reason(interop_dir):
    with pytest.raises(PoseFormatError, match=r"'openposeeditor__bad.json' is not JSON \(line 1, column 1"):
        load_pose(interop_dir / "openpose/openposeeditor__bad.json")


def test_the_editors_hand_template_is_recognised_and_refused(interop_dir):
    with pytest.raises(PoseFormatError, match="hand template"):
        load_pose(interop_dir / "openpose/openposeeditor__output_pose_hands_template.json")


def test_a_wrong_count_names_the_person_and_the_numbers():
    text = pose_json([{"pose_keypoints_2d": body()}, {"pose_keypoints_2d": body()[:53]}])
    with pytest.raises(PoseFormatError) as caught:
        load_pose(text)
    message = str(caught.value)
    assert "person 2: pose_keypoints_2d has 53 values; expected 54 (18 keypoints × 3)" in message
    assert message.startswith("The pose text cannot be used") and message.endswith(".")
    hands = pose_json([{"pose_keypoints_2d": body(), "hand_left_keypoints_2d": [1.0] * 60}])
    with pytest.raises(PoseFormatError, match=r"person 1: hand_left_keypoints_2d has 60 values; expected 63"):
        load_pose(hands)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('{"people": [], "canvas_height": 512}', "'canvas_width' is missing"),
        ('{"people": [], "canvas_width": 0, "canvas_height": 512}', "'canvas_width' is 0"),
        ('{"people": [], "canvas_width": 51.5, "canvas_height": 512}', "whole number"),
        ('{"people": [], "canvas_width": 512, "canvas_height": 1e300}', "from 1 to 16384"),
        ('{"people": {}, "canvas_width": 5, "canvas_height": 5}', "'people' is missing or is not a list"),
        ('{"people": [3], "canvas_width": 5, "canvas_height": 5}', "person 1 is not an object"),
        ('{"people": [{}], "canvas_width": 5, "canvas_height": 5}', "person 1 has no 'pose_keypoints_2d'"),
        ("[1, 2]", "holds a list"),
        ('{"people": [{"pose_keypoints_2d": [NaN]}], "canvas_width": 5, "canvas_height": 5}', "NaN"),
        (
            '{"people": [{"face_keypoints_2d": [1, 2]}], "canvas_width": 5, "canvas_height": 5}',
            "no 'pose_keypoints_2d'",
        ),
    ],
)
def test_malformed_poses_say_what_is_wrong(text, fragment):
    with pytest.raises(PoseFormatError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        load_pose(text)


def test_bad_keypoint_values_are_refused():
    values = body()
    values[3:6] = [1, True, 1]
    with pytest.raises(PoseFormatError, match=r"pose_keypoints_2d keypoint 2 is \[1, True, 1\]"):
        load_pose(pose_json([{"pose_keypoints_2d": values}]))
    values[3:6] = [1, 2, -0.5]
    with pytest.raises(PoseFormatError, match="negative confidence"):
        load_pose(pose_json([{"pose_keypoints_2d": values}]))
    values[3:6] = [1, 2, 10**400]
    with pytest.raises(PoseFormatError, match="three finite numbers"):
        load_pose(pose_json([{"pose_keypoints_2d": values}]))


def test_confidence_zero_is_missing_and_extras_are_ignored():
    values = body(missing=(3,))
    values[9:11] = [55, 66]  # coordinates of a missing keypoint mean nothing
    text = pose_json(
        [
            {
                "pose_keypoints_2d": values,
                "hand_left_keypoints_2d": [],
                "face_keypoints_2d": None,
                "person_id": [-1],
            }
        ],
        version=1.3,
        animals=[],
    )
    person = load_pose(text).people[0]
    assert person.body[3] is None and person.body[2] == Point(102, 204)
    assert person.left_hand is None and person.right_hand is None and person.face is None


def test_face_points_are_kept_as_given():
    face = [300, 100, 1, 0, 0, 0, 310, 101, 0.5]
    person = load_pose(pose_json([{"pose_keypoints_2d": body(), "face_keypoints_2d": face}])).people[0]
    assert person.face == (Point(300, 100), None, Point(310, 101))
    with pytest.raises(PoseFormatError, match="multiple of 3"):
        load_pose(pose_json([{"pose_keypoints_2d": body(), "face_keypoints_2d": face[:-1]}]))


def test_normalised_values_are_scaled_by_the_canvas():
    values = [0.5, 0.25, 1] + [0, 0, 0] * 17
    pose = load_pose(pose_json([{"pose_keypoints_2d": values}], width=768, height=512))
    assert pose.people[0].keypoint("nose") == Point(384, 128)
    values[0] = 2  # one coordinate beyond 1 makes the whole file pixels
    assert load_pose(pose_json([{"pose_keypoints_2d": values}])).people[0].keypoint("nose") == Point(2, 0.25)


def test_files_that_cannot_be_read_give_studio_errors(tmp_path):
    with pytest.raises(PoseFormatError, match="'missing.json' does not exist"):
        load_pose(tmp_path / "missing.json")
    with pytest.raises(PoseFormatError, match="cannot be read"):
        load_pose(tmp_path)
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00\x80garbage")
    with pytest.raises(PoseFormatError, match="not a text file"):
        load_pose(tmp_path / "binary.json")
    with pytest.raises(PoseFormatError, match="nested too deeply"):
        load_pose("[" * 100_000)


def test_saving_into_a_missing_folder_raises_a_save_error(tmp_path):
    with pytest.raises(SaveError, match="could not be saved as 'pose.json'"):
        save_pose(default_pose(), tmp_path / "no" / "such" / "pose.json")


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "pose.json"
    path.write_text("old")
    save_pose(default_pose(64, 64), path)
    assert load_pose(path).size == (64, 64) and [p.name for p in tmp_path.iterdir()] == ["pose.json"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)
numbers = st.one_of(
    st.integers(-(10**20), 10**20), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none()
)
group_keys = st.sampled_from(
    ["pose_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d", "face_keypoints_2d"]
)
person_like = st.dictionaries(
    group_keys, st.none() | st.lists(numbers, max_size=66) | json_values, max_size=4
)
pose_like = st.fixed_dictionaries(
    {"people": st.lists(person_like, max_size=3) | json_values},
    optional={"canvas_width": numbers | json_values, "canvas_height": numbers | json_values},
)


def load_or_refuse(text: str) -> None:
    try:
        pose = load_pose(text)
    except PoseFormatError as error:
        assert isinstance(error, StudioError) and str(error).endswith(".")
    else:
        assert isinstance(pose, Pose)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=pose_like | json_values)
def test_no_json_value_crashes_the_parser(data):
    if isinstance(data, (dict, list)):
        load_or_refuse(json.dumps(data, allow_nan=True))
    try:
        assert isinstance(pose_from_dict(data), Pose)
    except PoseFormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_no_text_crashes_the_parser(text):
    load_or_refuse("{" + text)
    load_or_refuse(text)  # not JSON-looking text is taken as a file path

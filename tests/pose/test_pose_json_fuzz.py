"""OpenPose JSON under hostile input: anything gives a pose or a PoseFormatError, fast, never a hang."""

from __future__ import annotations

import json
import os
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.errors import StudioError
from studio.pose.person import Person
from studio.pose.pose import Pose, default_person, default_pose
from studio.pose.pose_json import (
    MAX_FACE_POINTS,
    MAX_PEOPLE,
    MAX_POSE_BYTES,
    PoseFormatError,
    load_pose,
    pose_from_dict,
    pose_to_json,
)

# Generous for a busy two-core CI machine: every input here is read or refused in well under 0.3 s on one.
SECONDS = 1.0
# A message is read by a person: a hostile file must not make it as big as the file.
LONGEST_MESSAGE = 1000


def read_timed(source: object, reader=load_pose) -> tuple[Pose | PoseFormatError, float]:
    start = time.perf_counter()
    try:
        result: Pose | PoseFormatError = reader(source)
    except PoseFormatError as error:
        result = error
    return result, time.perf_counter() - start


def refused(source: object, reader=load_pose) -> str:
    """The message for ``source``, which must be refused in time with a short, whole sentence."""
    result, seconds = read_timed(source, reader)
    assert seconds < SECONDS
    assert isinstance(result, PoseFormatError), result
    message = str(result)
    assert isinstance(result, StudioError) and message.endswith(".") and len(message) < LONGEST_MESSAGE
    return message


def people_text(count: int, person: str = "{}") -> str:
    return '{"canvas_width": 512, "canvas_height": 512, "people": [' + ",".join([person] * count) + "]}"


BODY = [100.0, 200.0, 1.0] * 18


# --- arbitrary structures ---------------------------------------------------------------------------------

# Leaves include what JSON text cannot carry but a caller's dict can: ints past Python's 4,300-digit repr
# limit, NaN and infinities, and long strings.
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([-(10**400), 2**64, 0, -1, 512])
    | st.integers(4301, 6000).map(
        lambda digits: 10**digits
    )  # mapped: hypothesis cannot repr the value itself
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5)
    | st.integers(0, 200_000).map(lambda n: "x" * n)
)
json_ish = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=40,
)
numbers = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -0.0, True]),
    st.integers(4301, 6000).map(lambda digits: -(10**digits)),
)
groups = st.sampled_from(
    ["pose_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d", "face_keypoints_2d"]
)
keypoint_lists = st.lists(numbers, min_size=0, max_size=70) | st.just(BODY) | st.just([0.5, 0.5, 1.0] * 21)
person_like = st.dictionaries(groups, st.none() | keypoint_lists | json_ish, max_size=4)
people = st.lists(person_like, max_size=4) | st.integers(0, 3 * MAX_PEOPLE).map(lambda n: [{}] * n)
pose_like = st.fixed_dictionaries(
    {"people": people | json_ish},
    optional={"canvas_width": numbers | json_ish, "canvas_height": numbers | json_ish},
)


def read_or_refuse(source: object, reader=load_pose) -> None:
    result, seconds = read_timed(source, reader)
    assert seconds < SECONDS
    if isinstance(result, PoseFormatError):
        message = str(result)
        assert message.endswith(".") and len(message) < LONGEST_MESSAGE
    else:
        assert isinstance(result, Pose) and len(result.people) <= MAX_PEOPLE


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=pose_like | json_ish)
def test_any_structure_gives_a_pose_or_a_clear_error(data):
    read_or_refuse(data, pose_from_dict)
    try:
        text = json.dumps(data, allow_nan=True)
    except ValueError:
        return  # an int past the digit limit has no JSON text; pose_from_dict above still had to cope
    if isinstance(data, (dict, list)):
        read_or_refuse(text)


# Text that is almost JSON: valid documents cut short, noise spliced in, numbers and nesting taken to extremes.
fragments = st.sampled_from(
    [
        '{"people": [',
        '{"pose_keypoints_2d": [',
        "1e999",
        "-1e999",
        "NaN",
        "Infinity",
        "9" * 5000,
        "[",
        "{",
        "]",
    ]
    + ["}", ",", ":", '"', "\\u0000", "null", "0.5", "true", '"canvas_width": 512', "\ufeff", "\x00"]
)
almost_json = st.tuples(
    st.sampled_from(["{", "["]),
    st.lists(fragments | st.text(max_size=20), max_size=30).map("".join),
    st.integers(0, 20_000),
).map(lambda parts: parts[0] + parts[1] + parts[0] * parts[2])


@settings(max_examples=300, deadline=None)
@given(text=almost_json | st.text(max_size=300).map(lambda t: "{" + t))
def test_any_json_looking_text_gives_a_pose_or_a_clear_error(text):
    read_or_refuse(text)


@settings(max_examples=50, deadline=None)
@given(content=almost_json.map(str.encode) | st.binary(max_size=2000))
def test_any_file_gives_a_pose_or_a_clear_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "pose.json"
    path.write_bytes(content)
    read_or_refuse(path)


# --- pathological inputs, measured ------------------------------------------------------------------------


@pytest.mark.parametrize("bracket", ["[", "{"])
def test_megabytes_of_brackets_are_refused_by_size(bracket):
    message = refused(bracket * 5_000_000)
    assert "is 5,000,000 characters long; the studio reads poses up to" in message


@pytest.mark.parametrize("depth", [100_000, MAX_POSE_BYTES])
def test_nesting_that_breaks_json_recursion_is_refused(depth):
    assert "nested too deeply" in refused("[" * depth)
    assert "nested too deeply" in refused(('{"a":' * depth)[:depth])


def test_a_million_people_are_refused_by_count():
    message = refused(people_text(1_000_000))
    assert "holds 1,000,000 people; the studio reads at most 100." in message


def test_a_million_people_handed_over_as_a_dict_are_refused_by_count():
    data = {"canvas_width": 512, "canvas_height": 512, "people": [{"pose_keypoints_2d": BODY}] * 1_000_000}
    assert "holds 1,000,000 people" in refused(data, pose_from_dict)


def test_the_most_people_allowed_are_read_and_one_more_is_refused():
    person = json.dumps({"pose_keypoints_2d": BODY})
    result, seconds = read_timed(people_text(MAX_PEOPLE, person))
    assert isinstance(result, Pose) and len(result.people) == MAX_PEOPLE
    assert seconds < SECONDS
    assert f"holds {MAX_PEOPLE + 1} people" in refused(people_text(MAX_PEOPLE + 1, person))


def test_a_face_of_a_million_points_is_refused():
    data = {"canvas_width": 512, "canvas_height": 512, "people": [{"pose_keypoints_2d": BODY}]}
    data["people"][0]["face_keypoints_2d"] = [1.0, 2.0, 1.0] * 1_000_000
    assert f"has 1,000,000 points; the studio reads at most {MAX_FACE_POINTS}" in refused(
        data, pose_from_dict
    )
    data["people"][0]["face_keypoints_2d"] = [1.0, 2.0, 1.0] * MAX_FACE_POINTS
    assert len(pose_from_dict(data).people[0].face) == MAX_FACE_POINTS


def test_a_full_crowd_with_hands_and_faces_reads_in_time():
    person = default_person(512, 512, hands=True)
    face = tuple(person.body[0] for _ in range(70))
    pose = default_pose(
        512, 512, [Person(person.body, person.left_hand, person.right_hand, face)] * MAX_PEOPLE
    )
    text = pose_to_json(pose)
    assert len(text) < MAX_POSE_BYTES / 4  # the cap leaves room for much larger real files
    result, seconds = read_timed(text)
    assert result == pose
    assert seconds < SECONDS


def test_a_number_past_the_digit_limit_is_refused():
    message = refused('{"people": [], "canvas_width": ' + "9" * 5000 + ', "canvas_height": 512}')
    assert "a whole number thousands of digits long" in message


@pytest.mark.parametrize(
    "value, shown",
    [(10**5000, "a 16610-bit whole number"), ("x" * 5_000_000, "'xxxx"), ([[[[[[1]]]]]], "[[[...]]]")],
    ids=["5000-digit-int", "5-MB-string", "deep-list"],  # pytest cannot print the int for an id
)
def test_huge_values_are_quoted_briefly(value, shown):
    message = refused({"people": [], "canvas_width": value, "canvas_height": 512}, pose_from_dict)
    assert f"'canvas_width' is {shown}" in message


def test_huge_values_in_a_keypoint_are_quoted_briefly():
    values = ["y" * 1_000_000, 10**5000, [[[[[]]]]]] + BODY[3:]
    assert "pose_keypoints_2d keypoint 1 is" in refused(
        {"people": [{"pose_keypoints_2d": values}], "canvas_width": 5, "canvas_height": 5}, pose_from_dict
    )


def test_a_file_over_the_cap_is_refused_after_reading_no_more_than_the_cap(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(40 * MAX_POSE_BYTES)  # sparse: costs no disk, but stat() and read() see its size
    tracemalloc.start()
    try:
        message = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (
        f"is {40 * MAX_POSE_BYTES:,} bytes long; the studio reads poses up to {MAX_POSE_BYTES:,} bytes"
        in message
    )
    assert peak < 2 * MAX_POSE_BYTES


def test_a_file_at_the_cap_is_read(tmp_path):
    text = pose_to_json(default_pose(64, 64))
    path = tmp_path / "padded.json"
    path.write_text(text + " " * (MAX_POSE_BYTES - len(text)))
    assert path.stat().st_size == MAX_POSE_BYTES
    result, seconds = read_timed(path)
    assert result == default_pose(64, 64)
    assert seconds < SECONDS


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pose.json"
    os.mkfifo(fifo)
    assert "not a regular file" in refused(fifo)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_an_endless_device_is_refused():
    assert "not a regular file" in refused("/dev/zero")


def test_megabytes_of_text_that_is_not_json_are_taken_as_a_path_and_refused_briefly():
    message = refused("x" * 5_000_000)
    assert message.startswith("The pose file 'xxxx") and "cannot be read" in message


def test_a_folder_is_refused(tmp_path):
    assert "it is a folder" in refused(tmp_path)

"""Detect pose from photo: controlnet-aux results become a Pose on the editor's canvas; missing annotator
files give a ModelError that names them and says where they go. (The real OpenPose weights are not
available offline; a stand-in detector returns controlnet-aux's own result types.)"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

with (
    warnings.catch_warnings()
):  # the controlnet_aux package import re-registers timm models, warning for each
    warnings.simplefilter("ignore")
    from controlnet_aux.open_pose import PoseResult
    from controlnet_aux.open_pose.body import BodyResult, Keypoint

from studio.engine.pose_detect import MAX_DETECT_SIDE, cover_box, detect_pose, load_detector
from studio.errors import ModelError, RequestError
from studio.pose.skeleton import BODY_COUNT, HAND_COUNT, NOSE, R_WRIST


class StandIn:
    """Answers ``detect_poses`` with fixed normalised results and records what it was given."""

    def __init__(self, results):
        self.results = results
        self.calls = []

    def detect_poses(self, image, include_hand=False, include_face=False):
        self.calls.append((image.shape, include_hand, include_face))
        return self.results


def body(points: dict[int, tuple[float, float]]) -> BodyResult:
    keypoints = [Keypoint(*points[i]) if i in points else None for i in range(BODY_COUNT)]
    return BodyResult(keypoints=keypoints, total_score=1.0, total_parts=len(points))


def test_results_become_people_on_the_requested_canvas(tmp_path):
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (300, 200), (90, 80, 70)).save(photo)
    hand = [Keypoint(0.5 + i / 100, 0.25) for i in range(HAND_COUNT)]
    hand[20] = Keypoint(-1 / 300, -1 / 200)  # controlnet-aux marks a missing hand point with -1 pixels
    detector = StandIn(
        [
            PoseResult(body({NOSE: (0.5, 0.1), R_WRIST: (0.25, 0.5)}), None, hand, None),
            PoseResult(body({}), None, None, None),  # nothing but a score: not a person to edit
        ]
    )
    pose = detect_pose(photo, 512, 768, detector=detector)
    assert pose.size == (512, 768) and len(pose.people) == 1
    person = pose.people[0]
    assert person.body[NOSE] == pytest.approx((256, 76.8))
    assert person.body[R_WRIST] == pytest.approx((128, 384))
    assert sum(p is not None for p in person.body) == 2
    assert person.left_hand is None and person.right_hand[0] == pytest.approx((256, 192))
    assert person.right_hand[20] is None
    assert detector.calls == [((200, 133, 3), True, False)]  # the middle of the photo, in the canvas's shape


def test_the_canvas_defaults_to_the_photo_and_big_photos_are_detected_smaller():
    photo = Image.new("RGB", (MAX_DETECT_SIDE * 2, MAX_DETECT_SIDE), (10, 20, 30))
    detector = StandIn([PoseResult(body({NOSE: (0.5, 0.5)}), None, None, None)])
    pose = detect_pose(photo, detector=detector)
    assert pose.size == photo.size
    assert pose.people[0].body[NOSE] == pytest.approx((MAX_DETECT_SIDE, MAX_DETECT_SIDE / 2))
    assert detector.calls[0][0] == (MAX_DETECT_SIDE // 2, MAX_DETECT_SIDE, 3)


def test_without_an_annotators_folder_the_error_names_the_files_and_the_setting(monkeypatch):
    monkeypatch.delenv("DIFFUSION_STUDIO_ANNOTATORS", raising=False)
    with pytest.raises(ModelError) as caught:
        detect_pose(Image.new("RGB", (64, 64)))
    text = str(caught.value)
    for name in ("body_pose_model.pth", "hand_pose_model.pth", "facenet.pth", "lllyasviel/Annotators"):
        assert name in text
    assert "DIFFUSION_STUDIO_ANNOTATORS" in text


def test_a_folder_with_some_files_lists_only_the_missing_ones(monkeypatch, tmp_path):
    (tmp_path / "body_pose_model.pth").write_bytes(b"x")
    monkeypatch.setenv("DIFFUSION_STUDIO_ANNOTATORS", str(tmp_path))
    with pytest.raises(ModelError) as caught:
        detect_pose(Image.new("RGB", (64, 64)))
    text = str(caught.value)
    assert "hand_pose_model.pth, facenet.pth" in text and "body_pose_model.pth" not in text
    assert str(tmp_path) in text


def test_damaged_weight_files_are_a_model_error_not_a_crash(tmp_path):
    for name in ("body_pose_model.pth", "hand_pose_model.pth", "facenet.pth"):
        (tmp_path / name).write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="could not be loaded"):
        load_detector(tmp_path)


def test_an_unreadable_photo_is_a_request_error(tmp_path):
    broken = tmp_path / "photo.png"
    broken.write_bytes(np.arange(10, dtype=np.uint8).tobytes())
    with pytest.raises(RequestError, match="could not be read"):
        detect_pose(broken, detector=StandIn([]))


@pytest.mark.parametrize(
    "photo, canvas, box",
    [
        ((300, 200), (512, 768), (83, 0, 216, 200)),  # wide photo, tall canvas: the sides are cut
        ((400, 1000), (512, 512), (0, 300, 400, 700)),  # tall photo, square canvas: top and bottom are cut
        ((640, 480), (1024, 768), (0, 0, 640, 480)),  # the same shape: all of it
    ],
)
def test_the_photo_is_cropped_to_the_canvas_shape_never_stretched(photo, canvas, box):
    assert cover_box(*photo, *canvas) == box
    left, top, right, bottom = box
    assert (right - left) / (bottom - top) == pytest.approx(canvas[0] / canvas[1], rel=0.01)

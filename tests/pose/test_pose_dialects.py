"""Pose files from other tools: ComfyUI POSE_KEYPOINT, nested triplets, OpenPose v1.0 / BODY_25, no canvas size."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from studio.pose.pose_dialects import BODY_25_TO_COCO
from studio.pose.pose_json import PoseFormatError, load_pose
from studio.pose.skeleton import BODY_KEYPOINTS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_process import run_cli  # noqa: E402

# OpenPose's BODY_25 names in order (doc/02_output.md), written out here rather than derived from the mapping.
BODY_25 = (
    "Nose Neck RShoulder RElbow RWrist LShoulder LElbow LWrist MidHip RHip RKnee RAnkle LHip LKnee LAnkle "
    "REye LEye REar LEar LBigToe LSmallToe LHeel RBigToe RSmallToe RHeel"
).split()


def _coco_name(name: str) -> str:
    return ("r_" if name[0] == "R" else "l_" if name[0] == "L" else "") + (
        name[1:] if name[0] in "RL" else name
    )


def body_25_person() -> dict:
    points = [[10.0 + 4 * i, 300.0 - 5 * i, 0.9] for i in range(25)]
    points[6] = [0, 0, 0]  # LElbow not seen
    return {
        "person_id": [-1],
        "pose_keypoints_2d": [v for p in points for v in p],
        "face_keypoints_2d": [v for i in range(70) for v in (50 + i, 60, 0.8)],
        "hand_left_keypoints_2d": [v for i in range(21) for v in (200 + i, 100, 0.7)],
        "hand_right_keypoints_2d": [],
        "pose_keypoints_3d": [],
    }


def test_openpose_body_25_without_a_canvas_maps_to_coco_18_on_the_size_given(tmp_path):
    path = tmp_path / "frame_000000_keypoints.json"
    path.write_text(json.dumps({"version": 1.3, "people": [body_25_person()]}))
    with pytest.raises(PoseFormatError, match="'canvas_width' is missing.*--size"):
        load_pose(path)
    notes: list[str] = []
    pose = load_pose(path, size=(640, 480), notes=notes)
    assert pose.size == (640, 480)
    assert any("640x480" in note for note in notes) and any("BODY_25" in note for note in notes)
    [person] = pose.people
    for coco, name in enumerate(BODY_KEYPOINTS):
        source = BODY_25.index(next(n for n in BODY_25 if _coco_name(n).lower() == name))
        assert source == BODY_25_TO_COCO[coco]
        expected = None if source == 6 else (10.0 + 4 * source, 300.0 - 5 * source)
        assert person.keypoint(name) == (None if expected is None else pytest.approx(expected)), name
    assert len(person.face or ()) == 70 and person.hand("left") is not None and person.hand("right") is None


def test_openpose_v1_0_keys(tmp_path):
    body = [v for i in range(18) for v in (100 + i, 200 + i, 1)]
    data = {"version": 1.0, "people": [{"pose_keypoints": body, "hand_right_keypoints": [1] * 63}]}
    pose = load_pose(json.dumps({**data, "canvas_width": 512, "canvas_height": 512}))
    assert pose.people[0].keypoint("neck") == (101, 201)
    assert pose.people[0].hand("right") is not None


def test_comfyui_pose_keypoint_frames_with_nested_triplets():
    frame = {
        "people": [
            {"pose_keypoints_2d": [[0.1 + i / 100, 0.5, 1.0] for i in range(18)], "face_keypoints_2d": None}
        ],
        "canvas_height": 768,
        "canvas_width": 512,
    }
    second = {**frame, "people": []}
    notes: list[str] = []
    pose = load_pose(json.dumps([frame, second]), notes=notes)
    assert pose.size == (512, 768) and len(pose.people) == 1
    assert pose.people[0].keypoint("nose") == pytest.approx((0.1 * 512, 0.5 * 768))
    assert notes == ["The file holds 2 frames (ComfyUI POSE_KEYPOINT); the first one was read."]


def test_animal_and_other_skeletons_are_refused_clearly():
    animals = {"version": "ap10k", "animals": [[[1, 2, 1]] * 17], "canvas_width": 512, "canvas_height": 512}
    with pytest.raises(PoseFormatError, match="animal poses"):
        load_pose(json.dumps([animals]))
    seventeen = {"people": [{"pose_keypoints_2d": [1, 2, 1] * 17}], "canvas_width": 64, "canvas_height": 64}
    with pytest.raises(PoseFormatError, match="has 51 values; expected 54"):
        load_pose(json.dumps(seventeen))


def test_cli_pose_render_uses_size_for_a_file_without_a_canvas(tmp_path, studio_home):
    from PIL import Image

    path = tmp_path / "openpose.json"
    path.write_text(json.dumps({"version": 1.3, "people": [body_25_person()]}))
    out = tmp_path / "control.png"
    refused = run_cli("pose", "render", str(path), str(out), env_home=studio_home)
    assert refused.returncode == 2 and "--size" in refused.stderr and not out.exists()
    run = run_cli("pose", "render", str(path), str(out), "--size", "320x240", env_home=studio_home)
    assert run.returncode == 0, run.stderr
    assert "note: The pose file gives no canvas size; it was placed on a 320x240 canvas." in run.stderr
    assert Image.open(out).size == (320, 240)
    assert Image.open(out).convert("L").getbbox() is not None  # the skeleton was drawn


def test_the_interop_openpose_files_still_read(interop_dir):
    folder = interop_dir / "openpose"
    for name in ("openposeeditor__pose_normalized.json", "openposeeditor__pose_hand_fixed.json"):
        if (folder / name).is_file():
            assert len(load_pose(folder / name).people) == 1

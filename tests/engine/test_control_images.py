"""Control images: sketch inversion, canny, pose files, annotator weights, bad input. No model runs here."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from studio.engine.control_images import canny, invert_if_light, preprocess_control
from studio.errors import ModelError, RequestError
from studio.models.annotators import ANNOTATORS_ENV, ANNOTATORS_REPO, resolve_preprocessor
from studio.paths import resources_dir
from studio.pose.pose_json import load_pose
from studio.pose.render import render_pose
from studio.request import ControlInput

ROOT = Path(__file__).resolve().parents[2]


def _sketch(path: Path, size=(64, 64), stroke=True) -> Path:
    image = Image.new("RGB", size, "white")
    if stroke:
        ImageDraw.Draw(image).line((4, 4, size[0] - 5, size[1] - 9), fill="black", width=3)
    image.save(path)
    return path


def _photo(path: Path, size=(64, 64)) -> Path:
    rng = np.random.default_rng(0)
    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    pixels[:, size[0] // 2 :] = 220  # one strong vertical edge
    pixels += rng.integers(0, 20, pixels.shape, dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_black_on_white_sketch_becomes_white_on_black(tmp_path):
    path = _sketch(tmp_path / "sketch.png")
    image, notices = preprocess_control(ControlInput("scribble", str(path), source="canvas"), 64, 64)
    original = np.asarray(Image.open(path).convert("L"))
    result = np.asarray(image.convert("L"))
    assert image.mode == "RGB" and image.size == (64, 64) and notices == []
    assert (result == 255 - original).all()
    assert result[0, 63] == 0 and result[4, 4] == 255  # paper black, stroke white


def test_a_dark_drawing_is_already_what_controlnet_wants(tmp_path):
    dark = Image.new("RGB", (32, 32), "black")
    ImageDraw.Draw(dark).line((0, 0, 31, 31), fill="white", width=2)
    assert np.array_equal(np.asarray(invert_if_light(dark)), np.asarray(dark))


def test_real_scribble_from_controlnet_is_inverted(interop_dir):
    path = interop_dir / "control" / "controlnet_scribble__bag_scribble.png"
    with Image.open(path) as source:
        width, height = source.size
        mean_before = np.asarray(source.convert("L")).mean()
    image, notices = preprocess_control(ControlInput("scribble", str(path), source="canvas"), width, height)
    result = np.asarray(image.convert("L"))
    assert notices == []
    # Light paper became black, black strokes white: the exact inverse of the drawing.
    assert mean_before > 127 and result.mean() == pytest.approx(255 - mean_before)
    assert result[0, 0] < 10 and (result > 200).sum() > 1000


def test_a_control_image_of_another_size_is_resized_and_said(tmp_path, interop_dir):
    path = interop_dir / "control" / "controlnet_scribble__user_1.png"
    image, notices = preprocess_control(ControlInput("lineart", str(path)), 64, 96)
    assert image.size == (64, 96)
    assert len(notices) == 1 and "512×512" in notices[0] and "64×96" in notices[0]


def test_an_empty_canvas_is_warned_about(tmp_path):
    empty = _sketch(tmp_path / "empty.png", stroke=False)
    _, notices = preprocess_control(ControlInput("scribble", str(empty), source="canvas"), 64, 64)
    assert len(notices) == 1 and "empty" in notices[0]
    drawn = _sketch(tmp_path / "drawn.png")
    assert preprocess_control(ControlInput("scribble", str(drawn), source="canvas"), 64, 64)[1] == []


def test_canny_matches_controlnet_aux_and_thresholds_matter(tmp_path):
    with warnings.catch_warnings():  # controlnet-aux's package import registers timm models noisily
        warnings.simplefilter("ignore")
        from controlnet_aux import CannyDetector

    path = _photo(tmp_path / "photo.png")
    control = ControlInput("canny", str(path), params={"low_threshold": 50, "high_threshold": 120})
    image, _ = preprocess_control(control, 64, 64)
    expected = CannyDetector()(
        np.asarray(Image.open(path)), 50, 120, detect_resolution=64, image_resolution=64, output_type="np"
    )
    assert np.array_equal(np.asarray(image), expected)
    assert np.asarray(image).max() == 255  # the edge is found
    loose = np.asarray(canny(Image.open(path), 1, 2)).astype(bool).sum()
    strict = np.asarray(canny(Image.open(path), 200, 255)).astype(bool).sum()
    assert loose > strict


@pytest.mark.parametrize("params", [{"low_threshold": 200, "high_threshold": 100}, {"low_threshold": "x"}])
def test_bad_canny_thresholds_are_request_errors(tmp_path, params):
    control = ControlInput("canny", str(_photo(tmp_path / "p.png")), params=params)
    with pytest.raises(RequestError, match="canny thresholds"):
        preprocess_control(control, 64, 64)


def test_openpose_from_a_pose_file_is_rendered_at_the_generation_size():
    path = resources_dir() / "poses" / "standing.json"
    control = ControlInput("openpose", str(path), source="pose")
    assert resolve_preprocessor(control) == "pose"
    assert resolve_preprocessor(ControlInput("openpose", str(path))) == "pose"  # a .json is a pose file
    image, notices = preprocess_control(control, 96, 64)
    assert image.size == (96, 64) and notices == []
    assert image.tobytes() == render_pose(load_pose(path), 96, 64).tobytes()


def test_openpose_from_an_image_is_used_as_it_is(tmp_path):
    path = tmp_path / "map.png"
    render_pose(load_pose(resources_dir() / "poses" / "standing.json"), 64, 64).save(path)
    image, _ = preprocess_control(ControlInput("openpose", str(path)), 64, 64)
    assert image.tobytes() == Image.open(path).convert("RGB").tobytes()


def test_a_broken_pose_file_is_a_request_error(interop_dir):
    with pytest.raises(RequestError, match="openposeeditor__bad.json"):
        preprocess_control(
            ControlInput("openpose", str(interop_dir / "openpose" / "openposeeditor__bad.json")), 64, 64
        )


@pytest.mark.parametrize("content", [None, b"not a picture"])
def test_unreadable_control_image_is_a_request_error(tmp_path, content):
    path = tmp_path / "broken.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RequestError, match="broken.png"):
        preprocess_control(ControlInput("canny", str(path)), 64, 64)


def test_unknown_preprocessor_is_a_request_error(tmp_path):
    control = ControlInput("canny", str(_photo(tmp_path / "p.png")), preprocessor="sharpen")
    with pytest.raises(RequestError, match="sharpen"):
        preprocess_control(control, 64, 64)


def test_annotator_without_weights_says_what_to_download_and_where(tmp_path, monkeypatch):
    path = _photo(tmp_path / "p.png")
    monkeypatch.delenv(ANNOTATORS_ENV, raising=False)
    with pytest.raises(ModelError) as unset:
        preprocess_control(ControlInput("depth", str(path)), 64, 64)
    message = str(unset.value)
    assert (
        "dpt_hybrid-midas-501f0c75.pt" in message and ANNOTATORS_REPO in message and ANNOTATORS_ENV in message
    )

    folder = tmp_path / "annotators"
    folder.mkdir()
    (folder / "sk_model.pth").write_bytes(b"")
    monkeypatch.setenv(ANNOTATORS_ENV, str(folder))
    with pytest.raises(ModelError) as partial:
        preprocess_control(ControlInput("lineart", str(path), preprocessor="lineart_model"), 64, 64)
    assert "sk_model2.pth" in str(partial.value) and "sk_model.pth," not in str(partial.value)
    assert str(folder) in str(partial.value)


def test_sketches_canny_and_poses_need_no_torch(tmp_path):
    """The GUI previews these while the artist draws: they must not import torch."""
    sketch, photo = _sketch(tmp_path / "s.png"), _photo(tmp_path / "p.png")
    pose = resources_dir() / "poses" / "standing.json"
    code = (
        "import sys\n"
        "from studio.engine.control_images import preprocess_control\n"
        "from studio.request import ControlInput\n"
        f"preprocess_control(ControlInput('scribble', {str(sketch)!r}, source='canvas'), 64, 64)\n"
        f"preprocess_control(ControlInput('canny', {str(photo)!r}), 64, 64)\n"
        f"preprocess_control(ControlInput('openpose', {str(pose)!r}, source='pose'), 64, 64)\n"
        "print('torch' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


def test_the_environment_overrides_the_chosen_annotators_folder(monkeypatch, tmp_path):
    from studio.models.annotators import annotators_dir

    monkeypatch.delenv(ANNOTATORS_ENV, raising=False)
    assert annotators_dir() is None and annotators_dir("") is None
    assert annotators_dir(tmp_path / "chosen") == tmp_path / "chosen"
    monkeypatch.setenv(ANNOTATORS_ENV, str(tmp_path / "shared"))
    assert annotators_dir(tmp_path / "chosen") == tmp_path / "shared"

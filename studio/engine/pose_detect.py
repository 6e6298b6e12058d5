"""Detect pose from photo: controlnet-aux's OpenPose detector, from a LOCAL annotators folder, turned into a ``Pose``.

The weights (lllyasviel/Annotators ``body_pose_model.pth``, ``hand_pose_model.pth``, ``facenet.pth``) are never
downloaded here: they must be in the annotators folder (the studio's setting or ``DIFFUSION_STUDIO_ANNOTATORS``,
see ``control_images.annotators_dir``); without them a ``ModelError`` says which files to get and where to put them.
Runs for seconds on a CPU, so the window calls it through the worker's ``run_task``, never on the GUI thread.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from studio.errors import ModelError, RequestError
from studio.models.annotators import (
    ANNOTATORS,
    ANNOTATORS_ENV,
    ANNOTATORS_REPO,
    annotators_dir,
    missing_annotator_files,
)
from studio.pose.framing import cover_box
from studio.pose.person import Person
from studio.pose.pose import Pose
from studio.pose.skeleton import BODY_COUNT, HAND_COUNT, Point

METHOD = "openpose_detect"
# The detector is a few hundred MB: loaded once per folder, kept for the next photo.
_DETECTORS: dict[str, Any] = {}
_LOCK = threading.Lock()
# Detection time grows with the pixel count; the keypoints come back normalised, so a smaller copy loses little.
MAX_DETECT_SIDE = 1024


def detect_pose(
    photo: str | os.PathLike[str] | Image.Image,
    width: int | None = None,
    height: int | None = None,
    *,
    folder: Path | None = None,
    hands: bool = True,
    detector: Any = None,
) -> Pose:
    """The people found in ``photo``, on a ``width``×``height`` canvas (default: the photo's size).

    The photo is cropped to the canvas's shape (``cover_box``), as the pose editor shows it under the pose. ``detector`` (anything
    with controlnet-aux's ``detect_poses``) replaces the OpenPose model, for tests. Raises ``ModelError`` when the
    annotator files are missing, ``RequestError`` when the photo cannot be read.
    """
    image = _read(photo)
    width, height = width or image.width, height or image.height
    image = image.crop(cover_box(image.width, image.height, width, height))
    if detector is None:
        detector = load_detector(folder or annotators_dir())
    if max(image.size) > MAX_DETECT_SIDE:
        image = ImageOps.contain(image, (MAX_DETECT_SIDE, MAX_DETECT_SIDE))
    results = detector.detect_poses(np.asarray(image), include_hand=hands, include_face=False)
    people = tuple(_person(result, width, height) for result in results)
    return Pose(width, height, tuple(p for p in people if any(k is not None for k in p.body)))


def load_detector(folder: Path | None) -> Any:
    """controlnet-aux's ``OpenposeDetector`` from ``folder`` (cached); ``ModelError`` naming missing files."""
    missing = missing_annotator_files(METHOD, folder)
    if missing:
        where = (
            f"the annotators folder '{folder}'"
            if folder
            else (
                "a folder of your choice and choose it in File > Annotators folder… (or set the environment "
                f"variable {ANNOTATORS_ENV} to that folder)"
            )
        )
        urls = ", ".join(f"https://huggingface.co/{ANNOTATORS_REPO}/resolve/main/{name}" for name in missing)
        raise ModelError(
            f"Detecting a pose needs the OpenPose annotator files {', '.join(missing)} from the Hugging Face repo "
            f"{ANNOTATORS_REPO}, and they are not installed. Download {'it' if len(missing) == 1 else 'them'} "
            f"({urls}) into {where}, then try again. You can also trace the pose by hand over the photo."
        )
    assert folder is not None  # with no folder every file is missing, and that was raised above
    key = str(Path(folder).resolve())
    with _LOCK:
        if key not in _DETECTORS:
            with warnings.catch_warnings():  # its package import re-registers timm models, warning for each
                warnings.simplefilter("ignore")
                from controlnet_aux.open_pose import OpenposeDetector  # imports torch: only here

            try:
                _DETECTORS[key] = OpenposeDetector.from_pretrained(key)
            except Exception as exc:  # noqa: BLE001 - a damaged .pth raises anything from pickle to torch
                raise ModelError(
                    f"The OpenPose annotator files in '{folder}' could not be loaded ({type(exc).__name__}: "
                    f"{str(exc)[:200]}). They may be damaged: download {', '.join(ANNOTATORS[METHOD][1])} again."
                ) from exc
        return _DETECTORS[key]


def _read(photo: str | os.PathLike[str] | Image.Image) -> Image.Image:
    if isinstance(photo, Image.Image):
        return photo.convert("RGB")
    try:
        with Image.open(photo) as opened:
            opened.load()
            return ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RequestError(
            f"The photo '{Path(photo).name}' could not be read ({type(exc).__name__}). Choose a PNG or JPEG photo."
        ) from exc


def _person(result: Any, width: int, height: int) -> Person:
    """A controlnet-aux ``PoseResult`` (coordinates 0..1, missing hand points negative) as a ``Person``."""

    def points(keypoints: Any, count: int) -> tuple[Point | None, ...] | None:
        if keypoints is None:
            return None
        found = [
            None if k is None or k.x < 0 or k.y < 0 else Point(float(k.x) * width, float(k.y) * height)
            for k in keypoints
        ]
        if len(found) != count or all(p is None for p in found):
            return None
        return tuple(found)

    body = points(result.body.keypoints, BODY_COUNT) or (None,) * BODY_COUNT
    return Person(body, points(result.left_hand, HAND_COUNT), points(result.right_hand, HAND_COUNT))

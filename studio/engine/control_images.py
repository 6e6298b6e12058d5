"""Turning a control input into the picture a ControlNet expects. No Qt; torch only for the annotator models.

The GUI shows these images as previews while the artist works, so the common cases are cheap PIL/OpenCV work:

* scribble / lineart: ControlNet wants white lines on black, artists draw black on white. A light picture (the
  sketch canvas, a scan) is inverted; a dark one is taken as already inverted.
* canny: ``cv2.Canny`` with the artist's thresholds, the very call controlnet-aux's ``CannyDetector`` makes
  (without importing controlnet-aux, whose package import pulls in torch and every annotator).
* openpose: a pose JSON file rendered with ``studio.pose.render.render_pose`` at the generation size, or an
  image that already is a pose map.
* depth, softedge, lineart from a photo, normal, openpose from a photo: controlnet-aux annotator models whose
  weights (lllyasviel/Annotators) must be in a local folder: ``DIFFUSION_STUDIO_ANNOTATORS`` or ``annotators``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from studio.engine.pictures import fit_to_size, read_picture
from studio.errors import ModelError, RequestError, StudioError
from studio.models.annotators import (
    ANNOTATORS,
    ANNOTATORS_ENV,
    ANNOTATORS_REPO,
    CANNY_DEFAULTS,
    annotators_dir,
    missing_annotator_files,
    resolve_preprocessor,
)
from studio.request import ControlInput

# Below this brightest value an inverted scribble holds no stroke: the canvas was left empty.
_EMPTY_LEVEL = 32


def preprocess_control(
    control: ControlInput, width: int, height: int, *, annotators: Path | None = None
) -> tuple[Image.Image, list[str]]:
    """The RGB control image at ``width``×``height`` and notices about what was done to it.

    Raises ``RequestError`` for an unreadable image or pose file, ``ModelError`` when an annotator's weights are
    not in the annotators folder.
    """
    notices: list[str] = []
    method = resolve_preprocessor(control)
    label = f"The {control.type} control image"
    if method == "pose":
        return _render_pose_file(control.image, width, height), notices
    image = read_picture(control.image, label, "Choose another image or remove the control.")
    image = fit_to_size(image, (width, height), label, notices)
    if method == "invert":
        image = invert_if_light(image)
        if np.asarray(image).max() < _EMPTY_LEVEL:
            where = "canvas" if control.source == "canvas" else "image"
            notices.append(
                f"The {control.type} {where} is empty (no strokes), so the ControlNet steers toward a blank "
                f"picture. Draw on the {where}, or remove this control."
            )
    elif method == "canny":
        low, high = canny_thresholds(control.params)
        image = canny(image, low, high)
    elif method in ANNOTATORS:
        image = run_annotator(method, image, annotators or annotators_dir())
        if image.size != (width, height):
            image = image.resize((width, height), Image.Resampling.BILINEAR)
    return image, notices


def invert_if_light(image: Image.Image) -> Image.Image:
    """White-on-black lines as ControlNet wants them: a light (black-on-white) drawing is inverted."""
    gray = ImageOps.grayscale(image)
    if np.asarray(gray).mean() > 127:
        gray = ImageOps.invert(gray)
    return gray.convert("RGB")


def canny_thresholds(params: Any) -> tuple[int, int]:
    """The (low, high) thresholds from ``params`` ("low_threshold"/"high_threshold"), checked."""
    params = dict(params or {})
    try:
        low = int(params.get("low_threshold", CANNY_DEFAULTS[0]))
        high = int(params.get("high_threshold", CANNY_DEFAULTS[1]))
    except (TypeError, ValueError) as exc:
        raise RequestError(f"The canny thresholds must be whole numbers, not {params}.") from exc
    if not (0 <= low <= high <= 255):
        raise RequestError(
            f"The canny thresholds must satisfy 0 ≤ low ≤ high ≤ 255 (got low {low}, high {high})."
        )
    return low, high


def canny(image: Image.Image, low: int, high: int) -> Image.Image:
    """White edges on black, as controlnet-aux's ``CannyDetector`` draws them at this size."""
    import cv2

    edges = cv2.Canny(np.asarray(image.convert("RGB"), dtype=np.uint8), low, high)
    return Image.fromarray(edges).convert("RGB")


def _render_pose_file(path: str, width: int, height: int) -> Image.Image:
    from studio.pose.pose_json import load_pose
    from studio.pose.render import render_pose

    try:
        pose = load_pose(path, size=(width, height))  # a file without a canvas (OpenPose's own) on the picture
    except StudioError as exc:
        raise RequestError(str(exc)) from exc
    return render_pose(pose, width, height)


def run_annotator(method: str, image: Image.Image, folder: Path | None) -> Image.Image:
    """Run a controlnet-aux annotator whose weights are in ``folder``; ``ModelError`` naming what is missing."""
    missing = missing_annotator_files(method, folder)
    if missing:
        where = (
            f"the folder '{folder}'"
            if folder
            else f"a folder and choose it in File > Annotators folder… (or set {ANNOTATORS_ENV} to it)"
        )
        urls = ", ".join(f"https://huggingface.co/{ANNOTATORS_REPO}/resolve/main/{name}" for name in missing)
        raise ModelError(
            f"The '{method}' pre-processor needs {', '.join(missing)} from the Hugging Face repo {ANNOTATORS_REPO}. "
            f"Download {'it' if len(missing) == 1 else 'them'} ({urls}) into {where}, or give a ready control "
            "map with the pre-processor set to 'none'."
        )
    with warnings.catch_warnings():  # its package import re-registers timm models, warning for each
        warnings.simplefilter("ignore")
        import controlnet_aux  # imports torch; only these annotators need it

    detector = getattr(controlnet_aux, ANNOTATORS[method][0]).from_pretrained(str(folder))
    side = min(image.size)
    result = detector(image, detect_resolution=side, image_resolution=side, output_type="pil")
    return result.convert("RGB")

"""The names the control pre-processors go by, the annotator weights each needs and where they are looked for.

No torch and no image work here (``studio.engine.control_images`` runs them): the window lists and checks
annotators with this module alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from studio.errors import RequestError
from studio.request import ControlInput

ANNOTATORS_ENV = "DIFFUSION_STUDIO_ANNOTATORS"
ANNOTATORS_REPO = "lllyasviel/Annotators"
CANNY_DEFAULTS = (100, 200)  # controlnet-aux's and A1111's defaults

# preprocessor -> (controlnet-aux class, weight files in lllyasviel/Annotators)
ANNOTATORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "depth": ("MidasDetector", ("dpt_hybrid-midas-501f0c75.pt",)),
    "softedge": ("HEDdetector", ("ControlNetHED.pth",)),
    "softedge_pidinet": ("PidiNetDetector", ("table5_pidinet.pth",)),
    "lineart_model": ("LineartDetector", ("sk_model.pth", "sk_model2.pth")),
    "normal": ("NormalBaeDetector", ("scannet.pt",)),
    "openpose_detect": ("OpenposeDetector", ("body_pose_model.pth", "hand_pose_model.pth", "facenet.pth")),
}
_AUTO = {
    "scribble": "invert",
    "lineart": "invert",
    "canny": "canny",
    "depth": "depth",
    "softedge": "softedge",
    "normal": "normal",
}
PREPROCESSORS = ("auto", "none", "invert", "canny", "pose", *ANNOTATORS)


def annotators_dir(chosen: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder of annotator weights: ``DIFFUSION_STUDIO_ANNOTATORS`` when set (it overrides the setting, so a
    shared install can point every user at one folder), else ``chosen`` (the studio's setting), else None."""
    value = os.environ.get(ANNOTATORS_ENV, "").strip() or str(chosen or "").strip()
    return Path(value).expanduser() if value else None


def resolve_preprocessor(control: ControlInput) -> str:
    """What "auto" means for this input: inversion for sketches, canny, the pose renderer, an annotator..."""
    if control.preprocessor != "auto":
        if control.preprocessor not in PREPROCESSORS:
            raise RequestError(
                f"Unknown control pre-processor '{control.preprocessor}'. Choose one of: {', '.join(PREPROCESSORS)}."
            )
        return control.preprocessor
    if control.source == "pose" or (control.type == "openpose" and control.image.lower().endswith(".json")):
        return "pose"
    return _AUTO.get(control.type, "none")


def missing_annotator_files(method: str, folder: Path | None) -> list[str]:
    """The weight files of ``method`` not in ``folder`` (all of them when there is no folder)."""
    files = ANNOTATORS[method][1]
    if folder is None:
        return list(files)
    return [name for name in files if not (folder / name).is_file()]

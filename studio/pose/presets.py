"""Ready-made poses shipped as OpenPose JSON in ``resources/poses/`` (pixel coordinates, 512-pixel canvases)."""

from __future__ import annotations

from pathlib import Path

from studio.errors import StudioError
from studio.paths import resources_dir
from studio.pose.pose import Pose
from studio.pose.pose_json import load_pose


class UnknownPosePreset(StudioError):
    """No preset of that name is installed."""


def presets_dir() -> Path:
    return resources_dir() / "poses"


def list_pose_presets() -> list[str]:
    """The preset names (file names without ``.json``, e.g. ``"arms_raised"``), sorted."""
    return sorted(path.stem for path in presets_dir().glob("*.json"))


def load_pose_preset(name: str) -> Pose:
    """The preset called ``name``; ``UnknownPosePreset`` when there is none."""
    path = presets_dir() / f"{name}.json"
    if Path(name).name != name or not path.is_file():
        available = ", ".join(list_pose_presets()) or "none are installed"
        raise UnknownPosePreset(f"There is no pose preset called '{name}'. Choose one of: {available}.")
    return load_pose(path)

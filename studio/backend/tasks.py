"""Background work other than generating, as typed tasks the backend runs where its engine lives.

A task is a small frozen dataclass (picklable: it crosses into the engine process) whose ``run`` does the work
and returns a picklable value. Heavy imports stay inside ``run``: they happen in the engine's process, never in
the window's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from studio.request import ControlInput

if TYPE_CHECKING:
    from PIL import Image

    from studio.pose.pose import Pose


class Task(Protocol):
    def run(self) -> Any: ...


@dataclass(frozen=True)
class BuildDemoModels:
    """Write the tiny offline demo set into ``folder``; the value is ``write_demo_models``' dict of paths."""

    folder: str

    def run(self) -> dict[str, Path]:
        from studio.engine.demo_models import write_demo_models

        return write_demo_models(Path(self.folder))


@dataclass(frozen=True)
class DetectPose:
    """The people in a photo as a pose at ``width``×``height``, with the annotator weights in ``annotators``."""

    photo: str
    width: int
    height: int
    annotators: str | None = None

    def run(self) -> Pose:
        from studio.engine.pose_detect import detect_pose

        folder = Path(self.annotators) if self.annotators else None
        return detect_pose(self.photo, self.width, self.height, folder=folder)


@dataclass(frozen=True)
class ControlPreview:
    """The pre-processed control image the ControlNet will see, and notices about what was done to it."""

    control: ControlInput
    width: int
    height: int
    annotators: str | None = None

    def run(self) -> tuple[Image.Image, list[str]]:
        from studio.engine.control_images import preprocess_control

        folder = Path(self.annotators) if self.annotators else None
        return preprocess_control(self.control, self.width, self.height, annotators=folder)


@dataclass(frozen=True)
class EngineRuntime:
    """Which torch the engine runs and where it came from (the frozen app's runtime folder, a venv)."""

    def run(self) -> dict[str, str | None]:
        import os

        import torch

        # str(): torch.__version__ is a torch class, which would import torch wherever it is unpickled.
        return {"torch_path": torch.__file__, "torch_version": str(torch.__version__), "pid": str(os.getpid())}

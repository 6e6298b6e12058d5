"""The pose being edited: kept in the session folder's ``pose.json``, saved atomically ~300 ms after each change.

The file is also what the request's openpose control points at (``ControlInput(source="pose")``), so the engine
renders exactly what the editor shows. Helpers here add, update or remove that control in a request, and put a
pose embedded in an image's metadata back into the session when the artist reuses its settings.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.atomic import keep_aside
from studio.errors import StudioError
from studio.pose.pose import Pose, default_pose
from studio.pose.pose_json import load_pose, save_pose
from studio.pose.skeleton import Point
from studio.request import ControlInput, GenerationRequest
from studio.state.debounced_writer import DebouncedWriter
from studio.state.session import session_folder

log = logging.getLogger("studio.pose")

POSE_CONTROL_TYPE = "openpose"
POSE_SOURCE = "pose"


def pose_file(folder: Path | None = None) -> Path:
    """The pose's file in the session folder ``folder`` (default: the data folder's)."""
    return (folder or session_folder()) / "pose.json"


def pose_control(request: GenerationRequest) -> ControlInput | None:
    """The request's control input fed by the pose editor, if it has one."""
    return next((c for c in request.controls if c.source == POSE_SOURCE), None)


def with_pose_control(
    request: GenerationRequest, path: Path, model: str, enabled: bool | None = None
) -> GenerationRequest:
    """``request`` with an openpose control reading ``path`` through ControlNet ``model``.

    An existing pose control keeps its place and its strength and timing; only its file and model change, and
    its on/off state when ``enabled`` is given (None keeps it; a new control is on).
    """
    existing = pose_control(request)
    if existing is None:
        control = ControlInput(
            type=POSE_CONTROL_TYPE,
            image=str(path),
            model=model,
            source=POSE_SOURCE,
            enabled=True if enabled is None else enabled,
        )
        return request.with_changes(controls=(*request.controls, control))
    updated = dataclasses.replace(
        existing,
        type=POSE_CONTROL_TYPE,
        image=str(path),
        model=model,
        source=POSE_SOURCE,
        enabled=existing.enabled if enabled is None else enabled,
    )
    controls = tuple(updated if c is existing else c for c in request.controls)
    return request.with_changes(controls=controls)


def fit_pose(pose: Pose, width: int, height: int) -> Pose:
    """``pose`` on a ``width``×``height`` canvas: scaled by the change in height about the vertical centre line.

    People keep their proportions and their size relative to the canvas height; a wider canvas adds room at the
    sides, a narrower one crops them (what the control image will show too). Unlike fitting with margins this is
    exactly undone by going back to the old size, so trying sizes never shrinks the pose.
    """
    if pose.size == (width, height):
        return pose
    factor = height / pose.canvas_height
    old_mid, new_mid = pose.canvas_width / 2, width / 2
    people = tuple(
        person.map_points(lambda p: Point(new_mid + (p.x - old_mid) * factor, p.y * factor))
        for person in pose.people
    )
    return Pose(width, height, people)


def without_pose_control(request: GenerationRequest) -> GenerationRequest:
    return request.with_changes(controls=tuple(c for c in request.controls if c.source != POSE_SOURCE))


class PoseStore(QObject):
    """Holds the current ``Pose``; ``set_pose`` shows it everywhere (``changed``) and schedules the save."""

    changed = Signal(object)  # Pose

    def __init__(
        self,
        path: Path | None = None,
        on_error: Callable[[str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = path or pose_file()
        self._on_error = on_error
        self.load_problem: str | None = None
        self._pose = self._load()
        self._writer = DebouncedWriter(
            lambda: save_pose(self._pose, self.path),
            self.path,
            "The pose could not be saved to '{path}' ({error}). It is still open in the editor; free some disk "
            "space or check the folder's permissions.",
            on_error,
            parent=self,
        )

    @property
    def pose(self) -> Pose:
        return self._pose

    def set_pose(self, pose: Pose) -> None:
        if pose == self._pose:
            return
        self._pose = pose
        self.changed.emit(pose)
        self._writer.schedule()

    def fit_to(self, width: int, height: int) -> None:
        """Put the pose on a ``width``×``height`` canvas (the generation size), see ``fit_pose``."""
        self.set_pose(fit_pose(self._pose, width, height))

    def pending(self) -> bool:
        return self._writer.pending()

    def flush(self) -> None:
        """Write the pose now (a failure is reported once through ``on_error``, the pose stays in memory)."""
        self._writer.flush()

    @property
    def saves(self) -> int:
        return self._writer.saves

    def restore_from_metadata(self, raw: Mapping[str, str], request: GenerationRequest) -> GenerationRequest:
        """Reuse an image's pose: the embedded pose JSON becomes the session pose, and the request's pose
        control (recorded with the path of the machine that made it) points at this session's file."""
        from studio.metadata.png_chunks import POSE_KEY

        control = pose_control(request)
        if control is None or POSE_KEY not in raw:
            return request
        try:
            pose = load_pose(raw[POSE_KEY])
        except StudioError as exc:
            if self._on_error:
                self._on_error(
                    f"The pose stored in this image cannot be used, so the pose editor keeps its pose. {exc}"
                )
            return request
        self.set_pose(fit_pose(pose, request.width, request.height))
        self.flush()
        return with_pose_control(request, self.path, control.model)

    def _load(self) -> Pose:
        if not self.path.exists():
            return default_pose()
        try:
            return load_pose(self.path)
        except StudioError as exc:
            backup = keep_aside(self.path)
            self.load_problem = (
                f"The last pose could not be restored ({exc}), so the pose editor starts with the default figure. "
                f"The old file was kept as '{backup}'."
            )
            log.warning(self.load_problem)
            return default_pose()

"""Undo for the pose editor. Poses are immutable, so one command kind serves every edit: it keeps the pose
before and after, and undo/redo hand one of them to the editor."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from studio.pose.pose import Pose


class PoseEditCommand(QUndoCommand):
    """``apply(after)`` on redo, ``apply(before)`` on undo; ``text`` is what Edit ▸ Undo names ("Move joint").

    ``selected`` is the person to select afterwards (so undoing a deletion selects the person again).
    """

    def __init__(
        self,
        apply: Callable[[Pose, int | None], None],
        before: Pose,
        after: Pose,
        text: str,
        selected_before: int | None = None,
        selected_after: int | None = None,
    ) -> None:
        super().__init__(text)
        self._apply = apply
        self.before, self.after = before, after
        self._selected_before, self._selected_after = selected_before, selected_after

    def redo(self) -> None:
        self._apply(self.after, self._selected_after)

    def undo(self) -> None:
        self._apply(self.before, self._selected_before)

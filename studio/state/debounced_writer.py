"""Writing the artist's work a short while after the last change: the session, the pose.

Restarting a single-shot timer on every change is the debounce, so typing or dragging writes once it pauses.
A failed write is reported once (not on every keystroke) and tried again at the next change; the work stays in
memory meanwhile, so nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from studio.errors import StudioError

log = logging.getLogger("studio.autosave")

DEBOUNCE_MS = 300


class DebouncedWriter(QObject):
    """Calls ``write()`` ``delay_ms`` after the last ``schedule()``; ``flush()`` writes now.

    ``failure`` is the sentence shown when a write fails, with ``{path}`` and ``{error}`` filled in.
    """

    def __init__(
        self,
        write: Callable[[], None],
        path: Path,
        failure: str,
        on_error: Callable[[str], None] | None = None,
        delay_ms: int = DEBOUNCE_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._write = write
        self.path = path
        self._failure = failure
        self._on_error = on_error
        self._last_error: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.flush)
        self.saves = 0

    def schedule(self) -> None:
        self._timer.start()

    def pending(self) -> bool:
        return self._timer.isActive()

    def flush(self) -> None:
        self._timer.stop()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._write()
            self.saves += 1
            self._last_error = None
        except (OSError, StudioError) as exc:
            message = self._failure.format(path=self.path, error=exc)
            log.warning(message)
            if self._on_error and message != self._last_error:
                self._on_error(message)
            self._last_error = message

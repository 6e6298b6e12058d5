"""What every backend shares: the catalogue, the queue its listener drains, whether a job runs."""

from __future__ import annotations

import queue

from studio.backend.catalogue import Catalogue
from studio.backend.events import BackendEvent


class BackendBase(Catalogue):
    def __init__(self) -> None:
        self._events: queue.Queue[BackendEvent] = queue.Queue()
        self._running: int | None = None  # the job the engine works on now

    def next_event(self, timeout: float | None = None) -> BackendEvent | None:
        """The next event, waiting up to ``timeout`` seconds (None: until one comes); None when none came."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    @property
    def busy(self) -> bool:
        return self._running is not None

"""Background scans (models, LoRAs) that cannot outlive the window badly.

A scan reads folders and file headers on a daemon thread and reports through its owner's Qt signals. When the
window closes while a scan is still reading (a slow network share), the owner QObject is deleted under the
thread, and its next ``emit`` raised "Signal source has been deleted" in that thread. ``ScanThreads.close``
stops reports and waits a little for the scans to end; ``emit`` drops a report once closed, or when the owner
is already gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("studio.scan")


class ScanThreads:
    """Starts scan threads for one owner and ends their reports when the owner closes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def start(self, target: Callable[..., None], *args: Any) -> None:
        if self.closed:
            return
        self._threads = [t for t in self._threads if t.is_alive()]
        # Daemon: a scan stuck on a dead network share must not keep the process alive after the window closed.
        thread = threading.Thread(target=target, args=args, name=self.name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def emit(self, signal: Any, *args: Any) -> None:
        """``signal.emit(*args)`` unless the owner closed (or was deleted) meanwhile."""
        if self.closed:
            return
        try:
            signal.emit(*args)
        except RuntimeError as exc:  # the owner's C++ object is gone: nobody is listening any more
            log.debug("%s: report dropped after close (%s)", self.name, exc)

    def close(self, timeout: float = 0.5) -> bool:
        """Stop reports and wait up to ``timeout`` s in all for running scans; True when none is left."""
        self._closed.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        return not self._threads

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
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

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


class ScannedList(QObject):
    """A list of entries found by a scan on a thread: ``refresh(*args)`` starts one, ``changed`` delivers.

    Subclasses pass the scan function and the sentence shown when a scan fails. A newer ``refresh`` supersedes
    an older one still scanning, so a slow folder never overwrites a fresher result.
    """

    refreshing = Signal(bool)
    changed = Signal(object)  # the entry list (object: PySide must not convert the list)
    failed = Signal(str, str)  # message, detail
    _scanned = Signal(int, object)  # from the scanning thread to the GUI thread

    def __init__(
        self, scan: Callable[..., Any], *, thread_name: str, failure: str, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._scan_function = scan
        self._failure = failure
        self._entries: list[Any] = []
        self._generation = 0
        self.loaded = False
        self._threads = ScanThreads(thread_name)
        self._scanned.connect(self._deliver)

    def entries(self) -> list[Any]:
        return list(self._entries)

    def refresh(self, *args: Any) -> None:
        self._generation += 1
        self.refreshing.emit(True)
        self._threads.start(self._scan, self._generation, args)

    def shutdown(self, timeout: float = 0.5) -> bool:
        """Before the window goes: no more reports, and up to ``timeout`` s for a running scan to end."""
        return self._threads.close(timeout)

    def _scan(self, generation: int, args: tuple[Any, ...]) -> None:
        try:
            entries = list(self._scan_function(*args))
        except Exception as exc:  # noqa: BLE001 - a broken folder must not stop the studio
            log.exception("%s failed", self._threads.name)
            self._threads.emit(self.failed, self._failure.format(error=exc), traceback.format_exc())
            entries = None
        self._threads.emit(self._scanned, generation, entries)

    def _deliver(self, generation: int, entries: list[Any] | None) -> None:
        if generation != self._generation:
            return
        if entries is not None:
            self._entries = entries
            self.loaded = True
            self.changed.emit(self.entries())
        self.refreshing.emit(False)

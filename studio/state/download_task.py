"""Downloading a model in the background, reported to the GUI thread through signals. QtCore only.

The download itself is ``studio.models.download.download_model`` (a ControlNet: ``download_controlnet``; both
import huggingface_hub, not torch), run in a Python thread; every public signal is emitted on the thread that
owns the task (the GUI thread).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from studio.errors import StudioError

log = logging.getLogger(__name__)

DownloadFunction = Callable[..., Path]
"""``download(repo_id, *, on_progress, cancel[, folder]) -> Path``, as ``studio.models.download.download_model``
(``folder`` is passed only when the task has one)."""
KINDS = ("model", "controlnet")

PROGRESS_INTERVAL_S = 0.1  # the hub reports every chunk; ten updates a second is smooth enough for a bar


def engine_download(kind: str) -> DownloadFunction:
    """The engine's download function for ``kind`` ("model" or "controlnet"), imported when it runs."""
    if kind not in KINDS:
        raise ValueError(f"unknown download kind {kind!r}")

    def download(repo_id: str, **kwargs) -> Path:
        from studio.models import download as engine
        from studio.models.taesd import download_taesd, is_taesd_repo

        function = engine.download_controlnet if kind == "controlnet" else engine.download_model
        if kind == "model" and is_taesd_repo(repo_id):  # a preview decoder, offered beside the models
            function = download_taesd
        return function(repo_id, **kwargs)

    return download


class DownloadTask(QObject):
    """One download at a time. ``progress`` carries bytes (a 7 GB model overflows a C++ int, hence qint64)."""

    progress = Signal("qint64", "qint64")
    finished = Signal(Path)
    failed = Signal(str)
    cancelled = Signal()

    # The worker thread emits these; queued connections hand them to the owner's thread as the public ones.
    _progress = Signal("qint64", "qint64")
    _finished = Signal(Path)
    _failed = Signal(str)
    _cancelled = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        download: DownloadFunction | None = None,
        *,
        kind: str = "model",
        folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.kind = kind
        self._download = download or engine_download(kind)
        self.folder = folder  # the models folder handed to the download (None: the engine's default)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.repo_id: str | None = None
        queued = Qt.ConnectionType.QueuedConnection
        self._progress.connect(self.progress, queued)
        self._finished.connect(self._on_finished, queued)
        self._failed.connect(self._on_failed, queued)
        self._cancelled.connect(self._on_cancelled, queued)

    def start(self, repo_id: str) -> None:
        """Start downloading ``repo_id``; ``RuntimeError`` while another download of this task runs."""
        if self.is_running():
            raise RuntimeError("A download is already running; cancel it or wait for it to finish.")
        self.repo_id = repo_id
        self._cancel = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(repo_id, self._cancel, self.folder),
            name=f"download {repo_id}",
            daemon=True,
        )
        self._thread.start()

    def cancel(self) -> None:
        """Ask the download to stop; ``cancelled`` follows once it has cleaned up."""
        self._cancel.set()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the download thread ends (for shutdown and tests); True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self, repo_id: str, cancel: threading.Event, folder: Path | None) -> None:
        last = 0.0

        def on_progress(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_INTERVAL_S or (total and done >= total):
                last = now
                self._emit(self._progress, int(done), int(total))

        where = {"folder": folder} if folder is not None else {}
        try:
            saved = self._download(repo_id, on_progress=on_progress, cancel=cancel, **where)
        except Exception as exc:
            if cancel.is_set():
                self._emit(self._cancelled)
            elif isinstance(exc, StudioError):
                self._emit(self._failed, str(exc))
            else:
                log.exception("Download of %s failed", repo_id)
                self._emit(
                    self._failed,
                    f"The download of '{repo_id}' stopped unexpectedly ({exc.__class__.__name__}: {exc}). "
                    "Try again; if it keeps failing, the log file has the details.",
                )
            return
        if cancel.is_set():
            self._emit(self._cancelled)
        else:
            self._emit(self._finished, Path(saved))

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            pass  # the task was deleted (its dialog closed) while the thread finished; nobody is listening

    def _on_finished(self, folder: Path) -> None:
        self.finished.emit(folder)

    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)

    def _on_cancelled(self) -> None:
        self.cancelled.emit()

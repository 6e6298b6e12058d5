"""The drawn layers of the session (sketch, mask, reference) as PNG files in the session folder.

A stroke marks its layer dirty; the layer is written at most ``SAVE_DELAY_MS`` later (a throttle, not a
debounce, so an artist who never lifts the pen still has the last second saved). The pixels are copied on the
GUI thread (a memcpy) and encoded and written atomically on a background thread, so saving never stalls a
stroke. Layers travel as RGBA ``numpy`` arrays: this layer is QtCore-only, the widgets convert their QImages.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal

from studio.atomic import atomic_write_bytes
from studio.state.session import session_folder

log = logging.getLogger("studio.canvas")

SAVE_DELAY_MS = 500  # plus the write itself: well inside the "lose at most one second" promise
LAYERS = ("sketch", "reference", "mask", "inpaint_source")

Snapshot = Callable[[], np.ndarray]


def encode_png(pixels: np.ndarray) -> bytes:
    """An HxW (grey), HxWx3 or HxWx4 uint8 array as PNG bytes; fast compression (these files are rewritten)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


class CanvasStore(QObject):
    """Saves and restores named layers. ``failed`` carries a whole sentence for the message area."""

    saved = Signal(str, str)  # layer, path
    failed = Signal(str)

    def __init__(
        self, folder: Path | None = None, delay_ms: int = SAVE_DELAY_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._folder = folder
        self._pending: dict[str, Snapshot] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._save_pending)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="canvas-save")
        self._writes: list[Future] = []
        self._lock = threading.Lock()
        self._last_error: str | None = None
        self.saves = 0

    @property
    def folder(self) -> Path:
        return self._folder or session_folder()

    def path(self, layer: str) -> Path:
        return self.folder / f"{layer}.png"

    def schedule(self, layer: str, snapshot: Snapshot) -> None:
        """Save ``snapshot()`` as ``layer`` soon; later calls before the save replace the snapshot."""
        self._pending[layer] = snapshot
        if not self._timer.isActive():  # a throttle: restarting it would postpone the save forever
            self._timer.start()

    def pending(self) -> bool:
        return bool(self._pending) or any(not write.done() for write in self._writes)

    def flush(self) -> None:
        """Write every scheduled layer now and wait for the writes (before a generation reads the files)."""
        self._save_pending()
        for write in list(self._writes):
            write.result()
        self._writes = [w for w in self._writes if not w.done()]

    def save_now(self, layer: str, pixels: np.ndarray) -> Path:
        """Write ``layer`` at once, on this thread; ``OSError`` for the caller to explain."""
        self._pending.pop(layer, None)
        return self._write(layer, pixels)

    def load(self, layer: str) -> np.ndarray | None:
        """The saved layer as an RGBA array, or None when there is none (or it cannot be read)."""
        path = self.path(layer)
        if not path.is_file():
            return None
        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("RGBA")).copy()
        except (OSError, ValueError) as exc:
            log.warning("layer %s unreadable: %s", path, exc)
            self.failed.emit(
                f"The saved {layer} layer '{path}' could not be read ({exc.__class__.__name__}), so it starts "
                "empty. The file was left in place."
            )
            return None

    def remove(self, layer: str) -> None:
        self._pending.pop(layer, None)
        try:
            self.path(layer).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s", self.path(layer), exc)

    def close(self) -> None:
        self.flush()
        self._pool.shutdown(wait=True)

    def _save_pending(self) -> None:
        self._timer.stop()
        pending, self._pending = self._pending, {}
        for layer, snapshot in pending.items():
            pixels = snapshot()  # copied here, on the GUI thread, so later strokes cannot tear it
            self._writes.append(self._pool.submit(self._write_logged, layer, pixels))
        self._writes = [w for w in self._writes if not w.done()]

    def _write_logged(self, layer: str, pixels: np.ndarray) -> None:
        try:
            self._write(layer, pixels)
        except OSError as exc:
            message = (
                f"The {layer} layer could not be saved to '{self.path(layer)}' ({exc}). Your drawing is still "
                "open; free some disk space or check the folder's permissions."
            )
            log.warning(message)
            if message != self._last_error:  # once, not on every stroke
                self.failed.emit(message)
            self._last_error = message

    def _write(self, layer: str, pixels: np.ndarray) -> Path:
        data = encode_png(pixels)
        with self._lock:  # save_now on the GUI thread and a background write must not interleave
            self.folder.mkdir(parents=True, exist_ok=True)
            path = atomic_write_bytes(self.path(layer), data)
        self.saves += 1
        self._last_error = None
        self.saved.emit(layer, str(path))
        return path

"""Decoding gallery thumbnails off the GUI thread.

Worker threads decode with ``QImageReader.setScaledSize`` (JPEG and WebP decode straight to the small size, so
a 4K image costs little) into a ``QImage``; the GUI thread turns it into a ``QPixmap`` (pixmaps may only be
made there). ``load()`` replaces the queue, so scrolling fast never leaves a backlog of rows long gone.

The pool is Python's ``ThreadPoolExecutor`` rather than ``QThreadPool``: queued work cancels item by item,
and no Python ``QRunnable.run`` is called from C++ (PySide6 6.12 on Python 3.11 drops a reference to ``None``
on every such call; ``studio.state.pyside_fixes`` covers that, but the loader need not lean on it).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader

_KEEP_ASPECT = Qt.AspectRatioMode.KeepAspectRatio
_SMOOTH = Qt.TransformationMode.SmoothTransformation


def read_thumbnail(path: Path, size: int) -> QImage:
    """The image at ``path`` scaled to fit ``size``×``size``, aspect kept; a null image when unreadable."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # phone JPEGs are stored sideways with an EXIF rotation
    full = reader.size()
    if full.isValid() and (full.width() > size or full.height() > size):
        reader.setScaledSize(full.scaled(QSize(size, size), _KEEP_ASPECT))
    image = reader.read()
    if not image.isNull() and (image.width() > size or image.height() > size):
        # Some formats ignore setScaledSize; scale here so the model holds small images only.
        image = image.scaled(size, size, _KEEP_ASPECT, _SMOOTH)
    return image


class _Relay(QObject):
    """Lives on the GUI thread, so a worker's emit arrives there as a queued call."""

    done = Signal(str, QImage)


class ThumbnailLoader(QObject):
    """Loads thumbnails of at most ``size`` pixels on a side; ``loaded(path, image)`` arrives on the GUI thread.

    An unreadable file arrives as a null ``QImage`` so the gallery can mark it instead of asking again.
    """

    loaded = Signal(str, QImage)

    def __init__(self, size: int, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.size = size
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="thumbnail")
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._pending: dict[str, Future[None]] = {}
        self._closed = False
        self.requested: list[str] = []  # every path ever queued, in order; tests read it

    def load(self, paths: Iterable[Path]) -> None:
        """Queue ``paths`` (first = most wanted), dropping what was queued before and has not started."""
        if self._closed:
            return
        for key, future in list(self._pending.items()):
            if future.cancel():
                del self._pending[key]
        for path in paths:
            key = str(path)
            if key in self._pending:
                continue  # already decoding
            self.requested.append(key)
            self._pending[key] = self._pool.submit(self._decode, path)

    def is_pending(self, path: Path) -> bool:
        return str(path) in self._pending

    def shutdown(self) -> None:
        """Drop the queue and wait for the images being decoded now (a few milliseconds)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def _decode(self, path: Path) -> None:
        image = read_thumbnail(path, self.size)
        try:
            self._relay.done.emit(str(path), image)
        except RuntimeError:
            pass  # the gallery closed while this image decoded; nobody wants it now

    def _on_done(self, path: str, image: QImage) -> None:
        self._pending.pop(path, None)
        self.loaded.emit(path, image)

"""The studio's icons: SVGs in ``resources/icons/``, tinted for the current theme.

Line icons draw with ``currentColor``, which is replaced at paint time by the theme's icon colour (a dimmer
one when disabled), so one file serves both themes and icons already on screen follow a theme switch. Icons with their own colours (the ``app`` logo) are left as
drawn. A missing name is a bug in the studio, not the artist's problem: ``icon()`` logs it and returns an empty
icon; ``icon_path()`` raises ``KeyError`` so the tests catch it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from studio import paths
from studio.ui.shell import theme

log = logging.getLogger(__name__)

ICON_NAMES = (
    "app",
    "generate",
    "cancel",
    "zoom-fit",
    "zoom-100",
    "add-model",
    "download",
    "folder",
    "reuse",
    "seed",
    "trash",
    "help",
    "queue",
    "image",
    "settings",
)


def icon_path(name: str) -> Path:
    """The SVG file of ``name``; ``KeyError`` when the studio has no such icon."""
    path = paths.resources_dir() / "icons" / f"{name}.svg"
    if not path.is_file():
        raise KeyError(f"No icon named {name!r} in {path.parent}")
    return path


class _SvgIconEngine(QIconEngine):
    """Renders the SVG sharply at any size, in the current theme's colours (so a theme switch recolours it)."""

    def __init__(self, svg: bytes) -> None:
        super().__init__()
        self._svg = svg
        self._renderers: dict[str, QSvgRenderer] = {}

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        colour = theme.colour("disabled" if mode == QIcon.Mode.Disabled else "icon").name()
        renderer = self._renderers.get(colour)
        if renderer is None:
            renderer = QSvgRenderer(QByteArray(self._svg.replace(b"currentColor", colour.encode())))
            self._renderers[colour] = renderer
        return renderer

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        self._renderer(mode).render(painter, rect)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pixmap

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:  # noqa: N802
        pixmap = self.pixmap(size * scale, mode, state)
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def clone(self) -> QIconEngine:
        return _SvgIconEngine(self._svg)

    def isNull(self) -> bool:  # noqa: N802
        return False


def icon(name: str) -> QIcon:
    """The named icon in the current theme's colours; an empty icon (and a log line) when it is missing."""
    try:
        svg = icon_path(name).read_bytes()
    except (KeyError, OSError):
        log.error("Missing icon %r", name)
        return QIcon()
    return QIcon(_SvgIconEngine(svg))

"""The studio's icons: SVGs in ``resources/icons/``, tinted for the current theme.

Line icons draw with ``currentColor``, which is replaced by the theme's icon colour (and a dimmer one for the
disabled state), so one file serves both themes. Icons with their own colours (the ``app`` logo) are left as
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
from studio.ui import theme

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
    """Renders the SVG sharply at whatever size a widget asks for, in the colour of the icon's mode."""

    def __init__(self, svg: bytes, normal: str, disabled: str) -> None:
        super().__init__()
        self._svg = svg
        self._renderers = {
            QIcon.Mode.Normal: QSvgRenderer(QByteArray(svg.replace(b"currentColor", normal.encode()))),
            QIcon.Mode.Disabled: QSvgRenderer(QByteArray(svg.replace(b"currentColor", disabled.encode()))),
        }
        self._colours = (normal, disabled)

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        return self._renderers.get(mode, self._renderers[QIcon.Mode.Normal])

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
        return _SvgIconEngine(self._svg, *self._colours)

    def isNull(self) -> bool:  # noqa: N802
        return False


def icon(name: str) -> QIcon:
    """The named icon in the current theme's colours; an empty icon (and a log line) when it is missing."""
    try:
        svg = icon_path(name).read_bytes()
    except (KeyError, OSError):
        log.error("Missing icon %r", name)
        return QIcon()
    engine = _SvgIconEngine(svg, theme.colour("icon").name(), theme.colour("disabled").name())
    return QIcon(engine)

"""The studio's look: a QPalette plus one style sheet template, in a dark (default) and a light variant.

Colours live in ``PALETTES`` only: the QPalette, the style sheet (``resources/theme/studio.qss``, whose
``@name`` tokens are filled from the palette) and the icon tint all read them, so a theme is one dict.
Neutral greys, one accent, never pure black or white: artists judge colour in the image, not the chrome.
The sheet's small glyphs (spin box and combo arrows, check marks) come from ``resources/theme/glyphs``,
tinted per theme into a temporary folder (``@glyphs``), because a style sheet can only draw images from files.
"""

from __future__ import annotations

import atexit
import logging
import re
import shutil
import tempfile
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from studio import paths

log = logging.getLogger(__name__)

THEMES = ("dark", "light")
DEFAULT_THEME = "dark"

PALETTES: dict[str, dict[str, str]] = {
    "dark": {
        "window": "#2b2c30",
        "base": "#222326",
        "alt_base": "#292a2e",
        "panel": "#323338",
        "border": "#45474d",
        "text": "#e4e4e6",
        "muted": "#a3a5ab",
        "disabled": "#6d6f75",
        "accent": "#4f8fe6",
        "accent_text": "#f7f8fa",
        "accent_hover": "#6aa2ee",
        "error": "#e0645c",
        "error_bg": "#4a2c2c",
        "notice": "#e0b050",
        "notice_bg": "#4a4030",
        "info_bg": "#2f3c50",
        "icon": "#d2d3d6",
    },
    "light": {
        "window": "#e9e9eb",
        "base": "#f6f6f7",
        "alt_base": "#eeeef0",
        "panel": "#dfdfe2",
        "border": "#b9bbc0",
        "text": "#1f2024",
        "muted": "#5a5c62",
        "disabled": "#9a9ca1",
        "accent": "#2f6fcc",
        "accent_text": "#f7f8fa",
        "accent_hover": "#3d7fdc",
        "error": "#b3322b",
        "error_bg": "#f5dcda",
        "notice": "#8a6100",
        "notice_bg": "#f4e8c8",
        "info_bg": "#dbe6f5",
        "icon": "#3a3c42",
    },
}

_current = DEFAULT_THEME
GLYPH_COLOURS = ("icon", "disabled", "accent_text")  # a glyph file per colour: ``chevron-up-icon.svg``…
_glyph_root: Path | None = None


def current_theme() -> str:
    return _current


def colour(role: str, theme: str | None = None) -> QColor:
    """A named colour of the current (or given) theme, e.g. ``colour("error")``."""
    return QColor(PALETTES[theme or _current][role])


def build_palette(name: str) -> QPalette:
    c = {role: QColor(value) for role, value in PALETTES[name].items()}
    pal = QPalette()
    R, G = QPalette.ColorRole, QPalette.ColorGroup
    for role, key in (
        (R.Window, "window"),
        (R.WindowText, "text"),
        (R.Base, "base"),
        (R.AlternateBase, "alt_base"),
        (R.ToolTipBase, "panel"),
        (R.ToolTipText, "text"),
        (R.PlaceholderText, "muted"),
        (R.Text, "text"),
        (R.Button, "panel"),
        (R.ButtonText, "text"),
        (R.BrightText, "accent_text"),
        (R.Highlight, "accent"),
        (R.HighlightedText, "accent_text"),
        (R.Link, "accent"),
        (R.LinkVisited, "accent_hover"),
        (R.Mid, "border"),
        (R.Dark, "base"),
        (R.Light, "panel"),
        (R.Shadow, "base"),
    ):
        pal.setColor(role, c[key])
    for role in (R.WindowText, R.Text, R.ButtonText, R.HighlightedText):
        pal.setColor(G.Disabled, role, c["disabled"])
    return pal


def glyph_folder(name: str) -> Path:
    """The folder of ``name``'s tinted glyphs, written on first use and removed when the studio exits."""
    global _glyph_root
    if _glyph_root is None:
        _glyph_root = Path(tempfile.mkdtemp(prefix="diffusion-studio-theme-"))
        atexit.register(shutil.rmtree, _glyph_root, True)
    folder = _glyph_root / name
    if not folder.is_dir():
        folder.mkdir()
        for source in sorted((paths.resources_dir() / "theme" / "glyphs").glob("*.svg")):
            svg = source.read_text(encoding="utf-8")
            for role in GLYPH_COLOURS:
                tinted = svg.replace("currentColor", PALETTES[name][role])
                (folder / f"{source.stem}-{role}.svg").write_text(tinted, encoding="utf-8")
    return folder


def style_sheet(name: str) -> str:
    """The style sheet template with the theme's colours (and its glyph folder, ``@glyphs``) filled in."""
    template = (paths.resources_dir() / "theme" / "studio.qss").read_text(encoding="utf-8")
    values = {**PALETTES[name], "glyphs": glyph_folder(name).as_posix()}

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"@([a-z_]+)", fill, template)


def apply_theme(app: QApplication, name: str = DEFAULT_THEME) -> None:
    """Give the whole application the named theme ("dark" or "light")."""
    global _current
    if name not in THEMES:
        raise ValueError(f"Unknown theme {name!r}; the themes are {', '.join(THEMES)}.")
    _current = name
    app.setStyle("Fusion")  # the native styles ignore much of a palette; Fusion honours all of it
    app.setPalette(build_palette(name))
    try:
        app.setStyleSheet(style_sheet(name))
    except OSError:
        # A missing style sheet leaves a usable palette-only look; not worth stopping the studio for.
        log.exception("Could not read the theme's style sheet")

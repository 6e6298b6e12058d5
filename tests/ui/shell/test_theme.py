"""Themes, icons, the shortcut table and its dialog."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from studio import paths
from studio.ui.shell import icons, theme
from studio.ui.shell.help_dialog import ShortcutsDialog
from studio.ui.shell.shortcuts import SHORTCUTS, native_text, shortcut


@pytest.fixture
def app(qapp):
    yield qapp
    theme.apply_theme(qapp, "dark")


def _contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio."""

    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("name", theme.THEMES)
def test_theme_applies_palette_and_style_sheet(app, name):
    theme.apply_theme(app, name)
    palette = QApplication.palette()
    assert palette.color(QPalette.ColorRole.Window) == QColor(theme.PALETTES[name]["window"])
    assert palette.color(QPalette.ColorRole.Highlight) == QColor(theme.PALETTES[name]["accent"])
    sheet = app.styleSheet()
    assert "@" not in sheet  # every token was filled
    assert theme.PALETTES[name]["accent"] in sheet
    assert theme.current_theme() == name


@pytest.mark.parametrize("name", theme.THEMES)
def test_theme_colours_are_readable_and_never_pure_black_or_white(name):
    colours = {role: QColor(value) for role, value in theme.PALETTES[name].items()}
    for value in theme.PALETTES[name].values():
        assert value.lower() not in ("#000000", "#ffffff")
    assert _contrast(colours["text"], colours["window"]) >= 7
    assert _contrast(colours["text"], colours["base"]) >= 7
    assert _contrast(colours["muted"], colours["window"]) >= 4.5
    assert _contrast(colours["accent_text"], colours["accent"]) >= 3
    for kind in ("error", "notice"):
        assert _contrast(colours["text"], colours[f"{kind}_bg"]) >= 4.5
    # Neutral greys: the chrome must not tint how the artist sees colour.
    for role in ("window", "base", "panel"):
        c = colours[role]
        assert max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) <= 12


def test_both_themes_fill_the_same_tokens():
    template = (paths.resources_dir() / "theme" / "studio.qss").read_text(encoding="utf-8")
    tokens = set(re.findall(r"@([a-z_]+)", template)) - {"glyphs"}
    for name in theme.THEMES:
        assert tokens <= set(theme.PALETTES[name])
    assert set(theme.PALETTES["dark"]) == set(theme.PALETTES["light"])


@pytest.mark.parametrize("name", theme.THEMES)
def test_glyphs_are_tinted_with_the_theme_colours(name):
    folder = theme.glyph_folder(name)
    for glyph in ("chevron-up", "chevron-down", "check"):
        for role in theme.GLYPH_COLOURS:
            svg = (folder / f"{glyph}-{role}.svg").read_text(encoding="utf-8")
            assert theme.PALETTES[name][role] in svg and "currentColor" not in svg
    assert folder.as_posix() in theme.style_sheet(name)


def _grab(qtbot, widget, width=160):
    qtbot.addWidget(widget)
    widget.resize(width, widget.sizeHint().height())
    widget.show()
    qtbot.waitExposed(widget)
    return widget.grab().toImage()


def _near(a: QColor, b: QColor, tolerance: int = 12) -> bool:
    return max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue())) <= tolerance


@pytest.mark.parametrize("name", theme.THEMES)
@pytest.mark.parametrize("kind", [QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox])
def test_disabled_fields_look_disabled(qtbot, app, name, kind):
    """A disabled field loses its field colour (it takes the window's) and its text dims."""
    theme.apply_theme(app, name)
    palette = theme.PALETTES[name]
    for enabled, fill in ((True, palette["base"]), (False, palette["window"])):
        field = kind()
        field.setEnabled(enabled)
        image = _grab(qtbot, field)
        inside = image.pixelColor(image.width() // 2, 3)  # below the frame, above the text
        assert _near(inside, QColor(fill)), f"{kind.__name__} enabled={enabled}: {inside.name()}"


@pytest.mark.parametrize("name", theme.THEMES)
def test_spin_box_buttons_draw_both_arrows(qtbot, app, name):
    theme.apply_theme(app, name)
    spin = QSpinBox()
    spin.setValue(5)  # at a limit that arrow is drawn dimmed, as it does nothing
    image = _grab(qtbot, spin)
    glyph = QColor(theme.PALETTES[name]["icon"])
    half = image.height() // 2

    def arrow_pixels(top: int, bottom: int) -> int:
        return sum(
            1
            for x in range(image.width() - 18, image.width())
            for y in range(top, bottom)
            if _near(image.pixelColor(x, y), glyph, 60)
        )

    assert arrow_pixels(0, half) >= 6 and arrow_pixels(half, image.height()) >= 6


def test_style_sheet_styles_disabled_controls():
    sheet = (paths.resources_dir() / "theme" / "studio.qss").read_text(encoding="utf-8")
    disabled = " ".join(re.findall(r"[^{}]*:disabled[^{}]*\{", sheet))
    for selector in ("QLineEdit", "QPlainTextEdit", "QSpinBox", "QDoubleSpinBox", "QComboBox", "QPushButton"):
        assert f"{selector}:disabled" in disabled, selector
    for subcontrol in ("up-arrow", "down-arrow", "indicator"):
        assert f"::{subcontrol}" in sheet and re.search(rf"::{subcontrol}[^{{]*:disabled", sheet), subcontrol


def test_unknown_theme_is_refused(app):
    with pytest.raises(ValueError, match="dark, light"):
        theme.apply_theme(app, "neon")


@pytest.mark.parametrize("name", icons.ICON_NAMES)
def test_every_icon_renders(app, name):
    icon = icons.icon(name)
    assert not icon.isNull()
    image = icon.pixmap(QSize(32, 32)).toImage()
    drawn = sum(1 for x in range(32) for y in range(32) if image.pixelColor(x, y).alpha() > 0)
    assert drawn > 20, f"icon {name} draws almost nothing"


def test_missing_icon_raises_in_lookup_and_is_empty_at_runtime(app, caplog):
    with pytest.raises(KeyError):
        icons.icon_path("no-such-icon")
    assert icons.icon("no-such-icon").isNull()
    assert "no-such-icon" in caplog.text


def test_line_icons_follow_the_theme(app):
    colours = {}
    folder = icons.icon("folder")  # made once: an icon already on screen must follow a theme switch
    for name in theme.THEMES:
        theme.apply_theme(app, name)
        image = folder.pixmap(QSize(48, 48)).toImage()
        opaque = [
            image.pixelColor(x, y)
            for x in range(48)
            for y in range(48)
            if image.pixelColor(x, y).alpha() == 255
        ]
        assert opaque
        colours[name] = max(opaque, key=lambda c: c.lightness())
    assert colours["dark"].lightness() > 150 > colours["light"].lightness()
    assert colours["dark"] == QColor(theme.PALETTES["dark"]["icon"])


def test_disabled_icons_are_dimmer(app):
    icon = icons.icon("trash")

    def brightest(mode):
        image = icon.pixmap(QSize(32, 32), mode).toImage()
        return max(
            image.pixelColor(x, y).lightness()
            for x in range(32)
            for y in range(32)
            if image.pixelColor(x, y).alpha() == 255
        )

    assert brightest(QIcon.Mode.Disabled) < brightest(QIcon.Mode.Normal)


def test_shortcut_table_has_the_agreed_keys_once_each():
    table = {action: keys for action, keys, _ in SHORTCUTS}
    assert len(table) == len(SHORTCUTS)
    expected = {
        "generate": "Ctrl+Return",
        "cancel": "Esc",
        "zoom_fit": "Ctrl+0",
        "zoom_100": "Ctrl+1",
        "paste_settings": "Ctrl+Shift+V",
        "help": "F1",
        "focus_prompt": "Ctrl+L",
    }
    for action, keys in expected.items():
        assert shortcut(action) == QKeySequence(keys)
    sequences = [QKeySequence(keys).toString() for _, keys, _ in SHORTCUTS]
    assert all(sequences) and len(set(sequences)) == len(sequences)
    assert all(description.strip() for _, _, description in SHORTCUTS)
    with pytest.raises(KeyError):
        shortcut("nope")


def test_shortcuts_dialog_lists_every_shortcut(qtbot):
    dialog = ShortcutsDialog()
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == len(SHORTCUTS)
    shown = {
        dialog.table.item(row, 1).text(): dialog.table.item(row, 0).text() for row in range(len(SHORTCUTS))
    }
    for _, keys, description in SHORTCUTS:
        assert shown[description] == native_text(keys)
    assert dialog.table.item(0, 0).text() == "Ctrl+Return"

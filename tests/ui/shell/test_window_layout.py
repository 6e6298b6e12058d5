"""The window at the smallest size we design for (1280x800): every tool row fits, nothing is cut off."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QToolBar
from window_fixture import studio_on_fake_engine


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


def _hidden_tools(bar: QToolBar) -> list[str]:
    """The actions pushed into the toolbar's overflow menu (their buttons are hidden)."""
    return [
        action.text() or action.objectName()
        for action in bar.actions()
        if action.isVisible() and not action.isSeparator() and not bar.widgetForAction(action).isVisible()
    ]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_every_canvas_tab_shows_all_its_tools_at_1280x800(qtbot, qapp, studio, theme):
    window = studio.window
    window.menus.set_theme(theme)
    tabs = window.canvas.tabs
    assert {tabs.tabText(i) for i in range(tabs.count())} >= {"Image", "Sketch", "Inpaint", "Pose"}
    checked = 0
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        qtbot.wait(20)  # the toolbars lay out on the next event loop turn
        page = tabs.currentWidget()
        assert page.width() >= page.minimumSizeHint().width(), tabs.tabText(index)
        for bar in page.findChildren(QToolBar):
            if bar.isVisible():
                assert _hidden_tools(bar) == [], f"{tabs.tabText(index)}: tools in the overflow"
                checked += 1
    assert checked >= 3  # the sketch's two rows and the mask's


def test_the_settings_panel_is_not_cut_off_at_1280x800(qtbot, studio):
    window = studio.window
    window.side_tabs.setCurrentIndex(0)
    qtbot.wait(20)
    panel = window.settings_panel
    # The scroll area only scrolls vertically, so a panel wider than its viewport loses its right edge.
    viewport = panel.parentWidget()
    assert viewport.width() >= panel.minimumSizeHint().width()

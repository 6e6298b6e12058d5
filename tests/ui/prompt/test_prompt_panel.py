"""Prompt panel and preset pickers: editing, search, tooltips, the live final prompt, Ctrl+Enter."""

from __future__ import annotations

from PySide6.QtCore import Qt

from studio.prompt.compose import compose
from studio.request import GenerationRequest
from studio.ui.prompt.preset_picker import PresetPicker
from studio.ui.prompt.prompt_panel import PromptPanel


def test_typing_and_picking_update_the_request_and_final_prompt(qtbot):
    panel = PromptPanel()
    qtbot.addWidget(panel)
    edits = []
    panel.changed.connect(lambda: edits.append(1))
    qtbot.keyClicks(panel.prompt, "a knight in armor")
    panel.pickers["lighting"].set_preset_id("moonlight")
    qtbot.keyClicks(panel.pickers["style"].lineEdit(), "digital")
    qtbot.keyClick(panel.pickers["style"].lineEdit(), Qt.Key.Key_Return)
    request = panel.apply_to(GenerationRequest())
    assert request.prompt == "a knight in armor"
    assert request.style == "digital-art" and request.lighting == "moonlight" and request.composition is None
    assert edits, "typing must announce changes"
    panel.update_final(request)
    final_prompt, _ = compose(request)
    assert panel.final.toPlainText().startswith(final_prompt)
    assert final_prompt != "a knight in armor", "the presets' words must show in the final prompt"


def test_set_request_does_not_announce_a_change(qtbot):
    panel = PromptPanel()
    qtbot.addWidget(panel)
    edits = []
    panel.changed.connect(lambda: edits.append(1))
    panel.set_request(GenerationRequest(prompt="castle", negative_prompt="blurry", composition="low-angle"))
    assert edits == []
    assert panel.prompt.toPlainText() == "castle" and panel.negative.toPlainText() == "blurry"
    assert panel.pickers["composition"].preset_id() == "low-angle"


def test_ctrl_enter_in_the_prompt_asks_to_generate(qtbot):
    panel = PromptPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.generate_requested, timeout=1000):
        qtbot.keyClick(panel.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert panel.prompt.toPlainText() == ""  # no newline typed


def test_picker_search_tooltips_and_clearing(qtbot):
    picker = PresetPicker("lighting")
    qtbot.addWidget(picker)
    assert "Moonlight" in picker.search("moon")
    assert len(picker.search("")) == picker.count() - 1  # every preset but "None"
    index = picker.findData("moonlight")
    assert picker.itemData(index, Qt.ItemDataRole.ToolTipRole)  # the description on hover
    picker.set_preset_id("moonlight")
    assert "Moonlight" in picker.toolTip()
    changes = []
    picker.preset_changed.connect(changes.append)
    picker.lineEdit().clear()
    qtbot.keyClick(picker.lineEdit(), Qt.Key.Key_Return)
    assert picker.preset_id() is None and changes == [None]


def test_unknown_saved_preset_is_shown_not_dropped(qtbot):
    picker = PresetPicker("style")
    qtbot.addWidget(picker)
    picker.set_preset_id("gone-style")
    assert picker.preset_id() == "gone-style"
    assert "unknown" in picker.currentText()

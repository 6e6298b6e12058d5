"""Prompt panel and preset pickers: editing, search, tooltips, the live final prompt, Ctrl+Enter."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit
from request_state import RequestState

from studio.prompt.compose import compose
from studio.request import GenerationRequest
from studio.ui.prompt import prompt_panel
from studio.ui.prompt.preset_picker import PresetPicker
from studio.ui.prompt.prompt_panel import PromptPanel


def make(qtbot, request: GenerationRequest | None = None) -> tuple[PromptPanel, RequestState]:
    panel = PromptPanel()
    qtbot.addWidget(panel)
    state = RequestState(request)
    panel.bind(state)
    return panel, state


def test_typing_and_picking_update_the_request_and_final_prompt(qtbot):
    panel, state = make(qtbot)
    qtbot.keyClicks(panel.prompt, "a knight in armor")
    panel.pickers["lighting"].set_preset_id("moonlight")
    panel.pickers["lighting"].preset_changed.emit("moonlight")
    qtbot.keyClicks(panel.pickers["style"].lineEdit(), "digital")
    qtbot.keyClick(panel.pickers["style"].lineEdit(), Qt.Key.Key_Return)
    request = state.request
    assert request.prompt == "a knight in armor"
    assert request.style == "digital-art" and request.lighting == "moonlight" and request.composition is None
    final_prompt, _ = compose(request)
    assert panel.final.toPlainText().startswith(final_prompt)
    assert final_prompt != "a knight in armor", "the presets' words must show in the final prompt"


def test_a_request_from_elsewhere_is_shown_without_sending_an_edit(qtbot):
    panel, state = make(qtbot)
    state.set_request(GenerationRequest(prompt="castle", negative_prompt="blurry", composition="low-angle"))
    assert state.updates == []
    assert panel.prompt.toPlainText() == "castle" and panel.negative.toPlainText() == "blurry"
    assert panel.pickers["composition"].preset_id() == "low-angle"
    assert panel.final.toPlainText().startswith("castle")


def test_typing_sends_only_the_prompt_and_never_rewrites_the_prompt_field(qtbot, monkeypatch):
    """The point of binding each field once: the widget that sent an edit is not written back."""
    panel, state = make(qtbot, GenerationRequest(negative_prompt="blurry", steps=30))
    writes = []
    for method in ("setPlainText", "insertPlainText"):
        original = getattr(QPlainTextEdit, method)
        monkeypatch.setattr(
            QPlainTextEdit, method, lambda edit, *a, _o=original: (writes.append(edit), _o(edit, *a))
        )
    monkeypatch.setattr(prompt_panel, "replace_text", lambda edit, text: writes.append(edit))
    before = state.request
    panel.prompt.setFocus()
    qtbot.keyClicks(panel.prompt, "a fox")
    assert state.request == before.with_changes(prompt="a fox")
    assert state.updates == [{"prompt": text} for text in ("a", "a ", "a f", "a fo", "a fox")]
    assert panel.prompt not in writes  # the field was never written from the request
    document = panel.prompt.document()
    assert document.availableUndoSteps() >= 1 and panel.prompt.textCursor().position() == len("a fox")
    panel.prompt.undo()  # the artist's own typing is still on the undo stack
    assert state.request.prompt == panel.prompt.toPlainText() != "a fox"


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


def test_a_change_from_elsewhere_writes_only_the_fields_it_changed(qtbot, monkeypatch):
    panel, state = make(qtbot, GenerationRequest(prompt="a fox", negative_prompt="blurry"))
    written = []
    monkeypatch.setattr(prompt_panel, "replace_text", lambda edit, text: written.append(edit))
    state.update(steps=7)
    assert written == []  # no prompt field was touched
    state.update(negative_prompt="blurry, dark")
    assert written == [panel.negative]


def test_the_prompt_box_grows_with_its_text_within_limits(qtbot):
    panel, _state = make(qtbot)
    panel.resize(300, 900)
    panel.show()
    qtbot.waitExposed(panel)
    empty = panel.prompt.height()
    line = panel.prompt.fontMetrics().lineSpacing()
    assert empty < 6 * line  # not a tall empty box: three lines
    panel.prompt.setPlainText("a knight in armor, castle at dusk,\nwide shot")
    assert panel.prompt.height() == empty  # two lines and one to type on
    panel.prompt.setPlainText("\n".join(f"line {n}" for n in range(8)))
    taller = panel.prompt.height()
    assert taller >= empty + 5 * line
    panel.prompt.setPlainText("\n".join(f"line {n}" for n in range(40)))
    assert panel.prompt.height() == panel.prompt_height.height_for(12)  # then it scrolls


def test_the_final_prompt_takes_the_room_and_shows_its_negative_part(qtbot):
    request = GenerationRequest(prompt="a knight in armor", negative_prompt="blurry", style="analog-film",
                                lighting="soft-morning-glow")  # fmt: skip
    panel, _state = make(qtbot, request)
    panel.resize(300, 700)
    panel.show()
    qtbot.waitExposed(panel)
    assert "Negative: blurry" in panel.final.toPlainText()
    assert panel.final.height() > panel.prompt.height() + panel.negative.height()
    assert panel.final.verticalScrollBar().maximum() == 0  # all of it readable without scrolling


def test_the_pickers_show_each_presets_palette_or_framing(qtbot):
    panel, _state = make(qtbot)
    for kind, picker in panel.pickers.items():
        icons = [picker.itemIcon(i) for i in range(1, picker.count())]
        assert icons and all(not icon.isNull() for icon in icons), kind
    style = panel.pickers["style"]
    index = style.findData("cyberpunk")
    image = style.itemIcon(index).pixmap(style.iconSize()).toImage()
    assert image.pixelColor(4, image.height() // 2).name() == "#ff00a0"  # its first, widest colour
    assert style.itemIcon(0).isNull()  # "None" has no picture

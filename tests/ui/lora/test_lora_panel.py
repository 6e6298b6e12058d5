"""The LoRA tab against a folder of tiny fake LoRAs: listing, search, and prompt-tag sync both ways."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fake_engine import FakeEngine, fake_backend
from fake_loras import write_fake_lora
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QTextCursor

from studio import paths
from studio.request import LoraRef
from studio.ui.lora.lora_panel import REASON_ROLE

MODEL = SimpleNamespace(name="tiny", reference="/models/tiny", family="sd15")


@pytest.fixture
def library(tmp_path):
    """Three LoRAs in the studio's own folder (one with a preview) and one in an A1111 install."""
    own = paths.models_dir() / "loras"
    write_fake_lora(own / "inkwash.safetensors", "sd15", ["inkwash", "brush strokes"])
    write_fake_lora(own / "watercolor.safetensors", "sd15", ["wtrclr"])
    image = QImage(32, 32, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkCyan)
    image.save(str(own / "watercolor.preview.png"))
    write_fake_lora(own / "pixel xl.safetensors", "sdxl", ["pixel art"])
    webui = tmp_path / "stable-diffusion-webui"
    write_fake_lora(webui / "models" / "Lora" / "claymation.safetensors", "sd15", ["clay"])
    return webui


@pytest.fixture
def studio(qtbot, qapp, library):
    from studio.app import build_studio

    made = build_studio(qapp, backend=fake_backend(FakeEngine), discover=lambda dirs: [MODEL])
    made.state.settings.lora_dirs.append(str(library))
    qtbot.addWidget(made.window)
    made.window.resize(1280, 800)
    made.window.show()
    made.window.side_tabs.setCurrentWidget(made.window.lora_panel)
    made.start_background(warm_up=False)
    qtbot.waitUntil(lambda: made.state.models.loaded and made.state.loras.loaded, timeout=5000)
    qtbot.waitUntil(lambda: made.window.lora_panel.library.count() == 4, timeout=5000)
    yield made
    made.state.shutdown(2.0)


def items(panel):
    return {
        panel.library.item(i).data(Qt.ItemDataRole.UserRole): panel.library.item(i)
        for i in range(panel.library.count())
    }


def type_in(qtbot, edit, text):
    edit.setFocus()
    edit.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(edit, text)


def test_the_library_lists_family_size_triggers_and_greys_other_families(studio):
    panel = studio.window.lora_panel
    shown = items(panel)
    assert sorted(shown) == ["claymation", "inkwash", "pixel xl", "watercolor"]
    assert "SD1.x" in shown["inkwash"].text() and "KB" in shown["inkwash"].text()
    assert "triggers: inkwash, brush strokes" in shown["inkwash"].text()
    assert not shown["watercolor"].icon().isNull()
    xl = shown["pixel xl"]
    assert xl.data(REASON_ROLE) and "⚠" in xl.text()
    assert "Made for Stable Diffusion XL" in xl.text() and "Stable Diffusion 1.x" in xl.text()
    assert panel.count.text() == "4 LoRAs"


def test_search_matches_names_and_trigger_words(studio):
    panel = studio.window.lora_panel
    panel.search.setText("clay")
    assert list(items(panel)) == ["claymation"]
    panel.search.setText("BRUSH")
    assert list(items(panel)) == ["inkwash"] and panel.count.text() == "1 of 4"
    panel.search.setText("nothing like this")
    assert not items(panel) and panel.empty.isVisible() and "nothing like this" in panel.empty.text()


def test_using_a_lora_from_the_library_adds_its_tag(qtbot, studio):
    window, state = studio.window, studio.state
    type_in(qtbot, window.prompt_panel.prompt, "a harbour at dawn")
    panel = window.lora_panel
    panel.library.itemActivated.emit(items(panel)["inkwash"])
    assert state.request.prompt == "a harbour at dawn <lora:inkwash:1>"
    assert window.prompt_panel.prompt.toPlainText() == state.request.prompt
    assert panel.rows["inkwash"].switch.isChecked() and panel.rows["inkwash"].weight() == 1.0
    panel.library.itemActivated.emit(items(panel)["pixel xl"])  # wrong family: not added
    assert "pixel" not in state.request.prompt


def test_typing_a_tag_activates_the_lora_and_the_slider_rewrites_it(qtbot, studio):
    window, state = studio.window, studio.state
    prompt = window.prompt_panel.prompt
    type_in(qtbot, prompt, "a fox <lora:watercolor:0.8> in snow")
    panel = window.lora_panel
    row = panel.rows["watercolor"]
    assert row.weight() == 0.8 and row.slider.value() == 16 and row.badge.text() == "SD1.x"
    row.slider.setValue(row.slider.value() - 5)  # the artist drags: 0.8 -> 0.55
    assert state.request.prompt == "a fox <lora:watercolor:0.55> in snow"
    assert prompt.toPlainText() == state.request.prompt and row.weight() == 0.55
    row.spin.setValue(-1.5)
    assert "<lora:watercolor:-1.5>" in prompt.toPlainText() and row.slider.value() == -30
    prompt.undo()  # the panel's edit is an ordinary, undoable edit of the prompt
    assert "<lora:watercolor:0.55>" in prompt.toPlainText()
    qtbot.waitUntil(lambda: "<lora:watercolor:0.55>" in state.request.prompt, timeout=2000)
    # Editing the tag by hand moves the slider.
    text = prompt.toPlainText().replace("0.55", "1.2")
    prompt.selectAll()
    qtbot.keyClicks(prompt, text)
    row = window.lora_panel.rows["watercolor"]
    assert row.weight() == 1.2 and row.slider.value() == 24


def test_switching_off_keeps_the_row_and_weight_and_on_brings_the_tag_back(qtbot, studio):
    window, state = studio.window, studio.state
    type_in(qtbot, window.prompt_panel.prompt, "portrait <lora:claymation:0.65>")
    row = window.lora_panel.rows["claymation"]
    row.switch.setChecked(False)
    assert state.request.prompt == "portrait" and state.request.loras == (LoraRef("claymation", 0.65, False),)
    assert window.lora_panel.rows["claymation"] is row and not row.switch.isChecked()
    assert row.switch.text() == "claymation (off)" and row.weight() == 0.65
    row.switch.setChecked(True)
    assert state.request.prompt == "portrait <lora:claymation:0.65>" and state.request.loras == ()
    row.remove_button.click()
    assert state.request.prompt == "portrait" and "claymation" not in window.lora_panel.rows
    assert window.lora_panel.none_active.isVisible()


def test_a_trigger_chip_inserts_the_word_at_the_cursor(qtbot, studio):
    window, state = studio.window, studio.state
    prompt = window.prompt_panel.prompt
    type_in(qtbot, prompt, "a cat, sunset <lora:inkwash:1>")
    cursor = prompt.textCursor()
    cursor.setPosition(len("a cat"))
    prompt.setTextCursor(cursor)
    window.lora_panel.rows["inkwash"].chips.chip("brush strokes").click()
    assert state.request.prompt == "a cat, brush strokes, sunset <lora:inkwash:1>"


def test_an_image_that_lists_loras_shows_them_as_tags(studio):
    state, panel = studio.state, studio.window.lora_panel
    state.set_request(state.request.with_changes(prompt="a boat", loras=(LoraRef("inkwash", 0.7),)))
    assert state.request.prompt == "a boat <lora:inkwash:0.7>" and state.request.loras == ()
    assert panel.rows["inkwash"].weight() == 0.7


def test_an_unknown_lora_tag_is_flagged_in_the_row_and_under_the_prompt(qtbot, studio):
    window = studio.window
    text = "a fox <lora:inkwsh:0.5>"
    type_in(qtbot, window.prompt_panel.prompt, text)
    row = window.lora_panel.rows["inkwsh"]
    assert row.note.isVisibleTo(row) and "No LoRA named 'inkwsh'" in row.note.text()
    check = window.prompt_panel.prompt_check
    qtbot.waitUntil(lambda: not check.pending(), timeout=2000)
    assert [d.position for d in check.diagnostics()] == [text.index("inkwsh")]
    assert "Column 13" in check.line.text() and "Did you mean 'inkwash'?" in check.line.text()


def test_adding_a_lora_folder_remembers_it_and_rescans(qtbot, studio, tmp_path):
    comfy = tmp_path / "ComfyUI"
    write_fake_lora(comfy / "models" / "loras" / "neon.safetensors", "sd15")
    state = studio.state
    with qtbot.waitSignal(state.loras.changed, timeout=5000):
        state.add_lora_folder(comfy)
    assert str(comfy) in state.settings.lora_dirs
    assert state.loras.get("neon") is not None
    qtbot.waitUntil(lambda: "neon" in items(studio.window.lora_panel), timeout=2000)


def test_trigger_chips_read_plain_and_insert_escaped(qtbot):
    from studio.ui.lora.lora_chips import TriggerChips

    chips = TriggerChips()
    qtbot.addWidget(chips)
    chips.set_words([r"smart falcon \(umamusume\)", "falcon (jacket)"])
    stored = chips.chip(r"smart falcon \(umamusume\)")
    assert stored.text() == "smart falcon (umamusume)"
    clicked = []
    chips.word_clicked.connect(clicked.append)
    stored.click()
    chips.chip("falcon (jacket)").click()  # stored plain: still escaped, so it is not read as a weight
    assert clicked == [r"smart falcon \(umamusume\)", r"falcon \(jacket\)"]


def test_a_long_lora_name_is_shortened_so_the_row_fits_its_column(qtbot):
    from studio.ui.lora.lora_row import LoraRow

    name = "kohya_lycoris_lokr__smart_falcon_4_lokr_with_a_very_long_file_name"
    row = LoraRow(name)
    qtbot.addWidget(row)
    assert "…" in row.switch.text() and name in row.switch.toolTip()
    assert row.minimumSizeHint().width() <= 330  # the LoRA tab's width in a 1280 px window

"""Check on choice: a LoRA the studio knows it cannot apply is marked in the list and refused when picked, with
the reason in plain words, before Generate; the same verdict reaches the in-use row and the engine."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fake_engine import FakeEngine, fake_backend
from fake_loras import write_fake_lokr, write_fake_lora, write_fake_oft
from PySide6.QtCore import Qt

from studio import paths
from studio.models.lora_file import format_problem, inspect_lora
from studio.ui.lora.lora_panel import NAME_ROLE, REASON_ROLE

MODEL = SimpleNamespace(name="tiny", reference="/models/tiny", family="sd15")


@pytest.fixture
def studio(qtbot, qapp):
    from studio.app import build_studio

    own = paths.models_dir() / "loras"
    write_fake_lora(own / "inkwash.safetensors", "sd15", ["inkwash"])
    write_fake_oft(own / "falcon_oft.safetensors", "sd15")
    made = build_studio(qapp, backend=fake_backend(FakeEngine), discover=lambda dirs: [MODEL])
    qtbot.addWidget(made.window)
    made.window.resize(1280, 800)
    made.window.show()
    made.window.side_tabs.setCurrentWidget(made.window.lora_panel)
    made.start_background(warm_up=False)
    qtbot.waitUntil(lambda: made.state.loras.loaded and made.window.lora_panel.library.count() == 2, timeout=5000)
    yield made
    made.state.shutdown(2.0)


def _item(panel, name):
    return next(
        panel.library.item(i) for i in range(panel.library.count()) if panel.library.item(i).data(NAME_ROLE) == name
    )


def test_an_unsupported_lycoris_file_is_judged_when_the_library_scans(tmp_path):
    entry = inspect_lora(write_fake_oft(tmp_path / "style_oft.safetensors"))
    assert entry.format == "lycoris"
    assert not entry.usable and "OFT" in entry.problem
    # Spoken in what the artist can do, not in tensor names.
    assert "Use another version" in entry.problem
    words = entry.problem.replace("style_oft.safetensors", "")
    assert not any(word in words for word in ("lora_down", "lora_A", "diffusers", "tensor"))
    assert inspect_lora(write_fake_lora(tmp_path / "plain.safetensors")).usable
    assert inspect_lora(write_fake_lokr(tmp_path / "lokr.safetensors")).usable  # LoKr, LoHa, LoCon apply
    assert format_problem("cloneofsimo", "old.safetensors") is not None


def test_an_unsupported_lycoris_lora_is_marked_and_refused_with_the_reason(qtbot, studio):
    window, state = studio.window, studio.state
    panel = window.lora_panel
    oft, plain = _item(panel, "falcon_oft"), _item(panel, "inkwash")
    assert "⚠ Cannot be used" in oft.text() and "LyCORIS" in oft.text() and oft.data(REASON_ROLE)
    assert not plain.data(REASON_ROLE) and "LyCORIS" not in plain.text()
    # Picking it: the Use button stays off and the reason shows under the list.
    rect = panel.library.visualItemRect(oft)
    qtbot.mouseClick(panel.library.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.library.currentItem() is oft
    assert not panel.use_button.isEnabled()
    assert panel.refusal.isVisible() and panel.refusal.text() == "⚠ " + oft.data(REASON_ROLE)
    assert "LyCORIS" in panel.refusal.text() and "another version" in panel.refusal.text()
    # Double-clicking it (or Enter) does not put it into the prompt.
    qtbot.mouseDClick(panel.library.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    panel.library.itemActivated.emit(oft)
    assert "falcon_oft" not in state.request.prompt
    # A usable one still goes in, and the refusal leaves.
    rect = panel.library.visualItemRect(plain)
    qtbot.mouseClick(panel.library.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.use_button.isEnabled() and not panel.refusal.isVisible()
    qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    assert "<lora:inkwash:1>" in state.request.prompt


def test_an_unsupported_lycoris_tag_typed_in_the_prompt_is_flagged_beside_its_row(qtbot, studio):
    window, state = studio.window, studio.state
    state.update(prompt="a falcon <lora:falcon_oft:0.8>")
    row = window.lora_panel.rows["falcon_oft"]
    assert not row.note.isHidden() and "LyCORIS" in row.note.text()

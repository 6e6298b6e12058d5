"""The LoRA tab's embeddings: listed with their family from an A1111 root, put in the prompt by name, one made
for another family marked and not inserted."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from fake_engine import FakeEngine, fake_backend
from PySide6.QtCore import Qt
from safetensors.numpy import save_file

from studio.ui.lora.embedding_section import REASON_ROLE

MODEL = SimpleNamespace(name="tiny", reference="/models/tiny", family="sd15")


def _write(path, tensors):
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))


@pytest.fixture
def studio(qtbot, qapp, tmp_path):
    from studio.app import build_studio

    webui = tmp_path / "stable-diffusion-webui"
    _write(webui / "embeddings" / "easyneg.safetensors", {"emb_params": np.zeros((2, 768), np.float32)})
    _write(
        webui / "embeddings" / "xl-grain.safetensors",
        {"clip_l": np.zeros((3, 768), np.float32), "clip_g": np.zeros((3, 1280), np.float32)},
    )
    made = build_studio(qapp, backend=fake_backend(FakeEngine), discover=lambda dirs: [MODEL])
    made.state.settings.lora_dirs.append(str(webui))
    qtbot.addWidget(made.window)
    made.window.resize(1280, 800)
    made.window.show()
    made.window.side_tabs.setCurrentWidget(made.window.lora_panel)
    made.start_background(warm_up=False)
    section = made.window.lora_panel.embeddings
    qtbot.waitUntil(lambda: made.state.models.loaded and section.list.count() == 2, timeout=5000)
    yield made
    made.state.shutdown(2.0)


def _items(section):
    return {
        section.list.item(i).data(Qt.ItemDataRole.UserRole): section.list.item(i)
        for i in range(section.list.count())
    }


def test_embeddings_are_listed_with_their_family_and_another_family_is_marked(studio):
    section = studio.window.lora_panel.embeddings
    items = _items(section)
    assert section.isVisible() and section.caption.text() == "Embeddings (2)"
    assert (
        items["easyneg"].text() == "easyneg · SD1.x · 2 tokens" and items["easyneg"].data(REASON_ROLE) is None
    )
    assert items["xl-grain"].text().startswith("xl-grain · SDXL · 3 tokens  ⚠")
    assert "Made for Stable Diffusion XL" in items["xl-grain"].data(REASON_ROLE)


def test_choosing_an_embedding_puts_its_name_in_the_prompt(qtbot, studio):
    section, state = studio.window.lora_panel.embeddings, studio.state
    studio.window.prompt_panel.prompt.setPlainText("a cat")
    studio.window.prompt_panel.prompt.moveCursor(
        studio.window.prompt_panel.prompt.textCursor().MoveOperation.End
    )
    section.list.itemActivated.emit(_items(section)["easyneg"])
    assert state.request.prompt == "a cat, easyneg"
    section.list.setCurrentItem(_items(section)["xl-grain"])
    section.list.itemActivated.emit(_items(section)["xl-grain"])
    assert state.request.prompt == "a cat, easyneg"  # the other family's word is not inserted...
    assert section.note.isVisible() and "Made for Stable Diffusion XL" in section.note.text()  # ...and why


def test_the_lora_search_filters_the_embeddings_too(qtbot, studio):
    panel = studio.window.lora_panel
    panel.search.setText("grain")
    assert list(_items(panel.embeddings)) == ["xl-grain"]
    assert panel.embeddings.caption.text() == "Embeddings (1 of 2)"

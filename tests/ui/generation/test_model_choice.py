"""Check on choice for models, and a list where each entry can be told apart.

A checkpoint the scan files under "Cannot be used" is refused after Add model, with the reason, and the current
model is kept; a model the session names but cannot be used is flagged beside the list. Two entries with one
name (the demo's folder and its single file, two copies in two folders) say what tells them apart.
"""

from __future__ import annotations

import pytest
from fake_engine import FakeEngine, fake_backend

from studio.models.discovery import ModelEntry, discover_models
from studio.state.model_list import model_labels
from studio.ui.generation.settings_panel import ROLE_REFERENCE

GOOD = ModelEntry("tiny", "/models/tiny", "sd15", "folder", 1)


@pytest.fixture
def studio(qtbot, qapp, tmp_path):
    from studio.app import build_studio

    def discover(dirs):
        return [GOOD, *discover_models(dirs, hub_cache_dir=tmp_path / "no-hub")]

    made = build_studio(qapp, backend=fake_backend(FakeEngine), discover=discover)
    qtbot.addWidget(made.window)
    made.window.resize(1280, 800)
    made.window.show()
    made.start_background(warm_up=False)
    qtbot.waitUntil(lambda: made.state.models.loaded and made.state.request.model == "/models/tiny", timeout=5000)
    yield made
    made.state.shutdown(2.0)


def _texts(combo) -> dict[str, str]:
    return {combo.itemData(i, ROLE_REFERENCE): combo.itemText(i).strip() for i in range(combo.count())}


def test_a_corrupt_checkpoint_added_is_refused_with_the_reason(qtbot, studio, tmp_path):
    window, state = studio.window, studio.state
    broken = tmp_path / "downloads" / "halfway.safetensors"
    broken.parent.mkdir()
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    state.add_model_path(broken)
    qtbot.waitUntil(lambda: str(broken) in _texts(window.settings_panel.model), timeout=5000)
    qtbot.waitUntil(lambda: bool(window.messages.rows()), timeout=2000)
    # Not selected silently: the current model stays, and the banner says why in a sentence.
    assert state.request.model == "/models/tiny"
    assert window.settings_panel.model.currentData(ROLE_REFERENCE) == "/models/tiny"
    message = window.messages.rows()[0].message
    assert message.startswith("The model 'halfway' cannot be used:") and "kept" in message
    # Marked in the list, under "Cannot be used", and not choosable.
    combo = window.settings_panel.model
    index = next(i for i in range(combo.count()) if combo.itemData(i, ROLE_REFERENCE) == str(broken))
    assert combo.itemText(index).strip().startswith("⚠")
    assert not combo.model().item(index).isEnabled()


def test_a_session_model_that_cannot_be_used_is_flagged_beside_the_list(qtbot, studio, tmp_path):
    window, state = studio.window, studio.state
    broken = tmp_path / "old" / "broken.safetensors"
    broken.parent.mkdir()
    broken.write_bytes(b"\x01")
    state.settings.extra_models.append(str(broken))
    state.update(model=str(broken))  # as a restored session or a reused image would
    state.refresh_models()
    note = window.settings_panel.model_note
    qtbot.waitUntil(lambda: not note.isHidden() and "cannot be used" in note.text(), timeout=5000)
    assert "Choose another model" in note.text()
    state.update(model="/models/tiny")
    assert note.isHidden()


def test_entries_sharing_a_name_say_what_tells_them_apart(qtbot, studio, tmp_path):
    entries = [
        ModelEntry("sd15", "/a/demo/sd15", "sd15", "folder", 1),
        ModelEntry("sd15", "/a/demo/sd15.safetensors", "sd15", "single_file", 1),
        ModelEntry("sd15", "/b/demo2/sd15.safetensors", "sd15", "single_file", 1),
        ModelEntry("sdxl", "/a/demo/sdxl", "sdxl", "folder", 1),
    ]
    labels = model_labels(entries)
    assert labels == {
        "/a/demo/sd15": "sd15 (diffusers folder)",
        "/a/demo/sd15.safetensors": "sd15 (safetensors file, in demo)",
        "/b/demo2/sd15.safetensors": "sd15 (safetensors file, in demo2)",
        "/a/demo/sdxl": "sdxl",
    }
    # Through the real list: the same folder met through two search folders is listed once.
    window, state = studio.window, studio.state
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "sd15.safetensors").write_bytes(b"\x01")  # damaged, so listed without a real model
    (tmp_path / "link").symlink_to(folder)
    state.settings.model_dirs += [str(folder), str(tmp_path / "link")]
    state.refresh_models()
    qtbot.waitUntil(lambda: any("sd15" in t for t in _texts(window.settings_panel.model).values()), timeout=5000)
    assert sum("sd15" in text for text in _texts(window.settings_panel.model).values()) == 1

"""The real thing on the tiny model: click Generate, see previews, find the image in the gallery with metadata."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from studio.metadata.reader import read_image_settings

pytestmark = pytest.mark.slow


def test_click_generate_to_gallery_image_with_metadata(qtbot, qapp, tiny_models):
    from studio.app import build_studio
    from studio.engine.lazy import torch_is_imported
    from studio.models.discovery import discover_models

    studio = build_studio(qapp, discover=lambda dirs: discover_models([tiny_models]))
    window, state = studio.window, studio.state
    qtbot.addWidget(window)
    window.show()
    studio.start_background(warm_up=False)
    try:
        qtbot.waitUntil(lambda: state.models.loaded and state.request.model != "", timeout=20000)
        reference = str(tiny_models / "sd15")
        index = window.settings_panel.model.findData(reference)
        assert index >= 0, [
            window.settings_panel.model.itemText(i) for i in range(window.settings_panel.model.count())
        ]
        window.settings_panel.model.setCurrentIndex(index)
        window.prompt_panel.prompt.setFocus()
        qtbot.keyClicks(window.prompt_panel.prompt, "a knight in armor")
        window.prompt_panel.pickers["style"].set_preset_id("digital-art")
        window.prompt_panel.pickers["style"].preset_changed.emit("digital-art")
        settings = window.settings_panel
        settings.width.setValue(64)
        settings.height.setValue(64)
        settings.steps.setValue(2)
        settings.sampler.setCurrentText("Euler")
        assert state.request.model == reference

        previews = []
        state.preview.connect(previews.append)
        qtbot.mouseClick(window.progress_panel.generate, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not state.is_running, timeout=120000)
        assert window.messages.messages() == [] or all(
            kind != "error" for kind, _ in window.messages.messages()
        )
        assert previews, "at least one step preview reaches the window"
        assert previews[0].image.ndim == 3
        assert torch_is_imported()

        qtbot.waitUntil(lambda: len(window.gallery.paths()) == 1, timeout=5000)
        image = window.gallery.paths()[0]
        found = read_image_settings(image)
        assert found.source == "diffusion-studio"
        assert found.request.prompt == "a knight in armor" and found.request.style == "digital-art"
        assert (found.request.width, found.request.height, found.request.steps) == (64, 64, 2)
        assert found.request.seed == state.last_seed
        assert window.canvas.current_pixmap().size().toTuple() == (64, 64)
    finally:
        state.shutdown(5.0)

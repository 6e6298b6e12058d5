"""The window on a ComfyUI server: the model list comes from the server, Generate shows the server's previews and
saves its image with the studio's metadata, Cancel stops it (the real ComfyUI, tiny models, 64 px)."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from studio.backend.comfyui.backend import ComfyBackend

pytestmark = pytest.mark.slow


@pytest.fixture
def studio(qtbot, qapp, comfy):
    from studio.app import build_studio

    studio = build_studio(qapp, backend=ComfyBackend(comfy, timeout=30))
    qtbot.addWidget(studio.window)
    studio.window.resize(1280, 800)
    studio.window.show()
    studio.start_background(warm_up=False)
    qtbot.waitUntil(lambda: studio.state.models.loaded, timeout=15000)
    yield studio
    studio.state.shutdown(2.0)


def _settle(qtbot, window, steps: int) -> None:
    window.prompt_panel.prompt.setFocus()
    qtbot.keyClicks(window.prompt_panel.prompt, "a fox from the window")
    window.settings_panel.width.setValue(64)
    window.settings_panel.height.setValue(64)
    window.settings_panel.steps.setValue(steps)


def test_generate_from_the_window_on_a_server(qtbot, studio):
    window, state = studio.window, studio.state
    assert state.request.model == "tiny-sd15.safetensors"  # the server's model, listed from the server
    state.loras.refresh()
    qtbot.waitUntil(lambda: state.loras.names() == {"tiny-ink"}, timeout=15000)  # and its LoRAs
    _settle(qtbot, window, steps=3)
    qtbot.mouseClick(window.progress_panel.generate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.canvas.previews_shown >= 1, timeout=60000)
    qtbot.waitUntil(lambda: not state.is_running, timeout=60000)
    assert window.progress_panel.status.text().startswith("Done: 1 image"), (
        window.progress_panel.status.text()
    )
    qtbot.waitUntil(lambda: len(window.gallery.paths()) == 1, timeout=10000)
    with Image.open(window.gallery.paths()[0]) as png:
        assert png.size == (64, 64)
        assert "Server: " in png.info["parameters"] and "Steps: 3" in png.info["parameters"]


def test_cancel_from_the_window_stops_the_server(qtbot, studio):
    window, state = studio.window, studio.state
    _settle(qtbot, window, steps=150)
    window.generate()
    qtbot.waitUntil(lambda: window.canvas.previews_shown >= 1, timeout=60000)
    qtbot.mouseClick(window.progress_panel.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not state.is_running, timeout=10000)
    assert window.gallery.paths() == []


def test_the_control_rows_list_the_servers_controlnet_with_no_download(qtbot, studio):
    from comfyui_server import CONTROLNET

    panel = studio.window.canvases.control_panel
    qtbot.waitUntil(lambda: panel.served is not None, timeout=15000)
    assert panel.served == [CONTROLNET]
    row = panel.add_control("scribble", "canvas")
    assert row.model_reference() == CONTROLNET and not row.download.isVisibleTo(row)
    sampler = studio.window.settings_panel.sampler
    euler_a = sampler.findText("Euler a")  # the server has it: not marked
    assert sampler.itemData(euler_a, Qt.ItemDataRole.ToolTipRole) is None

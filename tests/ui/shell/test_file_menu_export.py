"""File ▸ Export shown image as JPEG/WebP: the gallery's export for the picture on the canvas."""

from __future__ import annotations

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox
from window_fixture import studio_on_fake_engine

from studio.metadata.reader import read_image_settings

TEXT = "a paper lantern\nNegative prompt: smoke\nSteps: 12, Sampler: Euler a, CFG scale: 6, Seed: 31, Size: 64x64"


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


def _action(window, name: str) -> QAction:
    action = window.findChild(QAction, name)
    assert action is not None and action in window.menuBar().actions()[0].menu().actions()
    return action


@pytest.mark.parametrize(("name", "suffix"), [("export_jpeg", ".jpg"), ("export_webp", ".webp")])
def test_export_writes_a_copy_of_the_shown_image_with_its_settings(
    studio, tmp_path, monkeypatch, name, suffix
):
    info = PngInfo()
    info.add_text("parameters", TEXT)
    shown = tmp_path / "00001-31-lantern.png"
    Image.new("RGB", (64, 64), "orange").save(shown, pnginfo=info)
    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda *args: said.append(args[2]))
    studio.window.show_path(shown)
    _action(studio.window, name).trigger()
    written = tmp_path / "exports" / f"00001-31-lantern{suffix}"
    assert said == [f"Exported as {written.name} in {written.parent}."]
    assert read_image_settings(written).request.seed == 31


def test_export_with_nothing_shown_says_what_to_do(studio):
    messages = []
    studio.state.message.connect(lambda kind, text, detail: messages.append(text))
    studio.window.shown_path = None
    _action(studio.window, "export_jpeg").trigger()
    assert messages == ["There is no saved image shown to export: generate one or pick one in the gallery."]

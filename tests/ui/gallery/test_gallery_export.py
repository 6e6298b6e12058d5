"""The gallery's "Export as JPEG/WebP" entries: a copy in ``exports/`` that keeps the settings and provenance."""

from __future__ import annotations

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PySide6.QtWidgets import QMessageBox

from studio.metadata.reader import read_image_settings
from studio.metadata.xmp import DIGITAL_SOURCE_TYPE, xmp_properties
from studio.ui.gallery.gallery_panel import GalleryPanel

TEXT = "a paper lantern\nNegative prompt: smoke\nSteps: 12, Sampler: Euler a, CFG scale: 6, Seed: 31, Size: 64x64"


@pytest.fixture
def panel(qtbot, tmp_path):
    info = PngInfo()
    info.add_text("parameters", TEXT)
    Image.new("RGB", (64, 64), "orange").save(tmp_path / "00001-31-lantern.png", pnginfo=info)
    widget = GalleryPanel()
    qtbot.addWidget(widget)
    widget.set_folder(tmp_path)
    yield widget
    widget.loader.shutdown()


@pytest.mark.parametrize(("text", "suffix"), [("Export as JPEG", ".jpg"), ("Export as WebP", ".webp")])
def test_export_entry_writes_a_copy_with_the_settings(panel, tmp_path, monkeypatch, text, suffix):
    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda *args: said.append(args[2]))
    menu = panel._build_menu(tmp_path / "00001-31-lantern.png")
    action = next(a for a in menu.actions() if a.text() == text)
    assert action.toolTip()
    action.trigger()
    written = tmp_path / "exports" / f"00001-31-lantern{suffix}"
    assert said == [f"Exported as {written.name} in {written.parent}."]
    settings = read_image_settings(written)
    assert (settings.request.prompt, settings.request.seed) == ("a paper lantern", 31)
    with Image.open(written) as image:
        assert xmp_properties(image.info["xmp"].decode())["DigitalSourceType"] == DIGITAL_SOURCE_TYPE


def test_export_of_a_broken_file_says_why(panel, tmp_path, monkeypatch):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warned.append(args[2]))
    assert panel.export_image(broken, "jpeg") is None
    assert warned and "not an image" in warned[0]

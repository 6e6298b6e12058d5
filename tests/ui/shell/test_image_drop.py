"""Settings from dropped or pasted files, image data and A1111 text."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QColor, QImage

from studio.errors import MetadataError
from studio.ui.shell.image_drop import image_paths_from_mime, settings_from_mime

PARAMETERS = (
    "a lighthouse at dusk, oil painting\n"
    "Negative prompt: blurry\n"
    "Steps: 12, Sampler: Euler a, CFG scale: 6.5, Seed: 1234, Size: 512x768, Model: dreamy"
)


def _png_with_parameters(path: Path) -> Path:
    info = PngInfo()
    info.add_text("parameters", PARAMETERS)
    Image.new("RGB", (8, 8), "teal").save(path, pnginfo=info)
    return path


def _mime_with_urls(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _assert_our_settings(settings) -> None:
    assert settings is not None and settings.source == "a1111"
    request = settings.request
    assert request.prompt == "a lighthouse at dusk, oil painting"
    assert request.negative_prompt == "blurry"
    assert (request.steps, request.seed, request.cfg_scale) == (12, 1234, 6.5)
    assert (request.width, request.height) == (512, 768)


def test_dropped_image_file(tmp_path):
    png = _png_with_parameters(tmp_path / "made.png")
    _assert_our_settings(settings_from_mime(_mime_with_urls(png)))


def test_first_image_among_dropped_files_counts(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    png = _png_with_parameters(tmp_path / "made.png")
    mime = _mime_with_urls(text, png)
    assert image_paths_from_mime(mime) == [png]
    _assert_our_settings(settings_from_mime(mime))


def test_raw_png_bytes_keep_their_metadata(tmp_path):
    png = _png_with_parameters(tmp_path / "made.png")
    mime = QMimeData()
    mime.setData("image/png", png.read_bytes())
    _assert_our_settings(settings_from_mime(mime))


def test_decoded_image_without_metadata_gives_none():
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("#336699"))
    mime = QMimeData()
    mime.setImageData(image)
    assert settings_from_mime(mime) is None


def test_pasted_a1111_text():
    mime = QMimeData()
    mime.setText(PARAMETERS)
    _assert_our_settings(settings_from_mime(mime))


def test_empty_mime_gives_none():
    assert settings_from_mime(QMimeData()) is None
    blank = QMimeData()
    blank.setText("   \n")
    assert settings_from_mime(blank) is None


def test_image_without_settings_gives_none(tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8), "white").save(plain)
    assert settings_from_mime(_mime_with_urls(plain)) is None


def test_broken_image_file_raises_a_metadata_error(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a png")
    with pytest.raises(MetadataError):
        settings_from_mime(_mime_with_urls(broken))


def test_real_a1111_files_from_other_tools(interop_dir):
    for name in (
        "sdparsers__AUTOMATIC1111_automatic1111_cropped.png",
        "sdparsers__AUTOMATIC1111_automatic1111_cropped.jpg",
    ):
        settings = settings_from_mime(_mime_with_urls(interop_dir / "images" / name))
        assert settings is not None and settings.source == "a1111", name
        assert settings.request.prompt, name

"""Reading generation settings from what the artist drops or pastes: image files, image data or text.

The readers are ``studio.metadata.reader`` (A1111, ComfyUI, InvokeAI, Fooocus, NovelAI and our own
metadata); this module only gets the bytes out of the ``QMimeData``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QImage

from studio.metadata.reader import ImageSettings, read_image_settings, read_settings_text
from studio.ui.gallery.gallery_model import IMAGE_SUFFIXES

# Formats whose bytes keep their metadata chunks when copied as they are (browsers and file managers offer
# the original file's bytes under its own MIME type; a decoded QImage has lost the text chunks).
_RAW_IMAGE_TYPES = (("image/png", ".png"), ("image/jpeg", ".jpg"), ("image/webp", ".webp"))


def image_paths_from_mime(mime: QMimeData) -> list[Path]:
    """The local image files among the mime data's URLs, in order."""
    if not mime.hasUrls():
        return []
    found = []
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                found.append(path)
    return found


def settings_from_mime(mime: QMimeData) -> ImageSettings | None:
    """The settings carried by ``mime``, or None when it carries none.

    Tried in order: the first local image file; image data (its original bytes when offered, else the decoded
    image, saved to a temporary PNG first); text, as pasted from A1111's "parameters" box or another tool.
    Raises ``MetadataError`` when a dropped file cannot be read as an image.
    """
    paths = image_paths_from_mime(mime)
    if paths:
        return _found(read_image_settings(paths[0]))
    if mime.hasImage() or any(mime.hasFormat(kind) for kind, _ in _RAW_IMAGE_TYPES):
        settings = _settings_from_image_data(mime)
        if settings is not None:
            return settings
    if mime.hasText() and mime.text().strip():
        return _found(read_settings_text(mime.text()))
    return None


def _settings_from_image_data(mime: QMimeData) -> ImageSettings | None:
    with tempfile.TemporaryDirectory(prefix="studio-paste-") as folder:
        for kind, suffix in _RAW_IMAGE_TYPES:
            if mime.hasFormat(kind):
                path = Path(folder) / f"pasted{suffix}"
                path.write_bytes(bytes(mime.data(kind)))
                return _found(read_image_settings(path))
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            path = Path(folder) / "pasted.png"
            if image.save(str(path), "PNG"):
                return _found(read_image_settings(path))
    return None


def _found(settings: ImageSettings) -> ImageSettings | None:
    return None if settings.source == "none" else settings

"""Paint layers between QImage (what the canvases draw on) and RGBA numpy arrays (what the canvas store saves)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

# Premultiplied ARGB is what QPainter composites fastest; every layer is kept in it.
LAYER_FORMAT = QImage.Format.Format_ARGB32_Premultiplied


def new_layer(width: int, height: int) -> QImage:
    """A transparent layer."""
    image = QImage(width, height, LAYER_FORMAT)
    image.fill(0)
    return image


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """An HxWx4 uint8 copy of ``image`` (straight, not premultiplied, alpha)."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = rgba.width(), rgba.height()
    rows = np.frombuffer(rgba.constBits(), np.uint8).reshape(height, rgba.bytesPerLine())
    return rows[:, : width * 4].reshape(height, width, 4).copy()


def rgba_to_qimage(array: np.ndarray) -> QImage:
    """An HxWx4 (or HxWx3) uint8 array as a layer image that owns its pixels."""
    array = np.asarray(array, dtype=np.uint8)
    if array.ndim == 3 and array.shape[2] == 3:
        array = np.concatenate([array, np.full(array.shape[:2] + (1,), 255, np.uint8)], axis=2)
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    image = QImage(array.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    return image.convertToFormat(LAYER_FORMAT)  # a converted image owns its pixels


def alpha_mask(image: QImage) -> np.ndarray:
    """The layer's coverage as an HxW grey mask (white where painted), as inpainting masks are saved."""
    return qimage_to_rgba(image)[..., 3].copy()

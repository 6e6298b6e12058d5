"""How a reference photo sits under the pose canvas: cropped to the canvas's shape, never stretched."""

from __future__ import annotations


def cover_box(photo_w: int, photo_h: int, canvas_w: int, canvas_h: int) -> tuple[int, int, int, int]:
    """The centred part of a photo with the canvas's shape, ``(left, top, right, bottom)``: what fills the canvas.

    A photo is cropped, never stretched, onto the pose canvas (ControlNet's "crop and resize"), so a traced or
    detected figure keeps its proportions. The editor shows the same part under the pose.
    """
    if photo_w * canvas_h > canvas_w * photo_h:  # wider than the canvas: cut the sides
        width = max(1, round(photo_h * canvas_w / canvas_h))
        left = (photo_w - width) // 2
        return left, 0, left + width, photo_h
    height = max(1, round(photo_w * canvas_h / canvas_w))
    top = (photo_h - height) // 2
    return 0, top, photo_w, top + height

"""Prints what one frame of dragging a joint costs on the pose canvas: 5 people with hands on a 1024×1024 canvas
shown at 100 % (a 1048×1048 widget), offscreen. A frame is one mouse-move event (the pose edit) plus a full
synchronous repaint of the widget; 60 frames/s needs under 16.7 ms.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/pose_drag.py
"""

from __future__ import annotations

import math
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, Qt  # noqa: E402 - the platform must be chosen first
from PySide6.QtGui import QColor, QImage, QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from studio.pose.pose import Pose, default_person  # noqa: E402
from studio.pose.skeleton import R_WRIST  # noqa: E402
from studio.ui.pose.pose_canvas import PoseCanvas  # noqa: E402

FRAMES = 300


def _event(canvas: PoseCanvas, kind: QMouseEvent.Type, pos: QPointF) -> QMouseEvent:
    button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    return QMouseEvent(
        kind, pos, canvas.mapToGlobal(pos), button, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )


def main() -> None:
    app = QApplication.instance() or QApplication([])
    people = tuple(
        default_person(1024, 1024, hands=True).scale(0.5).translate(-400 + 200 * i, 0) for i in range(5)
    )
    canvas = PoseCanvas()
    canvas.resize(1048, 1048)
    canvas.set_pose(Pose(1024, 1024, people))
    canvas.show()
    app.processEvents()
    for reference in (None, _photo()):
        canvas.set_reference(reference)
        _measure(canvas, "with a reference photo at 50%" if reference else "no reference photo")


def _photo() -> QImage:
    """A 1536×1024 photo-sized image (scaled onto the canvas every frame, as a real reference photo is)."""
    image = QImage(1536, 1024, QImage.Format.Format_RGB32)
    image.fill(QColor(120, 100, 80))
    return image


def _measure(canvas: PoseCanvas, what: str) -> None:
    wrist = canvas.pose().people[2].body[R_WRIST]
    start = canvas.to_screen(wrist)
    QApplication.sendEvent(canvas, _event(canvas, QMouseEvent.Type.MouseButtonPress, start))
    frames, paints = [], []
    target = QImage(canvas.size(), QImage.Format.Format_ARGB32_Premultiplied)
    for i in range(FRAMES):
        pos = start + QPointF(60 * math.cos(i / 20), 60 * math.sin(i / 20))
        begin = time.perf_counter()
        QApplication.sendEvent(canvas, _event(canvas, QMouseEvent.Type.MouseMove, pos))
        canvas.repaint()  # synchronous: the whole widget, as a frame costs at worst
        frames.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        canvas.render(target)
        paints.append(time.perf_counter() - begin)
    QApplication.sendEvent(canvas, _event(canvas, QMouseEvent.Type.MouseButtonRelease, pos))
    moved = canvas.pose().people[2].body[R_WRIST]
    assert moved != wrist, "the drag did not move the joint"
    for label, times in (("drag frame (edit + repaint)", frames), ("paint only (render to QImage)", paints)):
        label = f"{what}, {label}"
        median = statistics.median(times) * 1000
        p95 = sorted(times)[int(0.95 * len(times))] * 1000
        print(
            f"pose canvas, 5 people + hands, 1024x1024 at 100%, {label}: median {median:.2f} ms, "
            f"p95 {p95:.2f} ms ({1000 / median:.0f} frames/s at the median)"
        )


if __name__ == "__main__":
    main()
